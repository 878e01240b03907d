/* The dabtree as directories and xattrs share it: the name hash, reading a da block with
 * its v5 header checked, the walk from a root node down to a leaf, and the sibling links
 * between leaves.
 *
 * A dabtree maps a 32-bit name hash to leaf blocks. Interior ("node") blocks hold
 * {hashval, before} pairs sorted by hash, hashval being the largest hash under BEFORE;
 * leaves are directory leafn blocks or attr leaf blocks, chained left to right by
 * forw/back. Every number here comes from the device, so the walk down is bounded by
 * XFS_DA_NODE_MAXDEPTH with a level that must drop by one at each step (a child pointing
 * back up or at itself cannot satisfy that), and a walk along the leaves checks each back
 * link against where it came from.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>

#include "fs/xfs/xfs_priv.h"
#include "util/le.h"

/* struct xfs_da_node_hdr / xfs_da3_node_hdr: count and level after the blkinfo, then on
 * v5 a 32-bit pad; the {hashval, before} entries follow. */
#define NODE_COUNT(crc) ((crc) ? 56 : 12)
#define NODE_LEVEL(crc) ((crc) ? 58 : 14)
#define NODE_ENTRIES(crc) ((crc) ? 64 : 16)
#define NODE_ENTRY_SIZE 8

uint32_t bv_xfs_da_hashname(const uint8_t *name, size_t len)
{
	uint32_t hash = 0;

	/* The kernel unrolls this four bytes at a time; one byte at a time is the same
	 * function: every byte enters after the hash so far was rotated left by 7. */
	for (size_t i = 0; i < len; i++)
		hash = ((hash << 7) | (hash >> 25)) ^ name[i];
	return hash;
}

bool bv_xfs_ino_plausible(const struct bv_xfs_sb *sb, uint64_t ino)
{
	unsigned shift = (unsigned)sb->agblklog + sb->inopblog;
	uint64_t agno, agbno;

	if (ino == 0 || shift >= 64)
		return false;
	agno = ino >> shift;
	agbno = (ino >> sb->inopblog) & ((1ULL << sb->agblklog) - 1);
	if (agno >= sb->agcount || agbno >= sb->agblocks)
		return false;
	/* The last AG may be short. */
	return agno * sb->agblocks + agbno < sb->dblocks;
}

uint64_t bv_xfs_da_max_blocks(const struct bv_xfs *fs, const struct bv_xfs_inode *ip)
{
	/* di_nblocks counts every block of both forks (bmbt blocks too): no fork has more
	 * distinct blocks, and the filesystem bounds a lying di_nblocks. */
	uint64_t n = ip->nblocks < fs->sb.dblocks ? ip->nblocks : fs->sb.dblocks;

	return n + 1;
}

int bv_xfs_da_blk_read(struct bv_xfs *fs, const struct bv_xfs_inode *ip, int which,
		       uint64_t dablk, uint8_t *buf, size_t len, enum bv_xfs_hdr_kind kind)
{
	uint64_t daddr;
	int err;

	err = bv_xfs_da_read(fs, ip, which, dablk, buf, len, &daddr);
	if (err || !fs->sb.crc)
		return err;
	if (kind == BV_XFS_HDR_DA)
		err = bv_xfs_hdr3_check(fs, buf, len, XFS_DA3_BLKINFO_CRC, XFS_DA3_BLKINFO_BLKNO,
					daddr, XFS_DA3_BLKINFO_UUID, XFS_DA3_BLKINFO_OWNER,
					ip->ino);
	else if (kind == BV_XFS_HDR_DIR3)
		/* struct xfs_dir3_blk_hdr: magic, crc, blkno, lsn, uuid, owner. */
		err = bv_xfs_hdr3_check(fs, buf, len, 4, 8, daddr, 24, 40, ip->ino);
	else
		/* struct xfs_attr3_rmt_hdr: magic, offset, bytes, crc, uuid, owner, blkno. */
		err = bv_xfs_hdr3_check(fs, buf, len, 12, 40, daddr, 16, 32, ip->ino);
	if (err == -EBADMSG)
		bv_xfs_badcsum(fs, "inode %" PRIu64 ": %s fork block %" PRIu64 " (daddr %" PRIu64
			       "): bad CRC", ip->ino, which == BV_XFS_ATTR_FORK ? "attr" : "data",
			       dablk, daddr);
	else if (err)
		bv_xfs_corrupt(fs, "inode %" PRIu64 ": %s fork block %" PRIu64 " (daddr %" PRIu64
			"): header names another block, owner or filesystem", ip->ino,
			which == BV_XFS_ATTR_FORK ? "attr" : "data", dablk, daddr);
	return err;
}

