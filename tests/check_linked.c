/* The kernel's lookup rule: a directory entry that names a reserved inode (the journal,
 * say) or an inode holding an xattr value is corruption, never a file to serve. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockio/source.h"
#include "fs/ext4/ext4.h"
#include "util/log.h"
#include "tests/testutil.h"

/* An ext4 image with a 40 KiB xattr value in an ea_inode on /f, then, planted with
 * debugfs, /journal naming inode 8 and /ea naming the ea_inode. */
static const char *planted_image(void)
{
	static char path[4096];
	char dir[4000];

	snprintf(dir, sizeof(dir), "%s/linked-src", bv_test_tmpdir());
	if (bv_test_sh("rm -rf '%s' && mkdir -p '%s' && echo hi > '%s/f' && "
		       "head -c 40000 /dev/urandom > '%s.value'", dir, dir, dir, dir) != 0)
		return NULL;
	const char *img = bv_test_mkfs("linked", "-O ea_inode -I 256", dir, "16M");
	if (!img)
		return NULL;
	snprintf(path, sizeof(path), "%s", img);
	/* The host's filesystem may not take a 40 KiB value: set it in the image. */
	if (bv_test_sh("debugfs -w -R \"ea_set -f %s.value /f user.big\" '%s' >/dev/null 2>&1",
		       dir, path) != 0)
		return NULL;
	/* The ea_inode is the inode after /f's that is not /f: find it by its flag. */
	if (bv_test_sh("set -e; ea=$(for i in $(seq 12 40); do "
		       "debugfs -R \"stat <$i>\" '%s' 2>/dev/null | grep -q 'Flags: 0x2.....' && "
		       "echo $i && break; done); test -n \"$ea\"; "
		       "debugfs -w -R 'ln <8> /journal' '%s' >/dev/null 2>&1; "
		       "debugfs -w -R \"ln <$ea> /ea\" '%s' >/dev/null 2>&1",
		       path, path, path) != 0)
		return NULL;
	return path;
}

static void quiet(enum bv_log_level level, const char *msg, void *ctx)
{
	(void)level;
	(void)msg;
	(void)ctx;
}

START_TEST(test_lookup_refuses_reserved_and_ea_inodes)
{
	struct bv_source *src;
	struct bv_ext4 *fs;
	struct bv_ext4_inode root, inode;
	uint32_t ino;

	if (!bv_test_have("setfattr") || !bv_test_have("debugfs")) {
		bv_test_skip("test_lookup_refuses_reserved_and_ea_inodes", "setfattr or debugfs missing");
		return;
	}
	const char *img = planted_image();
	ck_assert_ptr_nonnull(img);
	bv_log_set_sink(quiet, NULL);
	ck_assert_int_eq(bv_source_open(img, &src), 0);
	ck_assert_int_eq(bv_ext4_open(src, NULL, &fs, NULL, 0), 0);
	ck_assert_int_eq(bv_ext4_inode_get(fs, BV_EXT4_ROOT_INO, &root), 0);

	/* The names are there and lookup finds them... */
	ck_assert_int_eq(bv_ext4_lookup(fs, &root, "journal", 7, &ino), 0);
	ck_assert_uint_eq(ino, 8);
	/* ...but the inode behind them is not served. */
	ck_assert_int_eq(bv_ext4_inode_get_linked(fs, ino, &inode), -EUCLEAN);
	ck_assert_int_eq(bv_test_resolve(fs, "/journal", 0, &ino), -EUCLEAN);
	ck_assert_int_eq(bv_ext4_lookup(fs, &root, "ea", 2, &ino), 0);
	ck_assert_int_eq(bv_ext4_inode_get(fs, ino, &inode), 0);
	ck_assert_int_eq(bv_ext4_inode_get_linked(fs, ino, &inode), -EUCLEAN);
	ck_assert_int_eq(bv_test_resolve(fs, "/ea", 0, &ino), -EUCLEAN);
	/* An ordinary file and the root pass. */
	ck_assert_int_eq(bv_test_resolve(fs, "/f", 0, &ino), 0);
	ck_assert_int_eq(bv_ext4_inode_get_linked(fs, ino, &inode), 0);
	ck_assert_int_eq(bv_ext4_inode_get_linked(fs, BV_EXT4_ROOT_INO, &inode), 0);
	bv_ext4_close(fs);
	bv_source_close(src);
}
END_TEST

static Suite *linked_suite(void)
{
	Suite *s = suite_create("linked");
	TCase *tc = tcase_create("linked");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_lookup_refuses_reserved_and_ea_inodes);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(linked_suite)
