/* inode.c: every decode rule on a valid raw inode with one field broken, timestamps and
 * device numbers in both encodings, and stat(2) against the kernel's for a tree the
 * kernel itself wrote (nanoseconds, pre-1970 and post-2038 times, large ids, rdevs).
 * Last, every image of the e2fsprogs corpus opens or is refused cleanly, and each inode
 * of those that open reads or fails with one of the expected errors. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include "blockio/source.h"
#include "fs/ext4/ext4_priv.h"
#include "fs/ext4/inode.h"
#include "util/le.h"
#include "util/log.h"
#include "fs/ext4/superblock.h"
#include "tests/testutil.h"

#define IN_E4                                                                                      \
	"-O has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize,"     \
	"ext_attr -I 256"

static struct bv_source *src;
static struct bv_ext4 *fs;
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

static void open_image(const char *img)
{
	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(bv_source_open(img, &src), 0);
	ck_assert_msg(bv_ext4_open(src, NULL, &fs, why, sizeof(why)) == 0, "%s", why);
}

static void close_image(void)
{
	bv_ext4_close(fs);
	bv_source_close(src);
	fs = NULL;
	src = NULL;
}

/* A source tree for mkfs -d: a file, a fast and a slow symlink, a char device. */
static const char *srcdir(void)
{
	static char dir[4200];

	snprintf(dir, sizeof(dir), "%s/inode_src", bv_test_tmpdir());
	bv_test_sh("[ -d '%s' ] || { mkdir -p '%s' && cd '%s' && printf hello >file && "
		   "ln -s file fast && ln -s $(printf 'x%%.0s' $(seq 100)) slow && "
		   "mknod cdev c 4 5 && mkdir dir; }",
		   dir, dir, dir);
	return dir;
}

static uint8_t raw[1024];
static uint32_t raw_ino;

/* Finds the first inode at or after first_ino whose type is TYPE and copies it. */
static void grab(uint16_t type)
{
	struct bv_ext4_inode in;
	struct bv_cache_ref ref = { 0 };
	uint32_t off;

	for (uint32_t ino = fs->sb.s_first_ino; ino < fs->sb.s_inodes_count; ino++) {
		if (bv_ext4_inode_get(fs, ino, &in) != 0 || (in.mode & S_IFMT) != type)
			continue;
		ck_assert_int_eq(bv_ext4_inode_raw_get(fs, ino, &ref, &off), 0);
		memcpy(raw, ref.data + off, fs->sb.s_inode_size);
		bv_ext4_brelse(fs, &ref);
		raw_ino = ino;
		return;
	}
	ck_abort_msg("no inode of type 0%o", type);
}

static void open_default(void)
{
	open_image(bv_test_mkfs("inode_e4", IN_E4 " -b 4096", srcdir(), "16M"));
}

static int dec(struct bv_ext4_inode *out)
{
	return bv_ext4_inode_decode(&fs->sb, raw_ino, raw, false, out);
}

/* The inode checksum recomputed from its definition: crc32c over seed, inode number,
 * generation, then the inode with both checksum halves zeroed. */
static void fix_csum(void)
{
	uint8_t copy[1024], le[4];
	uint16_t extra = fs->sb.s_inode_size > 128 ? bv_le16(raw + 0x80) : 0;
	bool hi = fs->sb.s_inode_size > 128 && extra >= 4;

	memcpy(copy, raw, fs->sb.s_inode_size);
	put16(copy + 0x7C, 0);
	if (hi)
		put16(copy + 0x82, 0);
	put32(le, raw_ino);
	uint32_t c = bv_crc32c(fs->sb.csum_seed, le, 4);
	c = bv_crc32c(c, raw + 0x64, 4);
	c = bv_crc32c(c, copy, fs->sb.s_inode_size);
	put16(raw + 0x7C, (uint16_t)c);
	if (hi)
		put16(raw + 0x82, (uint16_t)(c >> 16));
}

START_TEST(test_decode_matches_inode_get)
{
	struct bv_ext4_inode a, b;

	open_default();
	grab(S_IFREG);
	ck_assert_int_eq(bv_ext4_inode_decode(&fs->sb, raw_ino, raw, true, &a), 0);
	ck_assert_int_eq(bv_ext4_inode_get(fs, raw_ino, &b), 0);
	ck_assert_int_eq(memcmp(&a, &b, sizeof(a)), 0);
	ck_assert_uint_eq(a.size, 5);
	ck_assert_uint_eq(a.extra_isize, 32);
	ck_assert(a.has_crtime);
	ck_assert(a.flags & EXT4_EXTENTS_FL);
	close_image();
}
END_TEST

