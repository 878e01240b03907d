/* fs/xfs/log.c and open's dirty-log rule: a fresh and a cleanly unmounted log are clean, a
 * filesystem shut down while mounted is dirty (refused with the sentence, served with
 * no_recovery), and a log whose cycle numbers make no sense is corruption. */
#include <sys/statvfs.h>

#include "tests/xfs_test.h"
#include "util/le.h"

static int log_state(const char *img, bool *dirty)
{
	struct bv_fs_opts opts = { .no_recovery = true };
	struct xt_fs t;
	int err = xt_open(&t, img, &opts);

	if (err)
		return err;
	err = bv_xfs_log_state(t.fs, dirty);
	xt_close(&t);
	return err;
}

START_TEST(test_xfs_log_fresh_is_clean)
{
	const char *img = xt_mkfs(__func__, "def", "");
	bool dirty = true;

	if (!img)
		return;
	ck_assert_int_eq(log_state(img, &dirty), 0);
	ck_assert(!dirty);
}
END_TEST

START_TEST(test_xfs_log_unmounted_is_clean)
{
	const char *img = xt_populated(__func__); /* written, then unmounted */
	struct bv_fs_info info;
	bool dirty = true;
	struct xt_fs t;

	if (!img)
		return;
	ck_assert_int_eq(log_state(img, &dirty), 0);
	ck_assert(!dirty);
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	t.ops->info_get(t.fs, &info);
	ck_assert_str_eq(info.journal_state, "clean");
	xt_close(&t);
}
END_TEST

/* Mounts a copy of the default image, writes, shuts the filesystem down, unmounts. */
static const char *shut_down_copy(const char *test)
{
	const char *img = xt_mkfs(test, "def", "");
	static char copy[PATH_MAX];
	const char *mnt;

	if (!img)
		return NULL;
	if (!bv_test_is_root() || !bv_test_have("xfs_io")) {
		bv_test_skip(test, "needs root and xfs_io to shut a mounted XFS down");
		return NULL;
	}
	snprintf(copy, sizeof(copy), "%s", xt_copy(img, "xfs_shutdown"));
	mnt = xt_path("xfs_shutdown.mnt");
	ck_assert_int_eq(bv_test_sh("set -e; mkdir -p '%s'; mount -o loop '%s' '%s'; "
				    "echo data > '%s/f'; mkdir '%s/d'; sync; "
				    "xfs_io -x -c shutdown '%s'; umount '%s'",
				    mnt, copy, mnt, mnt, mnt, mnt, mnt),
			 0);
	return copy;
}

START_TEST(test_xfs_log_shutdown_is_dirty_and_refused)
{
	const char *img = shut_down_copy(__func__);
	struct bv_fs_opts norec = { .no_recovery = true };
	struct bv_fs_info info;
	bool dirty = false;
	struct xt_fs t;

	if (!img)
		return;
	ck_assert_int_eq(log_state(img, &dirty), 0);
	ck_assert(dirty);
	ck_assert_int_eq(xt_open(&t, img, NULL), -EUCLEAN);
	ck_assert_str_eq(t.why,
			 "the XFS log is dirty (the filesystem was not cleanly unmounted); mount "
			 "it once with the kernel to replay it, or serve it as is with -o "
			 "norecovery");
	ck_assert_int_eq(xt_open(&t, img, &norec), 0);
	t.ops->info_get(t.fs, &info);
	ck_assert_str_eq(info.journal_state, "dirty");
	xt_close(&t);
	/* The kernel recounts free blocks and inodes from the AG headers after an unclean
	 * unmount: statfs must show what its ro,norecovery mount shows, whatever the
	 * superblock's lazy counters say (made wrong here on purpose). */
	{
		struct statvfs ours, theirs;
		uint8_t sb[512];
		const char *mnt;

		xt_pread(img, sb, sizeof(sb), 0);
		xt_put_be64(sb + 144, bv_be64(sb + 144) - 1000); /* sb_fdblocks */
		xt_put_be64(sb + 136, 0);                         /* sb_ifree */
		xt_fix_crc(sb, sizeof(sb), 224);
		xt_pwrite(img, sb, sizeof(sb), 0);
		ck_assert_int_eq(xt_open(&t, img, &norec), 0);
		t.ops->statfs(t.fs, &ours);
		mnt = xt_mount_ro(img);
		ck_assert_ptr_nonnull(mnt);
		ck_assert_int_eq(statvfs(mnt, &theirs), 0);
		xt_umount(mnt);
		ck_assert_uint_eq(ours.f_blocks, theirs.f_blocks);
		ck_assert_uint_eq(ours.f_bfree, theirs.f_bfree);
		ck_assert_uint_eq(ours.f_files, theirs.f_files);
		ck_assert_uint_eq(ours.f_ffree, theirs.f_ffree);
	}
	xt_close(&t);
}
END_TEST

