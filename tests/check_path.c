/* Symlink targets (fast, slow, inline; corrupt ones) and path resolution inside the image:
 * "..", absolute targets and loops never leave it. Expected targets come from the source
 * tree mkfs copied (readlink(2) on the host); expected inodes from plain lookups. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/export.h"
#include "fs/fs_ops.h"
#include "fs/ext4/ext4_priv.h"
#include "fs/ext4/inode.h"
#include "tests/testutil.h"

#define N_CHAIN 40

static char src_dir[PATH_MAX];

static void make_link(const char *target, const char *sub, const char *name)
{
	char path[PATH_MAX + 128];

	snprintf(path, sizeof(path), "%s/%s/%s", src_dir, sub, name);
	ck_assert_msg(symlink(target, path) == 0, "symlink %s", path);
}

static char *target_of_len(size_t len)
{
	char *t = malloc(len + 1);

	/* Directory-looking pieces so a long target is also a plausible path. */
	for (size_t i = 0; i < len; i++)
		t[i] = i % 8 == 7 ? '/' : (char)('a' + i % 26);
	if (len)
		t[len - 1] = 'z';
	t[len] = '\0';
	return t;
}

static const size_t link_lens[] = { 1, 59, 60, 61, 4095 };

/* The source tree, built once per run (the image is cached by bv_test_mkfs). */
static const char *path_image(const char *name, const char *opts)
{
	char path[PATH_MAX], tmp[64];
	struct stat st;

	snprintf(src_dir, sizeof(src_dir), "%s/path_src", bv_test_tmpdir());
	if (stat(src_dir, &st) != 0) {
		ck_assert_int_eq(bv_test_sh("mkdir -p '%s/etc' '%s/a/b/c' '%s/links' '%s/chain' "
					    "'%s/loop' && echo root:x:0:0 > '%s/etc/passwd' && "
					    "echo data > '%s/a/b/file'",
					    src_dir, src_dir, src_dir, src_dir, src_dir, src_dir,
					    src_dir),
				 0);
		for (size_t i = 0; i < sizeof(link_lens) / sizeof(link_lens[0]); i++) {
			char *t = target_of_len(link_lens[i]);

			snprintf(tmp, sizeof(tmp), "s%zu", link_lens[i]);
			make_link(t, "links", tmp);
			free(t);
		}
		make_link("/etc/passwd", "links", "abs");
		make_link("../etc/passwd", "links", "rel");
		make_link("/a/b", "links", "todir");
		make_link("../../etc", "a/b", "up");
		make_link("../../../../../../../etc/passwd", "a/b", "esc");
		make_link("/../../..", "links", "rootup");
		/* c0 -> c1 -> ... -> c39 -> /etc/passwd: exactly 40 links. */
		for (int i = 0; i < N_CHAIN; i++) {
			char t[32], n[32];

			if (i + 1 < N_CHAIN)
				snprintf(t, sizeof(t), "c%d", i + 1);
			else
				snprintf(t, sizeof(t), "/etc/passwd");
			snprintf(n, sizeof(n), "c%d", i);
			make_link(t, "chain", n);
		}
		/* d0 -> c0: 41 links. */
		make_link("c0", "chain", "d0");
		/* amp/L -> "a/../a/../ ... a" (4,091 bytes): 1,637 lookups for one link. */
		{
			char amp[4096] = "";

			for (int i = 0; i < 818; i++)
				strcat(amp, "a/../");
			strcat(amp, "a");
			ck_assert_int_eq(bv_test_sh("mkdir -p '%s/amp/a'", src_dir), 0);
			make_link(amp, "amp", "L");
		}
		make_link("l2", "loop", "l1");
		make_link("l1", "loop", "l2");
		make_link("self", "loop", "self");
	}
	snprintf(path, sizeof(path), "%s", src_dir);
	return bv_test_mkfs(name, opts, path, "16M");
}

struct img {
	uint8_t *buf;
	size_t len;
	struct bv_source *src;
	struct bv_ext4 *fs;
};

