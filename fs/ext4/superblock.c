/* The ext2/3/4 superblock: decoding, validation and the feature allow-list.
 *
 * The checks follow what the kernel's ext4_fill_super refuses (same rules, our own
 * words), so that an image bootviewfs opens is one the kernel would mount read-only, and
 * everything after this file can trust the geometry: sizes are powers of two in range,
 * group counts agree with the inode count, and the filesystem fits in the source.
 */
#include "fs/ext4/superblock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fs/ext4/ext4_priv.h"
#include "util/le.h"
#include "util/report.h"

/* Byte offsets in the on-disk struct ext4_super_block. */
#define S_INODES_COUNT 0x00
#define S_BLOCKS_COUNT_LO 0x04
#define S_R_BLOCKS_COUNT_LO 0x08
#define S_FREE_BLOCKS_COUNT_LO 0x0C
#define S_FREE_INODES_COUNT 0x10
#define S_FIRST_DATA_BLOCK 0x14
#define S_LOG_BLOCK_SIZE 0x18
#define S_LOG_CLUSTER_SIZE 0x1C
#define S_BLOCKS_PER_GROUP 0x20
#define S_CLUSTERS_PER_GROUP 0x24
#define S_INODES_PER_GROUP 0x28
#define S_MTIME 0x2C
#define S_WTIME 0x30
#define S_MAGIC 0x38
#define S_STATE 0x3A
#define S_ERRORS 0x3C
#define S_REV_LEVEL 0x4C
#define S_FIRST_INO 0x54
#define S_INODE_SIZE 0x58
#define S_FEATURE_COMPAT 0x5C
#define S_FEATURE_INCOMPAT 0x60
#define S_FEATURE_RO_COMPAT 0x64
#define S_UUID 0x68
#define S_VOLUME_NAME 0x78
#define S_RESERVED_GDT_BLOCKS 0xCE
#define S_JOURNAL_UUID 0xD0
#define S_JOURNAL_INUM 0xE0
#define S_JOURNAL_DEV 0xE4
#define S_HASH_SEED 0xEC
#define S_DEF_HASH_VERSION 0xFC
#define S_DESC_SIZE 0xFE
#define S_FIRST_META_BG 0x104
#define S_BLOCKS_COUNT_HI 0x150
#define S_R_BLOCKS_COUNT_HI 0x154
#define S_FREE_BLOCKS_COUNT_HI 0x158
#define S_MIN_EXTRA_ISIZE 0x15C
#define S_WANT_EXTRA_ISIZE 0x15E
#define S_FLAGS 0x160
#define S_MMP_BLOCK 0x168
#define S_LOG_GROUPS_PER_FLEX 0x174
#define S_CHECKSUM_TYPE 0x175
#define S_OVERHEAD_CLUSTERS 0x248
#define S_BACKUP_BGS 0x24C
#define S_CHECKSUM_SEED 0x270
#define S_ENCODING 0x27C
#define S_CHECKSUM 0x3FC

#define EXT4_DYNAMIC_REV 1
#define EXT4_MAX_CLUSTER_LOG_SIZE 30

/* Feature names as mke2fs and e2p spell them; unnamed bits print as FEATURE_<x><bit>. */
struct feature_name {
	int kind; /* 0 compat, 1 ro_compat, 2 incompat */
	uint32_t mask;
	const char *name;
};