static bool is_node(const struct bv_xfs *fs, const uint8_t *buf)
{
	return bv_be16(buf + XFS_DA_BLKINFO_MAGIC) ==
	       (fs->sb.crc ? XFS_DA3_NODE_MAGIC : XFS_DA_NODE_MAGIC);
}

int bv_xfs_da_find_leaf(struct bv_xfs *fs, const struct bv_xfs_inode *ip, int which,
			uint64_t root, bool leftmost, uint32_t hash, uint8_t *buf, size_t len,
			uint64_t *leaf)
{
	const bool crc = fs->sb.crc;
	const char *fork = which == BV_XFS_ATTR_FORK ? "attr" : "directory";
	uint64_t blk = root;
	unsigned expect = 0; /* the level the block read next must have (0: a leaf) */
	int err;

	if (len < NODE_ENTRIES(crc) + NODE_ENTRY_SIZE)
		return -EINVAL;
	/* Levels drop by one per step from at most MAXDEPTH: at most MAXDEPTH + 1 reads. */
	for (unsigned step = 0; step <= XFS_DA_NODE_MAXDEPTH; step++) {
		unsigned count, level = 0, i;
		const uint8_t *e;

		err = bv_xfs_da_blk_read(fs, ip, which, blk, buf, len, BV_XFS_HDR_DA);
		if (err)
			return err;
		if (!is_node(fs, buf)) {
			/* A leaf is the root of a one-block tree, or the child of level 1. */
			if (step > 0 && expect != 0)
				goto bad_level;
			*leaf = blk;
			return 0;
		}
		count = bv_be16(buf + NODE_COUNT(crc));
		level = bv_be16(buf + NODE_LEVEL(crc));
		if (level == 0 || level > XFS_DA_NODE_MAXDEPTH || (step > 0 && level != expect)) {
bad_level:
			return bv_xfs_corrupt(fs, "inode %" PRIu64 ": %s da block %" PRIu64
					      ": level %u where %u was expected (a loop or a "
					      "broken tree)", ip->ino, fork, blk, level, expect);
		}
		if (count == 0 || count > (len - NODE_ENTRIES(crc)) / NODE_ENTRY_SIZE) {
			return bv_xfs_corrupt(fs, "inode %" PRIu64 ": %s da node %" PRIu64
					      ": count %u does not fit the block", ip->ino, fork,
					      blk, count);
		}
		/* The first entry whose hashval (the largest hash below it) is >= HASH, else
		 * the last, as the kernel's node lookup picks: duplicates of HASH may go on in
		 * the next leaves, which the caller follows. One block: at most len / 8. */
		e = buf + NODE_ENTRIES(crc);
		i = 0;
		if (!leftmost)
			while (i + 1 < count && bv_be32(e + (size_t)i * NODE_ENTRY_SIZE) < hash)
				i++;
		blk = bv_be32(e + (size_t)i * NODE_ENTRY_SIZE + 4);
		expect = level - 1;
	}
	return bv_xfs_corrupt(fs, "inode %" PRIu64 ": %s dabtree deeper than %d levels",
			      ip->ino, fork, XFS_DA_NODE_MAXDEPTH);
}

int bv_xfs_da_next_leaf(struct bv_xfs *fs, const struct bv_xfs_inode *ip, int which,
			uint64_t cur, uint8_t *buf, size_t len, uint64_t *next)
{
	uint32_t forw = bv_be32(buf + XFS_DA_BLKINFO_FORW);
	uint16_t magic = bv_be16(buf + XFS_DA_BLKINFO_MAGIC);
	int err;

	if (forw == 0)
		return 1;
	if (forw == cur)
		goto bad;
	err = bv_xfs_da_blk_read(fs, ip, which, forw, buf, len, BV_XFS_HDR_DA);
	if (err)
		return err;
	/* Siblings are the same kind of block, and each names the one before it. */
	if (bv_be16(buf + XFS_DA_BLKINFO_MAGIC) != magic ||
	    bv_be32(buf + XFS_DA_BLKINFO_BACK) != cur)
		goto bad;
	*next = forw;
	return 0;
bad:
	return bv_xfs_corrupt(fs, "inode %" PRIu64 ": %s da block %" PRIu64 ": forw link to %"
			      PRIu32 " does not lead to a sibling that links back", ip->ino,
			      which == BV_XFS_ATTR_FORK ? "attr" : "directory", cur, forw);
}
