/* File data: reads, runs for splice, SEEK_DATA/SEEK_HOLE, and symlink targets.
 *
 * All of it goes through bv_xfs_bmap, one mapping at a time: holes and unwritten extents
 * read as zeros, and mapped stretches that happen to be adjacent on disk are read with one
 * pread. Every loop advances by at least one block per mapping and is bounded by the
 * request's length (reads) or by BV_XFS_SEEK_MAX_RUNS (seeks).
 */
#include "fs/xfs/xfs_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fs/seek.h"
#include "util/le.h"

#define XFS_SYMLINK_MAXLEN 1024
#define XFS_SYMLINK_MAGIC 0x58534c4du /* "XSLM" */
/* struct xfs_dsymlink_hdr */
#define SL_MAGIC 0
#define SL_OFFSET 4
#define SL_BYTES 8
#define SL_CRC 12
#define SL_UUID 16
#define SL_OWNER 32
#define SL_BLKNO 40
#define XFS_SYMLINK_HDR_SIZE 56

/* A SEEK_DATA or SEEK_HOLE looks at no more than this many mappings, keeping its place in
 * the map (bv_xfs_bmap_next: the bmbt is walked down once per leaf, not once per mapping).
 * Past the cap the rest of the file is taken to be data, always a correct answer (the
 * generic llseek gives it), only a less useful one; as in fs/ext4/file.c. */
#define BV_XFS_SEEK_MAX_RUNS (1u << 16)

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Maps the block holding byte POS and says how many bytes from POS (at most WANT) it
 * covers; *PHYS is their source offset when mapped and written. */
static int map_bytes(struct bv_xfs *fs, const struct bv_xfs_inode *ip, uint64_t pos,
		     uint64_t want, bool *zero, uint64_t *phys, uint64_t *run)
{
	const unsigned shift = fs->sb.blocklog;
	uint64_t boff = pos & (fs->sb.blocksize - 1), nblk, byte;
	struct bv_xfs_map m;
	int err;

	err = bv_xfs_bmap(fs, ip, BV_XFS_DATA_FORK, pos >> shift, &m);
	if (err)
		return err;
	if (m.off != pos >> shift || m.len == 0)
		return -EIO; /* bmap broke its contract: never loop on it */
	/* Blocks that matter: enough to cover WANT bytes from POS. */
	nblk = min_u64(m.len, ((boff + want - 1) >> shift) + 1);
	*run = min_u64((nblk << shift) - boff, want);
	*zero = m.hole || m.unwritten;
	if (*zero)
		return 0;
	/* bmap checked the whole extent; this is its tail from LBLK. */
	err = bv_xfs_fsb_to_byte(fs, m.fsb, nblk, &byte);
	if (err)
		return bv_xfs_corrupt(fs, "inode %" PRIu64 ": extent at %" PRIu64
				      " outside the filesystem", ip->ino, m.fsb);
	*phys = byte + boff;
	return 0;
}

ssize_t bv_xfs_file_read(struct bv_xfs *fs, const struct bv_xfs_inode *ip, void *buf,
			 size_t len, uint64_t off)
{
	uint8_t *out = buf;
	uint64_t pend_phys = 0, pend_len = 0; /* a mapped run not yet read, at OUT + pend_at */
	size_t done = 0, pend_at = 0;
	int err;

	if (off >= ip->size || len == 0)
		return 0;
	if (len > ip->size - off)
		len = (size_t)(ip->size - off);
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (ip->format != BV_XFS_FMT_EXTENTS && ip->format != BV_XFS_FMT_BTREE)
		return -EINVAL;
	while (done < len) {
		uint64_t phys = 0, run;
		bool zero;

		err = map_bytes(fs, ip, off + done, len - done, &zero, &phys, &run);
		if (err)
			return err;
		if (zero) {
			memset(out + done, 0, (size_t)run);
		} else if (pend_len && pend_phys + pend_len == phys) {
			pend_len += run; /* adjacent on disk: one pread for both */
		} else {
			if (pend_len) {
				err = bv_source_read(fs->src, out + pend_at, (size_t)pend_len,
						     pend_phys);
				if (err)
					return err;
			}
			pend_phys = phys, pend_len = run, pend_at = done;
		}
		if (zero && pend_len) {
			err = bv_source_read(fs->src, out + pend_at, (size_t)pend_len, pend_phys);
			if (err)
				return err;
			pend_len = 0;
		}
		done += (size_t)run;
	}
	if (pend_len) {
		err = bv_source_read(fs->src, out + pend_at, (size_t)pend_len, pend_phys);
		if (err)
			return err;
	}
	return (ssize_t)done;
}

