/* The ext2/3/4 superblock and group descriptors: on-disk constants (kernel names), the
 * decoded superblock, and its validation. */
#ifndef BV_FS_SUPERBLOCK_H
#define BV_FS_SUPERBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bv_ext4;

#define EXT4_SUPERBLOCK_OFFSET 1024
#define EXT4_SUPERBLOCK_SIZE 1024
#define EXT4_SUPER_MAGIC 0xEF53
#define EXT4_MIN_BLOCK_LOG_SIZE 10
#define EXT4_MAX_BLOCK_LOG_SIZE 16
#define EXT4_GOOD_OLD_REV 0
#define EXT4_GOOD_OLD_FIRST_INO 11
#define EXT4_GOOD_OLD_INODE_SIZE 128
#define EXT4_MIN_DESC_SIZE 32
#define EXT4_MIN_DESC_SIZE_64BIT 64
#define EXT4_MAX_DESC_SIZE 1024

/* s_feature_compat */
#define EXT4_FEATURE_COMPAT_DIR_PREALLOC 0x0001
#define EXT4_FEATURE_COMPAT_IMAGIC_INODES 0x0002
#define EXT4_FEATURE_COMPAT_HAS_JOURNAL 0x0004
#define EXT4_FEATURE_COMPAT_EXT_ATTR 0x0008
#define EXT4_FEATURE_COMPAT_RESIZE_INODE 0x0010
#define EXT4_FEATURE_COMPAT_DIR_INDEX 0x0020
#define EXT4_FEATURE_COMPAT_SPARSE_SUPER2 0x0200
#define EXT4_FEATURE_COMPAT_FAST_COMMIT 0x0400
#define EXT4_FEATURE_COMPAT_STABLE_INODES 0x0800
#define EXT4_FEATURE_COMPAT_ORPHAN_FILE 0x1000

/* s_feature_ro_compat */
#define EXT4_FEATURE_RO_COMPAT_SPARSE_SUPER 0x0001
#define EXT4_FEATURE_RO_COMPAT_LARGE_FILE 0x0002
#define EXT4_FEATURE_RO_COMPAT_BTREE_DIR 0x0004
#define EXT4_FEATURE_RO_COMPAT_HUGE_FILE 0x0008
#define EXT4_FEATURE_RO_COMPAT_GDT_CSUM 0x0010
#define EXT4_FEATURE_RO_COMPAT_DIR_NLINK 0x0020
#define EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE 0x0040
#define EXT4_FEATURE_RO_COMPAT_HAS_SNAPSHOT 0x0080
#define EXT4_FEATURE_RO_COMPAT_QUOTA 0x0100
#define EXT4_FEATURE_RO_COMPAT_BIGALLOC 0x0200
#define EXT4_FEATURE_RO_COMPAT_METADATA_CSUM 0x0400
#define EXT4_FEATURE_RO_COMPAT_REPLICA 0x0800
#define EXT4_FEATURE_RO_COMPAT_READONLY 0x1000
#define EXT4_FEATURE_RO_COMPAT_PROJECT 0x2000
#define EXT4_FEATURE_RO_COMPAT_SHARED_BLOCKS 0x4000
#define EXT4_FEATURE_RO_COMPAT_VERITY 0x8000
#define EXT4_FEATURE_RO_COMPAT_ORPHAN_PRESENT 0x10000

/* s_feature_incompat */
#define EXT4_FEATURE_INCOMPAT_COMPRESSION 0x0001
#define EXT4_FEATURE_INCOMPAT_FILETYPE 0x0002
#define EXT4_FEATURE_INCOMPAT_RECOVER 0x0004
#define EXT4_FEATURE_INCOMPAT_JOURNAL_DEV 0x0008
#define EXT4_FEATURE_INCOMPAT_META_BG 0x0010
#define EXT4_FEATURE_INCOMPAT_EXTENTS 0x0040
#define EXT4_FEATURE_INCOMPAT_64BIT 0x0080
#define EXT4_FEATURE_INCOMPAT_MMP 0x0100
#define EXT4_FEATURE_INCOMPAT_FLEX_BG 0x0200
#define EXT4_FEATURE_INCOMPAT_EA_INODE 0x0400
#define EXT4_FEATURE_INCOMPAT_DIRDATA 0x1000
#define EXT4_FEATURE_INCOMPAT_CSUM_SEED 0x2000
#define EXT4_FEATURE_INCOMPAT_LARGEDIR 0x4000
#define EXT4_FEATURE_INCOMPAT_INLINE_DATA 0x8000
#define EXT4_FEATURE_INCOMPAT_ENCRYPT 0x10000
#define EXT4_FEATURE_INCOMPAT_CASEFOLD 0x20000

