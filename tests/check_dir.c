/* Directories: the dirent validator, linear and htree directories (2 and 3 index levels),
 * inline directories, resuming iteration, and corrupt blocks patched into image copies.
 * Big directories are filled by the kernel through a loop mount (the oracle, and far
 * faster than mkfs -d, which adds names one linear scan at a time). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/ext4/dir.h"
#include "fs/ext4/hash.h"
#include "fs/ext4/ext4_priv.h"
#include "fs/ext4/inode.h"
#include "util/le.h"
#include "tests/testutil.h"

#define N_BIG (255 + 10000)
#define N_DEEP 25000

/* ---- names ---- */

/* Name I of the big directory: the first 255 have every length 1..255, the rest carry a
 * unique prefix; all mix ASCII with 2- and 3-byte UTF-8. Returns the length. */
static size_t big_name(unsigned i, char *out)
{
	size_t len, k = 0;

	if (i < 255) {
		len = i + 1;
	} else {
		k = (size_t)sprintf(out, "n%05u_", i - 255);
		len = 7 + ((i - 255) * 37u) % 249;
	}
	while (k < len) {
		if (len - k >= 3 && k % 5 == 0) {
			memcpy(out + k, "\xe6\x97\xa5", 3); /* 日 */
			k += 3;
		} else if (len - k >= 2 && k % 7 == 1) {
			memcpy(out + k, "\xc3\xa9", 2); /* é */
			k += 2;
		} else {
			out[k] = (char)('a' + k % 26);
			k++;
		}
	}
	out[len] = '\0';
	return len;
}

static size_t deep_name(unsigned i, char *out)
{
	/* Long names: 3 per 1 KiB leaf, so the index needs 3 levels soon. */
	int n = sprintf(out, "%06u", i);

	memset(out + n, 'x', 244);
	out[n + 244] = '\0';
	return (size_t)n + 244;
}

/* ---- images ---- */

static void populate_big(const char *dir)
{
	char path[4096], name[256];

	for (unsigned i = 0; i < N_BIG; i++) {
		big_name(i, name);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		close(open(path, O_CREAT | O_WRONLY, 0644));
	}
	/* One subdirectory, to see a file type other than regular. */
	snprintf(path, sizeof(path), "%s/n%05u_sub", dir, 99999u);
	mkdir(path, 0755);
}

static void populate_deep(const char *dir)
{
	char path[4096], name[256];

	for (unsigned i = 0; i < N_DEEP; i++) {
		deep_name(i, name);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		close(open(path, O_CREAT | O_WRONLY, 0644));
	}
}

/* An image NAME whose directory /d the kernel filled with POPULATE. Built once per run. */
static const char *kernel_image(const char *name, const char *opts, const char *size,
				void (*populate)(const char *))
{
	static char path[PATH_MAX];
	char mnt[PATH_MAX], d[PATH_MAX + 8];
	const char *base;
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s.kimg", bv_test_tmpdir(), name);
	if (stat(path, &st) == 0)
		return path;
	if (!bv_test_is_root())
		return NULL;
	base = bv_test_mkfs(name, opts, NULL, size);
	if (!base)
		return NULL;
	/* Names of this process's own: a test killed at its timeout while filling the
	 * directory leaves its loop mount behind, and the next test must not copy over that
	 * image or mount on top of that mount (seen under load: a 10k directory with 9k
	 * names). */
	snprintf(mnt, sizeof(mnt), "%s/%s.mnt.%d", bv_test_tmpdir(), name, (int)getpid());
	if (bv_test_sh("cp '%s' '%s.tmp.%d' && mkdir -p '%s' && mount -o loop '%s.tmp.%d' '%s'",
		       base, path, (int)getpid(), mnt, path, (int)getpid(), mnt) != 0)
		return NULL;
	snprintf(d, sizeof(d), "%s/d", mnt);
	mkdir(d, 0755);
	populate(d);
	if (bv_test_sh("umount '%s' && mv '%s.tmp.%d' '%s'", mnt, path, (int)getpid(), path) != 0)
		return NULL;
	return path;
}

/* The big directory without an index: the kernel-built htree image with dir_index turned
 * off and the directory rewritten linearly by e2fsck -D (the kernel itself takes ~20 s to
 * fill a 10k-entry linear directory: every create scans it). */
static const char *linear_big_image(void)
{
	static char path[PATH_MAX];
	const char *dx = kernel_image("dir_big_dx", "-N 16384", "64M", populate_big);
	struct stat st;

	snprintf(path, sizeof(path), "%s/dir_big_lin.kimg", bv_test_tmpdir());
	if (stat(path, &st) == 0)
		return path;
	if (!dx)
		return NULL;
	/* e2fsck exits 1 when it changed something, which -D always does. */
	if (bv_test_sh("cp '%s' '%s.tmp' && tune2fs -O ^dir_index '%s.tmp' >/dev/null 2>&1 && "
		       "{ e2fsck -fyD '%s.tmp' >/dev/null 2>&1; [ $? -le 1 ]; } && mv '%s.tmp' '%s'",
		       dx, path, path, path, path, path) != 0)
		return NULL;
	return path;
}

/* ---- opening ---- */

struct img {
	uint8_t *buf;
	size_t len;
	struct bv_source *src;
	struct bv_ext4 *fs;
};

