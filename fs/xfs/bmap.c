/* Fork block mapping: the extent list kept in the inode and the bmbt btree of any depth.
 *
 * A bmbt extent record is 128 bits, big-endian: the unwritten flag (1 bit), startoff (54,
 * file block), startblock (52, fsblock: AG number in the high bits) and blockcount (21).
 * A btree's root is a bmdr block in the inode fork (level, numrecs, then keys and pointers
 * laid out for as many slots as the fork holds); below it are long-format btree blocks
 * (BMA3 with a v5 self-describing header, BMAP on v4) whose level goes down by exactly
 * one per step, so a walk ends after at most BV_XFS_BM_MAXLEVELS blocks and a loop in the
 * pointers is caught as a level mismatch. Nothing recurses.
 *
 * Every node and leaf a walk meets is checked whole before its binary search: record
 * counts against the block, keys strictly increasing, records sorted and not overlapping,
 * each extent inside one AG of the filesystem, and all of a child's keys inside the range
 * its parent gave it. (A child's first key is not required to equal its parent's key,
 * which the kernel keeps exact; a smaller answer would only make a hole look shorter.)
 */
#include "fs/xfs/xfs_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "util/le.h"

#define XFS_BMAP_MAGIC 0x424d4150u  /* "BMAP" (v4) */
#define XFS_BMAP_CRC_MAGIC 0x424d4133u /* "BMA3" (v5) */

/* struct xfs_btree_block, long form. */
#define BB_MAGIC 0
#define BB_LEVEL 4
#define BB_NUMRECS 6
#define BB_BLKNO 24
#define BB_UUID 40
#define BB_OWNER 56
#define BB_CRC 64
#define XFS_BTREE_LBLOCK_LEN 24
#define XFS_BTREE_LBLOCK_CRC_LEN 72

#define XFS_BMDR_HDR_SIZE 4
#define XFS_BMBT_REC_SIZE 16
#define XFS_BMBT_KEY_SIZE 8
#define XFS_BMBT_PTR_SIZE 8

/* The deepest bmbt the kernel can build (its computed m_bm_maxlevels stays below this for
 * any geometry: with two records per node, 2^64 extents need far fewer levels). */
#define BV_XFS_BM_MAXLEVELS 9

#define STARTOFF_MAX ((1ull << 54) - 1)

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

int bv_xfs_fsb_to_byte(const struct bv_xfs *fs, uint64_t fsb, uint64_t count, uint64_t *byte)
{
	const struct bv_xfs_sb *sb = &fs->sb;
	uint64_t agno = fsb >> sb->agblklog;
	uint64_t agbno = fsb & ((1ull << sb->agblklog) - 1);
	uint64_t blk;

	if (count == 0 || agno >= sb->agcount || agbno >= sb->agblocks ||
	    count > sb->agblocks - agbno)
		return -EUCLEAN;
	blk = agno * sb->agblocks + agbno;
	if (blk >= sb->dblocks || count > sb->dblocks - blk)
		return -EUCLEAN;
	*byte = blk << sb->blocklog; /* < 2^63: checked at open */
	return 0;
}

struct bmbt_rec {
	uint64_t startoff, startblock, blockcount;
	bool unwritten;
};

static void rec_decode(const uint8_t *p, struct bmbt_rec *r)
{
	uint64_t l0 = bv_be64(p), l1 = bv_be64(p + 8);

	r->unwritten = l0 >> 63;
	r->startoff = (l0 & ((1ull << 63) - 1)) >> 9;
	r->startblock = ((l0 & 0x1ff) << 43) | (l1 >> 21);
	r->blockcount = l1 & ((1ull << 21) - 1);
}

/* Checks the NREC records at RECS: each non-empty, inside the filesystem, sorted without
 * overlap, and within [LO, HI) in file blocks. WHERE names the block for the report. */