/* What the reader serves. Any other incompat bit is refused by name. */
#define BV_INCOMPAT_SUPPORTED                                                              \
	(EXT4_FEATURE_INCOMPAT_FILETYPE | EXT4_FEATURE_INCOMPAT_RECOVER |                  \
	 EXT4_FEATURE_INCOMPAT_META_BG | EXT4_FEATURE_INCOMPAT_EXTENTS |                   \
	 EXT4_FEATURE_INCOMPAT_64BIT | EXT4_FEATURE_INCOMPAT_MMP |                         \
	 EXT4_FEATURE_INCOMPAT_FLEX_BG | EXT4_FEATURE_INCOMPAT_EA_INODE |                  \
	 EXT4_FEATURE_INCOMPAT_CSUM_SEED | EXT4_FEATURE_INCOMPAT_LARGEDIR |                \
	 EXT4_FEATURE_INCOMPAT_INLINE_DATA)

/* s_state, s_flags */
#define EXT4_VALID_FS 0x0001
#define EXT4_ERROR_FS 0x0002
#define EXT2_FLAGS_SIGNED_HASH 0x0001
#define EXT2_FLAGS_UNSIGNED_HASH 0x0002

/* s_checksum_type */
#define EXT4_CRC32C_CHKSUM 1

/* Reserved inode numbers */
#define EXT4_BAD_INO 1
#define EXT4_ROOT_INO 2
#define EXT4_USR_QUOTA_INO 3
#define EXT4_GRP_QUOTA_INO 4
#define EXT4_BOOT_LOADER_INO 5
#define EXT4_UNDEL_DIR_INO 6
#define EXT4_RESIZE_INO 7
#define EXT4_JOURNAL_INO 8

/* The superblock, decoded to host order and validated; trusted after bv_ext4_sb_decode. */
struct bv_ext4_sb {
	uint32_t s_inodes_count;
	uint64_t s_blocks_count;
	uint64_t s_r_blocks_count;
	uint64_t s_free_blocks_count;
	uint32_t s_free_inodes_count;
	uint32_t s_first_data_block;
	uint32_t s_log_block_size;
	uint32_t s_log_cluster_size;
	uint32_t s_blocks_per_group;
	uint32_t s_clusters_per_group;
	uint32_t s_inodes_per_group;
	uint32_t s_mtime, s_wtime;
	uint16_t s_state;
	uint16_t s_errors;
	uint32_t s_rev_level;
	uint32_t s_first_ino;
	uint16_t s_inode_size;
	uint32_t s_feature_compat;
	uint32_t s_feature_incompat;
	uint32_t s_feature_ro_compat;
	uint8_t s_uuid[16];
	char s_volume_name[17];   /* NUL-terminated copy */
	uint32_t s_hash_seed[4];
	uint8_t s_def_hash_version;
	uint16_t s_desc_size;     /* 32 unless 64bit, then as stored (>= 64) */
	uint32_t s_first_meta_bg;
	uint32_t s_journal_inum;
	uint32_t s_journal_dev;
	uint8_t s_journal_uuid[16];
	uint16_t s_min_extra_isize, s_want_extra_isize;
	uint32_t s_flags;
	uint8_t s_log_groups_per_flex;
	uint8_t s_checksum_type;
	uint32_t s_checksum_seed;
	uint16_t s_encoding;
	uint64_t s_mmp_block;
	uint16_t s_reserved_gdt_blocks;
	uint32_t s_overhead_clusters;
	uint32_t s_backup_bgs[2];  /* sparse_super2 */

