/* The libblkid probe and the refusal sentence for anything that is not ext2/3/4 or xfs. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockio/probe.h"
#include "tests/testutil.h"

/* Opens PATH and probes it; the source's size goes to *SIZE. */
static int probe_path(const char *path, struct bv_probe_result *r, uint64_t *size)
{
	struct bv_source *src;
	int rc;

	ck_assert_int_eq(bv_source_open(path, &src), 0);
	rc = bv_probe_source(src, r);
	if (size)
		*size = bv_source_size(src);
	bv_source_close(src);
	return rc;
}

/* A scratch path named for the test; four live at once, so a test may hold a few. */
static const char *scratch(const char *name)
{
	static char path[4][PATH_MAX];
	static unsigned next;
	char *p = path[next++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", bv_test_tmpdir(), name);
	return p;
}

START_TEST(test_probe_ext2_image)
{
	const char *img = bv_test_mkfs("probe_ext2", "-t ext2 -b 1024 -L bvlabel2 "
				       "-U 11111111-2222-3333-4444-555555555555", NULL, "4M");
	struct bv_probe_result r;
	char msg[256] = "untouched";

	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(probe_path(img, &r, NULL), 0);
	ck_assert_str_eq(r.type, "ext2");
	ck_assert_str_eq(r.usage, "filesystem");
	ck_assert_str_eq(r.uuid, "11111111-2222-3333-4444-555555555555");
	ck_assert_str_eq(r.label, "bvlabel2");
	ck_assert_uint_eq(r.block_size, 1024);
	ck_assert(bv_probe_is_ext(&r));
	ck_assert_int_eq(bv_probe_check_supported(&r, img, 4 << 20, msg, sizeof(msg)), 0);
	ck_assert_str_eq(msg, "untouched");
}
END_TEST

START_TEST(test_probe_ext4_image)
{
	const char *img = bv_test_mkfs("probe_ext4", "-b 4096 -L bvlabel4 "
				       "-O has_journal,extents,huge_file,flex_bg,64bit,"
				       "metadata_csum,dir_nlink,extra_isize",
				       NULL, "16M");
	struct bv_probe_result r;

	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(probe_path(img, &r, NULL), 0);
	ck_assert_str_eq(r.type, "ext4");
	ck_assert_str_eq(r.usage, "filesystem");
	ck_assert_str_eq(r.label, "bvlabel4");
	ck_assert_uint_eq(strlen(r.uuid), 36);
	ck_assert_uint_eq(r.block_size, 4096);
	ck_assert(bv_probe_is_ext(&r));
	ck_assert_int_eq(bv_probe_check_supported(&r, img, 16 << 20, NULL, 0), 0);
}
END_TEST

START_TEST(test_probe_ext3_image)
{
	const char *img = bv_test_mkfs("probe_ext3", "-t ext3", NULL, "8M");
	struct bv_probe_result r;

	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(probe_path(img, &r, NULL), 0);
	ck_assert_str_eq(r.type, "ext3");
	ck_assert(bv_probe_is_ext(&r));
}
END_TEST

START_TEST(test_probe_swap_is_refused_by_name)
{
	const char *img = scratch("probe_swap.img");
	struct bv_probe_result r;
	char msg[256], want[PATH_MAX + 64];
	uint64_t size;

	if (!bv_test_have("mkswap")) {
		bv_test_skip(__func__, "mkswap not installed");
		return;
	}
	ck_assert_int_eq(bv_test_sh("rm -f '%s' && truncate -s 1M '%s' && mkswap '%s' "
				    ">/dev/null 2>&1", img, img, img), 0);
	ck_assert_int_eq(probe_path(img, &r, &size), 0);
	ck_assert_str_eq(r.type, "swap");
	ck_assert(!bv_probe_is_ext(&r));
	ck_assert_int_eq(bv_probe_check_supported(&r, img, size, msg, sizeof(msg)), -EMEDIUMTYPE);
	snprintf(want, sizeof(want), "%s holds swap space, not an ext2/3/4 or xfs filesystem", img);
	ck_assert_str_eq(msg, want);
}
END_TEST

START_TEST(test_probe_zero_file_holds_nothing)
{
	const char *img = scratch("probe_zero.img");
	struct bv_probe_result r;
	char msg[256];
	uint64_t size;

	ck_assert_int_eq(bv_test_sh("rm -f '%s' && truncate -s 1M '%s'", img, img), 0);
	ck_assert_int_eq(probe_path(img, &r, &size), 0);
	ck_assert_str_eq(r.type, "");
	ck_assert_str_eq(r.usage, "");
	ck_assert_uint_eq(r.block_size, 0);
	ck_assert(!bv_probe_is_ext(&r));
	ck_assert_int_eq(bv_probe_check_supported(&r, "IMG", size, msg, sizeof(msg)), -EMEDIUMTYPE);
	ck_assert_str_eq(msg, "IMG holds no filesystem that blkid recognises");
}
END_TEST

START_TEST(test_probe_tiny_file_is_too_small)
{
	const char *img = scratch("probe_tiny.img");
	struct bv_probe_result r;
	char msg[256];
	uint64_t size;

	ck_assert_int_eq(bv_test_sh("rm -f '%s' && head -c 100 /dev/zero >'%s'", img, img), 0);
	ck_assert_int_eq(probe_path(img, &r, &size), 0);
	ck_assert_str_eq(r.type, "");
	ck_assert_uint_eq(size, 100);
	ck_assert_int_eq(bv_probe_check_supported(&r, "IMG", size, msg, sizeof(msg)), -EMEDIUMTYPE);
	ck_assert_str_eq(msg, "IMG is too small (100 bytes) to hold an ext2/3/4 or xfs filesystem");
}
END_TEST

START_TEST(test_probe_empty_file_is_too_small)
{
	const char *img = scratch("probe_empty.img");
	struct bv_probe_result r;
	char msg[256];
	uint64_t size;
	int rc;

	ck_assert_int_eq(bv_test_sh("rm -f '%s' && : >'%s'", img, img), 0);
	rc = probe_path(img, &r, &size);
	ck_assert_uint_eq(size, 0);
	/* Whether blkid refuses an empty device or finds nothing, it is no ext filesystem;
	 * the size check alone words the refusal. */
	if (rc == 0)
		ck_assert_str_eq(r.type, "");
	else
		ck_assert_int_lt(rc, 0);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(bv_probe_check_supported(&r, "IMG", size, msg, sizeof(msg)), -EMEDIUMTYPE);
	ck_assert_str_eq(msg, "IMG is too small (0 bytes) to hold an ext2/3/4 or xfs filesystem");
}
END_TEST

START_TEST(test_probe_luks_header_is_refused_as_encrypted)
{
	const char *img = scratch("probe_luks.img");
	struct bv_probe_result r;
	char msg[256];
	uint64_t size;

	/* The LUKS1 magic and version are all blkid needs to call it crypto_LUKS. */
	ck_assert_int_eq(bv_test_sh("rm -f '%s' && truncate -s 1M '%s' && printf "
				    "'LUKS\\272\\276\\000\\001' | dd of='%s' conv=notrunc "
				    "status=none", img, img, img), 0);
	ck_assert_int_eq(probe_path(img, &r, &size), 0);
	ck_assert_str_eq(r.type, "crypto_LUKS");
	ck_assert_str_eq(r.usage, "crypto");
	ck_assert_int_eq(bv_probe_check_supported(&r, "IMG", size, msg, sizeof(msg)), -EMEDIUMTYPE);
	ck_assert_str_eq(msg, "IMG holds crypto_LUKS (encrypted), not an ext2/3/4 or xfs filesystem");
}
END_TEST

START_TEST(test_probe_xfs_is_accepted)
{
	const char *img = scratch("probe_xfs.img");
	struct bv_probe_result r;
	char msg[256];
	uint64_t size;

	if (!bv_test_have("mkfs.xfs")) {
		bv_test_skip(__func__, "mkfs.xfs not installed (xfsprogs)");
		return;
	}
	/* 300 MiB is mkfs.xfs's floor; the file is sparse. */
	ck_assert_int_eq(bv_test_sh("rm -f '%s' && truncate -s 300M '%s' && mkfs.xfs -q '%s' "
				    ">/dev/null 2>&1", img, img, img), 0);
	ck_assert_int_eq(probe_path(img, &r, &size), 0);
	ck_assert_str_eq(r.type, "xfs");
	ck_assert_str_eq(r.usage, "filesystem");
	ck_assert_uint_ne(r.block_size, 0);
	ck_assert(!bv_probe_is_ext(&r));
	ck_assert(bv_probe_is_supported(&r));
	ck_assert_int_eq(bv_probe_check_supported(&r, "IMG", size, msg, sizeof(msg)), 0);
}
END_TEST

START_TEST(test_probe_squashfs_is_refused_by_name)
{
	const char *img = scratch("probe_squashfs.img");
	const char *dir = scratch("probe_squashfs.d");
	struct bv_probe_result r;
	char msg[256];
	uint64_t size;

	if (!bv_test_have("mksquashfs")) {
		bv_test_skip(__func__, "mksquashfs not installed (squashfs-tools)");
		return;
	}
	ck_assert_int_eq(bv_test_sh("rm -rf '%s' '%s' && mkdir '%s' && echo hi >'%s/f' && "
				    "mksquashfs '%s' '%s' -quiet -noappend >/dev/null 2>&1",
				    img, dir, dir, dir, dir, img), 0);
	ck_assert_int_eq(probe_path(img, &r, &size), 0);
	ck_assert_str_eq(r.type, "squashfs");
	ck_assert_int_eq(bv_probe_check_supported(&r, "IMG", size, msg, sizeof(msg)), -EMEDIUMTYPE);
	/* A squashfs image of one small file may be under 2 KiB: either refusal names why. */
	if (size >= 2048)
		ck_assert_str_eq(msg, "IMG holds squashfs, not an ext2/3/4 or xfs filesystem");
	else
		ck_assert_ptr_nonnull(strstr(msg, "too small"));
}
END_TEST

START_TEST(test_probe_conflicting_signatures_are_ambivalent)
{
	const char *xfs = scratch("probe_amb_xfs.img");
	const char *img = bv_test_mkfs("probe_amb", "-b 1024 -O has_journal,extents", NULL, "4M");
	struct bv_probe_result r;
	char msg[256];

	if (!bv_test_have("mkfs.xfs")) {
		bv_test_skip(__func__, "mkfs.xfs not installed (xfsprogs)");
		return;
	}
	ck_assert_ptr_nonnull(img);
	/* An xfs superblock in the ext4 boot sector: both probers match, safe mode says -2. */
	ck_assert_int_eq(bv_test_sh("rm -f '%s' && truncate -s 300M '%s' && mkfs.xfs -q '%s' "
				    ">/dev/null 2>&1 && dd if='%s' of='%s' bs=512 count=1 "
				    "conv=notrunc status=none", xfs, xfs, xfs, xfs, img), 0);
	ck_assert_int_eq(probe_path(img, &r, NULL), 0);
	ck_assert_str_eq(r.type, "");
	ck_assert_str_eq(r.usage, BV_PROBE_USAGE_AMBIVALENT);
	ck_assert(!bv_probe_is_ext(&r));
	ck_assert_int_eq(bv_probe_check_supported(&r, "IMG", 4 << 20, msg, sizeof(msg)), -EMEDIUMTYPE);
	ck_assert_ptr_nonnull(strstr(msg, "IMG holds several conflicting signatures"));
}
END_TEST

START_TEST(test_probe_memory_source_is_einval)
{
	static uint8_t mem[4096];
	struct bv_source *src;
	struct bv_probe_result r;

	ck_assert_int_eq(bv_source_open_mem(mem, sizeof(mem), &src), 0);
	ck_assert_int_eq(bv_probe_source(src, &r), -EINVAL);
	bv_source_close(src);
}
END_TEST

START_TEST(test_probe_is_ext_names)
{
	static const char *const yes[] = {"ext2", "ext3", "ext4", "ext4dev"};
	static const char *const no[] = {"", "jbd", "xfs", "ext", "ext5", "EXT4", "ext4 "};
	struct bv_probe_result r;

	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(r.type, sizeof(r.type), "%s", yes[i]);
		ck_assert_msg(bv_probe_is_ext(&r), "%s", yes[i]);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		snprintf(r.type, sizeof(r.type), "%s", no[i]);
		ck_assert_msg(!bv_probe_is_ext(&r), "%s", no[i]);
	}
}
END_TEST

