/* fs/xfs/superblock.c and xfs.c's open: the mkfs.xfs layouts we serve, every refusal by
 * name, superblock fields broken one at a time (CRC fixed after, so the rule is what
 * fails), and statfs against the kernel's on a read-only loop mount. */
#include <sys/statvfs.h>

#include "tests/xfs_test.h"
#include "util/le.h"

#define SB_CRC_OFF 224

/* Opens the image mkfs.xfs OPTS makes and checks what info says about it. */
static void open_layout(const char *test, const char *name, const char *opts,
			const char *feature, uint32_t bsize)
{
	const char *img = xt_mkfs(test, name, opts);
	struct bv_fs_info info;
	struct xt_fs t;
	int err;

	if (!img)
		return;
	err = xt_open(&t, img, NULL);
	ck_assert_msg(err == 0, "%s: open: %d (%s)", opts, err, t.why);
	t.ops->info_get(t.fs, &info);
	ck_assert_str_eq(info.type, "xfs");
	ck_assert_str_eq(info.journal_state, "clean");
	ck_assert_uint_eq(info.block_size, bsize);
	ck_assert_msg(strstr(info.features, feature), "%s: features '%s' lack '%s'", opts,
		      info.features, feature);
	ck_assert_uint_eq(info.root_ino, t.fs->sb.rootino);
	xt_close(&t);
}

START_TEST(test_xfs_opens_default_v5)
{
	open_layout(__func__, "def", "", "crc finobt sparse reflink bigtime inobtcount ftype",
		    4096);
}
END_TEST

START_TEST(test_xfs_opens_rmapbt)
{
	open_layout(__func__, "rmap", "-m rmapbt=1", "rmapbt", 4096);
}
END_TEST

START_TEST(test_xfs_opens_nrext64)
{
	open_layout(__func__, "nrext64", "-i nrext64=1", "nrext64", 4096);
}
END_TEST

START_TEST(test_xfs_opens_v4)
{
	open_layout(__func__, "v4", "-m crc=0", "v4", 4096);
}
END_TEST

START_TEST(test_xfs_opens_64k_dirblocks)
{
	const char *img = xt_mkfs(__func__, "dir64k", "-n size=65536");
	struct xt_fs t;

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	ck_assert_uint_eq(t.fs->sb.dirblksize, 65536);
	ck_assert_uint_eq(t.fs->sb.dirblklog, 4);
	xt_close(&t);
}
END_TEST

START_TEST(test_xfs_opens_1k_blocks)
{
	open_layout(__func__, "b1k", "-b size=1024", "crc", 1024);
}
END_TEST

START_TEST(test_xfs_refuses_external_log_by_name)
{
	const char *img = xt_mkfs(__func__, "extlog_data", "");
	char cmd_img[PATH_MAX], log[PATH_MAX];
	struct xt_fs t;

	if (!img)
		return;
	snprintf(cmd_img, sizeof(cmd_img), "%s", xt_path("xfs_extlog.img"));
	snprintf(log, sizeof(log), "%s", xt_path("xfs_extlog.log"));
	ck_assert_int_eq(bv_test_sh("truncate -s 512M '%s' && truncate -s 64M '%s' && "
				    "mkfs.xfs -q -f -l logdev='%s' '%s'",
				    cmd_img, log, log, cmd_img),
			 0);
	ck_assert_int_eq(xt_open(&t, cmd_img, NULL), -EOPNOTSUPP);
	ck_assert_msg(strstr(t.why, "external log"), "sentence: %s", t.why);
}
END_TEST

static void skip_no_mkfs(const char *test)
{
	bv_test_skip(test, "mkfs.xfs is not installed");
}

/* ---- one superblock field at a time, on the default layout ---- */

static uint8_t sb[4096];
static char why[512];

static const char *load_sb(void)
{
	const char *img = xt_mkfs("load_sb", "def", "");

	ck_assert_ptr_nonnull(img);
	xt_pread(img, sb, sizeof(sb), 0);
	return img;
}