START_TEST(test_decode_rejects_bad_checksum)
{
	struct bv_ext4_inode in;

	open_default();
	grab(S_IFREG);
	raw[0x30] ^= 0x40; /* inside i_block */
	ck_assert_int_eq(bv_ext4_inode_decode(&fs->sb, raw_ino, raw, true, &in), -EBADMSG);
	ck_assert_int_eq(bv_ext4_inode_decode(&fs->sb, raw_ino, raw, false, &in), 0);
	fix_csum();
	ck_assert_int_eq(bv_ext4_inode_decode(&fs->sb, raw_ino, raw, true, &in), 0);
	/* The high half counts when extra_isize covers it... */
	raw[0x83] ^= 1;
	ck_assert_int_eq(bv_ext4_inode_decode(&fs->sb, raw_ino, raw, true, &in), -EBADMSG);
	/* ...and the checksum is bound to the inode number. */
	fix_csum();
	ck_assert_int_eq(bv_ext4_inode_decode(&fs->sb, raw_ino + 1, raw, true, &in), -EBADMSG);
	close_image();
}
END_TEST

START_TEST(test_decode_checksum_low_half_only_without_extra_isize)
{
	struct bv_ext4_inode in;

	open_default();
	grab(S_IFREG);
	put16(raw + 0x80, 0); /* no extra fields: i_checksum_hi is not there */
	put16(raw + 0x82, 0xBEEF); /* garbage there does not count */
	fix_csum();
	ck_assert_int_eq(bv_ext4_inode_decode(&fs->sb, raw_ino, raw, true, &in), 0);
	ck_assert_uint_eq(in.extra_isize, 0);
	ck_assert(!in.has_crtime);
	raw[0x7C] ^= 1;
	ck_assert_int_eq(bv_ext4_inode_decode(&fs->sb, raw_ino, raw, true, &in), -EBADMSG);
	close_image();
}
END_TEST

START_TEST(test_decode_rejects_bad_extra_isize)
{
	struct bv_ext4_inode in;

	open_default();
	grab(S_IFREG);
	put16(raw + 0x80, 30); /* not a multiple of 4 */
	ck_assert_int_eq(dec(&in), -EUCLEAN);
	put16(raw + 0x80, (uint16_t)(fs->sb.s_inode_size - 128 + 4)); /* past the inode */
	ck_assert_int_eq(dec(&in), -EUCLEAN);
	put16(raw + 0x80, (uint16_t)(fs->sb.s_inode_size - 128));
	ck_assert_int_eq(dec(&in), 0);
	close_image();
}
END_TEST

START_TEST(test_decode_unused_inode_is_enoent)
{
	struct bv_ext4_inode in;

	open_default();
	grab(S_IFREG);
	put16(raw + 0x1A, 0);
	ck_assert_int_eq(dec(&in), -ENOENT);
	memset(raw, 0, sizeof(raw)); /* a never-written slot, checksum and all */
	ck_assert_int_eq(bv_ext4_inode_decode(&fs->sb, raw_ino, raw, true, &in), -ENOENT);
	close_image();
}
END_TEST

START_TEST(test_decode_rejects_bogus_mode)
{
	struct bv_ext4_inode in;
	static const uint16_t bad[] = { 0, 0644, 0x3000 | 0644, 0xF000 | 0644, 0x5000 };

	open_default();
	grab(S_IFREG);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put16(raw + 0x00, bad[i]);
		ck_assert_msg(dec(&in) == -EUCLEAN, "mode 0%o accepted", bad[i]);
	}
	close_image();
}
END_TEST

START_TEST(test_decode_refuses_encrypted_inode)
{
	struct bv_ext4_inode in;

	open_default();
	grab(S_IFREG);
	put32(raw + 0x20, bv_le32(raw + 0x20) | EXT4_ENCRYPT_FL);
	ck_assert_int_eq(dec(&in), -EOPNOTSUPP);
	close_image();
}
END_TEST

START_TEST(test_decode_rejects_flags_without_their_feature)
{
	struct bv_ext4_inode in;
	struct bv_ext4_sb sb;

	open_default();
	grab(S_IFREG);
	sb = fs->sb;
	put32(raw + 0x20, bv_le32(raw + 0x20) | EXT4_INLINE_DATA_FL);
	ck_assert_int_eq(bv_ext4_inode_decode(&sb, raw_ino, raw, false, &in), -EUCLEAN);
	sb.s_feature_incompat |= EXT4_FEATURE_INCOMPAT_INLINE_DATA;
	ck_assert_int_eq(bv_ext4_inode_decode(&sb, raw_ino, raw, false, &in), 0);

	grab(S_IFREG);
	sb = fs->sb;
	sb.s_feature_incompat &= ~EXT4_FEATURE_INCOMPAT_EXTENTS; /* an ext3 fs */
	ck_assert_int_eq(bv_ext4_inode_decode(&sb, raw_ino, raw, false, &in), -EUCLEAN);

	grab(S_IFREG);
	put32(raw + 0x20, bv_le32(raw + 0x20) | EXT4_CASEFOLD_FL);
	ck_assert_int_eq(dec(&in), -EUCLEAN);
	close_image();
}
END_TEST