static void img_open(struct img *m, const char *path)
{
	char err[256] = "";

	ck_assert_ptr_nonnull(path);
	ck_assert_int_eq(bv_test_slurp(path, &m->buf, &m->len), 0);
	ck_assert_int_eq(bv_source_open_mem(m->buf, m->len, &m->src), 0);
	ck_assert_msg(bv_ext4_open(m->src, NULL, &m->fs, err, sizeof(err)) == 0, "open: %s", err);
}

static void img_close(struct img *m)
{
	bv_ext4_close(m->fs);
	bv_source_close(m->src);
	free(m->buf);
}

/* Inode of "/A/B" by plain lookups (no symlink, no resolve). */
static uint32_t plain(struct img *m, const char *a, const char *b)
{
	struct bv_ext4_inode dir;
	uint32_t ino;

	ck_assert_int_eq(bv_ext4_inode_get(m->fs, BV_EXT4_ROOT_INO, &dir), 0);
	ck_assert_int_eq(bv_ext4_lookup(m->fs, &dir, a, strlen(a), &ino), 0);
	if (!b)
		return ino;
	ck_assert_int_eq(bv_ext4_inode_get(m->fs, ino, &dir), 0);
	ck_assert_int_eq(bv_ext4_lookup(m->fs, &dir, b, strlen(b), &ino), 0);
	return ino;
}

static int resolve(struct img *m, const char *path, unsigned flags, uint32_t *ino)
{
	return bv_test_resolve(m->fs, path, flags, ino);
}

static void get_inode(struct img *m, const char *path, struct bv_ext4_inode *out)
{
	uint32_t ino;

	ck_assert_int_eq(resolve(m, path, 0, &ino), 0);
	ck_assert_int_eq(bv_ext4_inode_get(m->fs, ino, out), 0);
}

/* ---- readlink ---- */

static void check_link_lengths(const char *img_name, const char *opts)
{
	struct img m = { 0 };
	char host[PATH_MAX + 64], want[PATH_MAX], buf[PATH_MAX], p[64];

	img_open(&m, path_image(img_name, opts));
	for (size_t i = 0; i < sizeof(link_lens) / sizeof(link_lens[0]); i++) {
		struct bv_ext4_inode inode;
		ssize_t n;
		size_t len = 0;

		snprintf(p, sizeof(p), "/links/s%zu", link_lens[i]);
		snprintf(host, sizeof(host), "%s%s", src_dir, p);
		get_inode(&m, p, &inode);
		ck_assert(S_ISLNK(inode.mode));
		ck_assert_int_eq(bv_ext4_readlink(m.fs, &inode, buf, sizeof(buf), &len), 0);
		n = readlink(host, want, sizeof(want));
		ck_assert_int_eq(n, (ssize_t)link_lens[i]);
		ck_assert_uint_eq(len, link_lens[i]);
		ck_assert_int_eq(memcmp(buf, want, len), 0);
		ck_assert_int_eq(buf[len], '\0');
		/* Exactly the room for the NUL works; one byte less is -ERANGE. */
		ck_assert_int_eq(bv_ext4_readlink(m.fs, &inode, buf, len + 1, &len), 0);
		ck_assert_int_eq(bv_ext4_readlink(m.fs, &inode, buf, len, &len), -ERANGE);
	}
	img_close(&m);
}

START_TEST(test_readlink_lengths_fast_and_slow)
{
	check_link_lengths("path_4k", "-b 4096");
}
END_TEST

START_TEST(test_readlink_lengths_inline_data)
{
	struct img m = { 0 };
	struct bv_ext4_inode inode;

	check_link_lengths("path_inline", "-b 4096 -O inline_data -I 256");
	img_open(&m, path_image("path_inline", "-b 4096 -O inline_data -I 256"));
	get_inode(&m, "/links/s61", &inode);
	if (!(inode.flags & EXT4_INLINE_DATA_FL))
		bv_test_skip("test_readlink_lengths_inline_data",
			     "mkfs stored the 61-byte link in a block, not inline");
	img_close(&m);
}
END_TEST

