/* libFuzzer target: opening a filesystem only (superblock, group descriptors or AG
 * headers, journal or log load and replay, the root inode), then statfs and info. Many
 * times faster per input than fuzz_fs, so it goes deeper into what open parses. */
#include <sys/statvfs.h>

#include "tests/fuzz/fuzz.h"

static void opened(struct bv_fs *fs)
{
	struct bv_inode root;
	struct bv_fs_info info;
	struct statvfs sv;

	bv_fs_inode_get(fs, bv_fs_root_ino(fs), BV_IGET_LINKED, &root);
	bv_fs_statfs(fs, &sv);
	bv_fs_info_get(fs, &info);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_mem_image(data, size, opened);
	return 0;
}