START_TEST(test_decode_rejects_bad_extent_root)
{
	struct bv_ext4_inode in;

	open_default();
	grab(S_IFREG);
	put16(raw + 0x28, 0xF30B); /* eh_magic */
	ck_assert_int_eq(dec(&in), -EUCLEAN);
	grab(S_IFREG);
	put16(raw + 0x2A, 5); /* eh_entries > eh_max */
	ck_assert_int_eq(dec(&in), -EUCLEAN);
	grab(S_IFREG);
	put16(raw + 0x2E, 6); /* eh_depth */
	ck_assert_int_eq(dec(&in), -EUCLEAN);
	grab(S_IFREG);
	put16(raw + 0x2A, 0); /* an index node with no entries */
	put16(raw + 0x2E, 1);
	ck_assert_int_eq(dec(&in), -EUCLEAN);
	put16(raw + 0x2E, 0); /* an empty leaf is fine */
	ck_assert_int_eq(dec(&in), 0);
	close_image();
}
END_TEST

START_TEST(test_decode_size_high_word_rules)
{
	struct bv_ext4_inode in;
	struct bv_ext4_sb sb;

	open_default();
	grab(S_IFREG);
	put32(raw + 0x6C, 1);
	ck_assert_int_eq(dec(&in), 0);
	ck_assert_uint_eq(in.size, (1ull << 32) + 5);
	put32(raw + 0x6C, 0x80000000u); /* negative loff_t */
	ck_assert_int_eq(dec(&in), -EUCLEAN);

	/* A directory's high word is ignored without large_dir (it was i_dir_acl). */
	grab(S_IFDIR);
	uint32_t lo = bv_le32(raw + 0x04);
	put32(raw + 0x6C, 7);
	ck_assert_int_eq(dec(&in), 0);
	ck_assert_uint_eq(in.size, lo);
	sb = fs->sb;
	sb.s_feature_incompat |= EXT4_FEATURE_INCOMPAT_LARGEDIR;
	ck_assert_int_eq(bv_ext4_inode_decode(&sb, raw_ino, raw, false, &in), 0);
	ck_assert_uint_eq(in.size, (7ull << 32) | lo);
	close_image();
}
END_TEST

START_TEST(test_decode_rejects_xattr_block_out_of_range)
{
	struct bv_ext4_inode in;

	open_default();
	grab(S_IFREG);
	put32(raw + 0x68, (uint32_t)fs->sb.s_blocks_count);
	ck_assert_int_eq(dec(&in), -EUCLEAN);
	put32(raw + 0x68, 0);
	put16(raw + 0x76, 1); /* file_acl_high, 64bit */
	ck_assert_int_eq(dec(&in), -EUCLEAN);
	close_image();
}
END_TEST

START_TEST(test_decode_symlink_rules)
{
	struct bv_ext4_inode in;

	open_default();
	grab(S_IFLNK); /* "fast" -> "file", made first */
	ck_assert_int_eq(dec(&in), 0);
	ck_assert(bv_ext4_inode_is_fast_symlink(&fs->sb, &in));
	ck_assert_uint_eq(in.size, 4);
	ck_assert_int_eq(memcmp(in.i_block, "file", 4), 0);
	put32(raw + 0x04, 3); /* length disagrees with the NUL-terminated target */
	ck_assert_int_eq(dec(&in), -EUCLEAN);
	put32(raw + 0x04, 0);
	ck_assert_int_eq(dec(&in), -EUCLEAN);
	put32(raw + 0x04, 60);
	ck_assert_int_eq(dec(&in), -EUCLEAN);
	put32(raw + 0x04, 4);
	put32(raw + 0x20, bv_le32(raw + 0x20) | EXT4_IMMUTABLE_FL);
	ck_assert_int_eq(dec(&in), -EUCLEAN);
	close_image();
}
END_TEST