int bv_xfs_file_run_get(struct bv_xfs *fs, const struct bv_xfs_inode *ip, uint64_t off,
			size_t len, struct bv_fs_run *out)
{
	uint64_t phys = 0, run;
	bool zero;
	int err;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (off >= ip->size || len == 0)
		return 0;
	if (len > ip->size - off)
		len = (size_t)(ip->size - off);
	if (ip->format != BV_XFS_FMT_EXTENTS && ip->format != BV_XFS_FMT_BTREE)
		return -EOPNOTSUPP; /* bytes in the inode */
	if (bv_source_fd(fs->src) < 0)
		return -EOPNOTSUPP; /* a memory source has no descriptor */
	err = map_bytes(fs, ip, off, len, &zero, &phys, &run);
	if (err)
		return err;
	out->len = (size_t)run;
	if (zero) {
		out->zero = true;
		return 0;
	}
	out->fd = bv_source_fd(fs->src);
	out->phys = phys;
	return 0;
}

int bv_xfs_file_seek(struct bv_xfs *fs, const struct bv_xfs_inode *ip, uint64_t off,
		     bool data, uint64_t *out)
{
	const unsigned shift = fs->sb.blocklog;
	struct bv_xfs_bmap_cursor cur = { 0 };
	uint64_t lblk, end;
	unsigned runs = 0;
	int err;

	/* iomap_seek_data/iomap_seek_hole: ENXIO at or past i_size, for both. */
	if (off >= ip->size)
		return -ENXIO;
	if (ip->format == BV_XFS_FMT_LOCAL || ip->format == BV_XFS_FMT_DEV) {
		*out = data ? off : ip->size; /* all data, as one inline mapping */
		return 0;
	}
	lblk = off >> shift;
	end = (ip->size + fs->sb.blocksize - 1) >> shift; /* size <= 2^63 - 1: no overflow */
	while (lblk < end) {
		struct bv_xfs_map m;
		bool is_data;

		if (++runs > BV_XFS_SEEK_MAX_RUNS) {
			err = bv_seek_end(data, true, lblk << shift, off, ip->size, out);
			goto done;
		}
		err = bv_xfs_bmap_next(fs, ip, BV_XFS_DATA_FORK, &cur, lblk, &m);
		if (err)
			goto done;
		if (m.off != lblk || m.len == 0) {
			err = -EIO;
			goto done;
		}
		/* xfs_seek_iomap_begin reports unwritten extents as IOMAP_UNWRITTEN, which
		 * iomap's seek treats as a hole unless the page cache holds data there; we
		 * have no page cache, so they are holes, as on an uncached file. */
		is_data = !m.hole && !m.unwritten;
		if (is_data == data) {
			*out = bv_seek_found(lblk << shift, off);
			goto done;
		}
		if (m.len >= end - lblk)
			break;
		lblk += m.len;
	}
	err = bv_seek_end(data, false, 0, off, ip->size, out);
done:
	bv_xfs_bmap_cursor_end(fs, &cur);
	return err;
}

/* A remote symlink: one buffer per extent, each (on v5) opening with a header that says
 * which bytes of the target it holds, the CRC covering the whole buffer
 * (xfs_symlink_remote_read). At most XFS_SYMLINK_MAXLEN bytes, so at most two blocks. */
