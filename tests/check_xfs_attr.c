/* XFS xattrs: shortform, leaf, node and remote values, the three namespaces and POSIX ACLs
 * on three geometries, compared with what listxattr/getxattr gave root on the kernel's
 * read-only loop mount of the same image (tests/xfs_fixture.h); size semantics; and corrupt
 * leaf and remote blocks patched into image copies. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/xfs/xfs_priv.h"
#include "tests/xfs_fixture.h"

static const char *const files[] = { "/x/sf", "/x/leaf", "/x/node", "/x/remote", "/x/ns",
				     "/x/acl", "/x/acldir", "/x/none" };
#define NFILES (sizeof(files) / sizeof(files[0]))

/* The kernel's list for PATH: names (NUL-separated into NAMES, *LEN bytes) and the values
 * in hex, one per name. */
struct klist {
	char names[65536];
	size_t len;
	char **vals;
	size_t n;
};

static void oracle_attrs(const char *img, const char *path, bool trusted, struct klist *k)
{
	char **l = xfx_oracle(img, 'X', path, &k->n);
	size_t kept = 0;

	k->len = 0;
	k->vals = calloc(k->n + 1, sizeof(*k->vals));
	for (size_t i = 0; i < k->n; i++) {
		char *sp = strchr(l[i], ' ');

		ck_assert_ptr_nonnull(sp);
		*sp = '\0';
		/* What the kernel shows a caller without CAP_SYS_ADMIN: no trusted.*. */
		if (!trusted && strncmp(l[i], "trusted.", 8) == 0)
			continue;
		memcpy(k->names + k->len, l[i], strlen(l[i]) + 1);
		k->len += strlen(l[i]) + 1;
		k->vals[kept++] = strdup(sp + 1);
	}
	k->n = kept;
	xfx_free_lines(l);
}

static void klist_free(struct klist *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->vals[i]);
	free(k->vals);
}

static char *hex(const uint8_t *b, size_t n)
{
	char *s = malloc(2 * n + 1);

	for (size_t i = 0; i < n; i++)
		sprintf(s + 2 * i, "%02x", b[i]);
	s[2 * n] = '\0';
	return s;
}

/* listxattr as root and as anyone gives the kernel's names in the kernel's order. */
START_TEST(test_xfs_xattr_list_matches_kernel)
{
	const char *img = xfx_image(_i, __func__);
	static char buf[65536];
	struct xfx x;

	if (!img)
		return;
	xfx_open(&x, img);
	for (size_t f = 0; f < NFILES; f++) {
		for (int trusted = 0; trusted < 2; trusted++) {
			struct bv_inode ip;
			struct klist *k = malloc(sizeof(*k));
			ssize_t n;

			ck_assert_int_eq(xfx_inode(&x, files[f], &ip), 0);
			oracle_attrs(img, files[f], trusted, k);
			n = bv_fs_xattr_list(x.fs, &ip, NULL, 0, trusted);
			ck_assert_msg(n == (ssize_t)k->len, "%s: %zd bytes, the kernel %zu",
				      files[f], n, k->len);
			n = bv_fs_xattr_list(x.fs, &ip, buf, sizeof(buf), trusted);
			ck_assert_int_eq(n, (ssize_t)k->len);
			ck_assert_msg(memcmp(buf, k->names, k->len) == 0, "%s: names differ",
				      files[f]);
			/* One byte short: -ERANGE. */
			if (k->len)
				ck_assert_int_eq(bv_fs_xattr_list(x.fs, &ip, buf, k->len - 1,
								  trusted),
						 -ERANGE);
			klist_free(k);
			free(k);
		}
	}
	xfx_close(&x);
}
END_TEST

/* getxattr of every listed name gives the kernel's value (ACLs in the xattr format, the
 * raw SGI_ACL_* as trusted.*), and its size with SIZE 0; one byte short is -ERANGE. */
START_TEST(test_xfs_xattr_get_matches_kernel)
{
	const char *img = xfx_image(_i, __func__);
	static uint8_t buf[65536];
	struct xfx x;

	if (!img)
		return;
	xfx_open(&x, img);
	for (size_t f = 0; f < NFILES; f++) {
		struct bv_inode ip;
		struct klist *k = malloc(sizeof(*k));
		const char *name;
		size_t i = 0;

		ck_assert_int_eq(xfx_inode(&x, files[f], &ip), 0);
		oracle_attrs(img, files[f], true, k);
		for (name = k->names; name < k->names + k->len; name += strlen(name) + 1, i++) {
			size_t want = strlen(k->vals[i]) / 2;
			ssize_t n = bv_fs_xattr_get(x.fs, &ip, name, NULL, 0);
			char *got;

			ck_assert_msg(n == (ssize_t)want, "%s %s: %zd, the kernel %zu", files[f],
				      name, n, want);
			n = bv_fs_xattr_get(x.fs, &ip, name, buf, sizeof(buf));
			ck_assert_int_eq(n, (ssize_t)want);
			got = hex(buf, (size_t)n);
			ck_assert_msg(strcmp(got, k->vals[i]) == 0, "%s %s: value differs",
				      files[f], name);
			free(got);
			/* (SIZE 0 asks for the length: one byte short needs 2 or more.) */
			if (want > 1)
				ck_assert_int_eq(bv_fs_xattr_get(x.fs, &ip, name, buf, want - 1),
						 -ERANGE);
		}
		klist_free(k);
		free(k);
	}
	xfx_close(&x);
}
END_TEST

