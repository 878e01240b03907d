/* Directory entries whose names hold '/' or NUL are reported and skipped: passed on, they
 * would make the host kernel fail a whole readdir of the mount. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockio/source.h"
#include "fs/ext4/ext4.h"
#include "util/log.h"
#include "tests/testutil.h"

struct seen {
	bool ok, bad;
};

static int collect(void *ctx, const char *name, size_t len, uint32_t ino, uint8_t ft,
		   uint64_t next_pos)
{
	struct seen *s = ctx;

	(void)ino;
	(void)ft;
	(void)next_pos;
	if (len == 2 && memcmp(name, "ok", 2) == 0)
		s->ok = true;
	if (memchr(name, '/', len) || memchr(name, '\0', len) ||
	    (len == 3 && memcmp(name, "aXb", 3) == 0))
		s->bad = true;
	return 0;
}

/* Builds an image holding /ok and /aXb (checksums off, so only the name is wrong after
 * the patch), replaces the X of the on-disk name with BYTE, and walks the root. */
static void check_patched_name(char byte)
{
	char dir[4000];
	struct bv_source *src;
	struct bv_ext4 *fs;
	struct bv_ext4_inode root;
	struct seen seen = { 0 };
	uint8_t *buf, *hit = NULL;
	size_t len;
	uint32_t ino;

	snprintf(dir, sizeof(dir), "%s/dirnames-src", bv_test_tmpdir());
	ck_assert_int_eq(bv_test_sh("mkdir -p '%s' && touch '%s/ok' '%s/aXb'", dir, dir, dir), 0);
	const char *img = bv_test_mkfs("dirnames", "-O ^metadata_csum,^dir_index -b 4096", dir, "8M");
	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(bv_test_slurp(img, &buf, &len), 0);
	/* The only place "aXb" appears is the directory entry's name. */
	for (size_t i = 0; i + 3 <= len; i++)
		if (memcmp(buf + i, "aXb", 3) == 0) {
			ck_assert_ptr_null(hit);
			hit = buf + i;
		}
	ck_assert_ptr_nonnull(hit);
	hit[1] = (uint8_t)byte;

	fs = bv_test_open_mem(buf, len, NULL, &src);
	ck_assert_int_eq(bv_ext4_inode_get(fs, BV_EXT4_ROOT_INO, &root), 0);
	ck_assert_int_eq(bv_ext4_dir_iterate(fs, &root, 0, collect, &seen), 0);
	ck_assert(seen.ok);
	ck_assert(!seen.bad);
	ck_assert_int_eq(bv_ext4_lookup(fs, &root, "ok", 2, &ino), 0);
	bv_ext4_close(fs);
	bv_source_close(src);
	free(buf);
}

START_TEST(test_dirent_with_slash_in_name_is_skipped)
{
	check_patched_name('/');
}
END_TEST

START_TEST(test_dirent_with_nul_in_name_is_skipped)
{
	check_patched_name('\0');
}
END_TEST

static int clamp_reports;

static void count_clamp(enum bv_log_level level, const char *msg, void *ctx)
{
	(void)level;
	(void)ctx;
	if (strstr(msg, "more blocks than the filesystem has"))
		clamp_reports++;
}

/* A directory whose i_size claims more blocks than the filesystem has is read only as far
 * as the filesystem goes (extents could repeat its blocks without end), with a report. */
START_TEST(test_dir_size_past_filesystem_is_clamped_and_reported)
{
	char dir[4000], req[64];
	struct bv_source *src;
	struct bv_ext4 *fs;
	uint8_t *buf;
	size_t len;
	uint32_t ino;

	snprintf(dir, sizeof(dir), "%s/dirsize-src", bv_test_tmpdir());
	ck_assert_int_eq(bv_test_sh("mkdir -p '%s/d' && touch '%s/d/f'", dir, dir), 0);
	const char *img = bv_test_mkfs("dirsize", "-O ^metadata_csum -b 4096 -I 256", dir, "8M");
	ck_assert_ptr_nonnull(img);
	snprintf(req, sizeof(req), "imap /d");
	long long blk = bv_test_debugfs_num(img, req, "located at block ");
	long long off = bv_test_debugfs_num(img, req, ", offset ");
	ck_assert(blk > 0 && off >= 0);
	ck_assert_int_eq(bv_test_slurp(img, &buf, &len), 0);
	/* i_size_lo (offset 4): 4 GiB - 4 KiB, about a million 4 KiB blocks on an 8 MiB fs. */
	uint8_t *inode = buf + blk * 4096 + off;
	inode[4] = 0x00, inode[5] = 0xf0, inode[6] = 0xff, inode[7] = 0xff;

	bv_log_set_sink(count_clamp, NULL);
	bv_log_set_level(BV_LOG_WARN);
	fs = bv_test_open_mem(buf, len, NULL, &src);
	ck_assert_int_eq(bv_test_resolve(fs, "/d/f", 0, &ino), 0);
	ck_assert_int_eq(bv_test_resolve(fs, "/d/missing", 0, &ino), -ENOENT);
	ck_assert_int_gt(clamp_reports, 0);
	bv_ext4_close(fs);
	bv_source_close(src);
	free(buf);
}
END_TEST

static Suite *dirnames_suite(void)
{
	Suite *s = suite_create("dirnames");
	TCase *tc = tcase_create("dirnames");
	tcase_add_test(tc, test_dirent_with_slash_in_name_is_skipped);
	tcase_add_test(tc, test_dirent_with_nul_in_name_is_skipped);
	tcase_add_test(tc, test_dir_size_past_filesystem_is_clamped_and_reported);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(dirnames_suite)
