/* XFS directories: every format (shortform, block, leaf, node, btree-format data fork) on
 * three geometries, compared with what the kernel's read-only loop mount of the same image
 * listed (tests/xfs_fixture.h); lookups of every name; walks resumed after every entry; the
 * hash; and corrupt blocks patched into image copies. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/xfs/xfs_priv.h"
#include "tests/xfs_fixture.h"

static const char *const dirs[] = { "/", "/sf", "/block", "/leaf", "/node", "/btree", "/names",
				    "/x" };
#define NDIRS (sizeof(dirs) / sizeof(dirs[0]))

/* ---- collecting a walk ---- */

struct ent {
	char *hex; /* the name in hex, as the oracle writes it */
	uint64_t ino;
	unsigned dtype;
	uint64_t next;
};

struct walk {
	struct ent *e;
	size_t n, cap;
	size_t stop_after; /* 0: never stop */
	uint64_t last_next;
};

static int collect(void *ctx, const char *name, size_t len, uint64_t ino, unsigned char dtype,
		   uint64_t next_pos)
{
	struct walk *w = ctx;
	struct ent *e;

	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 256;
		w->e = realloc(w->e, w->cap * sizeof(*w->e));
	}
	e = &w->e[w->n++];
	e->hex = malloc(2 * len + 1);
	for (size_t i = 0; i < len; i++)
		sprintf(e->hex + 2 * i, "%02x", (unsigned char)name[i]);
	e->hex[2 * len] = '\0';
	e->ino = ino;
	e->dtype = dtype;
	e->next = next_pos;
	w->last_next = next_pos;
	return w->stop_after && w->n % w->stop_after == 0 ? 1 : 0;
}

static void walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->e[i].hex);
	free(w->e);
}

static int ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->hex, ((const struct ent *)b)->hex);
}

/* Walks DIR whole, in one call (STOP 0) or resuming after every STOP entries. */
static int walk_dir(struct xfx *x, const struct bv_inode *dir, size_t stop, struct walk *w)
{
	uint64_t pos = 0;
	int ret;

	memset(w, 0, sizeof(*w));
	w->stop_after = stop;
	for (int rounds = 0; rounds < 1000000; rounds++) {
		size_t before = w->n;

		ret = bv_fs_dir_iterate(x->fs, dir, pos, collect, w);
		if (ret <= 0)
			return ret;
		ck_assert_uint_gt(w->n, before);
		ck_assert_uint_gt(w->last_next, pos);
		pos = w->last_next;
	}
	ck_abort_msg("walk never ended");
	return -1;
}

/* The oracle's entries of DIR, as struct ent. */
static void oracle_dir(const char *img, const char *dir, struct walk *w)
{
	size_t n;
	char **l = xfx_oracle(img, 'D', dir, &n);

	memset(w, 0, sizeof(*w));
	w->e = calloc(n + 1, sizeof(*w->e));
	for (size_t i = 0; i < n; i++) {
		char hex[600];
		unsigned long long ino;
		unsigned dt;

		ck_assert_int_eq(sscanf(l[i], "%599s %llu %u", hex, &ino, &dt), 3);
		w->e[i].hex = strdup(hex);
		w->e[i].ino = ino;
		w->e[i].dtype = dt;
	}
	w->n = n;
	xfx_free_lines(l);
}

/* ---- tests against the kernel ---- */

/* Every directory of image _i lists what the kernel listed: the same names, inode numbers
 * and types ("." and ".." included), each once. */
START_TEST(test_xfs_readdir_matches_kernel)
{
	const char *img = xfx_image(_i, __func__);
	struct xfx x;

	if (!img)
		return;
	xfx_open(&x, img);
	for (size_t d = 0; d < NDIRS; d++) {
		struct bv_inode dir;
		struct walk got, want;

		ck_assert_int_eq(xfx_inode(&x, dirs[d], &dir), 0);
		ck_assert_int_eq(walk_dir(&x, &dir, 0, &got), 0);
		oracle_dir(img, dirs[d], &want);
		ck_assert_msg(got.n == want.n, "%s %s: %zu entries, the kernel %zu", img, dirs[d],
			      got.n, want.n);
		qsort(got.e, got.n, sizeof(*got.e), ent_cmp);
		qsort(want.e, want.n, sizeof(*want.e), ent_cmp);
		for (size_t i = 0; i < got.n; i++) {
			ck_assert_str_eq(got.e[i].hex, want.e[i].hex);
			ck_assert_msg(got.e[i].ino == want.e[i].ino, "%s %s: inode", dirs[d],
				      got.e[i].hex);
			ck_assert_uint_eq(got.e[i].dtype, want.e[i].dtype);
		}
		walk_free(&got);
		walk_free(&want);
	}
	xfx_close(&x);
}
END_TEST

