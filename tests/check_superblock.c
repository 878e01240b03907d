/* superblock.c, group.c and ext4.c: every superblock rule on a valid superblock with one
 * field broken, opening a matrix of mkfs layouts (group descriptors checked against
 * dumpe2fs), statfs against the kernel's on a read-only loop mount, and refusals. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "blockio/source.h"
#include "fs/ext4/ext4_priv.h"
#include "util/le.h"
#include "util/log.h"
#include "fs/ext4/superblock.h"
#include "tests/testutil.h"

/* ext4 as mke2fs.conf defines it, spelled out so the tests do not depend on the host's file. */
#define SB_E4                                                                                      \
	"-O has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize,"     \
	"ext_attr -I 256"

static uint8_t raw[1024];
static uint64_t dev_size;
static char why[256];

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
	p[3] = (uint8_t)(v >> 24);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8);
}

static void fix_csum(void)
{
	put32(raw + 0x3FC, bv_crc32c(~0u, raw, 0x3FC));
}

/* Loads the superblock of a 4 KiB-block ext4 image made for these tests. */
static void load(const char *name, const char *opts, const char *size)
{
	const char *img = bv_test_mkfs(name, opts, NULL, size);
	struct stat st;
	FILE *f;

	ck_assert_msg(img != NULL, "mkfs %s failed", name);
	f = fopen(img, "rb");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 1024, SEEK_SET), 0);
	ck_assert_uint_eq(fread(raw, 1, sizeof(raw), f), sizeof(raw));
	fclose(f);
	ck_assert_int_eq(stat(img, &st), 0);
	dev_size = (uint64_t)st.st_size;
}

static void load_default(void)
{
	load("sb_e4", SB_E4 " -b 4096", "16M");
}

static int decode(struct bv_ext4_sb *sb)
{
	fix_csum();
	return bv_ext4_sb_decode(raw, dev_size, true, sb, why, sizeof(why));
}

/* Breaks the 32-bit field at OFF, fixes the checksum, expects ERR. */
static void expect32(uint32_t off, uint32_t val, int err)
{
	struct bv_ext4_sb sb;

	load_default();
	put32(raw + off, val);
	ck_assert_msg(decode(&sb) == err, "field 0x%x = %u: got %d (%s), want %d", off, val,
		      decode(&sb), why, err);
	ck_assert_msg(err == 0 || why[0], "no error sentence for field 0x%x", off);
}

START_TEST(test_sb_decodes_mkfs_geometry)
{
	struct bv_ext4_sb sb;

	load_default();
	ck_assert_int_eq(decode(&sb), 0);
	ck_assert_uint_eq(sb.block_size, 4096);
	ck_assert_uint_eq(sb.cluster_size, 4096);
	ck_assert_uint_eq(sb.s_inode_size, 256);
	ck_assert_uint_eq(sb.s_desc_size, 64);
	ck_assert_uint_eq(sb.s_blocks_count, 4096);
	ck_assert_uint_eq(sb.group_count, 1);
	ck_assert_uint_eq(sb.desc_per_block, 64);
	ck_assert_uint_eq(sb.inodes_per_block, 16);
	ck_assert_uint_eq(sb.s_first_data_block, 0);
	ck_assert_uint_eq(sb.sb_block, 0);
	ck_assert_uint_eq(sb.s_journal_inum, 8);
	ck_assert_uint_eq(sb.csum_seed, bv_crc32c(~0u, raw + 0x68, 16));
}
END_TEST

START_TEST(test_sb_rejects_bad_magic)
{
	struct bv_ext4_sb sb;

	load_default();
	put16(raw + 0x38, 0xEF52);
	ck_assert_int_eq(decode(&sb), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(why, "magic"));
}
END_TEST

START_TEST(test_sb_rejects_bad_checksum_unless_told_not_to_verify)
{
	struct bv_ext4_sb sb;

	load_default();
	fix_csum();
	raw[0x3FC] ^= 1;
	ck_assert_int_eq(bv_ext4_sb_decode(raw, dev_size, true, &sb, why, sizeof(why)), -EBADMSG);
	ck_assert_int_eq(bv_ext4_sb_decode(raw, dev_size, false, &sb, why, sizeof(why)), 0);
}
END_TEST

START_TEST(test_sb_rejects_unknown_checksum_type)
{
	struct bv_ext4_sb sb;

	load_default();
	raw[0x175] = 2;
	ck_assert_int_eq(decode(&sb), -EUCLEAN);
}
END_TEST

START_TEST(test_sb_rejects_log_block_size_past_64k)
{
	expect32(0x18, 7, -EUCLEAN);
	expect32(0x18, 0xFFFFFFFF, -EUCLEAN);
}
END_TEST

START_TEST(test_sb_rejects_cluster_size_mismatch_without_bigalloc)
{
	expect32(0x1C, 3, -EUCLEAN);
}
END_TEST

START_TEST(test_sb_rejects_bigalloc_cluster_smaller_than_block)
{
	struct bv_ext4_sb sb;

	load("sb_bigalloc", SB_E4 " -b 4096 -O bigalloc -C 16384", "32M");
	ck_assert_int_eq(decode(&sb), 0);
	ck_assert_uint_eq(sb.cluster_size, 16384);
	put32(raw + 0x1C, 1); /* 2 KiB clusters under 4 KiB blocks */
	ck_assert_int_eq(decode(&sb), -EUCLEAN);
}
END_TEST