START_TEST(test_readlink_not_a_symlink)
{
	struct img m = { 0 };
	struct bv_ext4_inode inode;
	char buf[64];
	size_t len;

	img_open(&m, path_image("path_4k", "-b 4096"));
	get_inode(&m, "/etc/passwd", &inode);
	ck_assert_int_eq(bv_ext4_readlink(m.fs, &inode, buf, sizeof(buf), &len), -EINVAL);
	img_close(&m);
}
END_TEST

START_TEST(test_readlink_zero_size_is_corrupt)
{
	struct img m = { 0 };
	struct bv_ext4_inode inode;
	char buf[64];
	size_t len;

	img_open(&m, path_image("path_4k", "-b 4096"));
	get_inode(&m, "/links/s59", &inode);
	inode.size = 0;
	ck_assert_int_eq(bv_ext4_readlink(m.fs, &inode, buf, sizeof(buf), &len), -EUCLEAN);
	img_close(&m);
}
END_TEST

START_TEST(test_readlink_fast_symlink_size_60_is_corrupt)
{
	struct img m = { 0 };
	struct bv_ext4_inode inode;
	char buf[128];
	size_t len;

	img_open(&m, path_image("path_4k", "-b 4096"));
	get_inode(&m, "/links/s59", &inode);
	ck_assert_uint_eq(inode.blocks, 0);
	inode.size = 60;
	ck_assert_int_eq(bv_ext4_readlink(m.fs, &inode, buf, sizeof(buf), &len), -EUCLEAN);
	img_close(&m);
}
END_TEST

START_TEST(test_readlink_oversized_is_corrupt)
{
	struct img m = { 0 };
	struct bv_ext4_inode inode;
	char buf[PATH_MAX];
	size_t len;

	img_open(&m, path_image("path_4k", "-b 4096"));
	get_inode(&m, "/links/s61", &inode);
	inode.size = PATH_MAX;
	ck_assert_int_eq(bv_ext4_readlink(m.fs, &inode, buf, sizeof(buf), &len), -EUCLEAN);
	img_close(&m);
}
END_TEST

START_TEST(test_readlink_nul_inside_target_stops_there)
{
	struct img m = { 0 };
	struct bv_ext4_inode inode;
	char buf[128];
	size_t len;

	img_open(&m, path_image("path_4k", "-b 4096"));
	get_inode(&m, "/links/s59", &inode);
	inode.i_block[10] = 0;
	ck_assert_int_eq(bv_ext4_readlink(m.fs, &inode, buf, sizeof(buf), &len), 0);
	ck_assert_uint_eq(len, 10);
	ck_assert_uint_eq(strlen(buf), 10);
	img_close(&m);
}
END_TEST

/* ---- resolve ---- */

START_TEST(test_resolve_plain_paths)
{
	struct img m = { 0 };
	uint32_t ino, passwd;

	img_open(&m, path_image("path_4k", "-b 4096"));
	passwd = plain(&m, "etc", "passwd");
	ck_assert_int_eq(resolve(&m, "/", 0, &ino), 0);
	ck_assert_uint_eq(ino, BV_EXT4_ROOT_INO);
	ck_assert_int_eq(resolve(&m, "/etc/passwd", 0, &ino), 0);
	ck_assert_uint_eq(ino, passwd);
	ck_assert_int_eq(resolve(&m, "etc//passwd", 0, &ino), 0);
	ck_assert_uint_eq(ino, passwd);
	ck_assert_int_eq(resolve(&m, "/./etc/./passwd", 0, &ino), 0);
	ck_assert_uint_eq(ino, passwd);
	ck_assert_int_eq(resolve(&m, "/a/b/c/../../../etc/passwd", 0, &ino), 0);
	ck_assert_uint_eq(ino, passwd);
	ck_assert_int_eq(resolve(&m, "/a/b/..", 0, &ino), 0);
	ck_assert_uint_eq(ino, plain(&m, "a", NULL));
	ck_assert_int_eq(resolve(&m, "/a/", 0, &ino), 0);
	ck_assert_uint_eq(ino, plain(&m, "a", NULL));
	ck_assert_int_eq(resolve(&m, "", 0, &ino), -ENOENT);
	ck_assert_int_eq(resolve(&m, "/missing/x", 0, &ino), -ENOENT);
	img_close(&m);
}
END_TEST