static const struct feature_name feature_names[] = {
	{ 0, EXT4_FEATURE_COMPAT_DIR_PREALLOC, "dir_prealloc" },
	{ 0, EXT4_FEATURE_COMPAT_IMAGIC_INODES, "imagic_inodes" },
	{ 0, EXT4_FEATURE_COMPAT_HAS_JOURNAL, "has_journal" },
	{ 0, EXT4_FEATURE_COMPAT_EXT_ATTR, "ext_attr" },
	{ 0, EXT4_FEATURE_COMPAT_RESIZE_INODE, "resize_inode" },
	{ 0, EXT4_FEATURE_COMPAT_DIR_INDEX, "dir_index" },
	{ 0, 0x0040, "lazy_bg" },
	{ 0, 0x0100, "snapshot_bitmap" },
	{ 0, EXT4_FEATURE_COMPAT_SPARSE_SUPER2, "sparse_super2" },
	{ 0, EXT4_FEATURE_COMPAT_FAST_COMMIT, "fast_commit" },
	{ 0, EXT4_FEATURE_COMPAT_STABLE_INODES, "stable_inodes" },
	{ 0, EXT4_FEATURE_COMPAT_ORPHAN_FILE, "orphan_file" },
	{ 1, EXT4_FEATURE_RO_COMPAT_SPARSE_SUPER, "sparse_super" },
	{ 1, EXT4_FEATURE_RO_COMPAT_LARGE_FILE, "large_file" },
	{ 1, EXT4_FEATURE_RO_COMPAT_HUGE_FILE, "huge_file" },
	{ 1, EXT4_FEATURE_RO_COMPAT_GDT_CSUM, "uninit_bg" },
	{ 1, EXT4_FEATURE_RO_COMPAT_DIR_NLINK, "dir_nlink" },
	{ 1, EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE, "extra_isize" },
	{ 1, EXT4_FEATURE_RO_COMPAT_HAS_SNAPSHOT, "snapshot" },
	{ 1, EXT4_FEATURE_RO_COMPAT_QUOTA, "quota" },
	{ 1, EXT4_FEATURE_RO_COMPAT_BIGALLOC, "bigalloc" },
	{ 1, EXT4_FEATURE_RO_COMPAT_METADATA_CSUM, "metadata_csum" },
	{ 1, EXT4_FEATURE_RO_COMPAT_REPLICA, "replica" },
	{ 1, EXT4_FEATURE_RO_COMPAT_READONLY, "read-only" },
	{ 1, EXT4_FEATURE_RO_COMPAT_PROJECT, "project" },
	{ 1, EXT4_FEATURE_RO_COMPAT_SHARED_BLOCKS, "shared_blocks" },
	{ 1, EXT4_FEATURE_RO_COMPAT_VERITY, "verity" },
	{ 1, EXT4_FEATURE_RO_COMPAT_ORPHAN_PRESENT, "orphan_present" },
	{ 2, EXT4_FEATURE_INCOMPAT_COMPRESSION, "compression" },
	{ 2, EXT4_FEATURE_INCOMPAT_FILETYPE, "filetype" },
	{ 2, EXT4_FEATURE_INCOMPAT_RECOVER, "needs_recovery" },
	{ 2, EXT4_FEATURE_INCOMPAT_JOURNAL_DEV, "journal_dev" },
	{ 2, EXT4_FEATURE_INCOMPAT_META_BG, "meta_bg" },
	{ 2, EXT4_FEATURE_INCOMPAT_EXTENTS, "extent" },
	{ 2, EXT4_FEATURE_INCOMPAT_64BIT, "64bit" },
	{ 2, EXT4_FEATURE_INCOMPAT_MMP, "mmp" },
	{ 2, EXT4_FEATURE_INCOMPAT_FLEX_BG, "flex_bg" },
	{ 2, EXT4_FEATURE_INCOMPAT_EA_INODE, "ea_inode" },
	{ 2, EXT4_FEATURE_INCOMPAT_DIRDATA, "dirdata" },
	{ 2, EXT4_FEATURE_INCOMPAT_CSUM_SEED, "metadata_csum_seed" },
	{ 2, EXT4_FEATURE_INCOMPAT_LARGEDIR, "large_dir" },
	{ 2, EXT4_FEATURE_INCOMPAT_INLINE_DATA, "inline_data" },
	{ 2, EXT4_FEATURE_INCOMPAT_ENCRYPT, "encrypt" },
	{ 2, EXT4_FEATURE_INCOMPAT_CASEFOLD, "casefold" },
};

static const char *feature_name(int kind, uint32_t mask, char *tmp, size_t size)
{
	for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++)
		if (feature_names[i].kind == kind && feature_names[i].mask == mask)
			return feature_names[i].name;
	snprintf(tmp, size, "FEATURE_%c%d", "CRI"[kind], __builtin_ctz(mask));
	return tmp;
}