START_TEST(test_sb_rejects_bigalloc_clusters_per_group_mismatch)
{
	struct bv_ext4_sb sb;

	load("sb_bigalloc", SB_E4 " -b 4096 -O bigalloc -C 16384", "32M");
	put32(raw + 0x24, bv_le32(raw + 0x24) - 8);
	ck_assert_int_eq(decode(&sb), -EUCLEAN);
	load("sb_bigalloc", SB_E4 " -b 4096 -O bigalloc -C 16384", "32M");
	put32(raw + 0x24, 4096 * 8 + 1);
	ck_assert_int_eq(decode(&sb), -EUCLEAN);
}
END_TEST

START_TEST(test_sb_rejects_blocks_per_group_zero_or_past_bitmap)
{
	expect32(0x20, 0, -EUCLEAN);
	expect32(0x20, 4096 * 8 + 8, -EUCLEAN);
}
END_TEST

START_TEST(test_sb_rejects_inodes_per_group_out_of_range)
{
	expect32(0x28, 0, -EUCLEAN);
	expect32(0x28, 8, -EUCLEAN); /* fewer than one inode table block */
	expect32(0x28, 4096 * 8 + 16, -EUCLEAN);
}
END_TEST

START_TEST(test_sb_rejects_inode_count_not_matching_groups)
{
	load_default();
	expect32(0x00, bv_le32(raw) + 1, -EUCLEAN);
	expect32(0x00, 0, -EUCLEAN);
}
END_TEST

START_TEST(test_sb_rejects_wrong_first_data_block)
{
	expect32(0x14, 1, -EUCLEAN);
}
END_TEST

START_TEST(test_sb_rejects_first_data_block_zero_with_1k_blocks)
{
	struct bv_ext4_sb sb;

	load("sb_1k", SB_E4 " -b 1024", "16M");
	ck_assert_int_eq(decode(&sb), 0);
	ck_assert_uint_eq(sb.s_first_data_block, 1);
	ck_assert_uint_eq(sb.sb_block, 1);
	put32(raw + 0x14, 0);
	ck_assert_int_eq(decode(&sb), -EUCLEAN);
}
END_TEST

START_TEST(test_sb_rejects_filesystem_larger_than_source)
{
	struct bv_ext4_sb sb;

	load_default();
	fix_csum();
	ck_assert_int_eq(bv_ext4_sb_decode(raw, dev_size - 4096, true, &sb, why, sizeof(why)),
			 -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(why, "filesystem is 16777216 bytes"));
	ck_assert_ptr_nonnull(strstr(why, "has only 16773120"));
}
END_TEST

START_TEST(test_sb_rejects_absurd_block_count)
{
	struct bv_ext4_sb sb;

	/* 64bit: 2^52 blocks make more than 2^32 groups. */
	load_default();
	put32(raw + 0x150, 0x100000);
	ck_assert_int_eq(decode(&sb), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(why, "too many block groups"));
	/* Without 64bit the high word is ignored, as the kernel does. */
	load("sb_no64", SB_E4 " -b 4096 -O ^64bit", "16M");
	put32(raw + 0x150, 0x100000);
	ck_assert_int_eq(decode(&sb), 0);
	ck_assert_uint_eq(sb.s_blocks_count, 4096);
}
END_TEST

START_TEST(test_sb_rejects_unknown_revision)
{
	expect32(0x4C, 2, -EOPNOTSUPP);
}
END_TEST

START_TEST(test_sb_revision_0_means_128_byte_inodes)
{
	struct bv_ext4_sb sb;

	load_default();
	put32(raw + 0x4C, 0);
	put16(raw + 0x58, 999); /* ignored in revision 0 */
	put32(raw + 0x54, 3);
	ck_assert_int_eq(decode(&sb), 0);
	ck_assert_uint_eq(sb.s_inode_size, 128);
	ck_assert_uint_eq(sb.s_first_ino, 11);
}
END_TEST

START_TEST(test_sb_rejects_bad_inode_size)
{
	struct bv_ext4_sb sb;
	static const uint16_t bad[] = { 0, 64, 96, 384, 8192 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		load_default();
		put16(raw + 0x58, bad[i]);
		ck_assert_msg(decode(&sb) == -EUCLEAN, "inode size %u accepted", bad[i]);
	}
}
END_TEST

START_TEST(test_sb_rejects_first_ino_below_11)
{
	expect32(0x54, 10, -EUCLEAN);
}
END_TEST

START_TEST(test_sb_rejects_bad_desc_size_with_64bit)
{
	struct bv_ext4_sb sb;
	static const uint16_t bad[] = { 0, 32, 48, 96, 2048 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		load_default();
		put16(raw + 0xFE, bad[i]);
		ck_assert_msg(decode(&sb) == -EUCLEAN, "desc size %u accepted", bad[i]);
	}
}
END_TEST

START_TEST(test_sb_desc_size_is_32_without_64bit)
{
	struct bv_ext4_sb sb;

	load("sb_no64", SB_E4 " -b 4096 -O ^64bit", "16M");
	put16(raw + 0xFE, 48); /* leftover garbage: not used without 64bit */
	ck_assert_int_eq(decode(&sb), 0);
	ck_assert_uint_eq(sb.s_desc_size, 32);
	ck_assert_uint_eq(sb.desc_per_block, 128);
}
END_TEST