static int decode(bool fix, bool skip_csum)
{
	struct bv_xfs_sb out;

	if (fix)
		xt_fix_crc(sb, 512, SB_CRC_OFF);
	why[0] = '\0';
	return bv_xfs_sb_decode(sb, sizeof(sb), 512ull << 20, skip_csum, &out, why, sizeof(why));
}

START_TEST(test_xfs_sb_decodes_default)
{
	if (!bv_test_have("mkfs.xfs")) {
		skip_no_mkfs(__func__);
		return;
	}
	load_sb();
	ck_assert_int_eq(decode(false, false), 0);
}
END_TEST

START_TEST(test_xfs_sb_bad_magic_is_not_xfs)
{
	if (!bv_test_have("mkfs.xfs")) {
		skip_no_mkfs(__func__);
		return;
	}
	load_sb();
	sb[0] = 'Y';
	ck_assert_int_eq(decode(true, false), -EMEDIUMTYPE);
	ck_assert_str_eq(why, "");
}
END_TEST

START_TEST(test_xfs_sb_bad_crc_is_ebadmsg_unless_skipped)
{
	if (!bv_test_have("mkfs.xfs")) {
		skip_no_mkfs(__func__);
		return;
	}
	load_sb();
	sb[108] ^= 0x40; /* sb_fname: harmless but covered by the CRC */
	ck_assert_int_eq(decode(false, false), -EBADMSG);
	ck_assert_int_eq(decode(false, true), 0);
}
END_TEST

/* Sets the 32-bit field at OFF, fixes the CRC and expects ERR with a sentence holding
 * WORDS (when not NULL). */
static void expect32(size_t off, uint32_t val, int err, const char *words)
{
	load_sb();
	xt_put_be32(sb + off, val);
	ck_assert_msg(decode(true, false) == err, "field %zu = 0x%x: got %d (%s), want %d", off,
		      val, decode(true, false), why, err);
	if (words)
		ck_assert_msg(strstr(why, words), "field %zu: sentence '%s' lacks '%s'", off, why,
			      words);
}

START_TEST(test_xfs_sb_rules)
{
	if (!bv_test_have("mkfs.xfs")) {
		skip_no_mkfs(__func__);
		return;
	}
	expect32(4, 0, -EUCLEAN, "block size");        /* sb_blocksize zeroed */
	expect32(4, 8192, -EUCLEAN, "block size");     /* disagrees with sb_blocklog */
	expect32(84, 1000, -EUCLEAN, "AG size");       /* sb_agblocks vs agblklog */
	expect32(88, 5, -EUCLEAN, "AGs");              /* sb_agcount vs dblocks */
	expect32(88, 0, -EUCLEAN, "AG count");
	expect32(96, 0, -EUCLEAN, "log");              /* sb_logblocks */
	expect32(216, 0x0b | 0x10, -EOPNOTSUPP, "needsrepair");
	expect32(216, 0x0b | 0x80000000u, -EOPNOTSUPP, "unknown");
	expect32(216, 0x0b | 0x100, -EOPNOTSUPP, "metadir");
	/* Unknown ro_compat: served, as the kernel mounts it read-only. */
	expect32(212, 0x0d | 0x1000, 0, NULL);
}
END_TEST

START_TEST(test_xfs_sb_refuses_realtime_by_name)
{
	if (!bv_test_have("mkfs.xfs")) {
		skip_no_mkfs(__func__);
		return;
	}
	load_sb();
	xt_put_be64(sb + 16, 1000); /* sb_rblocks */
	ck_assert_int_eq(decode(true, false), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(why, "realtime"));
	load_sb();
	xt_put_be64(sb + 24, 10); /* sb_rextents */
	ck_assert_int_eq(decode(true, false), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(why, "realtime"));
}
END_TEST

