/* Group descriptors: where each group's descriptor lives and what it says.
 *
 * Descriptors are read lazily, one descriptor block at a time through the block cache,
 * so opening a filesystem costs nothing per group. Each descriptor is checked when read,
 * as the kernel's ext4_check_descriptors checks them all at mount.
 */
#include "fs/ext4/superblock.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "fs/ext4/ext4_priv.h"
#include "util/le.h"

/* Byte offsets in struct ext4_group_desc; the _hi halves exist only in 64-byte ones. */
#define BG_BLOCK_BITMAP_LO 0x00
#define BG_INODE_BITMAP_LO 0x04
#define BG_INODE_TABLE_LO 0x08
#define BG_FREE_BLOCKS_COUNT_LO 0x0C
#define BG_FREE_INODES_COUNT_LO 0x0E
#define BG_USED_DIRS_COUNT_LO 0x10
#define BG_FLAGS 0x12
#define BG_ITABLE_UNUSED_LO 0x1C
#define BG_BLOCK_BITMAP_HI 0x20
#define BG_INODE_BITMAP_HI 0x24
#define BG_INODE_TABLE_HI 0x28
#define BG_FREE_BLOCKS_COUNT_HI 0x2C
#define BG_FREE_INODES_COUNT_HI 0x2E
#define BG_USED_DIRS_COUNT_HI 0x30
#define BG_ITABLE_UNUSED_HI 0x32

static uint64_t group_first_block(const struct bv_ext4_sb *sb, uint32_t group)
{
	return (uint64_t)group * sb->s_blocks_per_group + sb->s_first_data_block;
}

uint64_t bv_ext4_group_desc_block(const struct bv_ext4_sb *sb, uint32_t group)
{
	uint32_t nr = group / sb->desc_per_block; /* index of the descriptor block */

	if (!bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_META_BG) || nr < sb->s_first_meta_bg)
		return (uint64_t)sb->sb_block + 1 + nr;

	/* meta_bg: each run of desc_per_block groups (a meta group) keeps its one
	 * descriptor block in its own first group, after that group's superblock backup
	 * if it has one. With 1 KiB blocks and first_data_block 0 (bigalloc), group 0's
	 * block 0 holds the boot sector and block 1 the superblock, so one more. */
	uint32_t first = nr * sb->desc_per_block;
	uint64_t off = bv_ext4_group_has_super(sb, first) ? 1 : 0;
	if (sb->block_size == 1024 && nr == 0 && sb->s_first_data_block == 0)
		off++;
	return group_first_block(sb, first) + off;
}

/* The kernel's range rule: with flex_bg the metadata may lie anywhere after the first
 * data block; without it, inside its own group. */
static bool meta_in_range(const struct bv_ext4_sb *sb, uint32_t group, uint64_t blk,
			  uint64_t count)
{
	uint64_t lo = sb->s_first_data_block, hi = sb->s_blocks_count;

	if (!bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_FLEX_BG)) {
		lo = group_first_block(sb, group);
		hi = lo + sb->s_blocks_per_group;
		if (hi > sb->s_blocks_count)
			hi = sb->s_blocks_count;
	}
	return blk >= lo && blk < hi && count <= hi - blk && blk != sb->sb_block;
}