static void img_open_buf(struct img *m, bool skip_csum)
{
	struct bv_ext4_opts o = { .skip_csum = skip_csum };
	char err[256] = "";

	ck_assert_int_eq(bv_source_open_mem(m->buf, m->len, &m->src), 0);
	ck_assert_msg(bv_ext4_open(m->src, &o, &m->fs, err, sizeof(err)) == 0, "open: %s", err);
}

static void img_load(struct img *m, const char *path)
{
	ck_assert_ptr_nonnull(path);
	ck_assert_int_eq(bv_test_slurp(path, &m->buf, &m->len), 0);
}

static void img_close(struct img *m)
{
	bv_ext4_close(m->fs);
	bv_source_close(m->src);
	free(m->buf);
}

static void get_dir(struct img *m, const char *name, struct bv_ext4_inode *dir)
{
	struct bv_ext4_inode root;
	uint32_t ino;

	ck_assert_int_eq(bv_ext4_inode_get(m->fs, BV_EXT4_ROOT_INO, &root), 0);
	ck_assert_int_eq(bv_ext4_lookup(m->fs, &root, name, strlen(name), &ino), 0);
	ck_assert_int_eq(bv_ext4_inode_get(m->fs, ino, dir), 0);
}

/* Physical block of logical block LBLK of PATH in IMG, from debugfs. */
static uint64_t debugfs_bmap(const char *img, const char *path, unsigned lblk)
{
	char cmd[PATH_MAX + 128];
	unsigned long long b = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "debugfs -R 'bmap %s %u' '%s' 2>/dev/null", path, lblk, img);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%llu", &b), 1);
	pclose(f);
	ck_assert_uint_ne(b, 0);
	return b;
}

/* ---- iteration collector ---- */

struct seen {
	char (*names)[256];
	uint32_t *inos;
	uint8_t *types;
	uint64_t *next;
	size_t n, cap;
	size_t stop_after; /* 0 = never stop */
};

static int collect(void *ctx, const char *name, size_t len, uint32_t ino, uint8_t ft,
		   uint64_t next_pos)
{
	struct seen *s = ctx;

	ck_assert_uint_lt(len, 256);
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->names = realloc(s->names, s->cap * sizeof(*s->names));
		s->inos = realloc(s->inos, s->cap * sizeof(*s->inos));
		s->types = realloc(s->types, s->cap);
		s->next = realloc(s->next, s->cap * sizeof(*s->next));
	}
	memcpy(s->names[s->n], name, len);
	s->names[s->n][len] = '\0';
	s->inos[s->n] = ino;
	s->types[s->n] = ft;
	s->next[s->n] = next_pos;
	s->n++;
	return s->stop_after && s->n >= s->stop_after ? 1 : 0;
}

static void seen_free(struct seen *s)
{
	free(s->names);
	free(s->inos);
	free(s->types);
	free(s->next);
	memset(s, 0, sizeof(*s));
}

static ssize_t seen_find(const struct seen *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->names[i], name) == 0)
			return (ssize_t)i;
	return -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* ---- the validator, on hand-made records ---- */

static struct bv_ext4_sb test_sb(void)
{
	struct bv_ext4_sb sb = { 0 };

	sb.block_size = 1024;
	sb.s_inodes_count = 100;
	sb.s_feature_incompat = EXT4_FEATURE_INCOMPAT_FILETYPE;
	return sb;
}

/* A 1 KiB block: "hello" (inode 12) then one empty entry filling the rest. */
static void make_block(uint8_t *b)
{
	memset(b, 0, 1024);
	b[0] = 12;
	b[4] = 16; /* rec_len */
	b[6] = 5;
	b[7] = EXT4_FT_REG_FILE;
	memcpy(b + 8, "hello", 5);
	b[16 + 4] = (1024 - 16) & 0xff;
	b[16 + 5] = (1024 - 16) >> 8;
}

static int check_first(const uint8_t *b, const char **why)
{
	struct bv_ext4_sb sb = test_sb();
	struct bv_ext4_dirent de;

	return bv_ext4_dirent_check(&sb, b, 1024, 0, &de, why);
}

START_TEST(test_dirent_accepts_valid_record)
{
	struct bv_ext4_sb sb = test_sb();
	struct bv_ext4_dirent de;
	const char *why = NULL;
	uint8_t b[1024];

	make_block(b);
	ck_assert_int_eq(bv_ext4_dirent_check(&sb, b, 1024, 0, &de, &why), 0);
	ck_assert_uint_eq(de.inode, 12);
	ck_assert_uint_eq(de.rec_len, 16);
	ck_assert_uint_eq(de.name_len, 5);
	ck_assert_uint_eq(de.file_type, EXT4_FT_REG_FILE);
	ck_assert_int_eq(memcmp(de.name, "hello", 5), 0);
	ck_assert_int_eq(bv_ext4_dirent_check(&sb, b, 1024, 16, &de, &why), 0);
	ck_assert_uint_eq(de.inode, 0);
}
END_TEST

START_TEST(test_dirent_rejects_reclen_too_small)
{
	const char *why = NULL;
	uint8_t b[1024];

	make_block(b);
	b[4] = 8;
	ck_assert_int_eq(check_first(b, &why), -EUCLEAN);
	ck_assert_str_eq(why, "rec_len is smaller than minimal");
}
END_TEST