static int recs_check(struct bv_xfs *fs, const struct bv_xfs_inode *ip, const uint8_t *recs,
		      size_t nrec, uint64_t lo, uint64_t hi, const char *where, uint64_t blk)
{
	uint64_t next = lo, byte;
	struct bmbt_rec r;

	for (size_t i = 0; i < nrec; i++) {
		const char *why = NULL;

		rec_decode(recs + i * XFS_BMBT_REC_SIZE, &r);
		if (r.blockcount == 0)
			why = "an empty extent";
		else if (r.startoff < next)
			why = "extents out of order or overlapping";
		else if (r.blockcount > STARTOFF_MAX + 1 - r.startoff || r.startoff + r.blockcount > hi)
			why = "an extent past the range its parent gives";
		else if (bv_xfs_fsb_to_byte(fs, r.startblock, r.blockcount, &byte))
			why = "an extent outside the filesystem";
		if (why)
			return bv_xfs_corrupt(fs,
					      "inode %" PRIu64 ": %s %" PRIu64 ": record %zu: %s "
					      "(startoff %" PRIu64 ", startblock %" PRIu64
					      ", blockcount %" PRIu64 ")",
					      ip->ino, where, blk, i, why, r.startoff, r.startblock,
					      r.blockcount);
		next = r.startoff + r.blockcount;
	}
	return 0;
}

/* Answers LBLK from the checked, sorted records at RECS (NREC of them), the next mapped
 * block beyond them being NEXT_KEY (UINT64_MAX for none known). */
static void recs_lookup(const uint8_t *recs, size_t nrec, uint64_t lblk, uint64_t next_key,
			struct bv_xfs_map *out)
{
	size_t lo = 0, hi = nrec; /* the first record starting past LBLK is in [lo, hi] */
	struct bmbt_rec r;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		rec_decode(recs + mid * XFS_BMBT_REC_SIZE, &r);
		if (r.startoff <= lblk)
			lo = mid + 1;
		else
			hi = mid;
	}
	memset(out, 0, sizeof(*out));
	out->off = lblk;
	if (lo > 0) {
		rec_decode(recs + (lo - 1) * XFS_BMBT_REC_SIZE, &r);
		if (lblk < r.startoff + r.blockcount) {
			out->fsb = r.startblock + (lblk - r.startoff);
			out->len = r.startoff + r.blockcount - lblk;
			out->unwritten = r.unwritten;
			return;
		}
	}
	if (lo < nrec) {
		rec_decode(recs + lo * XFS_BMBT_REC_SIZE, &r);
		next_key = min_u64(next_key, r.startoff);
	}
	out->hole = true;
	out->len = next_key == UINT64_MAX ? UINT64_MAX - lblk : next_key - lblk;
}

/* Checks the keys of a node (NREC of them at KEYS): strictly increasing, inside [LO, HI).
 * Picks the child for LBLK: *IDX is the last key <= LBLK, or -1 when LBLK lies before
 * the first key (a hole up to it). */
static int keys_check(struct bv_xfs *fs, const struct bv_xfs_inode *ip, const uint8_t *keys,
		      size_t nrec, uint64_t lo, uint64_t hi, const char *where, uint64_t blk)
{
	uint64_t prev = 0;

	for (size_t i = 0; i < nrec; i++) {
		uint64_t k = bv_be64(keys + i * XFS_BMBT_KEY_SIZE);

		if (k > STARTOFF_MAX || k < lo || k >= hi || (i > 0 && k <= prev))
			return bv_xfs_corrupt(fs,
					      "inode %" PRIu64 ": %s %" PRIu64 ": key %zu (%" PRIu64
					      ") out of order or out of range",
					      ip->ino, where, blk, i, k);
		prev = k;
	}
	return 0;
}