START_TEST(test_xfs_sb_refuses_bad_rootino_and_sizes)
{
	if (!bv_test_have("mkfs.xfs")) {
		skip_no_mkfs(__func__);
		return;
	}
	load_sb();
	xt_put_be64(sb + 56, 1ull << 40); /* sb_rootino past the AGs */
	ck_assert_int_eq(decode(true, false), -EUCLEAN);
	load_sb();
	xt_put_be16(sb + 104, 300); /* sb_inodesize not a power of two */
	ck_assert_int_eq(decode(true, false), -EUCLEAN);
	load_sb();
	sb[192] = 5; /* sb_dirblklog: 128 KiB directory blocks */
	ck_assert_int_eq(decode(true, false), -EUCLEAN);
	load_sb();
	xt_put_be64(sb + 48, 0); /* sb_logstart 0: external log */
	ck_assert_int_eq(decode(true, false), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(why, "external log"));
}
END_TEST

START_TEST(test_xfs_sb_refuses_truncated_image)
{
	struct bv_xfs_sb out;

	if (!bv_test_have("mkfs.xfs")) {
		skip_no_mkfs(__func__);
		return;
	}
	load_sb();
	ck_assert_int_eq(bv_xfs_sb_decode(sb, sizeof(sb), 256ull << 20, false, &out, why,
					  sizeof(why)),
			 -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(why, "truncated"));
}
END_TEST

START_TEST(test_xfs_open_bad_magic_is_emediumtype)
{
	const char *img = xt_mkfs(__func__, "def", "");
	const char *bad;
	struct xt_fs t;

	if (!img)
		return;
	bad = xt_copy(img, "xfs_badmagic");
	xt_pwrite(bad, "EXT4", 4, 0);
	ck_assert_int_eq(xt_open(&t, bad, NULL), -EMEDIUMTYPE);
	ck_assert_str_eq(t.why, "");
}
END_TEST

/* statfs equals the kernel's on a read-only mount of the same image. */
START_TEST(test_xfs_statfs_matches_kernel)
{
	const char *img = xt_populated(__func__);
	struct statvfs ours, theirs;
	const char *mnt;
	struct xt_fs t;

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	t.ops->statfs(t.fs, &ours);
	xt_close(&t);
	mnt = xt_mount_ro(img);
	ck_assert_ptr_nonnull(mnt);
	ck_assert_int_eq(statvfs(mnt, &theirs), 0);
	xt_umount(mnt);
	ck_assert_uint_eq(ours.f_bsize, theirs.f_bsize);
	ck_assert_uint_eq(ours.f_frsize, theirs.f_frsize);
	ck_assert_uint_eq(ours.f_blocks, theirs.f_blocks);
	ck_assert_uint_eq(ours.f_bfree, theirs.f_bfree);
	ck_assert_uint_eq(ours.f_bavail, theirs.f_bavail);
	ck_assert_uint_eq(ours.f_files, theirs.f_files);
	ck_assert_uint_eq(ours.f_ffree, theirs.f_ffree);
	ck_assert_uint_eq(ours.f_namemax, theirs.f_namemax);
}
END_TEST

static Suite *xfs_sb_suite(void)
{
	Suite *s = suite_create("xfs_superblock");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_xfs_opens_default_v5);
	tcase_add_test(tc, test_xfs_opens_rmapbt);
	tcase_add_test(tc, test_xfs_opens_nrext64);
	tcase_add_test(tc, test_xfs_opens_v4);
	tcase_add_test(tc, test_xfs_opens_64k_dirblocks);
	tcase_add_test(tc, test_xfs_opens_1k_blocks);
	tcase_add_test(tc, test_xfs_refuses_external_log_by_name);
	tcase_add_test(tc, test_xfs_sb_decodes_default);
	tcase_add_test(tc, test_xfs_sb_bad_magic_is_not_xfs);
	tcase_add_test(tc, test_xfs_sb_bad_crc_is_ebadmsg_unless_skipped);
	tcase_add_test(tc, test_xfs_sb_rules);
	tcase_add_test(tc, test_xfs_sb_refuses_realtime_by_name);
	tcase_add_test(tc, test_xfs_sb_refuses_bad_rootino_and_sizes);
	tcase_add_test(tc, test_xfs_sb_refuses_truncated_image);
	tcase_add_test(tc, test_xfs_open_bad_magic_is_emediumtype);
	tcase_add_test(tc, test_xfs_statfs_matches_kernel);
	suite_add_tcase(s, tc);
	return s;
}

BV_SUITE(xfs_sb_suite)