/* The fixture holds what the tests claim to cover: a shortform, an extents and a btree
 * data fork, and leaf and node hash indexes on the 4 KiB image. */
START_TEST(test_xfs_fixture_has_every_format)
{
	const char *img = xfx_image(0, __func__);
	const char *want[][2] = { { "/sf", "1 (local)" }, { "/block", "2 (extents)" },
				  { "/leaf", "2 (extents)" }, { "/btree", "3 (btree)" } };
	size_t n;

	if (!img)
		return;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char **l = xfx_oracle(img, 'F', want[i][0], &n);

		ck_assert_uint_eq(n, 1);
		ck_assert_msg(strncmp(l[0], want[i][1], strlen(want[i][1])) == 0, "%s: %s",
			      want[i][0], l[0]);
		xfx_free_lines(l);
	}
}
END_TEST

/* Looking up every name the kernel listed gives the kernel's inode number. */
START_TEST(test_xfs_lookup_every_name)
{
	const char *img = xfx_image(_i, __func__);
	struct xfx x;

	if (!img)
		return;
	xfx_open(&x, img);
	for (size_t d = 0; d < NDIRS; d++) {
		struct bv_inode dir;
		struct walk want;

		ck_assert_int_eq(xfx_inode(&x, dirs[d], &dir), 0);
		oracle_dir(img, dirs[d], &want);
		for (size_t i = 0; i < want.n; i++) {
			char name[256];
			size_t len = strlen(want.e[i].hex) / 2;
			uint64_t ino = 0;
			unsigned v;

			for (size_t k = 0; k < len; k++) {
				sscanf(want.e[i].hex + 2 * k, "%2x", &v);
				name[k] = (char)v;
			}
			ck_assert_int_eq(bv_fs_lookup(x.fs, &dir, name, len, &ino), 0);
			ck_assert_msg(ino == want.e[i].ino, "%s: %.*s: %llu, the kernel %llu",
				      dirs[d], (int)len, name, (unsigned long long)ino,
				      (unsigned long long)want.e[i].ino);
		}
		walk_free(&want);
		/* Names that are not there, one differing only in its last byte. */
		uint64_t ino;
		ck_assert_int_eq(bv_fs_lookup(x.fs, &dir, "no such name", 12, &ino), -ENOENT);
		ck_assert_int_eq(bv_fs_lookup(x.fs, &dir, "node_entry_with_a_longer_name_0000x",
					      35, &ino), -ENOENT);
	}
	xfx_close(&x);
}
END_TEST

/* A walk resumed after every entry, and after every 7, gives the one-call walk's entries
 * in the same order, and positions only grow. */
START_TEST(test_xfs_readdir_resumes_anywhere)
{
	const char *img = xfx_image(_i, __func__);
	struct xfx x;

	if (!img)
		return;
	xfx_open(&x, img);
	for (size_t d = 0; d < NDIRS; d++) {
		struct bv_inode dir;
		struct walk all, one, seven;

		ck_assert_int_eq(xfx_inode(&x, dirs[d], &dir), 0);
		ck_assert_int_eq(walk_dir(&x, &dir, 0, &all), 0);
		ck_assert_int_eq(walk_dir(&x, &dir, 1, &one), 0);
		ck_assert_int_eq(walk_dir(&x, &dir, 7, &seven), 0);
		ck_assert_uint_eq(all.n, one.n);
		ck_assert_uint_eq(all.n, seven.n);
		for (size_t i = 0; i < all.n; i++) {
			ck_assert_str_eq(all.e[i].hex, one.e[i].hex);
			ck_assert_str_eq(all.e[i].hex, seven.e[i].hex);
			ck_assert_uint_eq(all.e[i].next, one.e[i].next);
			if (i)
				ck_assert_uint_gt(all.e[i].next, all.e[i - 1].next);
		}
		/* Past the end: nothing, no error. */
		size_t n = all.n;
		ck_assert_int_eq(bv_fs_dir_iterate(x.fs, &dir, all.e[n - 1].next, collect, &all),
				 0);
		ck_assert_uint_eq(all.n, n);
		walk_free(&all);
		walk_free(&one);
		walk_free(&seven);
	}
	xfx_close(&x);
}
END_TEST