START_TEST(test_dirent_rejects_reclen_not_multiple_of_4)
{
	const char *why = NULL;
	uint8_t b[1024];

	make_block(b);
	b[4] = 18;
	ck_assert_int_eq(check_first(b, &why), -EUCLEAN);
	ck_assert_str_eq(why, "rec_len % 4 != 0");
}
END_TEST

START_TEST(test_dirent_rejects_reclen_past_block)
{
	struct bv_ext4_sb sb = test_sb();
	struct bv_ext4_dirent de;
	const char *why = NULL;
	uint8_t b[1024];

	make_block(b);
	b[16 + 4] = (1024 - 12) & 0xff; /* 4 bytes past the end */
	b[16 + 5] = (1024 - 12) >> 8;
	ck_assert_int_eq(bv_ext4_dirent_check(&sb, b, 1024, 16, &de, &why), -EUCLEAN);
	ck_assert_str_eq(why, "directory entry overrun");
}
END_TEST

START_TEST(test_dirent_rejects_name_len_past_reclen)
{
	const char *why = NULL;
	uint8_t b[1024];

	make_block(b);
	b[6] = 9; /* needs 20 bytes, has 16 */
	ck_assert_int_eq(check_first(b, &why), -EUCLEAN);
	ck_assert_str_eq(why, "rec_len is too small for name_len");
}
END_TEST

START_TEST(test_dirent_rejects_inode_past_inodes_count)
{
	const char *why = NULL;
	uint8_t b[1024];

	make_block(b);
	b[0] = 101;
	ck_assert_int_eq(check_first(b, &why), -EUCLEAN);
	ck_assert_str_eq(why, "inode out of bounds");
}
END_TEST

START_TEST(test_dirent_rejects_gap_before_block_end)
{
	const char *why = NULL;
	uint8_t b[1024];

	make_block(b);
	b[4] = (1024 - 8) & 0xff; /* leaves 8 bytes: no record fits there */
	b[5] = (1024 - 8) >> 8;
	ck_assert_int_eq(check_first(b, &why), -EUCLEAN);
	ck_assert_str_eq(why, "directory entry too close to block end");
}
END_TEST

START_TEST(test_dirent_rejects_live_entry_without_name)
{
	const char *why = NULL;
	uint8_t b[1024];

	make_block(b);
	b[6] = 0;
	ck_assert_int_eq(check_first(b, &why), -EUCLEAN);
	ck_assert_str_eq(why, "live entry with an empty name");
}
END_TEST

START_TEST(test_dirent_rec_len_64k_encoding)
{
	ck_assert_uint_eq(bv_ext4_rec_len_decode(65535, 65536), 65536);
	ck_assert_uint_eq(bv_ext4_rec_len_decode(0, 65536), 65536);
	ck_assert_uint_eq(bv_ext4_rec_len_decode(12 | 1, 65536), 12 + 65536);
	ck_assert_uint_eq(bv_ext4_rec_len_decode(65535, 4096), 65535);
}
END_TEST

START_TEST(test_dir_ft_to_dt)
{
	ck_assert_uint_eq(bv_ext4_ft_to_dt(EXT4_FT_DIR), DT_DIR);
	ck_assert_uint_eq(bv_ext4_ft_to_dt(EXT4_FT_SYMLINK), DT_LNK);
	ck_assert_uint_eq(bv_ext4_ft_to_dt(EXT4_FT_REG_FILE), DT_REG);
	ck_assert_uint_eq(bv_ext4_ft_to_dt(EXT4_FT_MAX), DT_UNKNOWN);
	ck_assert_uint_eq(bv_ext4_ft_to_dt(0xDE), DT_UNKNOWN);
}
END_TEST

/* ---- big directories ---- */

/* Every name is found (and a missing one not), iteration returns each entry once with the
 * same inode as lookup, and the set equals what was created. */
static void check_big(const char *path, bool want_index, unsigned stride)
{
	struct bv_ext4_inode dir;
	struct seen s = { 0 };
	struct img m = { 0 };
	char name[256];
	uint32_t ino;
	ssize_t k;
	size_t len;

	img_load(&m, path);
	img_open_buf(&m, false);
	get_dir(&m, "d", &dir);
	ck_assert_int_eq((dir.flags & EXT4_INDEX_FL) != 0, want_index);

	ck_assert_int_eq(bv_ext4_dir_iterate(m.fs, &dir, 0, collect, &s), 0);
	ck_assert_uint_eq(s.n, N_BIG + 3); /* ".", "..", the sub directory */
	ck_assert_int_ge(seen_find(&s, "."), 0);
	ck_assert_int_ge(seen_find(&s, ".."), 0);
	for (unsigned i = 0; i < N_BIG; i += i < 255 ? 1 : stride) {
		len = big_name(i, name);
		ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, name, len, &ino), 0);
		k = i % 97 == 0 ? seen_find(&s, name) : -2;
		if (k != -2) {
			ck_assert_int_ge(k, 0);
			ck_assert_uint_eq(s.inos[k], ino);
			ck_assert_uint_eq(s.types[k], EXT4_FT_REG_FILE);
		}
	}
	k = seen_find(&s, "n99999_sub");
	ck_assert_int_ge(k, 0);
	ck_assert_uint_eq(s.types[k], EXT4_FT_DIR);
	/* The set: sort both lists and compare. */
	{
		char (*want)[256] = calloc(N_BIG + 3, 256);

		for (unsigned i = 0; i < N_BIG; i++)
			big_name(i, want[i]);
		strcpy(want[N_BIG], ".");
		strcpy(want[N_BIG + 1], "..");
		strcpy(want[N_BIG + 2], "n99999_sub");
		qsort(want, N_BIG + 3, 256, cmp_str);
		qsort(s.names, s.n, 256, cmp_str);
		for (size_t i = 0; i < s.n; i++)
			ck_assert_str_eq(s.names[i], want[i]);
		free(want);
	}
	ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, "n00000_missing", 14, &ino), -ENOENT);
	ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, "zz", 2, &ino), -ENOENT);
	ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, ".", 1, &ino), 0);
	ck_assert_uint_eq(ino, dir.ino);
	ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, "..", 2, &ino), 0);
	ck_assert_uint_eq(ino, BV_EXT4_ROOT_INO);
	seen_free(&s);
	img_close(&m);
}

