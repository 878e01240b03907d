/* File contents: maps the requested range block run by block run and reads the data
 * straight into the caller's buffer, one pread per physically contiguous stretch.
 * Holes, unwritten extents and blocks past the last mapped one read as zeros. */
#include "fs/ext4/ext4_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "fs/ext4/inode.h"
#include "fs/seek.h"

/* A physically contiguous stretch waiting to be read: LEN bytes at device offset PHYS
 * into DST. Adjacent map answers that continue it on disk are merged before reading, so
 * an indirect-mapped file is not read one indirect block's worth at a time. */
struct pending {
	uint8_t *dst;
	uint64_t phys;
	size_t len;
};

static int pending_flush(struct bv_ext4 *fs, struct pending *p)
{
	int err = 0;

	if (p->len)
		err = bv_ext4_read_raw(fs, p->dst, p->len, p->phys);
	p->len = 0;
	return err;
}

/* Inline data: the bytes live in i_block and the system.data xattr. Past the inline
 * bytes but below i_size reads zeros, as the kernel's inline read zeroes the page. */
static ssize_t inline_read(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, uint8_t *buf,
			   size_t len, uint64_t off)
{
	ssize_t n = bv_ext4_inline_read(fs, inode, buf, len, off);

	if (n < 0)
		return n;
	if ((size_t)n > len)
		return -EIO; /* a broken contract, not a broken disk */
	memset(buf + n, 0, len - (size_t)n);
	return (ssize_t)len;
}

ssize_t bv_ext4_file_read(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, void *buf,
			  size_t len, uint64_t off)
{
	const uint32_t bs = fs->sb.block_size;
	const unsigned shift = EXT4_MIN_BLOCK_LOG_SIZE + fs->sb.s_log_block_size;
	struct pending pend = { 0 };
	uint8_t *dst = buf;
	uint64_t pos, end;
	int err;

	if (off >= inode->size || len == 0)
		return 0;
	/* Clamp to i_size (END cannot overflow: it stays <= i_size) and to what the return
	 * type can count. */
	if (len > inode->size - off)
		len = (size_t)(inode->size - off);
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;

	if (inode->flags & EXT4_INLINE_DATA_FL)
		return inline_read(fs, inode, dst, len, off);

	pos = off;
	end = off + len;
	while (pos < end) {
		uint64_t lblk = pos >> shift;
		uint32_t boff = (uint32_t)(pos & (bs - 1));
		/* Blocks touching [pos, end); asking for all of them lets a hole or an extent
		 * answer the whole request at once. */
		uint64_t nblk = ((end - 1) >> shift) - lblk + 1;
		uint32_t max_len = nblk > UINT32_MAX ? UINT32_MAX : (uint32_t)nblk;
		struct bv_ext4_map m;
		uint64_t run;
		size_t n;

		err = bv_ext4_map_blocks(fs, inode, lblk, max_len, &m);
		if (err)
			goto fail;
		if (m.lblk != lblk || m.len == 0 || m.len > max_len) {
			err = -EIO; /* the mapper broke its contract; never loop or overrun */
			goto fail;
		}
		/* Bytes this run covers from POS: m.len blocks less the offset into the first
		 * (no overflow: 2^32 blocks of 64 KiB is 2^48). */
		run = ((uint64_t)m.len << shift) - boff;
		n = (size_t)(run < end - pos ? run : end - pos);

		if (m.hole || m.unwritten) {
			memset(dst, 0, n);
		} else {
			uint64_t phys = (m.pblk << shift) + boff;

			if (pend.len && pend.phys + pend.len == phys && pend.dst + pend.len == dst) {
				pend.len += n;
			} else {
				err = pending_flush(fs, &pend);
				if (err)
					goto fail;
				pend = (struct pending){ .dst = dst, .phys = phys, .len = n };
			}
		}
		dst += n;
		pos += n;
	}
	err = pending_flush(fs, &pend);
	if (err)
		goto fail;
	return (ssize_t)len;

fail:
	return err;
}