static void features_append(char *buf, size_t size, size_t *used, int kind, uint32_t bits)
{
	char tmp[24];

	for (int b = 0; b < 32; b++) {
		if (!(bits & (1u << b)))
			continue;
		const char *name = feature_name(kind, 1u << b, tmp, sizeof(tmp));
		int n = snprintf(buf + *used, size - *used, "%s%s", *used ? " " : "", name);
		if (n < 0 || (size_t)n >= size - *used) {
			*used = size - 1; /* truncated: keep what fitted */
			return;
		}
		*used += (size_t)n;
	}
}

void bv_ext4_sb_features_str(const struct bv_ext4_sb *sb, char *buf, size_t size)
{
	size_t used = 0;

	if (!size)
		return;
	buf[0] = '\0';
	features_append(buf, size, &used, 0, sb->s_feature_compat);
	features_append(buf, size, &used, 2, sb->s_feature_incompat);
	features_append(buf, size, &used, 1, sb->s_feature_ro_compat);
}

/* The incompat bits we refuse, each with its own sentence; any other unknown bit is
 * refused by its e2p name. */
static int check_incompat(const struct bv_ext4_sb *sb, char *errbuf, size_t size)
{
	uint32_t bad = sb->s_feature_incompat & ~BV_INCOMPAT_SUPPORTED;
	char tmp[24];

	if (!bad)
		return 0;
	if (bad & EXT4_FEATURE_INCOMPAT_JOURNAL_DEV)
		return bv_fail(errbuf, size, -EOPNOTSUPP,
			       "this is an external journal device (journal_dev), not a filesystem");
	if (bad & EXT4_FEATURE_INCOMPAT_ENCRYPT)
		return bv_fail(errbuf, size, -EOPNOTSUPP,
			       "encryption is not supported (feature encrypt)");
	if (bad & EXT4_FEATURE_INCOMPAT_COMPRESSION)
		return bv_fail(errbuf, size, -EOPNOTSUPP,
			       "compression is not supported (feature compression)");
	if (bad & EXT4_FEATURE_INCOMPAT_CASEFOLD)
		/* Case-insensitive lookups would answer differently from the kernel's; we
		 * do exact-match lookups only. */
		return bv_fail(errbuf, size, -EOPNOTSUPP,
			       "case-insensitive directories are not supported (feature casefold)");
	if (bad & EXT4_FEATURE_INCOMPAT_DIRDATA)
		return bv_fail(errbuf, size, -EOPNOTSUPP,
			       "directory entry data is not supported (feature dirdata)");
	return bv_fail(errbuf, size, -EOPNOTSUPP,
		       "unsupported filesystem feature %s (incompat 0x%x)",
		       feature_name(2, bad & -bad, tmp, sizeof(tmp)), bad);
}

/* How many of groups [0, limit) carry a superblock backup, without walking them all:
 * with sparse_super only 0, 1 and the powers of 3, 5 and 7 do. */
static uint64_t count_powers(uint64_t base, uint32_t limit)
{
	uint64_t n = 0;

	for (uint64_t p = base; p < limit; p *= base)
		n++;
	return n;
}