START_TEST(test_dir_big_htree_every_name_found)
{
	const char *p = kernel_image("dir_big_dx", "-N 16384", "64M", populate_big);

	if (!p) {
		bv_test_skip("test_dir_big_htree_every_name_found", "needs root for a loop mount");
		return;
	}
	check_big(p, true, 1);
}
END_TEST

START_TEST(test_dir_big_linear_every_name_found)
{
	const char *p = linear_big_image();

	if (!p) {
		bv_test_skip("test_dir_big_linear_every_name_found", "needs root for a loop mount");
		return;
	}
	/* Linear lookups scan half the directory each: every length, then every 5th name. */
	check_big(p, false, 5);
}
END_TEST

START_TEST(test_dir_htree_three_levels)
{
	const char *p = kernel_image("dir_deep", "-b 1024 -O large_dir,^has_journal -N 30000",
				     "64M", populate_deep);
	struct bv_ext4_inode dir;
	struct bv_cache_ref ref = { 0 };
	struct bv_ext4_map map;
	struct img m = { 0 };
	char name[256];
	uint32_t ino;
	size_t len;

	if (!p) {
		bv_test_skip("test_dir_htree_three_levels", "needs root for a loop mount");
		return;
	}
	img_load(&m, p);
	img_open_buf(&m, false);
	get_dir(&m, "d", &dir);
	ck_assert(dir.flags & EXT4_INDEX_FL);
	/* indirect_levels 2: the walk really goes through three index levels. */
	ck_assert_int_eq(bv_ext4_map_blocks(m.fs, &dir, 0, 1, &map), 0);
	ck_assert_int_eq(bv_ext4_bread(m.fs, map.pblk, &ref), 0);
	ck_assert_uint_eq(ref.data[EXT4_DX_ROOT_INFO + 6], 2);
	bv_ext4_brelse(m.fs, &ref);
	for (unsigned i = 0; i < N_DEEP; i++) {
		len = deep_name(i, name);
		ck_assert_msg(bv_ext4_lookup(m.fs, &dir, name, len, &ino) == 0, "name %u", i);
	}
	len = deep_name(N_DEEP, name);
	ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, name, len, &ino), -ENOENT);
	img_close(&m);
}
END_TEST

/* Resuming at every next_pos gives exactly the entry that followed it. */
START_TEST(test_dir_resume_at_every_next_pos)
{
	const char *p = kernel_image("dir_big_dx", "-N 16384", "64M", populate_big);
	struct bv_ext4_inode dir;
	struct seen all = { 0 };
	struct img m = { 0 };

	if (!p) {
		bv_test_skip("test_dir_resume_at_every_next_pos", "needs root for a loop mount");
		return;
	}
	img_load(&m, p);
	img_open_buf(&m, false);
	get_dir(&m, "d", &dir);
	ck_assert_int_eq(bv_ext4_dir_iterate(m.fs, &dir, 0, collect, &all), 0);
	for (size_t i = 0; i < all.n; i++) {
		struct seen one = { .stop_after = 1 };
		int ret = bv_ext4_dir_iterate(m.fs, &dir, all.next[i], collect, &one);

		if (i + 1 == all.n) {
			ck_assert_int_eq(ret, 0);
			ck_assert_uint_eq(one.n, 0);
		} else {
			ck_assert_int_eq(ret, 1);
			ck_assert_str_eq(one.names[0], all.names[i + 1]);
		}
		seen_free(&one);
	}
	/* And a full walk split in two halves gives the whole list. */
	{
		struct seen rest = { 0 };
		size_t half = all.n / 2;

		ck_assert_int_eq(bv_ext4_dir_iterate(m.fs, &dir, all.next[half - 1], collect, &rest),
				 0);
		ck_assert_uint_eq(rest.n, all.n - half);
		for (size_t i = 0; i < rest.n; i++)
			ck_assert_str_eq(rest.names[i], all.names[half + i]);
		seen_free(&rest);
	}
	seen_free(&all);
	img_close(&m);
}
END_TEST

/* ---- inline directories ---- */

static const char *inline_image(void)
{
	char src[PATH_MAX];

	snprintf(src, sizeof(src), "%s/dir_inline_src", bv_test_tmpdir());
	bv_test_sh("rm -rf '%s' && mkdir -p '%s/tiny' '%s/small' '%s/big' && "
		   "touch '%s/tiny/a' && "
		   "for i in 1 2 3 4 5 6; do touch '%s/small/f'$i; done && "
		   "for i in $(seq 1 100); do touch '%s/big/file'$i; done",
		   src, src, src, src, src, src, src);
	return bv_test_mkfs("dir_inline", "-O inline_data -I 256", src, "16M");
}