static void expect_incompat(uint32_t bit, const char *needle)
{
	struct bv_ext4_sb sb;

	load_default();
	put32(raw + 0x60, bv_le32(raw + 0x60) | bit);
	ck_assert_int_eq(decode(&sb), -EOPNOTSUPP);
	ck_assert_msg(strstr(why, needle), "'%s' lacks '%s'", why, needle);
}

START_TEST(test_sb_refuses_unsupported_incompat_by_name)
{
	expect_incompat(EXT4_FEATURE_INCOMPAT_ENCRYPT, "encryption is not supported");
	expect_incompat(EXT4_FEATURE_INCOMPAT_COMPRESSION, "compression");
	expect_incompat(EXT4_FEATURE_INCOMPAT_JOURNAL_DEV, "journal");
	expect_incompat(EXT4_FEATURE_INCOMPAT_CASEFOLD, "casefold");
	expect_incompat(EXT4_FEATURE_INCOMPAT_DIRDATA, "dirdata");
	expect_incompat(0x40000, "FEATURE_I18");
	expect_incompat(0x80000000u, "FEATURE_I31");
}
END_TEST

START_TEST(test_sb_accepts_unknown_ro_compat)
{
	load_default();
	expect32(0x64, bv_le32(raw + 0x64) | 0x80000000u, 0);
}
END_TEST

START_TEST(test_sb_refuses_external_journal)
{
	struct bv_ext4_sb sb;

	load_default();
	put32(raw + 0xE0, 0);      /* s_journal_inum */
	put32(raw + 0xE4, 0x0801); /* s_journal_dev */
	ck_assert_int_eq(decode(&sb), -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(why, "external journal"));
	load_default();
	put32(raw + 0xE0, 0);
	raw[0xD0] = 0x42; /* s_journal_uuid */
	ck_assert_int_eq(decode(&sb), -EOPNOTSUPP);
}
END_TEST

START_TEST(test_sb_rejects_first_meta_bg_past_descriptor_blocks)
{
	struct bv_ext4_sb sb;

	load("sb_metabg", SB_E4 " -b 1024 -O meta_bg,^resize_inode", "64M");
	ck_assert_int_eq(decode(&sb), 0);
	put32(raw + 0x104, sb.gdb_count + 1);
	ck_assert_int_eq(decode(&sb), -EUCLEAN);
}
END_TEST

START_TEST(test_sb_rejects_huge_reserved_gdt)
{
	struct bv_ext4_sb sb;

	load_default();
	put16(raw + 0xCE, 4096 / 4 + 1);
	ck_assert_int_eq(decode(&sb), -EUCLEAN);
}
END_TEST

START_TEST(test_sb_rejects_csum_seed_without_metadata_csum)
{
	struct bv_ext4_sb sb;

	load_default();
	put32(raw + 0x64, bv_le32(raw + 0x64) & ~EXT4_FEATURE_RO_COMPAT_METADATA_CSUM);
	put32(raw + 0x60, bv_le32(raw + 0x60) | EXT4_FEATURE_INCOMPAT_CSUM_SEED);
	ck_assert_int_eq(decode(&sb), -EUCLEAN);
}
END_TEST

START_TEST(test_sb_csum_seed_feature_uses_stored_seed)
{
	struct bv_ext4_sb sb;

	load_default();
	put32(raw + 0x60, bv_le32(raw + 0x60) | EXT4_FEATURE_INCOMPAT_CSUM_SEED);
	put32(raw + 0x270, 0xdeadbeef);
	ck_assert_int_eq(decode(&sb), 0);
	ck_assert_uint_eq(sb.csum_seed, 0xdeadbeef);
}
END_TEST

START_TEST(test_sb_features_str_uses_mke2fs_names)
{
	struct bv_ext4_sb sb;
	char buf[512];

	load_default();
	ck_assert_int_eq(decode(&sb), 0);
	bv_ext4_sb_features_str(&sb, buf, sizeof(buf));
	ck_assert_str_eq(buf, "has_journal ext_attr resize_inode dir_index filetype extent 64bit "
			      "flex_bg sparse_super large_file huge_file dir_nlink extra_isize "
			      "metadata_csum");
	bv_ext4_sb_features_str(&sb, buf, 20); /* truncates without overrunning */
	ck_assert_uint_lt(strlen(buf), 20);
}
END_TEST

/* ---- whole images through bv_ext4_open ---- */

struct layout {
	const char *name, *opts, *size, *type;
	bool kernel; /* the kernel here can mount it (no 64 KiB blocks on 4 KiB pages) */
};

static const struct layout layouts[] = {
	{ "sbimg_4k", SB_E4 " -b 4096", "64M", "ext4", true },
	{ "sbimg_1k", SB_E4 " -b 1024", "64M", "ext4", true },
	{ "sbimg_64k", SB_E4 " -b 65536", "64M", "ext4", false },
	{ "sbimg_no64", SB_E4 " -O ^64bit", "64M", "ext4", true },
	{ "sbimg_metabg", SB_E4 " -b 1024 -g 1024 -N 20000 -O meta_bg,^resize_inode", "64M", "ext4",
	  true },
	{ "sbimg_bigalloc", SB_E4 " -O bigalloc -C 16384", "64M", "ext4", true },
	{ "sbimg_bigalloc1k", SB_E4 " -b 1024 -O bigalloc -C 4096", "64M", "ext4", true },
	{ "sbimg_i128", SB_E4 " -I 128", "64M", "ext4", true },
	{ "sbimg_noflex", SB_E4 " -O ^flex_bg -b 1024", "64M", "ext4", true },
	{ "sbimg_sparse2", SB_E4 " -O sparse_super2", "64M", "ext4", true },
	{ "sbimg_ext2", "-t ext2 -b 1024", "64M", "ext2", true },
	{ "sbimg_ext3", "-t ext3 -b 1024", "64M", "ext3", true },
	{ "sbimg_uninit", "-O ^metadata_csum,uninit_bg -I 256", "64M", "ext4", true },
};