int bv_ext4_file_run_get(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, uint64_t off,
			 size_t len, struct bv_ext4_run *out)
{
	const unsigned shift = EXT4_MIN_BLOCK_LOG_SIZE + fs->sb.s_log_block_size;
	const uint64_t fs_bytes = fs->sb.s_blocks_count * fs->sb.block_size; /* checked at open */
	uint64_t lblk = off >> shift, nblk, phys, run;
	uint32_t boff = (uint32_t)(off & (fs->sb.block_size - 1)), max_len;
	struct bv_ext4_map m;
	int err;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (off >= inode->size || len == 0)
		return 0;
	if (len > inode->size - off)
		len = (size_t)(inode->size - off);
	/* Inline bytes are in the inode, and a memory source has no descriptor. */
	if ((inode->flags & EXT4_INLINE_DATA_FL) || bv_source_fd(fs->src) < 0)
		return -EOPNOTSUPP;
	nblk = ((off + len - 1) >> shift) - lblk + 1;
	max_len = nblk > UINT32_MAX ? UINT32_MAX : (uint32_t)nblk;
	err = bv_ext4_map_blocks(fs, inode, lblk, max_len, &m);
	if (err)
		return err;
	if (m.lblk != lblk || m.len == 0 || m.len > max_len)
		return -EIO; /* the mapper broke its contract, as in bv_ext4_file_read */
	run = ((uint64_t)m.len << shift) - boff;
	out->len = (size_t)(run < len ? run : len);
	if (m.hole || m.unwritten) {
		out->zero = true;
		return 0;
	}
	phys = (m.pblk << shift) + boff;
	if (phys > fs_bytes || out->len > fs_bytes - phys)
		return bv_ext4_corrupt(fs, "read of %zu bytes at %" PRIu64
				       " is past the end of the filesystem", out->len, phys);
	/* A short source, or a block the journal replay rewrote: the copying path knows. */
	if (phys + out->len > bv_source_size(fs->src) ||
	    (fs->journal && bv_journal_overlaps(fs->journal, phys >> shift,
						((phys + out->len - 1) >> shift) - (phys >> shift) + 1)))
		return -EOPNOTSUPP;
	out->fd = bv_source_fd(fs->src);
	out->phys = phys;
	return 0;
}

/* A SEEK_DATA or SEEK_HOLE looks at no more than this many runs (extents, holes between
 * them, stretches of an indirect map). The walk keeps its place in the extent tree (a
 * cursor on the leaf: the tree is descended once per leaf, not once per run), so this
 * keeps one call to a few milliseconds even on a crafted map of one-block runs. A real file
 * seldom has that many runs between a seek and its answer (an 8 TiB preallocated file has
 * 65536 unwritten extents). Past the cap the rest of the file is taken to be data, which
 * is always a correct answer (the generic llseek gives it for every file), only a less
 * useful one. */
#define BV_SEEK_MAX_RUNS (1u << 16)

int bv_ext4_file_seek(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, uint64_t off,
		      bool data, uint64_t *out)
{
	const unsigned shift = EXT4_MIN_BLOCK_LOG_SIZE + fs->sb.s_log_block_size;
	struct bv_ext4_map_cursor cur = { 0 };
	uint64_t lblk, end, limit;
	unsigned runs = 0;
	int err;

	/* iomap_seek_data/iomap_seek_hole: ENXIO at or past i_size, for both. */
	if (off >= inode->size)
		return -ENXIO;
	/* Inline data is one IOMAP_INLINE mapping: all data up to i_size. */
	if (inode->flags & EXT4_INLINE_DATA_FL) {
		*out = data ? off : inode->size;
		return 0;
	}
	lblk = off >> shift;
	/* The blocks holding bytes below i_size (no overflow: i_size <= 2^63 - 1). */
	end = (inode->size + (1ull << shift) - 1) >> shift;
	/* Nothing is mapped where the map cannot reach: that part is one hole. */
	limit = bv_ext4_map_limit(fs, inode);
	while (lblk < end && lblk < limit) {
		uint64_t want = (end < limit ? end : limit) - lblk;
		uint32_t max_len = want > UINT32_MAX ? UINT32_MAX : (uint32_t)want;
		struct bv_ext4_map m;
		bool is_data;

		if (++runs > BV_SEEK_MAX_RUNS) {
			err = bv_seek_end(data, true, lblk << shift, off, inode->size, out);
			goto done;
		}
		err = bv_ext4_map_next(fs, inode, &cur, lblk, max_len, &m);
		if (err)
			goto done;
		if (m.lblk != lblk || m.len == 0 || m.len > max_len) {
			err = -EIO; /* the mapper broke its contract; never loop */
			goto done;
		}
		/* ext4_iomap_begin_report: unwritten extents are IOMAP_UNWRITTEN, which
		 * iomap's seek treats as a hole unless the page cache holds those pages.
		 * We never have a page cache, so they are holes, as on an uncached file. */
		is_data = !m.hole && !m.unwritten;
		if (is_data == data) {
			*out = bv_seek_found(lblk << shift, off);
			goto done;
		}
		lblk += m.len;
	}
	err = bv_seek_end(data, false, 0, off, inode->size, out);
done:
	bv_ext4_map_cursor_end(fs, &cur);
	return err;
}