	/* Derived once. */
	uint32_t block_size;
	uint32_t cluster_size;
	uint32_t group_count;
	uint32_t desc_per_block;
	uint32_t inodes_per_block;
	uint32_t itb_per_group;   /* inode table blocks per group */
	uint32_t csum_seed;       /* crc32c(~0, uuid) or s_checksum_seed (csum_seed feature) */
	uint32_t sb_block;        /* block holding the primary superblock (1 for 1 KiB blocks) */
	uint32_t gdb_count;       /* group descriptor blocks */
};

static inline bool bv_ext4_has_incompat(const struct bv_ext4_sb *sb, uint32_t f)
{
	return (sb->s_feature_incompat & f) != 0;
}
static inline bool bv_ext4_has_ro_compat(const struct bv_ext4_sb *sb, uint32_t f)
{
	return (sb->s_feature_ro_compat & f) != 0;
}
static inline bool bv_ext4_has_compat(const struct bv_ext4_sb *sb, uint32_t f)
{
	return (sb->s_feature_compat & f) != 0;
}

/* Decodes and validates the 1024-byte superblock at RAW against a source of DEV_SIZE
 * bytes: magic, checksum (metadata_csum), block and cluster size, group geometry, inode
 * size, descriptor size, counts against the device size, and the feature allow-list.
 * Returns 0 and fills *SB, or -EUCLEAN / -EBADMSG / -EOPNOTSUPP with a sentence in ERRBUF
 * (naming the refused feature, say). */
int bv_ext4_sb_decode(const uint8_t *raw, uint64_t dev_size, bool verify_csum,
		      struct bv_ext4_sb *sb, char *errbuf, size_t errbuf_size);

/* Feature names as mke2fs spells them, space separated, into BUF. */
void bv_ext4_sb_features_str(const struct bv_ext4_sb *sb, char *buf, size_t size);

/* ---- group.c ---- */

/* A decoded group descriptor. */
struct bv_ext4_group {
	uint64_t block_bitmap;
	uint64_t inode_bitmap;
	uint64_t inode_table;
	uint32_t free_blocks_count;
	uint32_t free_inodes_count;
	uint32_t used_dirs_count;
	uint16_t flags;           /* EXT4_BG_INODE_UNINIT, ... */
	uint32_t itable_unused;
};

#define EXT4_BG_INODE_UNINIT 0x0001
#define EXT4_BG_BLOCK_UNINIT 0x0002
#define EXT4_BG_INODE_ZEROED 0x0004

/* True when GROUP holds a superblock backup (sparse_super, sparse_super2 rules). */
bool bv_ext4_group_has_super(const struct bv_ext4_sb *sb, uint32_t group);

/* How many of groups [0, LIMIT) hold a superblock (primary or backup); O(log LIMIT). */
uint64_t bv_ext4_sb_count_super(const struct bv_ext4_sb *sb, uint32_t limit);

/* Block number holding group descriptor GROUP's descriptor block (meta_bg aware). */
uint64_t bv_ext4_group_desc_block(const struct bv_ext4_sb *sb, uint32_t group);

/* Reads and decodes descriptor GROUP; checks that its inode table lies inside the
 * filesystem. -EUCLEAN for a group out of range or a bad descriptor. */
int bv_ext4_group_get(struct bv_ext4 *fs, uint32_t group, struct bv_ext4_group *out);

/* bv_ext4_group_free_sum refuses filesystems whose descriptor table is larger than this:
 * 8 MiB is 2^17 64-byte descriptors (16 TiB of 4 KiB blocks in 32768-block groups) or 2^18
 * 32-byte ones, and reading it costs the first statfs at most 8 MiB of preads (2048 of
 * 4 KiB, 8192 of 1 KiB blocks: a few ms), where 2^20 groups of a crafted geometry were
 * 64 MiB. */
#define BV_EXT4_FREE_SUM_MAX_BYTES (8u << 20)

/* Sums every group descriptor's free cluster and free inode counts, as the kernel's
 * ext4_count_free_clusters and ext4_count_free_inodes do at mount (statfs shows these,
 * not the superblock's counters, which are only updated lazily). Reads every descriptor
 * block once, uncached. Returns 0, -E2BIG past BV_EXT4_FREE_SUM_MAX_BYTES of descriptors, or
 * -errno from reading (-EUCLEAN for a descriptor block outside the filesystem). */
int bv_ext4_group_free_sum(struct bv_ext4 *fs, uint64_t *free_clusters, uint64_t *free_inodes);

#endif