START_TEST(test_resolve_dotdot_stays_in_image)
{
	struct img m = { 0 };
	uint32_t ino, passwd;

	img_open(&m, path_image("path_4k", "-b 4096"));
	passwd = plain(&m, "etc", "passwd");
	ck_assert_int_eq(resolve(&m, "/../../../etc/passwd", 0, &ino), 0);
	ck_assert_uint_eq(ino, passwd);
	ck_assert_int_eq(resolve(&m, "/..", 0, &ino), 0);
	ck_assert_uint_eq(ino, BV_EXT4_ROOT_INO);
	/* A relative link climbing far past the root lands on the image's /etc/passwd. */
	ck_assert_int_eq(resolve(&m, "/a/b/esc", BV_RESOLVE_FOLLOW, &ino), 0);
	ck_assert_uint_eq(ino, passwd);
	ck_assert_int_eq(resolve(&m, "/links/rootup", BV_RESOLVE_FOLLOW, &ino), 0);
	ck_assert_uint_eq(ino, BV_EXT4_ROOT_INO);
	img_close(&m);
}
END_TEST

START_TEST(test_resolve_symlinks)
{
	struct img m = { 0 };
	uint32_t ino, passwd, abs;

	img_open(&m, path_image("path_4k", "-b 4096"));
	passwd = plain(&m, "etc", "passwd");
	abs = plain(&m, "links", "abs");
	/* The last component is followed only when asked. */
	ck_assert_int_eq(resolve(&m, "/links/abs", 0, &ino), 0);
	ck_assert_uint_eq(ino, abs);
	/* An absolute target ("/etc/passwd") is the image's, not the host's. */
	ck_assert_int_eq(resolve(&m, "/links/abs", BV_RESOLVE_FOLLOW, &ino), 0);
	ck_assert_uint_eq(ino, passwd);
	ck_assert_int_eq(resolve(&m, "/links/rel", BV_RESOLVE_FOLLOW, &ino), 0);
	ck_assert_uint_eq(ino, passwd);
	/* Intermediate links are always followed. */
	ck_assert_int_eq(resolve(&m, "/a/b/up/passwd", 0, &ino), 0);
	ck_assert_uint_eq(ino, passwd);
	ck_assert_int_eq(resolve(&m, "/links/todir/file", 0, &ino), 0);
	{
		uint32_t file;
		struct bv_ext4_inode b;

		ck_assert_int_eq(resolve(&m, "/a/b", 0, &file), 0);
		ck_assert_int_eq(bv_ext4_inode_get(m.fs, file, &b), 0);
		ck_assert_int_eq(bv_ext4_lookup(m.fs, &b, "file", 4, &file), 0);
		ck_assert_uint_eq(ino, file);
		/* A trailing slash asks for the directory: the link is followed. */
		ck_assert_int_eq(resolve(&m, "/links/todir/", 0, &ino), 0);
		ck_assert_uint_eq(ino, b.ino);
	}
	/* A target that does not exist. */
	ck_assert_int_eq(resolve(&m, "/links/s61", BV_RESOLVE_FOLLOW, &ino), -ENOENT);
	ck_assert_int_eq(resolve(&m, "/links/s4095", BV_RESOLVE_FOLLOW, &ino), -ENOENT);
	img_close(&m);
}
END_TEST

START_TEST(test_resolve_chain_of_40_links)
{
	struct img m = { 0 };
	uint32_t ino;

	img_open(&m, path_image("path_4k", "-b 4096"));
	ck_assert_int_eq(resolve(&m, "/chain/c0", BV_RESOLVE_FOLLOW, &ino), 0);
	ck_assert_uint_eq(ino, plain(&m, "etc", "passwd"));
	ck_assert_int_eq(resolve(&m, "/chain/d0", BV_RESOLVE_FOLLOW, &ino), -ELOOP);
	ck_assert_int_eq(resolve(&m, "/chain/d0", 0, &ino), 0);
	ck_assert_uint_eq(ino, plain(&m, "chain", "d0"));
	img_close(&m);
}
END_TEST