START_TEST(test_dir_inline_iterate_and_lookup)
{
	const char *p = inline_image();
	static const char *const dirs[] = { "tiny", "small", "big" };
	static const unsigned counts[] = { 1, 6, 100 };
	struct img m = { 0 };
	bool saw_inline = false;

	ck_assert_ptr_nonnull(p);
	img_load(&m, p);
	img_open_buf(&m, false);
	for (int d = 0; d < 3; d++) {
		struct bv_ext4_inode dir;
		struct seen s = { 0 };
		char name[32];
		uint32_t ino;

		get_dir(&m, dirs[d], &dir);
		saw_inline |= (dir.flags & EXT4_INLINE_DATA_FL) != 0;
		ck_assert_int_eq(bv_ext4_dir_iterate(m.fs, &dir, 0, collect, &s), 0);
		ck_assert_uint_eq(s.n, counts[d] + 2);
		ck_assert_str_eq(s.names[0], ".");
		ck_assert_uint_eq(s.inos[0], dir.ino);
		ck_assert_str_eq(s.names[1], "..");
		ck_assert_uint_eq(s.inos[1], BV_EXT4_ROOT_INO);
		for (unsigned i = 1; i <= counts[d]; i++) {
			int n = d == 0 ? sprintf(name, "a")
				       : sprintf(name, d == 1 ? "f%u" : "file%u", i);

			ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, name, (size_t)n, &ino), 0);
			ck_assert_uint_eq(s.inos[seen_find(&s, name)], ino);
		}
		ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, "..", 2, &ino), 0);
		ck_assert_uint_eq(ino, BV_EXT4_ROOT_INO);
		ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, "nope", 4, &ino), -ENOENT);
		/* Resume from each position. */
		for (size_t i = 0; i + 1 < s.n; i++) {
			struct seen one = { .stop_after = 1 };

			ck_assert_int_eq(bv_ext4_dir_iterate(m.fs, &dir, s.next[i], collect, &one), 1);
			ck_assert_str_eq(one.names[0], s.names[i + 1]);
			seen_free(&one);
		}
		seen_free(&s);
	}
	ck_assert_msg(saw_inline, "mkfs made no inline directory");
	img_close(&m);
}
END_TEST

/* ---- corrupt blocks ---- */

/* A 1 KiB-block image with /lin: 90 names of 40 bytes, about 20 per block. */
static const char *linear_image(void)
{
	char src[PATH_MAX];

	snprintf(src, sizeof(src), "%s/dir_lin_src", bv_test_tmpdir());
	bv_test_sh("rm -rf '%s' && mkdir -p '%s/lin' && for i in $(seq 10 99); do "
		   "touch '%s/lin/entry_'$i'_padpadpadpadpadpadpadpadpad'; done",
		   src, src, src);
	return bv_test_mkfs("dir_lin", "-b 1024 -O ^dir_index,metadata_csum", src, "8M");
}

/* Finds in block B (1 KiB) the offset of the Nth entry (0 = first). */
static size_t nth_entry(const uint8_t *b, int n)
{
	size_t off = 0;

	while (n-- > 0)
		off += bv_le16(b + off + 4);
	return off;
}

struct corrupt_case {
	uint8_t *blk;   /* lblk 1 of /lin in the copy */
	size_t victim;  /* offset of its 3rd entry */
	char victim_name[64];
	char before_name[64]; /* its 2nd entry */
	char after_name[64];  /* its 5th entry */
	char other_name[64];  /* first live entry of lblk 2 */
};

static void entry_name(const uint8_t *b, size_t off, char *out)
{
	memcpy(out, b + off + 8, b[off + 6]);
	out[b[off + 6]] = '\0';
}

static void corrupt_setup(struct img *m, struct corrupt_case *c)
{
	const char *p = linear_image();
	uint64_t b1, b2;

	ck_assert_ptr_nonnull(p);
	img_load(m, p);
	b1 = debugfs_bmap(p, "/lin", 1);
	b2 = debugfs_bmap(p, "/lin", 2);
	c->blk = m->buf + b1 * 1024;
	c->victim = nth_entry(c->blk, 2);
	entry_name(c->blk, c->victim, c->victim_name);
	entry_name(c->blk, nth_entry(c->blk, 1), c->before_name);
	entry_name(c->blk, nth_entry(c->blk, 4), c->after_name);
	entry_name(m->buf + b2 * 1024, 0, c->other_name);
}

static int lookup_in_lin(struct img *m, const char *name, uint32_t *ino)
{
	struct bv_ext4_inode dir;

	get_dir(m, "lin", &dir);
	return bv_ext4_lookup(m->fs, &dir, name, strlen(name), ino);
}

static size_t count_lin(struct img *m)
{
	struct bv_ext4_inode dir;
	struct seen s = { 0 };
	size_t n;

	get_dir(m, "lin", &dir);
	ck_assert_int_eq(bv_ext4_dir_iterate(m->fs, &dir, 0, collect, &s), 0);
	n = s.n;
	seen_free(&s);
	return n;
}