START_TEST(test_decode_slow_symlink_is_not_fast)
{
	struct bv_ext4_inode in;

	open_default();
	for (uint32_t ino = fs->sb.s_first_ino; ino < fs->sb.s_inodes_count; ino++)
		if (bv_ext4_inode_get(fs, ino, &in) == 0 && S_ISLNK(in.mode) && in.size == 100) {
			ck_assert(!bv_ext4_inode_is_fast_symlink(&fs->sb, &in));
			close_image();
			return;
		}
	ck_abort_msg("no slow symlink");
}
END_TEST

static struct bv_ext4_time time_of(uint32_t base, uint32_t extra)
{
	struct bv_ext4_inode in;

	put32(raw + 0x10, base);
	put32(raw + 0x88, extra);
	ck_assert_int_eq(dec(&in), 0);
	return in.mtime;
}

/* ext4_decode_extra_time: signed 32-bit base plus epoch bits * 2^32; nsec above. */
START_TEST(test_decode_timestamps_like_the_kernel)
{
	struct bv_ext4_time t;

	open_default();
	grab(S_IFREG);
	t = time_of(0x7FFFFFFF, 0);
	ck_assert_int_eq(t.sec, 2147483647);
	t = time_of(0x80000000u, 0); /* 1901-12-13 */
	ck_assert_int_eq(t.sec, -2147483648ll);
	t = time_of(0x80000000u, 1); /* 2038-01-19 03:14:08 */
	ck_assert_int_eq(t.sec, 2147483648ll);
	t = time_of(0xF0000000u, (123456789u << 2) | 0); /* before 1970, with ns */
	ck_assert_int_eq(t.sec, -268435456);
	ck_assert_uint_eq(t.nsec, 123456789);
	t = time_of(0xFFFFFFFFu, (999999999u << 2) | 3); /* the last representable second */
	ck_assert_int_eq(t.sec, -1 + 3 * (1ll << 32));
	ck_assert_uint_eq(t.nsec, 999999999);
	t = time_of(0, 2); /* 2242 */
	ck_assert_int_eq(t.sec, 2 * (1ll << 32));
	/* Without room for the extra words, only the signed base counts. */
	put16(raw + 0x80, 4);
	t = time_of(0x80000000u, 1);
	ck_assert_int_eq(t.sec, -2147483648ll);
	ck_assert_uint_eq(t.nsec, 0);
	close_image();
}
END_TEST

START_TEST(test_decode_crtime_needs_room)
{
	struct bv_ext4_inode in;

	open_default();
	grab(S_IFREG);
	put32(raw + 0x90, 1000);
	put32(raw + 0x94, 7u << 2);
	ck_assert_int_eq(dec(&in), 0);
	ck_assert(in.has_crtime);
	ck_assert_int_eq(in.crtime.sec, 1000);
	ck_assert_uint_eq(in.crtime.nsec, 7);
	put16(raw + 0x80, 20); /* crtime but not crtime_extra */
	ck_assert_int_eq(dec(&in), 0);
	ck_assert(in.has_crtime);
	ck_assert_uint_eq(in.crtime.nsec, 0);
	put16(raw + 0x80, 16);
	ck_assert_int_eq(dec(&in), 0);
	ck_assert(!in.has_crtime);
	close_image();
}
END_TEST

START_TEST(test_decode_ids_and_blocks)
{
	struct bv_ext4_inode in;
	struct bv_ext4_sb sb;

	open_default();
	grab(S_IFREG);
	put16(raw + 0x02, 0x1234);
	put16(raw + 0x78, 0x0001);
	put16(raw + 0x18, 0x5678);
	put16(raw + 0x7A, 0x0002);
	ck_assert_int_eq(dec(&in), 0);
	ck_assert_uint_eq(in.uid, 0x11234);
	ck_assert_uint_eq(in.gid, 0x25678);

	put32(raw + 0x1C, 3);
	put16(raw + 0x74, 1);
	ck_assert_int_eq(dec(&in), 0);
	ck_assert_uint_eq(in.blocks, (1ull << 32) + 3);
	put32(raw + 0x20, bv_le32(raw + 0x20) | EXT4_HUGE_FILE_FL); /* in fs blocks */
	ck_assert_int_eq(dec(&in), 0);
	ck_assert_uint_eq(in.blocks, ((1ull << 32) + 3) * 8);
	sb = fs->sb; /* without huge_file: 32 bits of sectors, the flag means nothing */
	sb.s_feature_ro_compat &= ~EXT4_FEATURE_RO_COMPAT_HUGE_FILE;
	ck_assert_int_eq(bv_ext4_inode_decode(&sb, raw_ino, raw, false, &in), 0);
	ck_assert_uint_eq(in.blocks, 3);
	close_image();
}
END_TEST