/* The image's links can splice 40 targets of 4095 bytes into a path: without a cap on
 * lookups, one resolution could do ~80,000 of them, each bounded only by its directory. */
START_TEST(test_resolve_lookup_budget)
{
	struct img m = { 0 };
	char path[PATH_MAX] = "/amp";
	uint32_t ino;

	img_open(&m, path_image("path_4k", "-b 4096"));
	ck_assert_int_eq(resolve(&m, "/amp/L", BV_RESOLVE_FOLLOW, &ino), 0);
	ck_assert_uint_eq(ino, plain(&m, "amp", "a"));
	/* Four links of 1,637 lookups each: past BV_RESOLVE_MAX_LOOKUPS. */
	ck_assert_int_eq(resolve(&m, "/amp/L/../L/../L/../L", BV_RESOLVE_FOLLOW, &ino), -ELOOP);
	/* A caller's own path never reaches the cap: 1,636 lookups in 4,094 bytes. */
	for (int i = 0; i < 818; i++)
		strcat(path, "/a/..");
	ck_assert_int_eq(resolve(&m, path, 0, &ino), 0);
	ck_assert_uint_eq(ino, plain(&m, "amp", NULL));
	img_close(&m);
}
END_TEST

/* bv_fs_resolve_at: relative from a directory, absolute from the root, and a budget the
 * caller shares between calls (export mode's). */
START_TEST(test_resolve_at_shared_budget)
{
	struct img m = { 0 };
	struct bv_fs *fs;
	uint32_t want;
	uint64_t ino;
	unsigned lookups = 100;

	img_open(&m, path_image("path_4k", "-b 4096"));
	fs = bv_fs_wrap(m.fs, &bv_ext4_fs_ops);
	ck_assert_ptr_nonnull(fs);
	ck_assert_int_eq(resolve(&m, "/a/b/file", 0, &want), 0);
	ck_assert_int_eq(bv_fs_resolve_at(fs, plain(&m, "a", NULL), "b/file", 0, &ino, &lookups),
			 0);
	ck_assert_uint_eq(ino, want);
	ck_assert_uint_eq(lookups, 98);
	ck_assert_int_eq(bv_fs_resolve_at(fs, plain(&m, "a", NULL), "/etc/passwd", 0, &ino,
					  &lookups), 0);
	ck_assert_uint_eq(ino, plain(&m, "etc", "passwd"));
	ck_assert_uint_eq(lookups, 96);
	lookups = 2;
	ck_assert_int_eq(bv_fs_resolve_at(fs, bv_fs_root_ino(fs), "a/b/file", 0, &ino, &lookups),
			 -ELOOP);
	ck_assert_uint_eq(lookups, 0);
	bv_fs_close(fs);
	img_close(&m);
}
END_TEST

/* Export mode shares one budget between all its paths: six paths through amp/L cost
 * 6 x 1,638 lookups, each under a single resolution's cap, together over the set's. */
START_TEST(test_export_lookup_budget)
{
	const char *paths[6] = { "/amp/L", "/amp/L", "/amp/L", "/amp/L", "/amp/L", "/amp/L" };
	struct img m = { 0 };
	struct bv_export *ex = NULL;
	struct bv_fs *fs;
	char err[256] = "";

	img_open(&m, path_image("path_4k", "-b 4096"));
	fs = bv_fs_wrap(m.fs, &bv_ext4_fs_ops);
	ck_assert_ptr_nonnull(fs);
	ck_assert_int_eq(bv_export_new(fs, paths, 4, &ex, err, sizeof(err)), 0);
	bv_export_free(ex);
	ck_assert_int_eq(bv_export_new(fs, paths, 6, &ex, err, sizeof(err)), -ELOOP);
	ck_assert_msg(strstr(err, "/amp/L") != NULL, "%s", err);
	bv_fs_close(fs);
	img_close(&m);
}
END_TEST

