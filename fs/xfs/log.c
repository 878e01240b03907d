/* Is the internal log clean? We never replay it: a dirty log is refused at open unless the
 * caller asked for norecovery.
 *
 * The log is a ring of 512-byte basic blocks (BBs). Every BB's first word is the cycle
 * number of the pass that wrote it (a record header keeps its magic there and the cycle
 * in h_cycle; the data words it displaced are saved in the header). The head, where the
 * next write would go, is where the cycle drops: found by binary search as the kernel's
 * xlog_find_head does (no torn-write repair: we only ask "clean or not", and a torn last
 * record can never be mistaken for a clean unmount, see below). The last record header
 * before the head is then clean only when it is a one-op unmount record (XLOG_UNMOUNT_TRANS)
 * that ends exactly at the head, as xlog_find_tail decides.
 */
#include "fs/xfs/xfs_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "util/le.h"

#define BBSIZE 512
#define BBSHIFT 9
#define XLOG_HEADER_MAGIC_NUM 0xFEEDBABEu
#define XLOG_HEADER_CYCLE_SIZE (32 * 1024)
#define XLOG_MAX_RECORD_BSIZE (256 * 1024)
#define XLOG_VERSION_2 2
#define XLOG_UNMOUNT_TRANS 0x20

/* struct xlog_rec_header */
#define H_MAGICNO 0
#define H_CYCLE 4
#define H_VERSION 8
#define H_LEN 12
#define H_LSN 16
#define H_NUM_LOGOPS 40
#define H_FS_UUID 304
#define H_SIZE 320
/* struct xlog_op_header, first thing after the record header's blocks */
#define OH_FLAGS 9

/* How far back from the head the last record header may start: one record of the largest
 * size and its header blocks, with room to spare. */
#define BV_XLOG_SEARCH_BBS (2 * (XLOG_MAX_RECORD_BSIZE / BBSIZE) + 64)

struct logview {
	struct bv_xfs *fs;
	uint64_t start; /* byte offset of the log on the source */
	uint64_t nbb;   /* log size in BBs */
};

/* Pins the BB BLK of the log; *P points at its 512 bytes. */
static int bb_get(struct logview *lv, uint64_t blk, struct bv_cache_ref *ref, const uint8_t **p)
{
	uint64_t off = lv->start + blk * BBSIZE;
	uint32_t bs = lv->fs->sb.blocksize;
	int err = bv_cache_get(lv->fs->cache, off >> lv->fs->sb.blocklog, ref);

	if (err)
		return err;
	*p = ref->data + (off & (bs - 1));
	return 0;
}

static int bb_cycle(struct logview *lv, uint64_t blk, uint32_t *cycle)
{
	struct bv_cache_ref ref = { 0 };
	const uint8_t *p;
	int err = bb_get(lv, blk, &ref, &p);

	if (err)
		return err;
	*cycle = bv_be32(p) == XLOG_HEADER_MAGIC_NUM ? bv_be32(p + H_CYCLE) : bv_be32(p);
	bv_cache_put(lv->fs->cache, &ref);
	return 0;
}

/* The first BB in (LO, HI] whose cycle is WANT, given that LO's is not and HI's is: a
 * binary search, log2(nbb) steps. */
static int find_cycle_start(struct logview *lv, uint64_t lo, uint64_t hi, uint32_t want,
			    uint64_t *out)
{
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		uint32_t c;
		int err = bb_cycle(lv, mid, &c);

		if (err)
			return err;
		if (c == want)
			hi = mid;
		else
			lo = mid;
	}
	*out = hi;
	return 0;
}

static int find_head(struct logview *lv, uint64_t *head, bool *zeroed)
{
	uint32_t first, last;
	int err;

	*zeroed = false;
	err = bb_cycle(lv, 0, &first);
	if (!err)
		err = bb_cycle(lv, lv->nbb - 1, &last);
	if (err)
		return err;
	if (first == 0) {
		/* A log never written (xlog_find_zeroed): nothing to recover. */
		*zeroed = true;
		*head = 0;
		return 0;
	}
	if (last == 0) /* the first pass has not reached the end: the head is where 0 starts */
		return find_cycle_start(lv, 0, lv->nbb - 1, 0, head);
	if (first == last) {
		/* The whole ring at one cycle: the pass ended exactly at the end. */
		*head = 0;
		return 0;
	}
	if (first != last + 1)
		return bv_xfs_corrupt(lv->fs,
				      "log: cycle %" PRIu32 " at its start and %" PRIu32
				      " at its end (one apart at most)",
				      first, last);
	/* Wrapped: the newer pass (FIRST) overwrote the ring up to the head. */
	return find_cycle_start(lv, 0, lv->nbb - 1, last, head);
}