static struct bv_source *src;
static struct bv_ext4 *fs;

static int open_image(const char *img, const struct bv_ext4_opts *opts)
{
	int err = bv_source_open(img, &src);
	ck_assert_int_eq(err, 0);
	err = bv_ext4_open(src, opts, &fs, why, sizeof(why));
	if (err) {
		bv_source_close(src);
		src = NULL;
		fs = NULL;
	}
	return err;
}

static void close_image(void)
{
	bv_ext4_close(fs);
	bv_source_close(src);
	fs = NULL;
	src = NULL;
}

static const char *layout_image(const struct layout *l)
{
	const char *img = bv_test_mkfs(l->name, l->opts, NULL, l->size);
	ck_assert_msg(img != NULL, "mkfs %s (%s) failed", l->name, l->opts);
	return img;
}

/* Every group's inode table where dumpe2fs says it is: exercises the descriptor
 * location rules (meta_bg, 1 KiB blocks, 32/64-byte descriptors). */
START_TEST(test_open_layout_groups_match_dumpe2fs)
{
	const struct layout *l = &layouts[_i];
	char img[4096], cmd[4200], line[256];
	struct bv_ext4_info info;
	struct bv_ext4_inode root;
	uint32_t g = 0;
	FILE *p;

	snprintf(img, sizeof(img), "%s", layout_image(l));
	ck_assert_msg(open_image(img, NULL) == 0, "%s: %s", l->name, why);
	bv_ext4_info_get(fs, &info);
	ck_assert_str_eq(info.type, l->type);
	ck_assert_int_eq(bv_ext4_inode_get(fs, BV_EXT4_ROOT_INO, &root), 0);
	ck_assert(S_ISDIR(root.mode));

	snprintf(cmd, sizeof(cmd), "dumpe2fs '%s' 2>/dev/null | grep -o 'Inode table at [0-9]*'",
		 img);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (fgets(line, sizeof(line), p)) {
		struct bv_ext4_group gd;
		unsigned long long want = strtoull(line + strlen("Inode table at "), NULL, 10);
		ck_assert_int_eq(bv_ext4_group_get(fs, g, &gd), 0);
		ck_assert_msg(gd.inode_table == want, "%s group %u: %llu, dumpe2fs %llu", l->name,
			      g, (unsigned long long)gd.inode_table, want);
		g++;
	}
	pclose(p);
	ck_assert_uint_eq(g, info.group_count);
	struct bv_ext4_group gd;
	ck_assert_int_eq(bv_ext4_group_get(fs, g, &gd), -EUCLEAN);
	close_image();
}
END_TEST

static bool kmount(const char *img, const char *mnt, char *loop, size_t n)
{
	char out[4400];
	FILE *f;

	snprintf(out, sizeof(out), "%s.loop", mnt);
	if (bv_test_sh("mkdir -p '%s' && losetup -r -f --show '%s' >'%s' 2>/dev/null", mnt, img,
		       out) != 0)
		return false;
	f = fopen(out, "r");
	if (!f || !fgets(loop, (int)n, f)) {
		if (f)
			fclose(f);
		return false;
	}
	fclose(f);
	loop[strcspn(loop, "\n")] = '\0';
	if (bv_test_sh("mount -o ro '%s' '%s' 2>/dev/null", loop, mnt) != 0) {
		bv_test_sh("losetup -d '%s'", loop);
		return false;
	}
	return true;
}

static void kumount(const char *mnt, const char *loop)
{
	bv_test_sh("umount '%s'; losetup -d '%s' 2>/dev/null", mnt, loop);
}

/* The kernel's `stat -f` on a read-only loop mount of the same image is the oracle. */
START_TEST(test_statfs_matches_kernel)
{
	const struct layout *l = &layouts[_i];
	char img[4096], mnt[4200], loop[64];
	struct statvfs k, ours;

	if (!l->kernel) {
		bv_test_skip(l->name, "kernel cannot mount this block size here");
		return;
	}
	if (!bv_test_is_root()) {
		bv_test_skip(l->name, "needs root for a loop mount");
		return;
	}
	snprintf(img, sizeof(img), "%s", layout_image(l));
	snprintf(mnt, sizeof(mnt), "%s/%s.mnt", bv_test_tmpdir(), l->name);
	if (!kmount(img, mnt, loop, sizeof(loop))) {
		bv_test_skip(l->name, "loop mount failed");
		return;
	}
	int kerr = statvfs(mnt, &k);
	kumount(mnt, loop);
	ck_assert_int_eq(kerr, 0);

	ck_assert_msg(open_image(img, NULL) == 0, "%s: %s", l->name, why);
	bv_ext4_statfs(fs, &ours);
	close_image();
	ck_assert_uint_eq(ours.f_bsize, k.f_bsize);
	ck_assert_uint_eq(ours.f_frsize, k.f_frsize);
	ck_assert_msg(ours.f_blocks == k.f_blocks, "%s: f_blocks %lu, kernel %lu", l->name,
		      (unsigned long)ours.f_blocks, (unsigned long)k.f_blocks);
	ck_assert_uint_eq(ours.f_bfree, k.f_bfree);
	ck_assert_uint_eq(ours.f_bavail, k.f_bavail);
	ck_assert_uint_eq(ours.f_files, k.f_files);
	ck_assert_uint_eq(ours.f_ffree, k.f_ffree);
	ck_assert_uint_eq(ours.f_namemax, k.f_namemax);
	ck_assert_uint_eq(ours.f_fsid, k.f_fsid);
}
END_TEST