START_TEST(test_decode_device_numbers_both_encodings)
{
	struct bv_ext4_inode in;

	open_default();
	grab(S_IFCHR);
	ck_assert_int_eq(dec(&in), 0);
	ck_assert_uint_eq(in.rdev_major, 4);
	ck_assert_uint_eq(in.rdev_minor, 5);
	put32(raw + 0x28, 0);
	/* new_encode_dev(300, 70000) */
	put32(raw + 0x2C, (70000u & 0xff) | (300u << 8) | ((70000u & ~0xffu) << 12));
	ck_assert_int_eq(dec(&in), 0);
	ck_assert_uint_eq(in.rdev_major, 300);
	ck_assert_uint_eq(in.rdev_minor, 70000);
	close_image();
}
END_TEST

START_TEST(test_inode_get_range_and_location)
{
	struct bv_ext4_inode in;
	struct bv_cache_ref ref = { 0 };
	uint32_t off;
	char cmd[4400], out[256];
	const char *img = bv_test_mkfs("inode_e4", IN_E4 " -b 4096", srcdir(), "16M");

	open_image(img);
	ck_assert_int_eq(bv_ext4_inode_get(fs, 0, &in), -EUCLEAN);
	ck_assert_int_eq(bv_ext4_inode_get(fs, fs->sb.s_inodes_count + 1, &in), -EUCLEAN);
	ck_assert_int_eq(bv_ext4_inode_get(fs, UINT32_MAX, &in), -EUCLEAN);
	ck_assert_int_eq(bv_ext4_inode_get(fs, fs->sb.s_inodes_count, &in), -ENOENT);
	ck_assert_int_eq(bv_ext4_inode_get(fs, 1, &in), -ENOENT); /* bad blocks inode */
	ck_assert_int_eq(bv_ext4_inode_get(fs, EXT4_JOURNAL_INO, &in), 0);
	ck_assert(S_ISREG(in.mode));

	/* Where debugfs says inode 12 is. */
	ck_assert_int_eq(bv_ext4_inode_raw_get(fs, 12, &ref, &off), 0);
	bv_ext4_brelse(fs, &ref);
	snprintf(cmd, sizeof(cmd),
		 "debugfs -R 'imap <12>' '%s' 2>/dev/null | "
		 "sed -n 's/.*located at block \\([0-9]*\\), offset \\(0x[0-9a-f]*\\).*/\\1 \\2/p'",
		 img);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(fgets(out, sizeof(out), p));
	pclose(p);
	unsigned long long blk;
	unsigned o;
	ck_assert_int_eq(sscanf(out, "%llu %x", &blk, &o), 2);
	struct bv_ext4_group g;
	ck_assert_int_eq(bv_ext4_group_get(fs, 0, &g), 0);
	ck_assert_uint_eq(g.inode_table + 11 / fs->sb.inodes_per_block, blk);
	ck_assert_uint_eq(off, o);
	close_image();
}
END_TEST

/* A group whose inode table was never initialised holds whatever the device held; its
 * descriptor's INODE_UNINIT says none of it is in use. */
START_TEST(test_inode_get_trusts_inode_uninit_over_table_garbage)
{
	const char *base = bv_test_mkfs("inode_uninit", IN_E4 " -b 1024", NULL, "64M");
	char img[4400];
	struct bv_ext4_group g;
	struct bv_ext4_inode in;
	uint32_t group = 0;

	ck_assert_ptr_nonnull(base);
	snprintf(img, sizeof(img), "%s/inode_uninit_garbage.img", bv_test_tmpdir());
	ck_assert_int_eq(bv_test_sh("cp '%s' '%s'", base, img), 0);
	open_image(img);
	for (uint32_t i = 1; i < fs->sb.group_count && !group; i++)
		if (bv_ext4_group_get(fs, i, &g) == 0 && (g.flags & EXT4_BG_INODE_UNINIT))
			group = i;
	ck_assert_uint_ne(group, 0);
	uint32_t bs = fs->sb.block_size, ino = group * fs->sb.s_inodes_per_group + 1;
	uint64_t desc = bv_ext4_group_desc_block(&fs->sb, group) * bs +
			(uint64_t)(group % fs->sb.desc_per_block) * fs->sb.s_desc_size;
	close_image();

	ck_assert_int_eq(bv_test_sh("head -c %u /dev/urandom | dd of='%s' bs=1 seek=%llu "
				    "conv=notrunc status=none",
				    bs, img, (unsigned long long)g.inode_table * bs),
			 0);
	open_image(img);
	ck_assert_int_eq(bv_ext4_inode_get(fs, ino, &in), -ENOENT);
	close_image();

	/* Clear the flag (bg_flags, low byte): now the garbage is read, and refused. */
	ck_assert_int_eq(bv_test_sh("printf '\\000' | dd of='%s' bs=1 seek=%llu conv=notrunc "
				    "status=none",
				    img, (unsigned long long)desc + 0x12),
			 0);
	open_image(img);
	int err = bv_ext4_inode_get(fs, ino, &in);
	ck_assert_msg(err == -EBADMSG || err == -EUCLEAN, "garbage inode: %d", err);
	close_image();
}
END_TEST