/* Break one field of the victim: the block's rest is skipped, other blocks still work. */
static void expect_block_rest_skipped(struct img *m, struct corrupt_case *c)
{
	uint32_t ino;

	img_open_buf(m, true);
	ck_assert_int_eq(lookup_in_lin(m, c->before_name, &ino), 0);
	ck_assert_int_eq(lookup_in_lin(m, c->victim_name, &ino), -ENOENT);
	ck_assert_int_eq(lookup_in_lin(m, c->after_name, &ino), -ENOENT);
	ck_assert_int_eq(lookup_in_lin(m, c->other_name, &ino), 0);
	ck_assert_uint_lt(count_lin(m), 90 + 2);
	ck_assert_uint_gt(count_lin(m), 40);
}

START_TEST(test_dir_image_intact_baseline)
{
	struct corrupt_case c;
	struct img m = { 0 };
	uint32_t ino;

	corrupt_setup(&m, &c);
	img_open_buf(&m, false);
	ck_assert_int_eq(lookup_in_lin(&m, c.victim_name, &ino), 0);
	ck_assert_int_eq(lookup_in_lin(&m, c.after_name, &ino), 0);
	ck_assert_uint_eq(count_lin(&m), 90 + 2);
	img_close(&m);
}
END_TEST

START_TEST(test_dir_image_reclen_too_small)
{
	struct corrupt_case c;
	struct img m = { 0 };

	corrupt_setup(&m, &c);
	c.blk[c.victim + 4] = 8;
	c.blk[c.victim + 5] = 0;
	expect_block_rest_skipped(&m, &c);
	img_close(&m);
}
END_TEST

START_TEST(test_dir_image_reclen_not_multiple_of_4)
{
	struct corrupt_case c;
	struct img m = { 0 };

	corrupt_setup(&m, &c);
	c.blk[c.victim + 4] += 2;
	expect_block_rest_skipped(&m, &c);
	img_close(&m);
}
END_TEST

START_TEST(test_dir_image_reclen_past_block)
{
	struct corrupt_case c;
	struct img m = { 0 };

	corrupt_setup(&m, &c);
	c.blk[c.victim + 4] = 0x00;
	c.blk[c.victim + 5] = 0x08; /* 2048 */
	expect_block_rest_skipped(&m, &c);
	img_close(&m);
}
END_TEST

START_TEST(test_dir_image_name_len_past_reclen)
{
	struct corrupt_case c;
	struct img m = { 0 };

	corrupt_setup(&m, &c);
	c.blk[c.victim + 6] = 200;
	expect_block_rest_skipped(&m, &c);
	img_close(&m);
}
END_TEST

START_TEST(test_dir_image_inode_past_inodes_count)
{
	struct corrupt_case c;
	struct img m = { 0 };

	corrupt_setup(&m, &c);
	memset(c.blk + c.victim, 0xff, 4);
	expect_block_rest_skipped(&m, &c);
	img_close(&m);
}
END_TEST

START_TEST(test_dir_image_tail_checksum)
{
	struct corrupt_case c;
	struct img m = { 0 };
	uint32_t ino;

	corrupt_setup(&m, &c);
	c.blk[1024 - 4] ^= 0x01; /* det_checksum */
	img_open_buf(&m, false);
	/* Block 0 is read first and is fine; reaching block 1 fails the lookup. */
	ck_assert_int_eq(lookup_in_lin(&m, c.victim_name, &ino), -EBADMSG);
	ck_assert_int_eq(lookup_in_lin(&m, c.other_name, &ino), -EBADMSG);
	/* readdir skips the block, as the kernel's does. */
	ck_assert_uint_lt(count_lin(&m), 90 + 2 - 10);
	img_close(&m);
	/* With checksums off the same image reads whole. */
	corrupt_setup(&m, &c);
	c.blk[1024 - 4] ^= 0x01;
	img_open_buf(&m, true);
	ck_assert_int_eq(lookup_in_lin(&m, c.victim_name, &ino), 0);
	ck_assert_uint_eq(count_lin(&m), 90 + 2);
	img_close(&m);
}
END_TEST

/* dx_root damage: the lookup falls back to a linear scan and still finds every name. */
static void dx_root_patch_and_check(unsigned off, uint8_t val, bool skip_csum)
{
	const char *p = kernel_image("dir_big_dx", "-N 16384", "64M", populate_big);
	struct bv_ext4_inode dir;
	struct img m = { 0 };
	char name[256];
	uint32_t ino;
	uint64_t b0;
	size_t len;

	if (!p) {
		bv_test_skip("dx_root_patch", "needs root for a loop mount");
		return;
	}
	img_load(&m, p);
	b0 = debugfs_bmap(p, "/d", 0);
	/* s_log_block_size, in the superblock at 1024 */
	m.buf[(b0 << (10 + bv_le32(m.buf + 1024 + 24))) + off] = val;
	img_open_buf(&m, skip_csum);
	get_dir(&m, "d", &dir);
	for (unsigned i = 0; i < N_BIG; i += 53) {
		len = big_name(i, name);
		ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, name, len, &ino), 0);
	}
	ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, "missing", 7, &ino), -ENOENT);
	img_close(&m);
}

START_TEST(test_dir_dx_root_levels_too_large_falls_back)
{
	dx_root_patch_and_check(EXT4_DX_ROOT_INFO + 6, 3, false);
}
END_TEST