/* An image copied from a live mount has stale superblock counters; the kernel shows the
 * group descriptors' sums. Fresh from mkfs both agree, so the superblock's counters are
 * made wrong with debugfs and statfs must not change. */
START_TEST(test_statfs_sums_group_descriptors_not_superblock)
{
	const struct layout *l = &layouts[_i];
	const char *img = layout_image(l);
	struct statvfs fresh, stale;
	char copy[4200];

	if (!bv_test_have("debugfs")) {
		bv_test_skip(l->name, "debugfs not installed");
		return;
	}
	ck_assert_msg(open_image(img, NULL) == 0, "%s: %s", l->name, why);
	bv_ext4_statfs(fs, &fresh);
	close_image();
	snprintf(copy, sizeof(copy), "%s/sb_stale_%s.img", bv_test_tmpdir(), l->name);
	ck_assert_int_eq(bv_test_sh("cp '%s' '%s' && debugfs -w -R 'ssv free_blocks_count 12345' "
				    "'%s' >/dev/null 2>&1 && debugfs -w -R 'ssv free_inodes_count 77'"
				    " '%s' >/dev/null 2>&1", img, copy, copy, copy), 0);
	ck_assert_msg(open_image(copy, NULL) == 0, "%s: %s", l->name, why);
	bv_ext4_statfs(fs, &stale);
	bv_ext4_statfs(fs, &stale); /* the second call answers from the saved sums */
	close_image();
	ck_assert_msg(stale.f_bfree == fresh.f_bfree && stale.f_ffree == fresh.f_ffree,
		      "%s: bfree %lu ffree %lu, descriptors say %lu %lu", l->name,
		      (unsigned long)stale.f_bfree, (unsigned long)stale.f_ffree,
		      (unsigned long)fresh.f_bfree, (unsigned long)fresh.f_ffree);
	ck_assert_uint_ne(stale.f_bfree, 12345);
	ck_assert_uint_eq(stale.f_bavail, fresh.f_bavail);
	ck_assert_uint_eq(stale.f_favail, fresh.f_favail);
}
END_TEST

START_TEST(test_open_refuses_truncated_image)
{
	const char *img = layout_image(&layouts[0]);
	char cut[4200];

	snprintf(cut, sizeof(cut), "%s/sb_truncated.img", bv_test_tmpdir());
	ck_assert_int_eq(bv_test_sh("head -c 32M '%s' >'%s'", img, cut), 0);
	ck_assert_int_eq(open_image(cut, NULL), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(why, "filesystem is 67108864 bytes"));
	ck_assert_ptr_nonnull(strstr(why, "has only 33554432"));
	ck_assert_ptr_nonnull(strstr(why, cut)); /* names the source */
}
END_TEST

START_TEST(test_open_refuses_bad_sb_checksum_unless_skip_csum)
{
	const char *img = layout_image(&layouts[0]);
	char bad[4200];
	struct bv_ext4_opts opts = { .skip_csum = true };

	snprintf(bad, sizeof(bad), "%s/sb_badcsum.img", bv_test_tmpdir());
	ck_assert_int_eq(bv_test_sh("cp '%s' '%s' && printf '\\377' | dd of='%s' bs=1 seek=2044 "
				    "conv=notrunc status=none",
				    img, bad, bad),
			 0);
	ck_assert_int_eq(open_image(bad, NULL), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "checksum"));
	ck_assert_int_eq(open_image(bad, &opts), 0);
	close_image();
}
END_TEST

START_TEST(test_open_refuses_non_ext_source)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/sb_zeros.img", bv_test_tmpdir());
	ck_assert_int_eq(bv_test_sh("truncate -s 1M '%s'", path), 0);
	ck_assert_int_eq(open_image(path, NULL), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(why, "not an ext2/3/4 filesystem"));
	snprintf(path, sizeof(path), "%s/sb_tiny.img", bv_test_tmpdir());
	ck_assert_int_eq(bv_test_sh("truncate -s 1000 '%s'", path), 0);
	ck_assert_int_eq(open_image(path, NULL), -EINVAL);
}
END_TEST

START_TEST(test_open_refuses_root_that_is_not_a_directory)
{
	const char *img = layout_image(&layouts[0]);
	char bad[4200];

	snprintf(bad, sizeof(bad), "%s/sb_rootfile.img", bv_test_tmpdir());
	/* debugfs rewrites the inode checksum, so only the mode is wrong. */
	ck_assert_int_eq(bv_test_sh("cp '%s' '%s' && debugfs -w -R 'sif <2> mode 0100644' '%s' "
				    ">/dev/null 2>&1",
				    img, bad, bad),
			 0);
	ck_assert_int_eq(open_image(bad, NULL), -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(why, "root"));
	ck_assert_int_eq(bv_test_sh("debugfs -w -R 'sif <2> links_count 0' '%s' >/dev/null 2>&1",
				    bad),
			 0);
	ck_assert_int_eq(open_image(bad, NULL), -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, "not in use"));
}
END_TEST