/* The log's first BB: the byte offset of the internal log in IMG. */
static uint64_t log_byte(const char *img)
{
	struct bv_fs_opts opts = { .no_recovery = true };
	struct xt_fs t;
	uint64_t byte;

	ck_assert_int_eq(xt_open(&t, img, &opts), 0);
	ck_assert_int_eq(bv_xfs_fsb_to_byte(t.fs, t.fs->sb.logstart, 1, &byte), 0);
	xt_close(&t);
	return byte;
}

START_TEST(test_xfs_log_nonsense_cycles_are_corruption)
{
	const char *img = xt_mkfs(__func__, "def", "");
	uint8_t bb[512];
	const char *bad;
	uint64_t off;
	bool dirty;

	if (!img)
		return;
	bad = xt_copy(img, "xfs_log_cycles");
	off = log_byte(bad);
	/* The first record header says cycle 1; make the last BB cycle 7: no head fits. */
	memset(bb, 0, sizeof(bb));
	xt_put_be32(bb, 7);
	{
		struct bv_fs_opts opts = { .no_recovery = true };
		struct xt_fs t;
		uint64_t nbb;

		ck_assert_int_eq(xt_open(&t, bad, &opts), 0);
		nbb = (uint64_t)t.fs->sb.logblocks << (t.fs->sb.blocklog - 9);
		xt_close(&t);
		xt_pwrite(bad, bb, sizeof(bb), off + (nbb - 1) * 512);
	}
	ck_assert_int_eq(log_state(bad, &dirty), -EUCLEAN);
}
END_TEST

START_TEST(test_xfs_log_record_header_without_its_magic_is_corruption)
{
	const char *img = xt_mkfs(__func__, "def", "");
	uint8_t bb[512];
	const char *bad;
	uint64_t off;
	bool dirty;

	if (!img)
		return;
	bad = xt_copy(img, "xfs_log_nomagic");
	off = log_byte(bad);
	/* mkfs's unmount record at BB 0: keep the cycle number readable but not the magic:
	 * the head is found, and no record header precedes it. */
	xt_pread(bad, bb, sizeof(bb), off);
	ck_assert_uint_eq(bv_be32(bb), 0xFEEDBABEu);
	xt_put_be32(bb, 1);
	xt_pwrite(bad, bb, sizeof(bb), off);
	ck_assert_int_eq(log_state(bad, &dirty), -EUCLEAN);
}
END_TEST

START_TEST(test_xfs_log_unmount_record_with_two_ops_is_dirty)
{
	const char *img = xt_mkfs(__func__, "def", "");
	uint8_t bb[512];
	const char *bad;
	uint64_t off;
	bool dirty = false;

	if (!img)
		return;
	bad = xt_copy(img, "xfs_log_twoops");
	off = log_byte(bad);
	xt_pread(bad, bb, sizeof(bb), off);
	xt_put_be32(bb + 40, 2); /* h_num_logops */
	xt_pwrite(bad, bb, sizeof(bb), off);
	ck_assert_int_eq(log_state(bad, &dirty), 0);
	ck_assert(dirty);
}
END_TEST

static Suite *xfs_log_suite(void)
{
	Suite *s = suite_create("xfs_log");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_xfs_log_fresh_is_clean);
	tcase_add_test(tc, test_xfs_log_unmounted_is_clean);
	tcase_add_test(tc, test_xfs_log_shutdown_is_dirty_and_refused);
	tcase_add_test(tc, test_xfs_log_nonsense_cycles_are_corruption);
	tcase_add_test(tc, test_xfs_log_record_header_without_its_magic_is_corruption);
	tcase_add_test(tc, test_xfs_log_unmount_record_with_two_ops_is_dirty);
	suite_add_tcase(s, tc);
	return s;
}

BV_SUITE(xfs_log_suite)