/* ---- checked bmbt blocks, remembered per thread ----
 *
 * A walk over a file or a directory maps its blocks in order, one call each, and every call
 * passes through the same few bmbt blocks. Checking each of them in full every time (CRC,
 * every key or record: up to 4091 of them in a 64 KiB block, on up to nine levels) made a
 * directory walk cost calls x levels x records: about 11 us per call on a crafted tree of
 * full nodes, 0.4 s for the 32768 mappings one readdir may make. So each thread remembers,
 * per level, the last block it checked and for what: the verdict depends only on the
 * block's bytes and on what the walk asked of it (owner inode, level, the key range its
 * parent gave). On a hit the header (magic, level, record count) is still checked, O(1),
 * so a block changed under us (someone else writing the device) can never make us read
 * past it; anything else it could say is bounded again where it is used. As
 * fs/ext4/blockmap.c's ext_block_check. */
struct bm_checked {
	uint64_t fs_id; /* 0: empty */
	uint64_t blk, ino, lo, hi;
};
static __thread struct bm_checked bm_checked[BV_XFS_BM_MAXLEVELS];

static bool bm_checked_has(const struct bv_xfs *fs, const struct bv_xfs_inode *ip,
			   unsigned level, uint64_t blk, uint64_t lo, uint64_t hi)
{
	const struct bm_checked *c = &bm_checked[level % BV_XFS_BM_MAXLEVELS];

	return c->fs_id == fs->id && c->blk == blk && c->ino == ip->ino && c->lo == lo &&
	       c->hi == hi;
}

static void bm_checked_put(const struct bv_xfs *fs, const struct bv_xfs_inode *ip,
			   unsigned level, uint64_t blk, uint64_t lo, uint64_t hi)
{
	bm_checked[level % BV_XFS_BM_MAXLEVELS] =
		(struct bm_checked){ .fs_id = fs->id, .blk = blk, .ino = ip->ino, .lo = lo,
				     .hi = hi };
}

static long keys_find(const uint8_t *keys, size_t nrec, uint64_t lblk)
{
	size_t lo = 0, hi = nrec;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bv_be64(keys + mid * XFS_BMBT_KEY_SIZE) <= lblk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (long)lo - 1;
}

/* Answers LBLK from the checked records RECS (NREC of them, in the block REF pins), which
 * answer every block from LBLK below HI, the next mapped block after them being NEXT_KEY.
 * With a cursor CUR, keeps them there (taking REF); else releases REF. */
static void recs_answer(struct bv_xfs *fs, struct bv_xfs_bmap_cursor *cur, int which,
			struct bv_cache_ref *ref, const uint8_t *recs, size_t nrec, uint64_t lblk,
			uint64_t hi, uint64_t next_key, struct bv_xfs_map *out)
{
	recs_lookup(recs, nrec, lblk, next_key, out);
	if (!cur) {
		bv_cache_put(fs->cache, ref);
		return;
	}
	bv_xfs_bmap_cursor_end(fs, cur);
	*cur = (struct bv_xfs_bmap_cursor){ .ref = *ref, .recs = recs, .nrec = nrec,
					    .from = lblk, .hi = hi, .next_key = next_key,
					    .which = which };
	*ref = (struct bv_cache_ref){ 0 };
}

int bv_xfs_bmap_next(struct bv_xfs *fs, const struct bv_xfs_inode *ip, int which,
		     struct bv_xfs_bmap_cursor *cur, uint64_t lblk, struct bv_xfs_map *out)
{
	const struct bv_xfs_sb *sb = &fs->sb;
	uint8_t format = which == BV_XFS_ATTR_FORK ? ip->aformat : ip->format;
	uint64_t nextents = which == BV_XFS_ATTR_FORK ? ip->anextents : ip->nextents;
	const size_t hdr = sb->crc ? XFS_BTREE_LBLOCK_CRC_LEN : XFS_BTREE_LBLOCK_LEN;
	const size_t blk_slots = (sb->blocksize - hdr) / XFS_BMBT_REC_SIZE;
	struct bv_cache_ref ref = { 0 };
	const uint8_t *fork, *keys, *ptrs;
	uint64_t lo = 0, hi = UINT64_MAX, next_key = UINT64_MAX, ptr;
	size_t flen, nrec, slots;
	unsigned level;
	bool hit;
	long idx;
	int err;