START_TEST(test_probe_check_ext_sentences)
{
	struct bv_probe_result r;
	char msg[256], small[12];

	memset(&r, 0, sizeof(r));
	snprintf(r.type, sizeof(r.type), "linux_raid_member");
	snprintf(r.usage, sizeof(r.usage), "raid");
	ck_assert_int_eq(bv_probe_check_supported(&r, "/dev/x", 1 << 20, msg, sizeof(msg)),
			 -EMEDIUMTYPE);
	ck_assert_str_eq(msg, "/dev/x holds linux_raid_member (a RAID or volume-manager "
			      "member), not an ext2/3/4 or xfs filesystem");

	snprintf(r.type, sizeof(r.type), "jbd");
	snprintf(r.usage, sizeof(r.usage), "other");
	ck_assert_int_eq(bv_probe_check_supported(&r, "J", 1 << 20, msg, sizeof(msg)), -EMEDIUMTYPE);
	ck_assert_str_eq(msg, "J holds jbd (an external ext3/4 journal), not an ext2/3/4 or "
			      "xfs filesystem");

	/* Too small wins over whatever was found; 2047 bytes cannot hold the superblock. */
	snprintf(r.type, sizeof(r.type), "btrfs");
	ck_assert_int_eq(bv_probe_check_supported(&r, "S", 2047, msg, sizeof(msg)), -EMEDIUMTYPE);
	ck_assert_str_eq(msg, "S is too small (2047 bytes) to hold an ext2/3/4 or xfs filesystem");

	/* A short buffer is cut and terminated; no buffer at all still gives the verdict. */
	ck_assert_int_eq(bv_probe_check_supported(&r, "IMG", 1 << 20, small, sizeof(small)),
			 -EMEDIUMTYPE);
	ck_assert_str_eq(small, "IMG holds b");
	ck_assert_int_eq(bv_probe_check_supported(&r, "IMG", 1 << 20, NULL, 0), -EMEDIUMTYPE);
}
END_TEST