START_TEST(test_xfs_lookup_not_a_dir)
{
	const char *img = xfx_image(0, __func__);
	struct bv_inode f;
	struct xfx x;
	uint64_t ino;

	if (!img)
		return;
	xfx_open(&x, img);
	ck_assert_int_eq(xfx_inode(&x, "/sf/f0", &f), 0);
	ck_assert_int_eq(bv_fs_lookup(x.fs, &f, "a", 1, &ino), -ENOTDIR);
	xfx_close(&x);
}
END_TEST

/* ascii-ci (mkfs.xfs -n version=ci; this kernel will not mount it, so mkfs's proto file
 * fills it): a name matches whatever the case of its ASCII letters, through the scan of a
 * shortform directory and the hash index of a leaf one; the exact name still wins. */
START_TEST(test_xfs_ascii_ci_lookup)
{
	char img[PATH_MAX], proto[PATH_MAX];
	const char *paths[][2] = { { "/MixedCase", "/mIXEDcASE" },
				   { "/big/Entry_42", "/BIG/entry_42" },
				   { "/big/Entry_499", "/big/ENTRY_499" } };
	struct xfx x;
	FILE *f;

	if (!bv_test_have("mkfs.xfs")) {
		bv_test_skip(__func__, "needs mkfs.xfs");
		return;
	}
	snprintf(img, sizeof(img), "%s/xda_ci.img", bv_test_tmpdir());
	snprintf(proto, sizeof(proto), "%s/xda_ci.proto", bv_test_tmpdir());
	f = fopen(proto, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "x\n0 0\nd--755 0 0\nMixedCase ---644 0 0 /dev/null\nbig d--755 0 0\n");
	for (int i = 0; i < 500; i++)
		fprintf(f, "Entry_%d ---644 0 0 /dev/null\n", i);
	fprintf(f, "$\n$\n");
	fclose(f);
	ck_assert_int_eq(bv_test_sh("truncate -s 300M '%s' && mkfs.xfs -q -f -n version=ci -p '%s' "
				    "'%s' >/dev/null 2>&1", img, proto, img), 0);
	xfx_open(&x, img);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		uint64_t a = 0, b = 0;

		ck_assert_int_eq(bv_fs_resolve(x.fs, paths[i][0], 0, &a), 0);
		ck_assert_int_eq(bv_fs_resolve(x.fs, paths[i][1], 0, &b), 0);
		ck_assert_uint_eq(a, b);
	}
	{
		uint64_t ino;

		ck_assert_int_eq(bv_fs_resolve(x.fs, "/big/Entry_500", 0, &ino), -ENOENT);
	}
	xfx_close(&x);
}
END_TEST

/* ---- the hash ---- */

START_TEST(test_xfs_da_hashname)
{
	/* Small cases by hand, then xfs_db's `hash` command as the oracle. */
	ck_assert_uint_eq(bv_xfs_da_hashname((const uint8_t *)"", 0), 0);
	ck_assert_uint_eq(bv_xfs_da_hashname((const uint8_t *)"a", 1), 0x61);
	ck_assert_uint_eq(bv_xfs_da_hashname((const uint8_t *)"ab", 2), (0x61u << 7) ^ 0x62);
	/* xfs_db hashes without a filesystem only once it has one open: use the fixture. */
	const char *img = bv_test_is_root() ? xfx_image(0, __func__) : NULL;

	if (img) {
		const char *names[] = { "f0", "leaf_entry_0001", "SGI_ACL_FILE",
					"a_name_longer_than_four_bytes_\xc3\xa9" };

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char cmd[256], out[64] = "";
			unsigned long v = 0;
			FILE *p;

			snprintf(cmd, sizeof(cmd), "xfs_db -r -c 'hash %s' '%s' 2>/dev/null",
				 names[i], img);
			p = popen(cmd, "r");
			ck_assert_ptr_nonnull(p);
			if (fgets(out, sizeof(out), p))
				v = strtoul(out, NULL, 0);
			pclose(p);
			ck_assert_msg(out[0], "xfs_db printed no hash");
			ck_assert_msg(bv_xfs_da_hashname((const uint8_t *)names[i],
							 strlen(names[i])) == v,
				      "%s: 0x%lx", names[i], v);
		}
	}
}
END_TEST