static void decode_fields(const uint8_t *raw, struct bv_ext4_sb *sb)
{
	memset(sb, 0, sizeof(*sb));
	sb->s_inodes_count = bv_le32(raw + S_INODES_COUNT);
	sb->s_feature_compat = bv_le32(raw + S_FEATURE_COMPAT);
	sb->s_feature_incompat = bv_le32(raw + S_FEATURE_INCOMPAT);
	sb->s_feature_ro_compat = bv_le32(raw + S_FEATURE_RO_COMPAT);

	/* The high halves of the block counts exist only with 64bit; without it they may
	 * hold leftovers and the kernel ignores them. */
	bool is64 = bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_64BIT);
	sb->s_blocks_count = bv_le32(raw + S_BLOCKS_COUNT_LO);
	sb->s_r_blocks_count = bv_le32(raw + S_R_BLOCKS_COUNT_LO);
	sb->s_free_blocks_count = bv_le32(raw + S_FREE_BLOCKS_COUNT_LO);
	if (is64) {
		sb->s_blocks_count |= (uint64_t)bv_le32(raw + S_BLOCKS_COUNT_HI) << 32;
		sb->s_r_blocks_count |= (uint64_t)bv_le32(raw + S_R_BLOCKS_COUNT_HI) << 32;
		sb->s_free_blocks_count |= (uint64_t)bv_le32(raw + S_FREE_BLOCKS_COUNT_HI) << 32;
	}
	sb->s_free_inodes_count = bv_le32(raw + S_FREE_INODES_COUNT);
	sb->s_first_data_block = bv_le32(raw + S_FIRST_DATA_BLOCK);
	sb->s_log_block_size = bv_le32(raw + S_LOG_BLOCK_SIZE);
	sb->s_log_cluster_size = bv_le32(raw + S_LOG_CLUSTER_SIZE);
	sb->s_blocks_per_group = bv_le32(raw + S_BLOCKS_PER_GROUP);
	sb->s_clusters_per_group = bv_le32(raw + S_CLUSTERS_PER_GROUP);
	sb->s_inodes_per_group = bv_le32(raw + S_INODES_PER_GROUP);
	sb->s_mtime = bv_le32(raw + S_MTIME);
	sb->s_wtime = bv_le32(raw + S_WTIME);
	sb->s_state = bv_le16(raw + S_STATE);
	sb->s_errors = bv_le16(raw + S_ERRORS);
	sb->s_rev_level = bv_le32(raw + S_REV_LEVEL);
	sb->s_first_ino = bv_le32(raw + S_FIRST_INO);
	sb->s_inode_size = bv_le16(raw + S_INODE_SIZE);
	memcpy(sb->s_uuid, raw + S_UUID, 16);
	memcpy(sb->s_volume_name, raw + S_VOLUME_NAME, 16);
	sb->s_volume_name[16] = '\0';
	sb->s_reserved_gdt_blocks = bv_le16(raw + S_RESERVED_GDT_BLOCKS);
	memcpy(sb->s_journal_uuid, raw + S_JOURNAL_UUID, 16);
	sb->s_journal_inum = bv_le32(raw + S_JOURNAL_INUM);
	sb->s_journal_dev = bv_le32(raw + S_JOURNAL_DEV);
	for (int i = 0; i < 4; i++)
		sb->s_hash_seed[i] = bv_le32(raw + S_HASH_SEED + 4 * i);
	sb->s_def_hash_version = raw[S_DEF_HASH_VERSION];
	sb->s_desc_size = bv_le16(raw + S_DESC_SIZE);
	sb->s_first_meta_bg = bv_le32(raw + S_FIRST_META_BG);
	sb->s_min_extra_isize = bv_le16(raw + S_MIN_EXTRA_ISIZE);
	sb->s_want_extra_isize = bv_le16(raw + S_WANT_EXTRA_ISIZE);
	sb->s_flags = bv_le32(raw + S_FLAGS);
	sb->s_mmp_block = bv_le64(raw + S_MMP_BLOCK);
	sb->s_log_groups_per_flex = raw[S_LOG_GROUPS_PER_FLEX];
	sb->s_checksum_type = raw[S_CHECKSUM_TYPE];
	sb->s_overhead_clusters = bv_le32(raw + S_OVERHEAD_CLUSTERS);
	sb->s_backup_bgs[0] = bv_le32(raw + S_BACKUP_BGS);
	sb->s_backup_bgs[1] = bv_le32(raw + S_BACKUP_BGS + 4);
	sb->s_checksum_seed = bv_le32(raw + S_CHECKSUM_SEED);
	sb->s_encoding = bv_le16(raw + S_ENCODING);
}