/* Names that are not there, and names no handler takes, as the syscalls answer them. */
START_TEST(test_xfs_xattr_get_errors)
{
	const char *img = xfx_image(0, __func__);
	char big[300];
	uint8_t buf[16];
	struct bv_inode ip, none;
	struct xfx x;

	if (!img)
		return;
	xfx_open(&x, img);
	ck_assert_int_eq(xfx_inode(&x, "/x/ns", &ip), 0);
	ck_assert_int_eq(xfx_inode(&x, "/x/none", &none), 0);
	ck_assert_int_eq(bv_fs_xattr_get(x.fs, &ip, "user.nope", buf, sizeof(buf)), -ENODATA);
	/* The same name in another namespace is another attr. */
	ck_assert_int_eq(bv_fs_xattr_get(x.fs, &ip, "user.t", buf, sizeof(buf)), -ENODATA);
	ck_assert_int_eq(bv_fs_xattr_get(x.fs, &ip, "trusted.u", buf, sizeof(buf)), -ENODATA);
	ck_assert_int_eq(bv_fs_xattr_get(x.fs, &ip, "user.", buf, sizeof(buf)), -EINVAL);
	ck_assert_int_eq(bv_fs_xattr_get(x.fs, &ip, "gnu.x", buf, sizeof(buf)), -EOPNOTSUPP);
	ck_assert_int_eq(bv_fs_xattr_get(x.fs, &ip, "system.data", buf, sizeof(buf)), -EOPNOTSUPP);
	ck_assert_int_eq(bv_fs_xattr_get(x.fs, &ip, "", buf, sizeof(buf)), -ERANGE);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "user.", 5);
	ck_assert_int_eq(bv_fs_xattr_get(x.fs, &ip, big, buf, sizeof(buf)), -ERANGE);
	ck_assert_int_eq(bv_fs_xattr_get(x.fs, &ip, "user.empty", buf, sizeof(buf)), 0);
	ck_assert_int_eq(bv_fs_xattr_get(x.fs, &none, "system.posix_acl_access", buf, 16),
			 -ENODATA);
	ck_assert_int_eq(bv_fs_xattr_list(x.fs, &none, (char *)buf, sizeof(buf), true), 0);
	xfx_close(&x);
}
END_TEST