/* ---- corruption ---- */

/* The inode number of DIR in the 4 KiB image. */
static uint64_t dir_ino(const char *img, const char *dir)
{
	return xfx_kernel_ino(img, dir, ".");
}

static int open_iter(const char *img, const char *path, int *lookup_err)
{
	struct bv_inode dir;
	struct walk w;
	struct xfx x;
	uint64_t ino;
	int ret;

	xfx_open(&x, img);
	ret = xfx_inode(&x, path, &dir);
	if (ret == 0) {
		ret = walk_dir(&x, &dir, 0, &w);
		walk_free(&w);
		if (lookup_err)
			*lookup_err = bv_fs_lookup(x.fs, &dir, "f0", 2, &ino);
	}
	xfx_close(&x);
	return ret;
}

/* A data block whose CRC is wrong: -EBADMSG for that directory, the others still read. */
START_TEST(test_xfs_dir_bad_crc_is_ebadmsg)
{
	const char *base = xfx_image(0, __func__), *img;
	uint8_t b;
	long long off;

	if (!base)
		return;
	img = xfx_copy(base, __func__);
	off = xfx_block_byte(img, dir_ino(base, "/block"), "dblock", 0);
	ck_assert_int_gt(off, 0);
	xfx_pio(img, &b, 1, off + 200, false);
	b ^= 0x40;
	xfx_pio(img, &b, 1, off + 200, true);
	ck_assert_int_eq(open_iter(img, "/block", NULL), -EBADMSG);
	ck_assert_int_eq(open_iter(img, "/leaf", NULL), 0);
	ck_assert_int_eq(open_iter(img, "/sf", NULL), 0);
}
END_TEST

/* A data block whose header's blkno names another block (a block copied elsewhere, CRC
 * recomputed): -EUCLEAN; its own daddr is what the header must say. */
START_TEST(test_xfs_dir_block_naming_another_daddr_is_euclean)
{
	const char *base = xfx_image(0, __func__), *img;
	uint8_t blk[4096];
	long long off;

	if (!base)
		return;
	img = xfx_copy(base, __func__);
	off = xfx_block_byte(img, dir_ino(base, "/block"), "dblock", 0);
	ck_assert_int_gt(off, 0);
	xfx_pio(img, blk, sizeof(blk), off, false);
	ck_assert_uint_eq(bv_be32(blk), 0x58444233); /* XDB3 */
	ck_assert_uint_eq(bv_be64(blk + 8), (uint64_t)off >> 9);
	ck_assert_int_eq(open_iter(img, "/block", NULL), 0);
	blk[8 + 7] ^= 8; /* blkno: eight sectors on, the next 4 KiB block */
	xfx_crc_fix(blk, sizeof(blk), 4);
	xfx_pio(img, blk, sizeof(blk), off, true);
	ck_assert_int_eq(open_iter(img, "/block", NULL), -EUCLEAN);
	ck_assert_int_eq(open_iter(img, "/leaf", NULL), 0);
}
END_TEST

/* An entry's namelen made to run past the end of the data (CRC recomputed): -EUCLEAN. */
START_TEST(test_xfs_dirent_past_block_is_euclean)
{
	const char *base = xfx_image(0, __func__), *img;
	uint8_t blk[4096];
	long long off;
	size_t end;

	if (!base)
		return;
	img = xfx_copy(base, __func__);
	off = xfx_block_byte(img, dir_ino(base, "/block"), "dblock", 0);
	ck_assert_int_gt(off, 0);
	xfx_pio(img, blk, sizeof(blk), off, false);
	ck_assert_uint_eq(bv_be32(blk), 0x58444233); /* XDB3 */
	/* The entries end where the hash index starts; find the last entry before it. */
	end = sizeof(blk) - 8 - 8 * (size_t)bv_be32(blk + sizeof(blk) - 8);
	size_t pos = 64, last = 0;
	while (pos < end) {
		if (bv_be16(blk + pos) == 0xffff) {
			pos += bv_be16(blk + pos + 2);
			continue;
		}
		last = pos;
		pos += (8 + 1 + blk[pos + 8] + 1 + 2 + 7) & ~7u;
	}
	ck_assert_uint_gt(last, 64);
	blk[last + 8] = 255; /* namelen */
	xfx_crc_fix(blk, sizeof(blk), 4);
	xfx_pio(img, blk, sizeof(blk), off, true);
	ck_assert_int_eq(open_iter(img, "/block", NULL), -EUCLEAN);
}
END_TEST