static int check_sizes(struct bv_ext4_sb *sb, char *errbuf, size_t size)
{
	if (sb->s_log_block_size > EXT4_MAX_BLOCK_LOG_SIZE - EXT4_MIN_BLOCK_LOG_SIZE)
		return bv_fail(errbuf, size, -EUCLEAN, "invalid block size (s_log_block_size %u)",
			       sb->s_log_block_size);
	sb->block_size = 1024u << sb->s_log_block_size;

	if (bv_ext4_has_ro_compat(sb, EXT4_FEATURE_RO_COMPAT_BIGALLOC)) {
		if (sb->s_log_cluster_size < sb->s_log_block_size ||
		    sb->s_log_cluster_size > EXT4_MAX_CLUSTER_LOG_SIZE - EXT4_MIN_BLOCK_LOG_SIZE)
			return bv_fail(errbuf, size, -EUCLEAN,
				       "invalid cluster size (s_log_cluster_size %u, block size %u)",
				       sb->s_log_cluster_size, sb->block_size);
	} else if (sb->s_log_cluster_size != sb->s_log_block_size) {
		/* Without bigalloc the field is the old fragment size, which must match. */
		return bv_fail(errbuf, size, -EUCLEAN,
			       "cluster (fragment) size differs from block size without bigalloc");
	}
	sb->cluster_size = 1024u << sb->s_log_cluster_size;

	if (sb->s_rev_level > EXT4_DYNAMIC_REV)
		return bv_fail(errbuf, size, -EOPNOTSUPP, "unsupported revision level %u",
			       sb->s_rev_level);
	if (sb->s_rev_level == EXT4_GOOD_OLD_REV) {
		/* Revision 0 has no such fields: fixed 128-byte inodes, first inode 11. */
		sb->s_inode_size = EXT4_GOOD_OLD_INODE_SIZE;
		sb->s_first_ino = EXT4_GOOD_OLD_FIRST_INO;
	} else {
		if (sb->s_inode_size < EXT4_GOOD_OLD_INODE_SIZE || !bv_is_pow2(sb->s_inode_size) ||
		    sb->s_inode_size > sb->block_size)
			return bv_fail(errbuf, size, -EUCLEAN,
				       "invalid inode size %u (block size %u)", sb->s_inode_size,
				       sb->block_size);
		if (sb->s_first_ino < EXT4_GOOD_OLD_FIRST_INO)
			return bv_fail(errbuf, size, -EUCLEAN, "invalid first inode %u",
				       sb->s_first_ino);
	}

	if (bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_64BIT)) {
		if (sb->s_desc_size < EXT4_MIN_DESC_SIZE_64BIT ||
		    sb->s_desc_size > EXT4_MAX_DESC_SIZE || !bv_is_pow2(sb->s_desc_size))
			return bv_fail(errbuf, size, -EUCLEAN, "invalid group descriptor size %u",
				       sb->s_desc_size);
		/* A descriptor bigger than a block would break the per-block arithmetic. */
		if (sb->s_desc_size > sb->block_size)
			return bv_fail(errbuf, size, -EUCLEAN,
				       "group descriptor size %u exceeds block size %u",
				       sb->s_desc_size, sb->block_size);
	} else {
		sb->s_desc_size = EXT4_MIN_DESC_SIZE;
	}
	sb->desc_per_block = sb->block_size / sb->s_desc_size;
	sb->inodes_per_block = sb->block_size / sb->s_inode_size;
	return 0;
}