/* A descriptor pointing outside the filesystem is named in the open error. */
START_TEST(test_open_names_bad_inode_table)
{
	const char *dir = bv_test_corpus_dir();
	char path[4200];
	uint8_t *buf;
	size_t len;

	if (!dir) {
		bv_test_skip("test_open_names_bad_inode_table", bv_test_corpus_missing());
		return;
	}
	snprintf(path, sizeof(path), "%s/f_illitable.image.gz", dir);
	ck_assert_int_eq(bv_test_slurp(path, &buf, &len), 0);
	ck_assert_int_eq(bv_source_open_mem(buf, len, &src), 0);
	ck_assert_int_eq(bv_ext4_open(src, NULL, &fs, why, sizeof(why)), -EUCLEAN);
	ck_assert_msg(strstr(why, "group 0: inode table"), "%s", why);
	bv_source_close(src);
	free(buf);
}
END_TEST

/* Start-up reads a handful of blocks whatever the size: not every descriptor block. */
START_TEST(test_open_reads_a_constant_number_of_blocks)
{
	const char *img = bv_test_mkfs("sb_manygroups", SB_E4 " -b 1024", NULL, "4G");
	struct bv_cache_stats st;
	struct bv_ext4_inode in;

	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(open_image(img, NULL), 0);
	ck_assert_uint_ge(fs->sb.gdb_count, 32);
	bv_cache_stats_get(fs->cache, &st);
	ck_assert_msg(st.misses <= 8, "open read %llu blocks", (unsigned long long)st.misses);
	/* The last group's inodes are still reachable, through one more descriptor block. */
	uint32_t last = fs->sb.s_inodes_count;
	ck_assert_int_eq(bv_ext4_inode_get(fs, last, &in), -ENOENT);
	struct bv_ext4_group g;
	ck_assert_int_eq(bv_ext4_group_get(fs, fs->sb.group_count - 1, &g), 0);
	close_image();
}
END_TEST

/* read_raw (file data) and bread (metadata) agree on every block of an image whose
 * journal was replayed in memory, for aligned and unaligned multi-block ranges, and
 * some of those blocks differ from the device: the overlay is really used. */
START_TEST(test_read_raw_sees_replayed_blocks)
{
	const char *dir = bv_test_corpus_dir();
	char path[4200];
	uint8_t *img, *buf;
	size_t len;
	uint64_t differ = 0;

	if (!dir) {
		bv_test_skip("test_read_raw_sees_replayed_blocks", bv_test_corpus_missing());
		return;
	}
	snprintf(path, sizeof(path), "%s/f_jnl_64bit.image.gz", dir);
	ck_assert_int_eq(bv_test_slurp(path, &img, &len), 0);
	ck_assert_int_eq(bv_source_open_mem(img, len, &src), 0);
	ck_assert_msg(bv_ext4_open(src, NULL, &fs, why, sizeof(why)) == 0, "%s", why);
	ck_assert_ptr_nonnull(fs->journal);
	uint32_t bs = fs->sb.block_size;
	buf = malloc(3 * bs);
	ck_assert_ptr_nonnull(buf);
	for (uint64_t b = 0; b < fs->sb.s_blocks_count; b++) {
		struct bv_cache_ref ref = { 0 };
		ck_assert_int_eq(bv_ext4_bread(fs, b, &ref), 0);
		ck_assert_int_eq(bv_ext4_read_raw(fs, buf, bs, b * bs), 0);
		ck_assert_msg(memcmp(buf, ref.data, bs) == 0, "block %llu", (unsigned long long)b);
		if (memcmp(ref.data, img + b * bs, bs) != 0)
			differ++;
		/* The block's second half plus the next block's first: split at the seam. */
		if (b + 1 < fs->sb.s_blocks_count) {
			struct bv_cache_ref next = { 0 };
			ck_assert_int_eq(bv_ext4_bread(fs, b + 1, &next), 0);
			ck_assert_int_eq(bv_ext4_read_raw(fs, buf, bs, b * bs + bs / 2), 0);
			ck_assert(memcmp(buf, ref.data + bs / 2, bs / 2) == 0);
			ck_assert(memcmp(buf + bs / 2, next.data, bs / 2) == 0);
			bv_ext4_brelse(fs, &next);
		}
		bv_ext4_brelse(fs, &ref);
	}
	ck_assert_uint_gt(differ, 0);
	ck_assert_uint_le(differ, fs->journal_replayed);
	free(buf);
	close_image();
	free(img);
}
END_TEST

START_TEST(test_info_reports_uuid_label_and_type)
{
	const char *img = bv_test_mkfs("sb_label", SB_E4 " -L bootview -U "
					 "0123abcd-4567-89ef-0123-456789abcdef", NULL, "16M");
	struct bv_ext4_info info;
	char feats[512];

	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(open_image(img, NULL), 0);
	bv_ext4_info_get(fs, &info);
	ck_assert_str_eq(info.uuid_str, "0123abcd-4567-89ef-0123-456789abcdef");
	ck_assert_uint_eq(info.uuid[0], 0x01);
	ck_assert_str_eq(info.label, "bootview");
	ck_assert_str_eq(info.type, "ext4");
	ck_assert_str_eq(info.journal_state, "clean");
	ck_assert_uint_eq(info.inode_size, 256);
	bv_ext4_features_str(fs, feats, sizeof(feats));
	ck_assert_ptr_nonnull(strstr(feats, "metadata_csum"));
	close_image();
}
END_TEST