/* ---- the kernel as oracle ---- */

struct kvariant {
	const char *name, *opts;
};

static const struct kvariant kvariants[] = {
	{ "inode_k4k", IN_E4 " -b 4096" },
	{ "inode_k128", IN_E4 " -I 128" },
	{ "inode_k1k", IN_E4 " -b 1024" },
	{ "inode_kext2", "-t ext2" },
	{ "inode_kbigalloc", IN_E4 " -O bigalloc -C 16384" },
};

/* The tree the kernel writes: what mkfs -d cannot (nanoseconds, epoch bits, a big
 * sparse file, ids past 65535, new-style device numbers). */
static const char *ktree_script =
	"set -e\n"
	"[ -n \"$1\" ] && mountpoint -q \"$1\"\n"
	"cd \"$1\"\n"
	"printf hello >file; ln file hardlink; mkdir -p dir/sub\n"
	"ln -s file fast; ln -s $(printf 'y%.0s' $(seq 200)) slow\n"
	"mknod cold c 4 5; mknod cnew c 300 70000; mknod blk b 8 1; mkfifo fifo\n"
	"touch -d '1901-12-14 00:00:00' t1901; touch -d '1960-01-01 00:00:01.123456789' t1960\n"
	"touch -d '2038-01-19 03:14:08' t2038; touch -d '2100-01-01 00:00:00.5' t2100\n"
	"touch -d '2446-05-10 22:38:55.999999999' t2446\n"
	"touch big; truncate -s 5G big\n"
	"printf x | dd of=big bs=1 seek=4294967296 conv=notrunc status=none\n"
	"touch ids; chown 100000:200000 ids; chmod 4755 ids\n"
	"dd if=/dev/urandom of=data bs=1k count=300 status=none\n"
	"touch -d '1970-01-01 00:00:00' dir/sub\n";

static bool kbuild(const struct kvariant *v, char *img, size_t n, char *mnt, size_t m)
{
	const char *base = bv_test_mkfs(v->name, v->opts, NULL, "64M");
	char script[4400];
	FILE *f;

	if (!base)
		return false;
	snprintf(img, n, "%s", base);
	snprintf(mnt, m, "%s/%s.mnt", bv_test_tmpdir(), v->name);
	snprintf(script, sizeof(script), "%s/inode_ktree.sh", bv_test_tmpdir());
	f = fopen(script, "w");
	if (!f)
		return false;
	fputs(ktree_script, f);
	fclose(f);
	/* Built once per run: a marker file says the tree is there. The script refuses
	 * to run anywhere but on the fresh mount. */
	return bv_test_sh(
		       "[ -e '%s.tree' ] && exit 0; mkdir -p '%s' && L=$(losetup -f --show '%s') && "
		       "{ mount \"$L\" '%s' && sh '%s' '%s'; r=$?; umount '%s'; losetup -d \"$L\"; "
		       "[ $r = 0 ] && touch '%s.tree'; }",
		       img, mnt, img, mnt, script, mnt, mnt, img) == 0;
}

static int compared;