static int check_geometry(struct bv_ext4_sb *sb, uint64_t dev_size, char *errbuf, size_t size)
{
	uint32_t bits_per_bitmap = sb->block_size * 8;
	uint32_t ratio = sb->cluster_size / sb->block_size;

	/* The bitmaps count clusters: with bigalloc a group spans up to 8 * block_size
	 * clusters, so only the cluster count is bounded by the bitmap. */
	if (sb->s_blocks_per_group == 0 ||
	    (ratio == 1 && sb->s_blocks_per_group > bits_per_bitmap))
		return bv_fail(errbuf, size, -EUCLEAN, "invalid blocks per group %u",
			       sb->s_blocks_per_group);
	if (bv_ext4_has_ro_compat(sb, EXT4_FEATURE_RO_COMPAT_BIGALLOC)) {
		uint64_t blocks = (uint64_t)sb->s_clusters_per_group * ratio;
		if (sb->s_clusters_per_group == 0 || sb->s_clusters_per_group > bits_per_bitmap ||
		    blocks != sb->s_blocks_per_group)
			return bv_fail(errbuf, size, -EUCLEAN,
				       "invalid clusters per group %u (blocks per group %u)",
				       sb->s_clusters_per_group, sb->s_blocks_per_group);
	} else {
		/* The field is unused without bigalloc; the kernel overrides it. */
		sb->s_clusters_per_group = sb->s_blocks_per_group;
	}
	if (sb->s_inodes_per_group < sb->inodes_per_block ||
	    sb->s_inodes_per_group > bits_per_bitmap)
		return bv_fail(errbuf, size, -EUCLEAN, "invalid inodes per group %u",
			       sb->s_inodes_per_group);
	sb->itb_per_group = (sb->s_inodes_per_group + sb->inodes_per_block - 1) /
			    sb->inodes_per_block;

	/* mke2fs puts the first data block right after the superblock's block: block 1
	 * with 1 KiB blocks and clusters, else 0. Anything else is not a layout the kernel
	 * or e2fsprogs make. */
	uint32_t want_fdb = (sb->block_size == 1024 && sb->cluster_size == 1024) ? 1 : 0;
	if (sb->s_first_data_block != want_fdb)
		return bv_fail(errbuf, size, -EUCLEAN,
			       "invalid first data block %u (expected %u for %u-byte blocks)",
			       sb->s_first_data_block, want_fdb, sb->block_size);
	if (sb->s_first_data_block >= sb->s_blocks_count)
		return bv_fail(errbuf, size, -EUCLEAN,
			       "first data block %u is past the block count %" PRIu64,
			       sb->s_first_data_block, sb->s_blocks_count);
	sb->sb_block = sb->block_size == 1024 ? 1 : 0;

	/* Groups cover [first_data_block, blocks_count); the last may be short. */
	uint64_t groups = (sb->s_blocks_count - sb->s_first_data_block - 1) /
				  sb->s_blocks_per_group + 1;
	if (groups > UINT32_MAX)
		return bv_fail(errbuf, size, -EUCLEAN, "too many block groups (%" PRIu64 ")",
			       groups);
	sb->group_count = (uint32_t)groups;
	if (sb->s_inodes_count == 0 ||
	    groups * sb->s_inodes_per_group != (uint64_t)sb->s_inodes_count)
		return bv_fail(errbuf, size, -EUCLEAN,
			       "inode count %u does not match %u groups of %u inodes",
			       sb->s_inodes_count, sb->group_count, sb->s_inodes_per_group);
	sb->gdb_count = (uint32_t)((groups + sb->desc_per_block - 1) / sb->desc_per_block);

	if (bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_META_BG)) {
		if (sb->s_first_meta_bg > sb->gdb_count)
			return bv_fail(errbuf, size, -EUCLEAN,
				       "first meta block group %u is past the %u descriptor blocks",
				       sb->s_first_meta_bg, sb->gdb_count);
	} else {
		/* The whole table must fit in group 0 after the superblock. */
		if ((uint64_t)sb->sb_block + 1 + sb->gdb_count > sb->s_blocks_count)
			return bv_fail(errbuf, size, -EUCLEAN,
				       "group descriptor table (%u blocks) runs past the filesystem",
				       sb->gdb_count);
	}
	if (sb->s_reserved_gdt_blocks > sb->block_size / 4)
		return bv_fail(errbuf, size, -EUCLEAN, "reserved GDT block count %u is too large",
			       sb->s_reserved_gdt_blocks);

	uint64_t fs_bytes;
	if (__builtin_mul_overflow(sb->s_blocks_count, (uint64_t)sb->block_size, &fs_bytes))
		return bv_fail(errbuf, size, -EUCLEAN, "block count %" PRIu64 " is too large",
			       sb->s_blocks_count);
	if (fs_bytes > dev_size)
		return bv_fail(errbuf, size, -EUCLEAN,
			       "filesystem is %" PRIu64 " bytes but the source has only %" PRIu64
			       " (truncated image?)",
			       fs_bytes, dev_size);
	return 0;
}