/* A da node whose child pointer leads back to itself, and one whose child claims the
 * same level: -EUCLEAN, promptly, for lookups and walks alike. */
START_TEST(test_xfs_da_node_loop_is_euclean)
{
	const char *base = xfx_image(0, __func__), *img;
	uint8_t blk[4096];
	long long off;
	uint64_t ino;
	int lerr;

	if (!base)
		return;
	img = xfx_copy(base, __func__);
	ino = dir_ino(base, "/node");
	/* The root node is at the start of the leaf space: 32 GiB / 4 KiB. */
	off = xfx_block_byte(img, ino, "dblock", 8388608);
	ck_assert_int_gt(off, 0);
	xfx_pio(img, blk, sizeof(blk), off, false);
	ck_assert_uint_eq(bv_be16(blk + 8), 0x3ebe);
	/* Every child pointer names the node itself. */
	for (unsigned i = 0; i < bv_be16(blk + 56); i++) {
		uint8_t *p = blk + 64 + 8 * i + 4;

		p[0] = 0x00, p[1] = 0x80, p[2] = 0x00, p[3] = 0x00; /* 8388608 */
	}
	xfx_crc_fix(blk, sizeof(blk), 12);
	xfx_pio(img, blk, sizeof(blk), off, true);
	ck_assert_int_eq(open_iter(img, "/node", &lerr), 0); /* readdir needs no index */
	ck_assert_int_eq(lerr, -EUCLEAN);
	{
		struct xfx x;
		struct bv_inode dir;
		uint64_t found;

		xfx_open(&x, img);
		ck_assert_int_eq(xfx_inode(&x, "/node", &dir), 0);
		ck_assert_int_eq(bv_fs_lookup(x.fs, &dir, "node_entry_with_a_longer_name_00000", 35,
					      &found),
				 -EUCLEAN);
		xfx_close(&x);
	}
	/* Level raised above the maximum. */
	blk[58] = 0, blk[59] = 9;
	xfx_crc_fix(blk, sizeof(blk), 12);
	xfx_pio(img, blk, sizeof(blk), off, true);
	open_iter(img, "/node", &lerr);
	ck_assert_int_eq(lerr, -EUCLEAN);
}
END_TEST

/* A shortform directory whose count says more entries than the fork holds. */
START_TEST(test_xfs_sf_count_past_fork_is_euclean)
{
	const char *base = xfx_image(0, __func__), *img;
	char cmd[512];

	if (!base)
		return;
	img = xfx_copy(base, __func__);
	snprintf(cmd, sizeof(cmd),
		 "xfs_db -x -c 'inode %llu' -c 'write u3.sfdir3.hdr.count 40' '%s' >/dev/null",
		 (unsigned long long)dir_ino(base, "/sf"), img);
	ck_assert_int_eq(bv_test_sh("%s", cmd), 0);
	ck_assert_int_eq(open_iter(img, "/sf", NULL), -EUCLEAN);
	ck_assert_int_eq(open_iter(img, "/block", NULL), 0);
}
END_TEST

static Suite *xfs_dir_suite(void)
{
	Suite *s = suite_create("xfs_dir");
	TCase *tc = tcase_create("xfs_dir");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_xfs_da_hashname);
	tcase_add_test(tc, test_xfs_fixture_has_every_format);
	tcase_add_loop_test(tc, test_xfs_readdir_matches_kernel, 0, XFX_NIMAGES);
	tcase_add_loop_test(tc, test_xfs_lookup_every_name, 0, XFX_NIMAGES);
	tcase_add_loop_test(tc, test_xfs_readdir_resumes_anywhere, 0, XFX_NIMAGES);
	tcase_add_test(tc, test_xfs_lookup_not_a_dir);
	tcase_add_test(tc, test_xfs_ascii_ci_lookup);
	tcase_add_test(tc, test_xfs_dir_bad_crc_is_ebadmsg);
	tcase_add_test(tc, test_xfs_dir_block_naming_another_daddr_is_euclean);
	tcase_add_test(tc, test_xfs_dirent_past_block_is_euclean);
	tcase_add_test(tc, test_xfs_da_node_loop_is_euclean);
	tcase_add_test(tc, test_xfs_sf_count_past_fork_is_euclean);
	suite_add_tcase(s, tc);
	return s;
}

BV_SUITE(xfs_dir_suite)