START_TEST(test_bread_and_read_raw_refuse_past_the_end)
{
	struct bv_cache_ref ref = { 0 };
	uint8_t buf[8];

	ck_assert_int_eq(open_image(layout_image(&layouts[0]), NULL), 0);
	uint64_t n = fs->sb.s_blocks_count;
	ck_assert_int_eq(bv_ext4_bread(fs, n, &ref), -EUCLEAN);
	ck_assert_int_eq(bv_ext4_bread(fs, UINT64_MAX, &ref), -EUCLEAN);
	ck_assert_int_eq(bv_ext4_bread(fs, n - 1, &ref), 0);
	bv_ext4_brelse(fs, &ref);
	uint64_t end = n * fs->sb.block_size;
	ck_assert_int_eq(bv_ext4_read_raw(fs, buf, 8, end - 8), 0);
	ck_assert_int_eq(bv_ext4_read_raw(fs, buf, 8, end - 7), -EUCLEAN);
	ck_assert_int_eq(bv_ext4_read_raw(fs, buf, 8, UINT64_MAX - 4), -EUCLEAN);
	/* The superblock through read_raw is the same bytes as the file's. */
	ck_assert_int_eq(bv_ext4_read_raw(fs, buf, 2, 1024 + 0x38), 0);
	ck_assert_uint_eq(bv_le16(buf), EXT4_SUPER_MAGIC);
	close_image();
}
END_TEST

static int report_lines;
static char report_last[512];

static void count_sink(enum bv_log_level level, const char *msg, void *ctx)
{
	(void)level;
	(void)ctx;
	report_lines++;
	snprintf(report_last, sizeof(report_last), "%s", msg);
}

START_TEST(test_report_is_capped_per_filesystem)
{
	ck_assert_int_eq(open_image(layout_image(&layouts[0]), NULL), 0);
	bv_log_set_sink(count_sink, NULL);
	bv_log_set_level(BV_LOG_WARN); /* the runner defaults to errors only */
	for (int i = 0; i < 500; i++)
		ck_assert_int_eq(bv_ext4_corrupt(fs, "block %d is bad", i), -EUCLEAN);
	ck_assert_int_eq(bv_ext4_badcsum(fs, "one more"), -EBADMSG);
	bv_log_set_sink(NULL, NULL);
	ck_assert_int_eq(report_lines, 101);
	ck_assert_ptr_nonnull(strstr(report_last, "suppressed"));
	close_image();
}
END_TEST

START_TEST(test_report_prefixes_source_path)
{
	const char *img = layout_image(&layouts[0]);

	ck_assert_int_eq(open_image(img, NULL), 0);
	bv_log_set_sink(count_sink, NULL);
	bv_log_set_level(BV_LOG_WARN); /* the runner defaults to errors only */
	bv_ext4_corrupt(fs, "inode %u: bad", 12u);
	bv_log_set_sink(NULL, NULL);
	ck_assert_int_eq(report_lines, 1);
	ck_assert_ptr_nonnull(strstr(report_last, img));
	ck_assert_ptr_nonnull(strstr(report_last, "inode 12: bad"));
	close_image();
}
END_TEST

/* The meta_bg rule itself, on a made-up geometry: group 0's descriptor block comes
 * right after the superblock; later meta groups keep theirs in their first group. */
START_TEST(test_group_desc_block_follows_meta_bg_layout)
{
	struct bv_ext4_sb sb;

	memset(&sb, 0, sizeof(sb));
	sb.s_feature_incompat = EXT4_FEATURE_INCOMPAT_META_BG;
	sb.s_feature_ro_compat = EXT4_FEATURE_RO_COMPAT_SPARSE_SUPER;
	sb.block_size = 1024;
	sb.s_first_data_block = 1;
	sb.sb_block = 1;
	sb.s_blocks_per_group = 8192;
	sb.desc_per_block = 32;
	sb.s_first_meta_bg = 1;
	ck_assert_uint_eq(bv_ext4_group_desc_block(&sb, 0), 2);
	ck_assert_uint_eq(bv_ext4_group_desc_block(&sb, 31), 2);
	/* Meta group 1 starts at group 32 (no backup there): its first block. */
	ck_assert_uint_eq(bv_ext4_group_desc_block(&sb, 32), 32 * 8192 + 1);
	/* Meta group 3 starts at group 96 (no backup); 81 = 3^4 is in meta group 2. */
	ck_assert_uint_eq(bv_ext4_group_desc_block(&sb, 100), 96ull * 8192 + 1);
	sb.s_first_meta_bg = 0;
	ck_assert_uint_eq(bv_ext4_group_desc_block(&sb, 0), 2); /* after group 0's sb */
	/* Without meta_bg the table is contiguous after the superblock. */
	sb.s_feature_incompat = 0;
	ck_assert_uint_eq(bv_ext4_group_desc_block(&sb, 100), 2 + 3);
}
END_TEST