static int check_journal_and_csum(const uint8_t *raw, struct bv_ext4_sb *sb, bool verify_csum,
				  char *errbuf, size_t size)
{
	static const uint8_t zero_uuid[16];

	if (bv_ext4_has_compat(sb, EXT4_FEATURE_COMPAT_HAS_JOURNAL) && sb->s_journal_inum == 0 &&
	    (sb->s_journal_dev != 0 || memcmp(sb->s_journal_uuid, zero_uuid, 16) != 0))
		return bv_fail(errbuf, size, -EOPNOTSUPP, "external journals are not supported");

	if (bv_ext4_has_ro_compat(sb, EXT4_FEATURE_RO_COMPAT_METADATA_CSUM)) {
		if (sb->s_checksum_type != EXT4_CRC32C_CHKSUM)
			return bv_fail(errbuf, size, -EUCLEAN, "unknown checksum type %u",
				       sb->s_checksum_type);
		if (verify_csum) {
			uint32_t want = bv_le32(raw + S_CHECKSUM);
			uint32_t got = bv_crc32c(~0u, raw, S_CHECKSUM);
			if (want != got)
				return bv_fail(
					errbuf, size, -EBADMSG,
					"superblock checksum mismatch (stored 0x%08x, computed 0x%08x)",
					want, got);
		}
	} else if (bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_CSUM_SEED)) {
		return bv_fail(errbuf, size, -EUCLEAN,
			       "metadata_csum_seed is set without metadata_csum");
	}
	/* ea_inode hashes use the seed too, so derive it whatever the features. */
	if (bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_CSUM_SEED))
		sb->csum_seed = sb->s_checksum_seed;
	else
		sb->csum_seed = bv_crc32c(~0u, sb->s_uuid, sizeof(sb->s_uuid));
	return 0;
}

int bv_ext4_sb_decode(const uint8_t *raw, uint64_t dev_size, bool verify_csum,
		      struct bv_ext4_sb *out, char *errbuf, size_t errbuf_size)
{
	struct bv_ext4_sb sb;
	int err;

	if (errbuf && errbuf_size)
		errbuf[0] = '\0';
	if (bv_le16(raw + S_MAGIC) != EXT4_SUPER_MAGIC)
		return bv_fail(errbuf, errbuf_size, -EUCLEAN,
			       "not an ext2/3/4 filesystem (bad superblock magic 0x%04x)",
			       bv_le16(raw + S_MAGIC));
	decode_fields(raw, &sb);

	/* Checksum first: a corrupt superblock should be named as such, not by whichever
	 * field happened to go wrong. */
	err = check_journal_and_csum(raw, &sb, verify_csum, errbuf, errbuf_size);
	if (err)
		return err;
	err = check_incompat(&sb, errbuf, errbuf_size);
	if (err)
		return err;
	/* Unknown ro_compat bits are fine: they only forbid writing, and we never write. */
	err = check_sizes(&sb, errbuf, errbuf_size);
	if (err)
		return err;
	err = check_geometry(&sb, dev_size, errbuf, errbuf_size);
	if (err)
		return err;
	*out = sb;
	return 0;
}

bool bv_ext4_group_has_super(const struct bv_ext4_sb *sb, uint32_t group)
{
	if (group == 0)
		return true;
	if (bv_ext4_has_compat(sb, EXT4_FEATURE_COMPAT_SPARSE_SUPER2))
		return group == sb->s_backup_bgs[0] || group == sb->s_backup_bgs[1];
	if (group == 1 || !bv_ext4_has_ro_compat(sb, EXT4_FEATURE_RO_COMPAT_SPARSE_SUPER))
		return true;
	if (!(group & 1))
		return false;
	for (uint32_t base = 3; base <= 7; base += 2) {
		uint64_t p = base;
		while (p < group)
			p *= base;
		if (p == group)
			return true;
	}
	return false;
}

uint64_t bv_ext4_sb_count_super(const struct bv_ext4_sb *sb, uint32_t limit)
{
	if (limit == 0)
		return 0;
	if (bv_ext4_has_compat(sb, EXT4_FEATURE_COMPAT_SPARSE_SUPER2)) {
		uint64_t n = 1;
		for (int i = 0; i < 2; i++) {
			uint32_t g = sb->s_backup_bgs[i];
			if (g && g < limit && (i == 0 || g != sb->s_backup_bgs[0]))
				n++;
		}
		return n;
	}
	if (!bv_ext4_has_ro_compat(sb, EXT4_FEATURE_RO_COMPAT_SPARSE_SUPER))
		return limit;
	return (limit > 1 ? 2 : 1) + count_powers(3, limit) + count_powers(5, limit) +
	       count_powers(7, limit);
}