START_TEST(test_dir_dx_root_bad_hash_version_falls_back)
{
	dx_root_patch_and_check(EXT4_DX_ROOT_INFO + 4, 9, false);
}
END_TEST

START_TEST(test_dir_dx_root_count_beyond_limit_falls_back)
{
	/* count (le16 at 34) = 0xffff > limit */
	dx_root_patch_and_check(EXT4_DX_ROOT_ENTRIES + 3, 0xff, true);
}
END_TEST

/* The collision walk: give the index entry of leaf B the hash H|1 of a name N stored in
 * B (H above B's old start hash). The binary search for H now picks the leaf before B;
 * N is found only by moving on to B because B's hash, collision bit cleared, equals H.
 * With H+2 instead (no collision) the search must stop and say -ENOENT. */
static void collision_patch(bool collide, int want)
{
	const char *p = kernel_image("dir_big_dx", "-N 16384", "64M", populate_big);
	struct bv_ext4_inode dir;
	struct bv_ext4_map map;
	struct img m = { 0 };
	uint8_t *root, *node, *leaf, *ent;
	uint32_t bs, k, count, old, next, best = 0, h, ino, seed[4];
	unsigned version;
	size_t best_off = 0;
	char name[256];

	if (!p) {
		bv_test_skip("collision_patch", "needs root for a loop mount");
		return;
	}
	img_load(&m, p);
	img_open_buf(&m, true);
	get_dir(&m, "d", &dir);
	bs = m.fs->sb.block_size;
	ck_assert_int_eq(bv_ext4_map_blocks(m.fs, &dir, 0, 1, &map), 0);
	root = m.buf + map.pblk * bs;
	node = root + EXT4_DX_ROOT_ENTRIES;
	version = root[EXT4_DX_ROOT_INFO + 4];
	if (m.fs->sb.s_flags & EXT2_FLAGS_UNSIGNED_HASH)
		version += 3;
	for (int i = 0; i < 4; i++)
		seed[i] = m.fs->sb.s_hash_seed[i];
	/* One index level: descend to the first node. */
	if (root[EXT4_DX_ROOT_INFO + 6] == 1) {
		ck_assert_int_eq(bv_ext4_map_blocks(m.fs, &dir, bv_le32(node + 4) & 0x0fffffff, 1,
						    &map), 0);
		node = m.buf + map.pblk * bs + EXT4_DX_NODE_ENTRIES;
	}
	ck_assert_uint_eq(root[EXT4_DX_ROOT_INFO + 6] <= 1, 1);
	count = bv_le16(node + 2);
	ck_assert_uint_ge(count, 3);
	k = count / 2;
	ent = node + k * EXT4_DX_ENTRY_SIZE;
	old = bv_le32(ent);
	next = bv_le32(ent + EXT4_DX_ENTRY_SIZE);
	ck_assert_int_eq(bv_ext4_map_blocks(m.fs, &dir, bv_le32(ent + 4) & 0x0fffffff, 1, &map), 0);
	leaf = m.buf + map.pblk * bs;
	/* The name of leaf B with the largest hash below the next entry's. */
	for (size_t off = 0; off < bs; off += bv_le16(leaf + off + 4)) {
		if (bv_le32(leaf + off) == 0)
			continue;
		ck_assert_int_eq(bv_ext4_hash_compute(version, seed, (char *)leaf + off + 8,
						      leaf[off + 6], &h, NULL), 0);
		if (h > old && h + 3 < next && h >= best) {
			best = h;
			best_off = off;
		}
	}
	ck_assert_uint_ne(best, 0);
	memcpy(name, leaf + best_off + 8, leaf[best_off + 6]);
	name[leaf[best_off + 6]] = '\0';
	bv_ext4_close(m.fs);
	bv_source_close(m.src);

	h = collide ? best | 1 : best + 2;
	ent[0] = (uint8_t)h;
	ent[1] = (uint8_t)(h >> 8);
	ent[2] = (uint8_t)(h >> 16);
	ent[3] = (uint8_t)(h >> 24);
	img_open_buf(&m, true);
	get_dir(&m, "d", &dir);
	ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, name, strlen(name), &ino), want);
	img_close(&m);
}

START_TEST(test_dir_htree_collision_continues_to_next_leaf)
{
	collision_patch(true, 0);
}
END_TEST

START_TEST(test_dir_htree_no_collision_stops_at_leaf)
{
	collision_patch(false, -ENOENT);
}
END_TEST

/* A hole at logical block 1 (the in-memory inode's extent split in two): the walk skips
 * it and goes on with block 2. */
