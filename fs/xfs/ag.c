/* AG headers: the free-space (AGF) and inode (AGI) counters of every AG, summed for statfs.
 *
 * Why statfs needs them: the kernel reads every AGF at mount and keeps back, beside the
 * fixed set-aside, the blocks the free-space btrees use beyond their roots
 * (m_allocbt_blks, xfs_fdblocks_unavailable); and after an unclean unmount it does not
 * trust the superblock's lazy counters at all but recounts them from the AG headers
 * (xfs_initialize_perag_data). Matching its statfs means summing the same fields.
 */
#include "fs/xfs/xfs_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "util/le.h"

#define XFS_AGF_MAGIC 0x58414746u /* "XAGF" */
#define XFS_AGI_MAGIC 0x58414749u /* "XAGI" */

/* struct xfs_agf and struct xfs_agi open alike: magic, version, seqno, length. */
#define AG_SEQNO 8
#define AG_LENGTH 12
/* struct xfs_agf */
#define AGF_FLCOUNT 48
#define AGF_FREEBLKS 52
#define AGF_BTREEBLKS 60
#define AGF_UUID 64
#define AGF_RMAP_BLOCKS 80
#define AGF_CRC 216
/* struct xfs_agi */
#define AGI_COUNT 16
#define AGI_FREECOUNT 28
#define AGI_UUID 296
#define AGI_CRC 312

#define XFS_SB_FEAT_RO_COMPAT_RMAPBT 0x2

/* Past this many AGs statfs does not read them all (a crafted superblock could ask for
 * millions of reads): it shows the superblock's counters instead. */
#define BV_XFS_AG_SUM_MAX (1u << 16)

/* Pins sector SECT (1 = AGF, 2 = AGI) of AG AGNO; *P points at its sectsize bytes. */
static int ag_sector(struct bv_xfs *fs, uint32_t agno, unsigned sect, struct bv_cache_ref *ref,
		     const uint8_t **p)
{
	uint64_t byte = ((uint64_t)agno * fs->sb.agblocks << fs->sb.blocklog) +
			(uint64_t)sect * fs->sb.sectsize;
	int err = bv_cache_get(fs->cache, byte >> fs->sb.blocklog, ref);

	if (err)
		return err;
	*p = ref->data + (byte & (fs->sb.blocksize - 1));
	return 0;
}

/* Checks the AGF or AGI header at P of AG AGNO (LENGTH blocks). */
static int ag_hdr_check(struct bv_xfs *fs, const uint8_t *p, uint32_t agno, uint32_t length,
			uint32_t magic, size_t uuid_off, size_t crc_off, const char *what)
{
	if (fs->sb.crc && !fs->skip_csum && !bv_xfs_cksum_ok(p, fs->sb.sectsize, crc_off))
		return bv_xfs_badcsum(fs, "AG %" PRIu32 ": %s: bad CRC", agno, what);
	if (bv_be32(p) != magic || bv_be32(p + AG_SEQNO) != agno ||
	    bv_be32(p + AG_LENGTH) != length ||
	    (fs->sb.crc && memcmp(p + uuid_off, fs->sb.meta_uuid, 16) != 0))
		return bv_xfs_corrupt(fs, "AG %" PRIu32 ": %s: bad header", agno, what);
	return 0;
}

int bv_xfs_ag_counts(struct bv_xfs *fs, struct bv_xfs_ag_counts *out)
{
	const struct bv_xfs_sb *sb = &fs->sb;
	struct bv_xfs_ag_counts c;
	int err;

	if (sb->agcount > BV_XFS_AG_SUM_MAX)
		return -E2BIG;
	memset(&c, 0, sizeof(c));
	for (uint32_t agno = 0; agno < sb->agcount; agno++) {
		uint64_t start = (uint64_t)agno * sb->agblocks;
		uint32_t length = (uint32_t)(sb->dblocks - start < sb->agblocks
						     ? sb->dblocks - start
						     : sb->agblocks);
		struct bv_cache_ref ref = { 0 };
		uint32_t flcount, freeblks, btreeblks, count, freecount;
		int64_t allocbt;
		const uint8_t *p;

		err = ag_sector(fs, agno, 1, &ref, &p);
		if (err)
			return err;
		err = ag_hdr_check(fs, p, agno, length, XFS_AGF_MAGIC, AGF_UUID, AGF_CRC, "AGF");
		flcount = bv_be32(p + AGF_FLCOUNT);
		freeblks = bv_be32(p + AGF_FREEBLKS);
		btreeblks = bv_be32(p + AGF_BTREEBLKS);
		allocbt = btreeblks;
		if (sb->features_ro_compat & XFS_SB_FEAT_RO_COMPAT_RMAPBT)
			allocbt -= (int64_t)bv_be32(p + AGF_RMAP_BLOCKS) - 1;
		bv_cache_put(fs->cache, &ref);
		if (err)
			return err;
		if (freeblks > length || flcount > length || btreeblks > length)
			return bv_xfs_corrupt(fs, "AG %" PRIu32 ": AGF counters exceed the AG",
					      agno);
		/* xfs_initialize_perag_data: free blocks are the free extents, the AGFL and
		 * the btree blocks beyond the roots (all of which a full AG gives back). */
		c.fdblocks += (uint64_t)freeblks + flcount + btreeblks;
		if (allocbt > 0)
			c.allocbt_blks += (uint64_t)allocbt;

		err = ag_sector(fs, agno, 2, &ref, &p);
		if (err)
			return err;
		err = ag_hdr_check(fs, p, agno, length, XFS_AGI_MAGIC, AGI_UUID, AGI_CRC, "AGI");
		count = bv_be32(p + AGI_COUNT);
		freecount = bv_be32(p + AGI_FREECOUNT);
		bv_cache_put(fs->cache, &ref);
		if (err)
			return err;
		if (freecount > count || count > ((uint64_t)length << sb->inopblog))
			return bv_xfs_corrupt(fs, "AG %" PRIu32 ": AGI counters make no sense",
					      agno);
		c.icount += count;
		c.ifree += freecount;
	}
	*out = c;
	return 0;
}
