/* libFuzzer target: the input is a whole filesystem image, ext2/3/4 or xfs (bv_fs_open
 * picks the reader as the server does), opened from memory and walked with every read the
 * FUSE server can ask for (fuzz_walk). Seeded from the e2fsprogs corpus. */
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_mem_image(data, size, fuzz_walk);
	return 0;
}