START_TEST(test_dir_hole_is_skipped)
{
	struct corrupt_case c;
	struct bv_ext4_inode dir;
	struct img m = { 0 };
	uint8_t *eh, *ex;
	uint32_t ino, len, start;

	corrupt_setup(&m, &c);
	img_open_buf(&m, false);
	get_dir(&m, "lin", &dir);
	eh = dir.i_block;
	ex = eh + 12;
	ck_assert_uint_eq(bv_le16(eh), 0xF30A);   /* extent magic */
	ck_assert_uint_eq(bv_le16(eh + 2), 1);    /* one extent */
	ck_assert_uint_eq(bv_le16(eh + 6), 0);    /* depth 0 */
	len = bv_le16(ex + 4);
	start = bv_le32(ex + 8);
	ck_assert_uint_ge(len, 3);
	memcpy(ex + 12, ex, 12);
	ex[4] = 1;                                 /* first: lblk 0, 1 block */
	ex[5] = 0;
	ex[12 + 0] = 2;                            /* second: lblk 2.., start + 2 */
	ex[12 + 4] = (uint8_t)(len - 2);
	ex[12 + 5] = (uint8_t)((len - 2) >> 8);
	start += 2;
	memcpy(ex + 12 + 8, &(uint8_t[4]){ (uint8_t)start, (uint8_t)(start >> 8),
					   (uint8_t)(start >> 16), (uint8_t)(start >> 24) }, 4);
	eh[2] = 2;
	ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, c.victim_name, strlen(c.victim_name), &ino),
			 -ENOENT);
	ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, c.other_name, strlen(c.other_name), &ino), 0);
	{
		struct seen s = { 0 };

		ck_assert_int_eq(bv_ext4_dir_iterate(m.fs, &dir, 0, collect, &s), 0);
		ck_assert_int_lt(seen_find(&s, c.victim_name), 0);
		ck_assert_int_ge(seen_find(&s, c.other_name), 0);
		ck_assert_uint_lt(s.n, 90 + 2 - 10);
		seen_free(&s);
	}
	img_close(&m);
}
END_TEST

START_TEST(test_dir_dx_root_bad_checksum)
{
	const char *p = kernel_image("dir_big_dx", "-N 16384", "64M", populate_big);
	struct bv_ext4_inode dir;
	struct img m = { 0 };
	uint8_t *root;
	uint32_t ino;
	char name[256];
	size_t len = big_name(300, name);

	if (!p) {
		bv_test_skip("test_dir_dx_root_bad_checksum", "needs root for a loop mount");
		return;
	}
	img_load(&m, p);
	root = m.buf + (debugfs_bmap(p, "/d", 0) << (10 + bv_le32(m.buf + 1024 + 24)));
	/* dt_checksum: after LIMIT entries from offset 32, past dt_reserved. */
	root[EXT4_DX_ROOT_ENTRIES + bv_le16(root + EXT4_DX_ROOT_ENTRIES) * 8 + 4] ^= 0x40;
	img_open_buf(&m, false);
	get_dir(&m, "d", &dir);
	ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, name, len, &ino), -EBADMSG);
	/* "." and ".." do not use the index. */
	ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, "..", 2, &ino), 0);
	bv_ext4_close(m.fs);
	bv_source_close(m.src);
	img_open_buf(&m, true);
	get_dir(&m, "d", &dir);
	ck_assert_int_eq(bv_ext4_lookup(m.fs, &dir, name, len, &ino), 0);
	img_close(&m);
}
END_TEST

static Suite *dir_suite(void)
{
	Suite *s = suite_create("dir");
	TCase *tc = tcase_create("dirent");
	TCase *ti = tcase_create("image");

	tcase_add_test(tc, test_dirent_accepts_valid_record);
	tcase_add_test(tc, test_dirent_rejects_reclen_too_small);
	tcase_add_test(tc, test_dirent_rejects_reclen_not_multiple_of_4);
	tcase_add_test(tc, test_dirent_rejects_reclen_past_block);
	tcase_add_test(tc, test_dirent_rejects_name_len_past_reclen);
	tcase_add_test(tc, test_dirent_rejects_inode_past_inodes_count);
	tcase_add_test(tc, test_dirent_rejects_gap_before_block_end);
	tcase_add_test(tc, test_dirent_rejects_live_entry_without_name);
	tcase_add_test(tc, test_dirent_rec_len_64k_encoding);
	tcase_add_test(tc, test_dir_ft_to_dt);
	suite_add_tcase(s, tc);

	tcase_set_timeout(ti, 60);
	tcase_add_test(ti, test_dir_big_htree_every_name_found);
	tcase_add_test(ti, test_dir_big_linear_every_name_found);
	tcase_add_test(ti, test_dir_htree_three_levels);
	tcase_add_test(ti, test_dir_resume_at_every_next_pos);
	tcase_add_test(ti, test_dir_inline_iterate_and_lookup);
	tcase_add_test(ti, test_dir_image_intact_baseline);
	tcase_add_test(ti, test_dir_image_reclen_too_small);
	tcase_add_test(ti, test_dir_image_reclen_not_multiple_of_4);
	tcase_add_test(ti, test_dir_image_reclen_past_block);
	tcase_add_test(ti, test_dir_image_name_len_past_reclen);
	tcase_add_test(ti, test_dir_image_inode_past_inodes_count);
	tcase_add_test(ti, test_dir_image_tail_checksum);
	tcase_add_test(ti, test_dir_dx_root_levels_too_large_falls_back);
	tcase_add_test(ti, test_dir_dx_root_bad_hash_version_falls_back);
	tcase_add_test(ti, test_dir_dx_root_count_beyond_limit_falls_back);
	tcase_add_test(ti, test_dir_dx_root_bad_checksum);
	tcase_add_test(ti, test_dir_hole_is_skipped);
	tcase_add_test(ti, test_dir_htree_collision_continues_to_next_leaf);
	tcase_add_test(ti, test_dir_htree_no_collision_stops_at_leaf);
	suite_add_tcase(s, ti);
	return s;
}
BV_SUITE(dir_suite)
