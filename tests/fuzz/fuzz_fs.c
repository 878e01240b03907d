/* libFuzzer target: the input is a whole filesystem image, ext2/3/4 or xfs (bv_fs_open
 * picks the reader as the server does). Opens it from memory and
 * exercises every read the FUSE server can ask for — walk, lookup, stat, read, readlink,
 * xattrs, path resolution — within fixed budgets so each input runs in bounded time.
 * Built and run by `make fuzz` (clang, ASan, UBSan), seeded from the e2fsprogs corpus. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blockio/source.h"
#include "fs/fs.h"
#include "util/log.h"

#define MAX_INODES 512        /* inodes visited per input */
#define MAX_ENTRIES 4096      /* directory entries looked at per input */
#define READ_CAP (256 * 1024) /* bytes read per file */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct walk {
	struct bv_fs *fs;
	uint64_t queue[MAX_INODES];
	unsigned head, tail, entries;
	const struct bv_inode *dir;
};

static void quiet(enum bv_log_level level, const char *msg, void *ctx)
{
	(void)level;
	(void)msg;
	(void)ctx;
}

static int visit_entry(void *ctx, const char *name, size_t len, uint64_t ino,
		       unsigned char dtype, uint64_t next_pos)
{
	struct walk *w = ctx;
	uint64_t found;

	(void)dtype;
	(void)next_pos;
	if (++w->entries > MAX_ENTRIES)
		return 1;
	/* Look every name up again: the hashed path the kernel's lookups take. */
	bv_fs_lookup(w->fs, w->dir, name, len, &found);
	if ((len == 1 && name[0] == '.') || (len == 2 && memcmp(name, "..", 2) == 0))
		return 0;
	if (w->tail < MAX_INODES)
		w->queue[w->tail++] = ino;
	return 0;
}

static void exercise_inode(struct walk *w, const struct bv_inode *inode, uint8_t *buf)
{
	char names[4096], target[4096];
	struct stat st;
	size_t len;
	ssize_t n;

	bv_fs_stat(w->fs, inode, &st);
	if (S_ISDIR(inode->mode)) {
		w->dir = inode;
		bv_fs_dir_iterate(w->fs, inode, 0, visit_entry, w);
	} else if (S_ISLNK(inode->mode)) {
		bv_fs_readlink(w->fs, inode, target, sizeof(target), &len);
	} else if (S_ISREG(inode->mode)) {
		struct bv_fs_run run;
		uint64_t pos;

		for (uint64_t off = 0; off < READ_CAP; off += 65536)
			if (bv_fs_read(w->fs, inode, buf, 65536, off) <= 0)
				break;
		bv_fs_run_get(w->fs, inode, 0, READ_CAP, &run);
		bv_fs_seek(w->fs, inode, 0, false, &pos);
	}
	n = bv_fs_xattr_list(w->fs, inode, names, sizeof(names), true);
	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(names + i) + 1)
		bv_fs_xattr_get(w->fs, inode, names + i, buf, 65536);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[65536];
	static const char *paths[] = { "/", "/urunc.json", "/unikernel/kernel", "/a/../../b",
				       "/lost+found/.." };
	/* Odd-sized inputs skip checksum verification: otherwise almost every mutation of a
	 * metadata_csum image stops at its first checksum and the parsers behind it are
	 * never reached. Even-sized ones keep the verifying path covered. */
	struct bv_fs_opts opts = { .cache_bytes = 256 * 1024, .skip_csum = size & 1,
				   .no_recovery = size & 2 };
	struct bv_source *src;
	struct walk w = { 0 };
	uint64_t ino;

	bv_log_set_sink(quiet, NULL);
	if (bv_source_open_mem(data, size, &src))
		return 0;
	if (bv_fs_open(src, &opts, &w.fs, NULL, 0) == 0) {
		w.queue[w.tail++] = bv_fs_root_ino(w.fs);
		while (w.head < w.tail) {
			struct bv_inode inode;
			if (bv_fs_inode_get(w.fs, w.queue[w.head++], BV_IGET_LINKED, &inode) == 0)
				exercise_inode(&w, &inode, buf);
		}
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
			bv_fs_resolve(w.fs, paths[i], BV_RESOLVE_FOLLOW, &ino);
		struct statvfs sv;
		struct bv_fs_info info;
		bv_fs_statfs(w.fs, &sv);
		bv_fs_info_get(w.fs, &info);
		bv_fs_close(w.fs);
	}
	bv_source_close(src);
	return 0;
}