/* The fixture's attr forks: shortform, a leaf at block 0, a node root at block 0. */
START_TEST(test_xfs_attr_fixture_formats)
{
	const char *img = xfx_image(0, __func__);
	uint8_t b[2];
	size_t n;
	char **l;

	if (!img)
		return;
	l = xfx_oracle(img, 'A', "/x/sf", &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(l[0], "1 (local) 0 ");
	xfx_free_lines(l);
	xfx_pio(img, b, 2, xfx_block_byte(img, xfx_kernel_ino(img, "/x", "leaf"), "ablock", 0) + 8,
		false);
	ck_assert_uint_eq(bv_be16(b), 0x3bee);
	xfx_pio(img, b, 2, xfx_block_byte(img, xfx_kernel_ino(img, "/x", "node"), "ablock", 0) + 8,
		false);
	ck_assert_uint_eq(bv_be16(b), 0x3ebe);
}
END_TEST

/* ---- corruption ---- */

static ssize_t get_in(const char *img, const char *path, const char *name)
{
	static uint8_t buf[65536];
	struct bv_inode ip;
	struct xfx x;
	ssize_t n;

	xfx_open(&x, img);
	ck_assert_int_eq(xfx_inode(&x, path, &ip), 0);
	n = bv_fs_xattr_get(x.fs, &ip, name, buf, sizeof(buf));
	xfx_close(&x);
	return n;
}

static ssize_t list_in(const char *img, const char *path)
{
	struct bv_inode ip;
	struct xfx x;
	ssize_t n;

	xfx_open(&x, img);
	ck_assert_int_eq(xfx_inode(&x, path, &ip), 0);
	n = bv_fs_xattr_list(x.fs, &ip, NULL, 0, true);
	xfx_close(&x);
	return n;
}

/* An attr leaf entry whose name offset points outside the block: -EUCLEAN, list and get. */
START_TEST(test_xfs_attr_leaf_nameidx_outside_is_euclean)
{
	const char *base = xfx_image(0, __func__), *img;
	uint8_t blk[4096];
	long long off;

	if (!base)
		return;
	img = xfx_copy(base, __func__);
	off = xfx_block_byte(img, xfx_kernel_ino(base, "/x", "leaf"), "ablock", 0);
	ck_assert_int_gt(off, 0);
	xfx_pio(img, blk, sizeof(blk), off, false);
	ck_assert_uint_eq(bv_be16(blk + 8), 0x3bee);
	/* Entry 0's nameidx (table at 80, nameidx at +4) past the block. */
	blk[80 + 4] = 0xff;
	blk[80 + 5] = 0xf0;
	xfx_crc_fix(blk, sizeof(blk), 12);
	xfx_pio(img, blk, sizeof(blk), off, true);
	ck_assert_int_eq(list_in(img, "/x/leaf"), -EUCLEAN);
	ck_assert_int_eq(get_in(img, "/x/leaf", "user.leaf_attr_07"), -EUCLEAN);
	ck_assert_int_gt(list_in(img, "/x/node"), 0);
	/* Into the entry table itself. */
	blk[80 + 4] = 0;
	blk[80 + 5] = 80;
	xfx_crc_fix(blk, sizeof(blk), 12);
	xfx_pio(img, blk, sizeof(blk), off, true);
	ck_assert_int_eq(list_in(img, "/x/leaf"), -EUCLEAN);
}
END_TEST

/* A remote value block whose header names another owner (CRC recomputed): -EUCLEAN for
 * that value; the other attrs of the file still read. A bad CRC there: -EBADMSG. */
START_TEST(test_xfs_attr_remote_wrong_owner_is_euclean)
{
	const char *base = xfx_image(0, __func__), *img;
	uint8_t leaf[4096], rmt[4096];
	uint64_t ino;
	uint32_t valueblk = 0;
	long long off;

	if (!base)
		return;
	img = xfx_copy(base, __func__);
	ino = xfx_kernel_ino(base, "/x", "remote");
	xfx_pio(img, leaf, sizeof(leaf), xfx_block_byte(img, ino, "ablock", 0), false);
	ck_assert_uint_eq(bv_be16(leaf + 8), 0x3bee);
	/* The remote entry (flags without XFS_ATTR_LOCAL) whose value is 60 KiB. */
	for (unsigned i = 0; i < bv_be16(leaf + 56); i++) {
		const uint8_t *e = leaf + 80 + 8 * i, *n = leaf + bv_be16(e + 4);

		if (!(e[6] & 1) && bv_be32(n + 4) == 61440)
			valueblk = bv_be32(n);
	}
	ck_assert_uint_ne(valueblk, 0);
	off = xfx_block_byte(img, ino, "ablock", valueblk);
	ck_assert_int_gt(off, 0);
	xfx_pio(img, rmt, sizeof(rmt), off, false);
	ck_assert_uint_eq(bv_be32(rmt), 0x5841524d);
	rmt[32 + 7] ^= 1; /* rm_owner */
	xfx_crc_fix(rmt, sizeof(rmt), 12);
	xfx_pio(img, rmt, sizeof(rmt), off, true);
	ck_assert_int_eq(get_in(img, "/x/remote", "user.big"), -EUCLEAN);
	ck_assert_int_eq(get_in(img, "/x/remote", "user.small"), 1);
	ck_assert_int_gt(list_in(img, "/x/remote"), 0);
	rmt[32 + 7] ^= 1;
	rmt[100] ^= 1; /* value byte, CRC left stale */
	xfx_pio(img, rmt, sizeof(rmt), off, true);
	ck_assert_int_eq(get_in(img, "/x/remote", "user.big"), -EBADMSG);
}
END_TEST

static Suite *xfs_attr_suite(void)
{
	Suite *s = suite_create("xfs_attr");
	TCase *tc = tcase_create("xfs_attr");

	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_xfs_attr_fixture_formats);
	tcase_add_loop_test(tc, test_xfs_xattr_list_matches_kernel, 0, XFX_NIMAGES);
	tcase_add_loop_test(tc, test_xfs_xattr_get_matches_kernel, 0, XFX_NIMAGES);
	tcase_add_test(tc, test_xfs_xattr_get_errors);
	tcase_add_test(tc, test_xfs_attr_leaf_nameidx_outside_is_euclean);
	tcase_add_test(tc, test_xfs_attr_remote_wrong_owner_is_euclean);
	suite_add_tcase(s, tc);
	return s;
}

BV_SUITE(xfs_attr_suite)