START_TEST(test_probe_ext_block_device_through_loop)
{
	const char *img = bv_test_mkfs("probe_ext2", "-t ext2 -b 1024 -L bvlabel2 "
				       "-U 11111111-2222-3333-4444-555555555555", NULL, "4M");
	char dev[PATH_MAX] = "";
	struct bv_probe_result r;
	struct bv_source *src;
	int open_rc, rc = -1;

	if (!bv_test_is_root() || !bv_test_have("losetup")) {
		bv_test_skip(__func__, "needs root and losetup for a loop device");
		return;
	}
	ck_assert_ptr_nonnull(img);
	if (bv_test_loop_attach(img, dev, sizeof(dev)) != 0) {
		bv_test_skip(__func__, "losetup could not attach a loop device");
		return;
	}
	/* Detach before asserting, so a failure leaves no loop device behind. */
	open_rc = bv_source_open(dev, &src);
	if (open_rc == 0) {
		rc = bv_probe_source(src, &r);
		bv_source_close(src);
	}
	bv_test_loop_detach(dev);
	ck_assert_int_eq(open_rc, 0);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(r.type, "ext2");
	ck_assert_str_eq(r.label, "bvlabel2");
}
END_TEST

/* Every corrupt image of the e2fsprogs corpus probes without a crash and, when refused,
 * says why in a sentence. */
