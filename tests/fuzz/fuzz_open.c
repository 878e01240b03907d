/* libFuzzer target: opening a filesystem only (superblock, group descriptors or AG
 * headers, journal or log load and replay, the root inode), then statfs and info. Many
 * times faster per input than fuzz_fs, so it goes deeper into what open parses. */
#include <sys/statvfs.h>

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
		struct bv_inode root;
		struct bv_fs_info info;
		struct statvfs sv;

		bv_fs_inode_get(fs, bv_fs_root_ino(fs), BV_IGET_LINKED, &root);
		bv_fs_statfs(fs, &sv);
		bv_fs_info_get(fs, &info);
		bv_fs_close(fs);
	}
	bv_source_close(src);
	return 0;
}