int bv_ext4_group_get(struct bv_ext4 *fs, uint32_t group, struct bv_ext4_group *out)
{
	const struct bv_ext4_sb *sb = &fs->sb;
	struct bv_cache_ref ref = { 0 };
	struct bv_ext4_group g;
	int err;

	if (group >= sb->group_count)
		return bv_ext4_corrupt(fs, "group %u out of range (%u groups)", group,
				       sb->group_count);
	uint64_t blk = bv_ext4_group_desc_block(sb, group);
	err = bv_ext4_bread(fs, blk, &ref);
	if (err)
		return err;

	const uint8_t *d = ref.data + (size_t)(group % sb->desc_per_block) * sb->s_desc_size;
	g.block_bitmap = bv_le32(d + BG_BLOCK_BITMAP_LO);
	g.inode_bitmap = bv_le32(d + BG_INODE_BITMAP_LO);
	g.inode_table = bv_le32(d + BG_INODE_TABLE_LO);
	g.free_blocks_count = bv_le16(d + BG_FREE_BLOCKS_COUNT_LO);
	g.free_inodes_count = bv_le16(d + BG_FREE_INODES_COUNT_LO);
	g.used_dirs_count = bv_le16(d + BG_USED_DIRS_COUNT_LO);
	g.flags = bv_le16(d + BG_FLAGS);
	g.itable_unused = bv_le16(d + BG_ITABLE_UNUSED_LO);
	/* The high halves are there only in 64-byte descriptors of a 64bit filesystem
	 * (desc_size is forced to 32 otherwise). */
	if (sb->s_desc_size >= EXT4_MIN_DESC_SIZE_64BIT) {
		g.block_bitmap |= (uint64_t)bv_le32(d + BG_BLOCK_BITMAP_HI) << 32;
		g.inode_bitmap |= (uint64_t)bv_le32(d + BG_INODE_BITMAP_HI) << 32;
		g.inode_table |= (uint64_t)bv_le32(d + BG_INODE_TABLE_HI) << 32;
		g.free_blocks_count |= (uint32_t)bv_le16(d + BG_FREE_BLOCKS_COUNT_HI) << 16;
		g.free_inodes_count |= (uint32_t)bv_le16(d + BG_FREE_INODES_COUNT_HI) << 16;
		g.used_dirs_count |= (uint32_t)bv_le16(d + BG_USED_DIRS_COUNT_HI) << 16;
		g.itable_unused |= (uint32_t)bv_le16(d + BG_ITABLE_UNUSED_HI) << 16;
	}
	bv_ext4_brelse(fs, &ref);

	/* The descriptor checksum is not verified: the kernel checks it at mount but only
	 * refuses a read-write mount over it, and the range checks below are what keep us
	 * safe. */
	if (!meta_in_range(sb, group, g.inode_table, sb->itb_per_group))
		return bv_ext4_corrupt(
			fs, "group %u: inode table %" PRIu64 " (+%u blocks) out of range", group,
			g.inode_table, sb->itb_per_group);
	if (!meta_in_range(sb, group, g.block_bitmap, 1))
		return bv_ext4_corrupt(fs, "group %u: block bitmap %" PRIu64 " out of range", group,
				       g.block_bitmap);
	if (!meta_in_range(sb, group, g.inode_bitmap, 1))
		return bv_ext4_corrupt(fs, "group %u: inode bitmap %" PRIu64 " out of range", group,
				       g.inode_bitmap);
	*out = g;
	return 0;
}

int bv_ext4_group_free_sum(struct bv_ext4 *fs, uint64_t *free_clusters, uint64_t *free_inodes)
{
	const struct bv_ext4_sb *sb = &fs->sb;
	uint64_t clusters = 0, inodes = 0;
	uint8_t *buf;
	int err = 0;

	/* Every descriptor block is read once, so the work is the table's size: refuse (the
	 * caller falls back to the superblock) past what any real image needs. */
	if ((uint64_t)sb->group_count * sb->s_desc_size > BV_EXT4_FREE_SUM_MAX_BYTES)
		return -E2BIG;
	buf = malloc(sb->block_size);
	if (!buf)
		return -ENOMEM;
	/* One descriptor block at a time, around the cache (these blocks are read once and
	 * would only push out what lookups need), with the journal's copies applied. */
	for (uint32_t nr = 0; nr < sb->gdb_count; nr++) {
		uint32_t first = nr * sb->desc_per_block;
		uint32_t n = sb->group_count - first;
		uint64_t blk = bv_ext4_group_desc_block(sb, first);

		if (n > sb->desc_per_block)
			n = sb->desc_per_block;
		/* read_raw refuses a block past the filesystem (a meta_bg geometry can place
		 * one there on a crafted image). */
		err = bv_ext4_read_raw(fs, buf, sb->block_size, blk * sb->block_size);
		if (err)
			goto out;
		for (uint32_t i = 0; i < n; i++) {
			const uint8_t *d = buf + (size_t)i * sb->s_desc_size;

			/* ext4_free_group_clusters / ext4_free_inodes_count: the high halves
			 * only in 64-byte descriptors. Summed as stored, whatever they say, as
			 * ext4_count_free_clusters and ext4_count_free_inodes do. */
			clusters += bv_le16(d + BG_FREE_BLOCKS_COUNT_LO);
			inodes += bv_le16(d + BG_FREE_INODES_COUNT_LO);
			if (sb->s_desc_size >= EXT4_MIN_DESC_SIZE_64BIT) {
				clusters += (uint64_t)bv_le16(d + BG_FREE_BLOCKS_COUNT_HI) << 16;
				inodes += (uint64_t)bv_le16(d + BG_FREE_INODES_COUNT_HI) << 16;
			}
		}
	}
	*free_clusters = clusters;
	*free_inodes = inodes;
out:
	free(buf);
	return err;
}