static int compare_one(const char *path, const struct stat *k, int flag, struct FTW *ftw)
{
	struct bv_ext4_inode in;
	struct stat ours;

	(void)flag;
	(void)ftw;
	int err = bv_ext4_inode_get(fs, (uint32_t)k->st_ino, &in);
	ck_assert_msg(err == 0, "%s: inode %lu: %d", path, (unsigned long)k->st_ino, err);
	bv_ext4_inode_stat(fs, &in, &ours);
	if (k->st_ino == BV_EXT4_ROOT_INO || strstr(path, "lost+found") == NULL) {
		ck_assert_msg(ours.st_mode == k->st_mode, "%s mode", path);
		ck_assert_msg(ours.st_nlink == k->st_nlink, "%s nlink %lu vs %lu", path,
			      (unsigned long)ours.st_nlink, (unsigned long)k->st_nlink);
		ck_assert_msg(ours.st_uid == k->st_uid && ours.st_gid == k->st_gid, "%s ids", path);
		ck_assert_msg(ours.st_size == k->st_size, "%s size %lld vs %lld", path,
			      (long long)ours.st_size, (long long)k->st_size);
		ck_assert_msg(ours.st_blocks == k->st_blocks, "%s blocks %lld vs %lld", path,
			      (long long)ours.st_blocks, (long long)k->st_blocks);
		ck_assert_msg(ours.st_rdev == k->st_rdev, "%s rdev", path);
		ck_assert_msg(ours.st_blksize == k->st_blksize, "%s blksize", path);
		ck_assert_msg(ours.st_mtim.tv_sec == k->st_mtim.tv_sec &&
				      ours.st_mtim.tv_nsec == k->st_mtim.tv_nsec,
			      "%s mtime %lld.%09ld vs %lld.%09ld", path,
			      (long long)ours.st_mtim.tv_sec, ours.st_mtim.tv_nsec,
			      (long long)k->st_mtim.tv_sec, k->st_mtim.tv_nsec);
		ck_assert_msg(ours.st_atim.tv_sec == k->st_atim.tv_sec &&
				      ours.st_atim.tv_nsec == k->st_atim.tv_nsec,
			      "%s atime", path);
		ck_assert_msg(ours.st_ctim.tv_sec == k->st_ctim.tv_sec &&
				      ours.st_ctim.tv_nsec == k->st_ctim.tv_nsec,
			      "%s ctime", path);
	}
	compared++;
	return 0;
}

START_TEST(test_stat_matches_kernel)
{
	const struct kvariant *v = &kvariants[_i];
	char img[4200], mnt[4200], loop[64], lf[4400];

	if (!bv_test_is_root()) {
		bv_test_skip(v->name, "needs root for loop mounts");
		return;
	}
	if (!kbuild(v, img, sizeof(img), mnt, sizeof(mnt))) {
		bv_test_skip(v->name, "could not build the tree on a kernel mount");
		return;
	}
	snprintf(lf, sizeof(lf), "%s.loop", mnt);
	if (bv_test_sh("L=$(losetup -r -f --show '%s') && echo $L >'%s' && mount -o ro $L '%s' || "
		       "{ losetup -d $L; exit 1; }",
		       img, lf, mnt) != 0) {
		bv_test_skip(v->name, "read-only loop mount failed");
		return;
	}
	FILE *f = fopen(lf, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(loop, sizeof(loop), f));
	fclose(f);
	loop[strcspn(loop, "\n")] = '\0';

	open_image(img);
	compared = 0;
	int rc = nftw(mnt, compare_one, 16, FTW_PHYS | FTW_MOUNT);
	close_image();
	bv_test_sh("umount '%s'; losetup -d '%s'", mnt, loop);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_ge(compared, 20);
}
END_TEST

/* ---- the e2fsprogs corpus ---- */

static void quiet(enum bv_log_level level, const char *msg, void *ctx)
{
	(void)level;
	(void)msg;
	(void)ctx;
}