START_TEST(test_resolve_loops)
{
	struct img m = { 0 };
	uint32_t ino;

	img_open(&m, path_image("path_4k", "-b 4096"));
	ck_assert_int_eq(resolve(&m, "/loop/l1", BV_RESOLVE_FOLLOW, &ino), -ELOOP);
	ck_assert_int_eq(resolve(&m, "/loop/l1/x", 0, &ino), -ELOOP);
	ck_assert_int_eq(resolve(&m, "/loop/self/", 0, &ino), -ELOOP);
	img_close(&m);
}
END_TEST

START_TEST(test_resolve_not_a_directory)
{
	struct img m = { 0 };
	uint32_t ino;

	img_open(&m, path_image("path_4k", "-b 4096"));
	ck_assert_int_eq(resolve(&m, "/etc/passwd/x", 0, &ino), -ENOTDIR);
	ck_assert_int_eq(resolve(&m, "/etc/passwd/", 0, &ino), -ENOTDIR);
	ck_assert_int_eq(resolve(&m, "/etc/passwd/.", 0, &ino), -ENOTDIR);
	ck_assert_int_eq(resolve(&m, "/etc/passwd/..", 0, &ino), -ENOTDIR);
	ck_assert_int_eq(resolve(&m, "/links/abs/", 0, &ino), -ENOTDIR);
	img_close(&m);
}
END_TEST

START_TEST(test_resolve_name_too_long)
{
	struct img m = { 0 };
	char *p = malloc(PATH_MAX + 16);
	uint32_t ino;

	img_open(&m, path_image("path_4k", "-b 4096"));
	p[0] = '/';
	memset(p + 1, 'n', 255);
	p[256] = '\0';
	ck_assert_int_eq(resolve(&m, p, 0, &ino), -ENOENT);
	p[256] = 'n';
	p[257] = '\0';
	ck_assert_int_eq(resolve(&m, p, 0, &ino), -ENAMETOOLONG);
	/* PATH_MAX bytes without the NUL: too long whatever it names. */
	for (size_t i = 0; i < PATH_MAX; i++)
		p[i] = i % 2 ? '.' : '/';
	p[PATH_MAX] = '\0';
	ck_assert_int_eq(resolve(&m, p, 0, &ino), -ENAMETOOLONG);
	p[PATH_MAX - 1] = '\0';
	ck_assert_int_eq(resolve(&m, p, 0, &ino), 0);
	ck_assert_uint_eq(ino, BV_EXT4_ROOT_INO);
	free(p);
	img_close(&m);
}
END_TEST

/* ---- the e2fsprogs corpus: every directory walked, every name looked up and resolved,
 * every symlink read; any answer is fine but a crash, hang or overread (under ASan). ---- */

struct corpus_walk {
	struct bv_ext4 *fs;
	char (*paths)[512];
	uint32_t *inos;
	size_t head, tail, cap;
	size_t entries;
};

static int corpus_entry(void *ctx, const char *name, size_t len, uint32_t ino, uint8_t ft,
			uint64_t next_pos)
{
	struct corpus_walk *w = ctx;
	const char *parent = w->paths[w->head];
	struct bv_ext4_inode inode;
	char path[1024], buf[PATH_MAX];
	uint32_t got;
	size_t n;

	(void)ft;
	(void)next_pos;
	if (++w->entries > 20000)
		return 1;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	snprintf(path, sizeof(path), "%s/%.*s", parent, (int)len, name);
	/* Any outcome is allowed; the calls must just return. */
	(void)bv_test_resolve(w->fs, path, BV_RESOLVE_FOLLOW, &got);
	(void)bv_test_resolve(w->fs, path, 0, &got);
	if (bv_ext4_inode_get(w->fs, ino, &inode) != 0)
		return 0;
	if (S_ISLNK(inode.mode))
		(void)bv_ext4_readlink(w->fs, &inode, buf, sizeof(buf), &n);
	if (S_ISDIR(inode.mode) && w->tail < w->cap && strlen(path) < 500) {
		snprintf(w->paths[w->tail], sizeof(w->paths[0]), "%s", path);
		w->inos[w->tail++] = ino;
	}
	return 0;
}

