/* Reading directory and attr blocks through the fork map, and the v5 self-describing
 * header check every metadata block shares.
 *
 * A directory block is 2^sb_dirblklog fs blocks and need not be contiguous on disk: each
 * fs block is mapped on its own (one bmap call per extent met) and copied from the cache.
 */
#include "fs/xfs/xfs_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "util/le.h"

int bv_xfs_hdr3_check(const struct bv_xfs *fs, const uint8_t *buf, size_t len, size_t crc_off,
		      size_t blkno_off, uint64_t daddr, size_t uuid_off, size_t owner_off,
		      uint64_t owner)
{
	if (!fs->sb.crc)
		return 0;
	if (!bv_in_bounds(crc_off, 4, len) || !bv_in_bounds(blkno_off, 8, len) ||
	    !bv_in_bounds(uuid_off, 16, len) || !bv_in_bounds(owner_off, 8, len))
		return -EUCLEAN;
	/* The CRC first: when it is wrong, nothing else in the block means anything. */
	if (!fs->skip_csum && !bv_xfs_cksum_ok(buf, len, crc_off))
		return -EBADMSG;
	if (bv_be64(buf + blkno_off) != daddr || bv_be64(buf + owner_off) != owner ||
	    memcmp(buf + uuid_off, fs->sb.meta_uuid, 16) != 0)
		return -EUCLEAN;
	return 0;
}

int bv_xfs_da_read(struct bv_xfs *fs, const struct bv_xfs_inode *ip, int which,
		   uint64_t dablk, uint8_t *buf, size_t len, uint64_t *daddr)
{
	const uint32_t bs = fs->sb.blocksize;
	size_t nblk = len / bs, done = 0;

	if (len == 0 || len % bs || len > 65536)
		return -EINVAL;
	/* At most 64 fs blocks, each bmap call covering at least one: bounded. */
	while (done < nblk) {
		uint64_t lblk = dablk + done, byte;
		struct bv_xfs_map m;
		int err;

		if (lblk < dablk)
			return bv_xfs_corrupt(fs, "inode %" PRIu64 ": block %" PRIu64
					      " past the largest file offset", ip->ino, dablk);
		err = bv_xfs_bmap(fs, ip, which, lblk, &m);
		if (err)
			return err;
		if (m.hole || m.unwritten)
			return bv_xfs_corrupt(fs,
					      "inode %" PRIu64 ": %s block %" PRIu64
					      " is a hole or unwritten",
					      ip->ino, which == BV_XFS_ATTR_FORK ? "attr" : "directory",
					      lblk);
		for (uint64_t i = 0; i < m.len && done < nblk; i++, done++) {
			struct bv_cache_ref ref = { 0 };

			/* bmap checked the whole extent against the filesystem. */
			err = bv_xfs_fsb_to_byte(fs, m.fsb + i, 1, &byte);
			if (err)
				return bv_xfs_corrupt(fs, "inode %" PRIu64 ": block %" PRIu64
						      " outside the filesystem", ip->ino, m.fsb + i);
			if (done == 0 && daddr)
				*daddr = byte >> 9;
			err = bv_cache_get(fs->cache, byte >> fs->sb.blocklog, &ref);
			if (err)
				return err;
			memcpy(buf + done * bs, ref.data, bs);
			bv_cache_put(fs->cache, &ref);
		}
	}
	return 0;
}