START_TEST(test_corpus_opens_or_refuses_cleanly)
{
	const char *dir = bv_test_corpus_dir();
	struct dirent *de;
	int opened = 0, refused = 0;
	DIR *d;

	if (!dir) {
		bv_test_skip("corpus", bv_test_corpus_missing());
		return;
	}
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	bv_log_set_sink(quiet, NULL);
	while ((de = readdir(d))) {
		char path[4200];
		uint8_t *buf;
		size_t len;

		if (!strstr(de->d_name, ".image"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ck_assert_msg(bv_test_slurp(path, &buf, &len) == 0, "%s", path);
		ck_assert_int_eq(bv_source_open_mem(buf, len, &src), 0);
		int err = bv_ext4_open(src, NULL, &fs, why, sizeof(why));
		if (err) {
			ck_assert_msg(why[0] != '\0', "%s: refused (%d) without a sentence",
				      de->d_name, err);
			refused++;
		} else {
			opened++;
			for (uint32_t ino = 1; ino <= fs->sb.s_inodes_count; ino++) {
				struct bv_ext4_inode in;
				int r = bv_ext4_inode_get(fs, ino, &in);
				ck_assert_msg(r == 0 || r == -ENOENT || r == -EUCLEAN ||
						      r == -EBADMSG || r == -EOPNOTSUPP ||
						      r == -EIO,
					      "%s: inode %u: %d", de->d_name, ino, r);
			}
			bv_ext4_close(fs);
		}
		bv_source_close(src);
		free(buf);
	}
	closedir(d);
	bv_log_set_sink(NULL, NULL);
	printf("corpus: %d opened, %d refused\n", opened, refused);
	ck_assert_int_gt(opened, 100);
}
END_TEST

/* Deterministic mutations of a small image's metadata (superblock, descriptors, bitmaps,
 * inode tables): every one opens or is refused, and every inode reads or fails with an
 * expected error. ASan and UBSan runs make overreads and overflows fail here. */
START_TEST(test_mutated_images_open_or_refuse_cleanly)
{
	const char *img = bv_test_mkfs("inode_fuzz", IN_E4 " -b 1024 -N 256", srcdir(), "2M");
	uint8_t *orig, *buf;
	size_t len;
	int opened = 0;

	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(bv_test_slurp(img, &orig, &len), 0);
	buf = malloc(len);
	ck_assert_ptr_nonnull(buf);
	bv_log_set_sink(quiet, NULL);
	srand(1234);
	size_t span = len < 128 * 1024 ? len : 128 * 1024;
	for (int iter = 0; iter < 400; iter++) {
		struct bv_ext4_opts opts = { .skip_csum = iter % 2 == 0 };
		memcpy(buf, orig, len);
		int flips = 1 + rand() % 8;
		for (int k = 0; k < flips; k++)
			buf[1024 + (size_t)rand() % (span - 1024)] ^= (uint8_t)(1 + rand() % 255);
		ck_assert_int_eq(bv_source_open_mem(buf, len, &src), 0);
		if (bv_ext4_open(src, &opts, &fs, why, sizeof(why)) == 0) {
			opened++;
			for (uint32_t ino = 1; ino <= fs->sb.s_inodes_count; ino++) {
				struct bv_ext4_inode in;
				struct stat st;
				int r = bv_ext4_inode_get(fs, ino, &in);
				ck_assert_msg(r == 0 || r == -ENOENT || r == -EUCLEAN || r == -EBADMSG ||
						      r == -EOPNOTSUPP,
					      "iteration %d: inode %u: %d", iter, ino, r);
				if (r == 0)
					bv_ext4_inode_stat(fs, &in, &st);
			}
			struct statvfs sv;
			bv_ext4_statfs(fs, &sv);
			bv_ext4_close(fs);
		} else {
			ck_assert_msg(why[0], "iteration %d: refused without a sentence", iter);
		}
		bv_source_close(src);
	}
	bv_log_set_sink(NULL, NULL);
	free(buf);
	free(orig);
	ck_assert_int_gt(opened, 50); /* the mutations are not all fatal */
}
END_TEST

static Suite *inode_suite(void)
{
	Suite *s = suite_create("inode");
	TCase *tc = tcase_create("decode");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_decode_matches_inode_get);
	tcase_add_test(tc, test_decode_rejects_bad_checksum);
	tcase_add_test(tc, test_decode_checksum_low_half_only_without_extra_isize);
	tcase_add_test(tc, test_decode_rejects_bad_extra_isize);
	tcase_add_test(tc, test_decode_unused_inode_is_enoent);
	tcase_add_test(tc, test_decode_rejects_bogus_mode);
	tcase_add_test(tc, test_decode_refuses_encrypted_inode);
	tcase_add_test(tc, test_decode_rejects_flags_without_their_feature);
	tcase_add_test(tc, test_decode_rejects_bad_extent_root);
	tcase_add_test(tc, test_decode_size_high_word_rules);
	tcase_add_test(tc, test_decode_rejects_xattr_block_out_of_range);
	tcase_add_test(tc, test_decode_symlink_rules);
	tcase_add_test(tc, test_decode_slow_symlink_is_not_fast);
	tcase_add_test(tc, test_decode_timestamps_like_the_kernel);
	tcase_add_test(tc, test_decode_crtime_needs_room);
	tcase_add_test(tc, test_decode_ids_and_blocks);
	tcase_add_test(tc, test_decode_device_numbers_both_encodings);
	tcase_add_test(tc, test_inode_get_range_and_location);
	tcase_add_test(tc, test_inode_get_trusts_inode_uninit_over_table_garbage);
	suite_add_tcase(s, tc);

	TCase *k = tcase_create("kernel");
	tcase_set_timeout(k, 300);
	tcase_add_loop_test(k, test_stat_matches_kernel, 0,
			    (int)(sizeof(kvariants) / sizeof(kvariants[0])));
	suite_add_tcase(s, k);

	TCase *c = tcase_create("corpus");
	tcase_set_timeout(c, 600);
	tcase_add_test(c, test_corpus_opens_or_refuses_cleanly);
	tcase_add_test(c, test_mutated_images_open_or_refuse_cleanly);
	suite_add_tcase(s, c);
	return s;
}
BV_SUITE(inode_suite)