START_TEST(test_group_has_super_sparse_rules)
{
	struct bv_ext4_sb sb;

	memset(&sb, 0, sizeof(sb));
	sb.s_feature_ro_compat = EXT4_FEATURE_RO_COMPAT_SPARSE_SUPER;
	static const uint32_t yes[] = { 0, 1, 3, 5, 7, 9, 25, 27, 49, 81, 125, 243, 343 };
	static const uint32_t no[] = { 2, 4, 6, 8, 10, 15, 21, 45, 100, 3 * 5 * 7 };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(bv_ext4_group_has_super(&sb, yes[i]), "group %u", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!bv_ext4_group_has_super(&sb, no[i]), "group %u", no[i]);
	ck_assert_uint_eq(bv_ext4_sb_count_super(&sb, 100),
			  2 + 4 + 2 + 2); /* 0 1 3 9 27 81 5 25 7 49 */
	sb.s_feature_compat = EXT4_FEATURE_COMPAT_SPARSE_SUPER2;
	sb.s_backup_bgs[0] = 1;
	sb.s_backup_bgs[1] = 40;
	ck_assert(bv_ext4_group_has_super(&sb, 40));
	ck_assert(!bv_ext4_group_has_super(&sb, 3));
	ck_assert_uint_eq(bv_ext4_sb_count_super(&sb, 41), 3);
	ck_assert_uint_eq(bv_ext4_sb_count_super(&sb, 40), 2);
}
END_TEST

static Suite *superblock_suite(void)
{
	Suite *s = suite_create("superblock");
	TCase *tc = tcase_create("decode");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_sb_decodes_mkfs_geometry);
	tcase_add_test(tc, test_sb_rejects_bad_magic);
	tcase_add_test(tc, test_sb_rejects_bad_checksum_unless_told_not_to_verify);
	tcase_add_test(tc, test_sb_rejects_unknown_checksum_type);
	tcase_add_test(tc, test_sb_rejects_log_block_size_past_64k);
	tcase_add_test(tc, test_sb_rejects_cluster_size_mismatch_without_bigalloc);
	tcase_add_test(tc, test_sb_rejects_bigalloc_cluster_smaller_than_block);
	tcase_add_test(tc, test_sb_rejects_bigalloc_clusters_per_group_mismatch);
	tcase_add_test(tc, test_sb_rejects_blocks_per_group_zero_or_past_bitmap);
	tcase_add_test(tc, test_sb_rejects_inodes_per_group_out_of_range);
	tcase_add_test(tc, test_sb_rejects_inode_count_not_matching_groups);
	tcase_add_test(tc, test_sb_rejects_wrong_first_data_block);
	tcase_add_test(tc, test_sb_rejects_first_data_block_zero_with_1k_blocks);
	tcase_add_test(tc, test_sb_rejects_filesystem_larger_than_source);
	tcase_add_test(tc, test_sb_rejects_absurd_block_count);
	tcase_add_test(tc, test_sb_rejects_unknown_revision);
	tcase_add_test(tc, test_sb_revision_0_means_128_byte_inodes);
	tcase_add_test(tc, test_sb_rejects_bad_inode_size);
	tcase_add_test(tc, test_sb_rejects_first_ino_below_11);
	tcase_add_test(tc, test_sb_rejects_bad_desc_size_with_64bit);
	tcase_add_test(tc, test_sb_desc_size_is_32_without_64bit);
	tcase_add_test(tc, test_sb_refuses_unsupported_incompat_by_name);
	tcase_add_test(tc, test_sb_accepts_unknown_ro_compat);
	tcase_add_test(tc, test_sb_refuses_external_journal);
	tcase_add_test(tc, test_sb_rejects_first_meta_bg_past_descriptor_blocks);
	tcase_add_test(tc, test_sb_rejects_huge_reserved_gdt);
	tcase_add_test(tc, test_sb_rejects_csum_seed_without_metadata_csum);
	tcase_add_test(tc, test_sb_csum_seed_feature_uses_stored_seed);
	tcase_add_test(tc, test_sb_features_str_uses_mke2fs_names);
	tcase_add_test(tc, test_group_desc_block_follows_meta_bg_layout);
	tcase_add_test(tc, test_group_has_super_sparse_rules);
	suite_add_tcase(s, tc);

	TCase *img = tcase_create("open");
	tcase_set_timeout(img, 300);
	int n = (int)(sizeof(layouts) / sizeof(layouts[0]));
	tcase_add_loop_test(img, test_open_layout_groups_match_dumpe2fs, 0, n);
	tcase_add_loop_test(img, test_statfs_matches_kernel, 0, n);
	tcase_add_loop_test(img, test_statfs_sums_group_descriptors_not_superblock, 0, n);
	tcase_add_test(img, test_open_refuses_truncated_image);
	tcase_add_test(img, test_open_refuses_bad_sb_checksum_unless_skip_csum);
	tcase_add_test(img, test_open_refuses_non_ext_source);
	tcase_add_test(img, test_open_refuses_root_that_is_not_a_directory);
	tcase_add_test(img, test_open_names_bad_inode_table);
	tcase_add_test(img, test_open_reads_a_constant_number_of_blocks);
	tcase_add_test(img, test_read_raw_sees_replayed_blocks);
	tcase_add_test(img, test_info_reports_uuid_label_and_type);
	tcase_add_test(img, test_bread_and_read_raw_refuse_past_the_end);
	tcase_add_test(img, test_report_is_capped_per_filesystem);
	tcase_add_test(img, test_report_prefixes_source_path);
	suite_add_tcase(s, img);
	return s;
}
BV_SUITE(superblock_suite)