	if (which != BV_XFS_DATA_FORK && which != BV_XFS_ATTR_FORK)
		return -EINVAL;
	if (format != BV_XFS_FMT_EXTENTS && format != BV_XFS_FMT_BTREE)
		return -EINVAL;
	if ((format == BV_XFS_FMT_EXTENTS && nextents == 0) || lblk > STARTOFF_MAX) {
		/* No extents, or past what any record can address: a hole to the end. */
		if (lblk == UINT64_MAX)
			return -EINVAL;
		memset(out, 0, sizeof(*out));
		out->off = lblk;
		out->hole = true;
		out->len = UINT64_MAX - lblk;
		return 0;
	}
	if (cur && cur->recs && cur->which == which && lblk >= cur->from && lblk < cur->hi) {
		recs_lookup(cur->recs, cur->nrec, lblk, cur->next_key, out);
		return 0;
	}
	err = bv_xfs_fork_bytes(fs, ip, which, &ref, &fork, &flen);
	if (err)
		return err == -ENODATA ? -EINVAL : err;

	if (format == BV_XFS_FMT_EXTENTS) {
		/* inode.c checked that NEXTENTS records fit in the fork. */
		err = recs_check(fs, ip, fork, (size_t)nextents, 0, STARTOFF_MAX + 1,
				 "extent list in inode", ip->ino);
		if (err) {
			bv_cache_put(fs->cache, &ref);
			return err;
		}
		recs_answer(fs, cur, which, &ref, fork, (size_t)nextents, lblk, STARTOFF_MAX + 1,
			    UINT64_MAX, out);
		return 0;
	}

	/* The root: a bmdr block in the fork, its slots laid out for the fork's size. */
	level = bv_be16(fork);
	nrec = bv_be16(fork + 2);
	slots = (flen - XFS_BMDR_HDR_SIZE) / (XFS_BMBT_KEY_SIZE + XFS_BMBT_PTR_SIZE);
	if (level == 0 || level > BV_XFS_BM_MAXLEVELS || nrec == 0 || nrec > slots) {
		bv_cache_put(fs->cache, &ref);
		return bv_xfs_corrupt(fs, "inode %" PRIu64 ": bad bmbt root (level %u, %zu records)",
				      ip->ino, level, nrec);
	}
	keys = fork + XFS_BMDR_HDR_SIZE;
	ptrs = keys + slots * XFS_BMBT_KEY_SIZE;
	err = keys_check(fs, ip, keys, nrec, 0, STARTOFF_MAX + 1, "bmbt root in inode", ip->ino);
	if (err) {
		bv_cache_put(fs->cache, &ref);
		return err;
	}