START_TEST(test_probe_corpus_probes_or_refuses_cleanly)
{
	const char *dir = bv_test_corpus_dir();
	const char *img = scratch("probe_corpus.img");
	unsigned probed = 0, ext = 0;
	struct dirent *de;
	DIR *d;

	if (!dir) {
		bv_test_skip(__func__, bv_test_corpus_missing());
		return;
	}
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		char path[PATH_MAX], msg[512];
		struct bv_probe_result r;
		uint8_t *buf;
		size_t len;
		uint64_t size;
		FILE *f;
		int rc;

		if (!strstr(de->d_name, ".image"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (bv_test_slurp(path, &buf, &len) != 0)
			continue;
		f = fopen(img, "wb");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
		ck_assert_int_eq(fclose(f), 0);
		free(buf);
		rc = probe_path(img, &r, &size);
		ck_assert_msg(rc == 0 || rc == -EIO || rc == -EINVAL, "%s: %d", de->d_name, rc);
		probed++;
		if (rc != 0)
			continue;
		ck_assert_uint_lt(strlen(r.type), sizeof(r.type));
		msg[0] = '\0';
		rc = bv_probe_check_supported(&r, de->d_name, size, msg, sizeof(msg));
		if (rc == 0) {
			ext++;
		} else {
			ck_assert_int_eq(rc, -EMEDIUMTYPE);
			ck_assert_ptr_nonnull(strstr(msg, de->d_name));
		}
	}
	closedir(d);
	ck_assert_uint_gt(probed, 100);
	/* Most corpus images are damaged ext filesystems blkid still recognises. */
	ck_assert_uint_gt(ext, probed / 2);
}
END_TEST

static Suite *probe_suite(void)
{
	Suite *s = suite_create("probe");
	TCase *tc = tcase_create("images");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_probe_ext2_image);
	tcase_add_test(tc, test_probe_ext3_image);
	tcase_add_test(tc, test_probe_ext4_image);
	tcase_add_test(tc, test_probe_swap_is_refused_by_name);
	tcase_add_test(tc, test_probe_zero_file_holds_nothing);
	tcase_add_test(tc, test_probe_tiny_file_is_too_small);
	tcase_add_test(tc, test_probe_empty_file_is_too_small);
	tcase_add_test(tc, test_probe_luks_header_is_refused_as_encrypted);
	tcase_add_test(tc, test_probe_xfs_is_accepted);
	tcase_add_test(tc, test_probe_squashfs_is_refused_by_name);
	tcase_add_test(tc, test_probe_conflicting_signatures_are_ambivalent);
	tcase_add_test(tc, test_probe_ext_block_device_through_loop);
	suite_add_tcase(s, tc);

	tc = tcase_create("corpus");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_probe_corpus_probes_or_refuses_cleanly);
	suite_add_tcase(s, tc);

	tc = tcase_create("core");
	tcase_add_test(tc, test_probe_memory_source_is_einval);
	tcase_add_test(tc, test_probe_is_ext_names);
	tcase_add_test(tc, test_probe_check_ext_sentences);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(probe_suite)