static int readlink_remote(struct bv_xfs *fs, const struct bv_xfs_inode *ip, char *target,
			   size_t pathlen)
{
	const uint32_t bs = fs->sb.blocksize;
	const size_t hdr = fs->sb.crc ? XFS_SYMLINK_HDR_SIZE : 0;
	const uint64_t fs_blocks = (pathlen + (bs - hdr) - 1) / (bs - hdr);
	size_t offset = 0;
	uint64_t lblk = 0;
	uint8_t *b = NULL;
	int err = 0;

	b = malloc((size_t)fs_blocks * bs);
	if (!b)
		return -ENOMEM;
	while (lblk < fs_blocks && offset < pathlen) {
		struct bv_xfs_map m;
		uint64_t byte, nblk;
		size_t room, cnt;

		err = bv_xfs_bmap(fs, ip, BV_XFS_DATA_FORK, lblk, &m);
		if (err)
			goto out;
		if (m.hole || m.unwritten || m.len == 0) {
			err = bv_xfs_corrupt(fs, "inode %" PRIu64 ": symlink block %" PRIu64
					     " is a hole or unwritten", ip->ino, lblk);
			goto out;
		}
		nblk = min_u64(m.len, fs_blocks - lblk);
		err = bv_xfs_fsb_to_byte(fs, m.fsb, nblk, &byte);
		if (!err)
			err = bv_source_read(fs->src, b, (size_t)(nblk * bs), byte);
		if (err)
			goto out;
		room = (size_t)(nblk * bs) - hdr;
		cnt = pathlen - offset < room ? pathlen - offset : room;
		if (hdr) {
			const char *why = NULL;

			err = bv_xfs_hdr3_check(fs, b, (size_t)(nblk * bs), SL_CRC, SL_BLKNO,
						byte >> 9, SL_UUID, SL_OWNER, ip->ino);
			if (err == -EBADMSG) {
				bv_xfs_badcsum(fs, "inode %" PRIu64 ": symlink block %" PRIu64
					       ": bad CRC", ip->ino, m.fsb);
				goto out;
			}
			if (err)
				why = "bad block header";
			else if (bv_be32(b + SL_MAGIC) != XFS_SYMLINK_MAGIC)
				why = "bad magic";
			else if (bv_be32(b + SL_OFFSET) != offset || bv_be32(b + SL_BYTES) != cnt)
				why = "header's offset or length is not the expected one";
			if (why) {
				err = bv_xfs_corrupt(fs, "inode %" PRIu64 ": symlink block %" PRIu64
						     ": %s", ip->ino, m.fsb, why);
				goto out;
			}
		}
		memcpy(target + offset, b + hdr, cnt);
		offset += cnt;
		lblk += nblk;
	}
	if (offset != pathlen)
		err = bv_xfs_corrupt(fs, "inode %" PRIu64 ": symlink shorter than its size",
				     ip->ino);
out:
	free(b);
	return err;
}

int bv_xfs_readlink(struct bv_xfs *fs, const struct bv_xfs_inode *ip, char *buf, size_t size,
		    size_t *len)
{
	char target[XFS_SYMLINK_MAXLEN];
	size_t pathlen = (size_t)ip->size;
	int err;

	/* xfs_readlink: the size must be 1 .. XFS_SYMLINK_MAXLEN. */
	if (ip->size == 0 || ip->size > XFS_SYMLINK_MAXLEN)
		return bv_xfs_corrupt(fs, "inode %" PRIu64 ": symlink length %" PRIu64
				      " outside 1..1024", ip->ino, ip->size);
	if (ip->format == BV_XFS_FMT_LOCAL) {
		struct bv_cache_ref ref = { 0 };
		const uint8_t *fork;
		size_t flen;

		err = bv_xfs_fork_bytes(fs, ip, BV_XFS_DATA_FORK, &ref, &fork, &flen);
		if (err)
			return err;
		if (pathlen > flen) { /* inode.c checked it; keep the copy safe regardless */
			bv_cache_put(fs->cache, &ref);
			return -EUCLEAN;
		}
		memcpy(target, fork, pathlen);
		bv_cache_put(fs->cache, &ref);
	} else if (ip->format == BV_XFS_FMT_EXTENTS || ip->format == BV_XFS_FMT_BTREE) {
		err = readlink_remote(fs, ip, target, pathlen);
		if (err)
			return err;
	} else {
		return -EUCLEAN;
	}
	/* A NUL inside the target would cut it short for every caller: the kernel's
	 * verifier refuses it too (xfs_symlink_shortform_verify). */
	if (memchr(target, '\0', pathlen))
		return bv_xfs_corrupt(fs, "inode %" PRIu64 ": symlink target holds a NUL",
				      ip->ino);
	if (pathlen + 1 > size)
		return -ERANGE;
	memcpy(buf, target, pathlen);
	buf[pathlen] = '\0';
	*len = pathlen;
	return 0;
}
