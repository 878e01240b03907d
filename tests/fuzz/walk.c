/* What the image targets share (see fuzz.h): opening an input, the bounded walk. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "tests/fuzz/fuzz.h"
#include "util/log.h"

#define MAX_INODES 512        /* inodes visited per input */
#define MAX_ENTRIES 4096      /* directory entries looked at per input */
#define READ_CAP (256 * 1024) /* bytes read per file */
#define MAX_DIR_CALLS 4       /* walk calls per directory (-EAGAIN resumes) */
#define BUF_SIZE 65536

struct walk {
	struct bv_fs *fs;
	uint64_t queue[MAX_INODES];
	unsigned head, tail, entries;
	const struct bv_inode *dir;
	uint64_t next_pos;
	uint8_t *buf;
};

static void quiet(enum bv_log_level level, const char *msg, void *ctx)
{
	(void)level;
	(void)msg;
	(void)ctx;
}

void fuzz_quiet(void)
{
	bv_log_set_sink(quiet, NULL);
}

void fuzz_image(struct bv_source *src, size_t size, void (*fn)(struct bv_fs *fs))
{
	struct bv_fs_opts opts = { .cache_bytes = 256 * 1024, .skip_csum = size & 1,
				   .no_recovery = (size & 2) != 0 };
	struct bv_fs *fs;

	fuzz_quiet();
	if (bv_fs_open(src, &opts, &fs, NULL, 0) == 0) {
		fn(fs);
		bv_fs_close(fs);
	}
}

void fuzz_mem_image(const uint8_t *data, size_t size, void (*fn)(struct bv_fs *fs))
{
	struct bv_source *src;

	if (bv_source_open_mem(data, size, &src))
		return;
	fuzz_image(src, size, fn);
	bv_source_close(src);
}

static int visit_entry(void *ctx, const char *name, size_t len, uint64_t ino,
		       unsigned char dtype, uint64_t next_pos)
{
	struct walk *w = ctx;
	uint64_t found;

	(void)dtype;
	w->next_pos = next_pos;
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

static void exercise_inode(struct walk *w, const struct bv_inode *inode)
{
	char names[4096], target[4096];
	struct stat st;
	size_t len;
	ssize_t n;

	bv_fs_stat(w->fs, inode, &st);
	if (S_ISDIR(inode->mode)) {
		/* -EAGAIN: the call's block budget ran out after some entries; resume from
		 * the last entry's position as the FUSE adapter does, a few times at most. */
		w->dir = inode;
		w->next_pos = 0;
		for (int call = 0; call < MAX_DIR_CALLS; call++)
			if (bv_fs_dir_iterate(w->fs, inode, w->next_pos, visit_entry, w) != -EAGAIN)
				break;
	} else if (S_ISLNK(inode->mode)) {
		bv_fs_readlink(w->fs, inode, target, sizeof(target), &len);
	} else if (S_ISREG(inode->mode)) {
		struct bv_fs_run run;
		uint64_t pos;

		for (uint64_t off = 0; off < READ_CAP; off += BUF_SIZE)
			if (bv_fs_read(w->fs, inode, w->buf, BUF_SIZE, off) <= 0)
				break;
		bv_fs_run_get(w->fs, inode, 0, READ_CAP, &run);
		bv_fs_seek(w->fs, inode, 0, false, &pos);
		bv_fs_seek(w->fs, inode, 0, true, &pos);
	}
	n = bv_fs_xattr_list(w->fs, inode, names, sizeof(names), true);
	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(names + i) + 1)
		bv_fs_xattr_get(w->fs, inode, names + i, w->buf, BUF_SIZE);
}

void fuzz_walk(struct bv_fs *fs)
{
	static uint8_t buf[BUF_SIZE];
	static const char *paths[] = { "/", "/urunc.json", "/unikernel/kernel", "/a/../../b",
				       "/lost+found/.." };
	static struct walk w;
	struct statvfs sv;
	struct bv_fs_info info;
	uint64_t ino;

	memset(&w, 0, sizeof(w));
	w.fs = fs;
	w.buf = buf;
	w.queue[w.tail++] = bv_fs_root_ino(fs);
	while (w.head < w.tail) {
		struct bv_inode inode;

		if (bv_fs_inode_get(fs, w.queue[w.head++], BV_IGET_LINKED, &inode) == 0)
			exercise_inode(&w, &inode);
	}
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		bv_fs_resolve(fs, paths[i], BV_RESOLVE_FOLLOW, &ino);
	bv_fs_statfs(fs, &sv);
	bv_fs_info_get(fs, &info);
}