/* Run as 4 loop iterations, each taking every 4th image, to keep each test short. */
#define CORPUS_PARTS 4

START_TEST(test_corpus_walk_returns_cleanly)
{
	size_t idx = 0;
	const char *dir = bv_test_corpus_dir();
	char cmd[PATH_MAX + 64], line[PATH_MAX];
	size_t opened = 0;
	FILE *ls;

	if (!dir) {
		bv_test_skip("test_corpus_walk_returns_cleanly", bv_test_corpus_missing());
		return;
	}
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep image", dir);
	ls = popen(cmd, "r");
	ck_assert_ptr_nonnull(ls);
	while (fgets(line, sizeof(line), ls)) {
		struct corpus_walk w = { .cap = 300 };
		char path[2 * PATH_MAX];
		struct bv_source *src;
		uint8_t *buf;
		size_t len;

		if (idx++ % CORPUS_PARTS != (size_t)_i)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, sizeof(path), "%s/%s", dir, line);
		if (bv_test_slurp(path, &buf, &len) != 0)
			continue;
		if (bv_source_open_mem(buf, len, &src) == 0) {
			if (bv_ext4_open(src, NULL, &w.fs, NULL, 0) == 0) {
				opened++;
				w.paths = calloc(w.cap, sizeof(*w.paths));
				w.inos = calloc(w.cap, sizeof(*w.inos));
				w.paths[0][0] = '\0';
				w.inos[0] = BV_EXT4_ROOT_INO;
				w.tail = 1;
				for (; w.head < w.tail && w.entries <= 20000; w.head++) {
					struct bv_ext4_inode d;

					if (bv_ext4_inode_get(w.fs, w.inos[w.head], &d) == 0)
						(void)bv_ext4_dir_iterate(w.fs, &d, 0, corpus_entry, &w);
				}
				free(w.paths);
				free(w.inos);
				bv_ext4_close(w.fs);
			}
			bv_source_close(src);
		}
		free(buf);
	}
	pclose(ls);
	ck_assert_uint_gt(opened, 2);
}
END_TEST

static Suite *path_suite(void)
{
	Suite *s = suite_create("path");
	TCase *tl = tcase_create("readlink");
	TCase *tr = tcase_create("resolve");

	tcase_add_test(tl, test_readlink_lengths_fast_and_slow);
	tcase_add_test(tl, test_readlink_lengths_inline_data);
	tcase_add_test(tl, test_readlink_not_a_symlink);
	tcase_add_test(tl, test_readlink_zero_size_is_corrupt);
	tcase_add_test(tl, test_readlink_fast_symlink_size_60_is_corrupt);
	tcase_add_test(tl, test_readlink_oversized_is_corrupt);
	tcase_add_test(tl, test_readlink_nul_inside_target_stops_there);
	suite_add_tcase(s, tl);

	tcase_add_test(tr, test_resolve_plain_paths);
	tcase_add_test(tr, test_resolve_dotdot_stays_in_image);
	tcase_add_test(tr, test_resolve_symlinks);
	tcase_add_test(tr, test_resolve_chain_of_40_links);
	tcase_add_test(tr, test_resolve_lookup_budget);
	tcase_add_test(tr, test_resolve_at_shared_budget);
	tcase_add_test(tr, test_export_lookup_budget);
	tcase_add_test(tr, test_resolve_loops);
	tcase_add_test(tr, test_resolve_not_a_directory);
	tcase_add_test(tr, test_resolve_name_too_long);
	suite_add_tcase(s, tr);

	TCase *tc = tcase_create("corpus");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_corpus_walk_returns_cleanly, 0, CORPUS_PARTS);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(path_suite)
