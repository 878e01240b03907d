/* libFuzzer target: the input is a whole filesystem image, ext2/3/4 or xfs (bv_fs_open
 * picks the reader as the server does), opened from memory and walked with every read the
 * FUSE server can ask for (fuzz_walk). Seeded from the e2fsprogs corpus. */
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bv_fs_opts opts = fuzz_fs_opts(size);
	struct bv_source *src;
	struct bv_fs *fs;

	fuzz_quiet();
	if (bv_source_open_mem(data, size, &src))
		return 0;
	if (bv_fs_open(src, &opts, &fs, NULL, 0) == 0) {
		fuzz_walk(fs);
		bv_fs_close(fs);
	}
	bv_source_close(src);
	return 0;
}