	/* Walk down: each step keeps [LO, HI), the file blocks the chosen child may hold,
	 * and NEXT_KEY, the first mapped block after that child (where a hole ends). */
	for (;;) {
		uint64_t byte, blk;
		const uint8_t *b;
		unsigned want = level - 1;

		idx = keys_find(keys, nrec, lblk);
		if (idx < 0) {
			/* Before the first key: a hole up to it. */
			uint64_t k = bv_be64(keys);

			bv_cache_put(fs->cache, &ref);
			memset(out, 0, sizeof(*out));
			out->off = lblk;
			out->hole = true;
			out->len = k - lblk;
			return 0;
		}
		lo = bv_be64(keys + (size_t)idx * XFS_BMBT_KEY_SIZE);
		if ((size_t)idx + 1 < nrec) {
			hi = bv_be64(keys + ((size_t)idx + 1) * XFS_BMBT_KEY_SIZE);
			next_key = hi;
		}
		ptr = bv_be64(ptrs + (size_t)idx * XFS_BMBT_PTR_SIZE);
		bv_cache_put(fs->cache, &ref);

		if (bv_xfs_fsb_to_byte(fs, ptr, 1, &byte))
			return bv_xfs_corrupt(fs,
					      "inode %" PRIu64 ": bmbt pointer %" PRIu64
					      " outside the filesystem",
					      ip->ino, ptr);
		blk = byte >> sb->blocklog;
		err = bv_cache_get(fs->cache, blk, &ref);
		if (err)
			return err;
		b = ref.data;
		/* Below the root, LEVEL is WANT if the block is what we remember checking. */
		hit = bm_checked_has(fs, ip, want, blk, lo, hi);
		if (bv_be32(b + BB_MAGIC) != (sb->crc ? XFS_BMAP_CRC_MAGIC : XFS_BMAP_MAGIC)) {
			err = bv_xfs_corrupt(fs, "inode %" PRIu64 ": bmbt block %" PRIu64 ": bad magic",
					     ip->ino, ptr);
			goto out_put;
		}
		err = hit ? 0 : bv_xfs_hdr3_check(fs, b, sb->blocksize, BB_CRC, BB_BLKNO, byte >> 9,
						  BB_UUID, BB_OWNER, ip->ino);
		if (err) {
			bv_xfs_report(fs, err, "inode %" PRIu64 ": bmbt block %" PRIu64 ": %s",
				      ip->ino, ptr,
				      err == -EBADMSG ? "bad CRC" : "bad block header");
			goto out_put;
		}
		level = bv_be16(b + BB_LEVEL);
		nrec = bv_be16(b + BB_NUMRECS);
		if (level != want) {
			/* Levels go down by one: this is also what makes a loop impossible. */
			err = bv_xfs_corrupt(fs,
					     "inode %" PRIu64 ": bmbt block %" PRIu64
					     ": level %u where %u was expected (a loop?)",
					     ip->ino, ptr, level, want);
			goto out_put;
		}
		if (nrec == 0 || nrec > blk_slots) {
			err = bv_xfs_corrupt(fs,
					     "inode %" PRIu64 ": bmbt block %" PRIu64
					     ": bad record count %zu",
					     ip->ino, ptr, nrec);
			goto out_put;
		}
		if (level == 0) {
			const uint8_t *recs = b + hdr;

			if (!hit) {
				atomic_fetch_add_explicit(&fs->bmbt_checks, 1, memory_order_relaxed);
				err = recs_check(fs, ip, recs, nrec, lo, hi, "bmbt leaf", ptr);
				if (err)
					goto out_put;
				bm_checked_put(fs, ip, level, blk, lo, hi);
			}
			recs_answer(fs, cur, which, &ref, recs, nrec, lblk, hi, next_key, out);
			return 0;
		}
		slots = blk_slots;
		keys = b + hdr;
		ptrs = keys + slots * XFS_BMBT_KEY_SIZE;
		if (!hit) {
			atomic_fetch_add_explicit(&fs->bmbt_checks, 1, memory_order_relaxed);
			err = keys_check(fs, ip, keys, nrec, lo, hi, "bmbt node", ptr);
			if (err)
				goto out_put;
			bm_checked_put(fs, ip, level, blk, lo, hi);
		}
	}

out_put:
	bv_cache_put(fs->cache, &ref);
	return err;
}

int bv_xfs_bmap(struct bv_xfs *fs, const struct bv_xfs_inode *ip, int which, uint64_t lblk,
		struct bv_xfs_map *out)
{
	return bv_xfs_bmap_next(fs, ip, which, NULL, lblk, out);
}

void bv_xfs_bmap_cursor_end(struct bv_xfs *fs, struct bv_xfs_bmap_cursor *cur)
{
	bv_cache_put(fs->cache, &cur->ref);
	*cur = (struct bv_xfs_bmap_cursor){ 0 };
}