int bv_xfs_log_state(struct bv_xfs *fs, bool *dirty)
{
	struct logview lv = { .fs = fs };
	struct bv_cache_ref ref = { 0 };
	const uint8_t *p;
	uint64_t head = 0, rblk = 0, after, hblks = 1, lsn;
	uint32_t hcycle, hlen, hsize, nops, version;
	uint64_t steps;
	bool zeroed, found = false;
	int err;

	err = bv_xfs_fsb_to_byte(fs, fs->sb.logstart, fs->sb.logblocks, &lv.start);
	if (err)
		return bv_xfs_corrupt(fs, "log: outside the filesystem");
	lv.nbb = (uint64_t)fs->sb.logblocks << (fs->sb.blocklog - BBSHIFT);
	if (lv.nbb < 2)
		return bv_xfs_corrupt(fs, "log: too small");
	err = find_head(&lv, &head, &zeroed);
	if (err)
		return err;
	if (zeroed) {
		*dirty = false;
		return 0;
	}

	/* The last record header before the head, walking back around the ring (bounded:
	 * it lies within one maximal record of the head). */
	steps = lv.nbb < BV_XLOG_SEARCH_BBS ? lv.nbb : BV_XLOG_SEARCH_BBS;
	for (uint64_t i = 1; i <= steps; i++) {
		uint64_t b = (head + lv.nbb - i) % lv.nbb;

		err = bb_get(&lv, b, &ref, &p);
		if (err)
			return err;
		found = bv_be32(p + H_MAGICNO) == XLOG_HEADER_MAGIC_NUM;
		if (found) {
			rblk = b;
			break;
		}
		bv_cache_put(fs->cache, &ref);
	}
	if (!found)
		return bv_xfs_corrupt(fs, "log: no record header within %" PRIu64
				      " blocks before the head (block %" PRIu64 ")",
				      steps, head);
	hcycle = bv_be32(p + H_CYCLE);
	version = bv_be32(p + H_VERSION);
	hlen = bv_be32(p + H_LEN);
	lsn = bv_be64(p + H_LSN);
	nops = bv_be32(p + H_NUM_LOGOPS);
	hsize = bv_be32(p + H_SIZE);
	if (version == 0 || version > XLOG_VERSION_2 || hlen > XLOG_MAX_RECORD_BSIZE ||
	    (lsn >> 32) != hcycle || (uint32_t)lsn != rblk ||
	    memcmp(p + H_FS_UUID, fs->sb.uuid, 16) != 0) {
		bv_cache_put(fs->cache, &ref);
		return bv_xfs_corrupt(fs, "log: bad record header at block %" PRIu64, rblk);
	}
	/* v2 records larger than 32 KiB carry extra header blocks for their cycle data. */
	if ((version & XLOG_VERSION_2) && hsize > XLOG_HEADER_CYCLE_SIZE) {
		if (hsize > XLOG_MAX_RECORD_BSIZE) {
			bv_cache_put(fs->cache, &ref);
			return bv_xfs_corrupt(fs, "log: record header at block %" PRIu64
					      ": bad h_size %" PRIu32, rblk, hsize);
		}
		hblks = (hsize + XLOG_HEADER_CYCLE_SIZE - 1) / XLOG_HEADER_CYCLE_SIZE;
	}
	bv_cache_put(fs->cache, &ref);

	/* Clean: one op, the unmount record, and nothing written after it. A record torn
	 * by a crash never passes: either its own header is the last one (not an unmount
	 * record) or an older header is, and then the head is not right after it. */
	after = (rblk + hblks + ((hlen + BBSIZE - 1) >> BBSHIFT)) % lv.nbb;
	*dirty = true;
	if (nops == 1 && after == head) {
		err = bb_get(&lv, (rblk + hblks) % lv.nbb, &ref, &p);
		if (err)
			return err;
		if (p[OH_FLAGS] & XLOG_UNMOUNT_TRANS)
			*dirty = false;
		bv_cache_put(fs->cache, &ref);
	}
	return 0;
}
