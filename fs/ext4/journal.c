/* The JBD2 journal, replayed in memory.
 *
 * When the filesystem was not unmounted cleanly (EXT4_FEATURE_INCOMPAT_RECOVER), committed
 * transactions may sit in the journal and not yet at their home location. The kernel
 * replays them onto the device at mount; we never write the device, so we do the same
 * walk and only remember, for each filesystem block the kernel would have overwritten,
 * where its newest journal copy lives. bv_ext4_bread() then reads that copy instead.
 *
 * The walk follows jbd2's recovery in three passes over the circular log from s_start:
 * SCAN finds the last complete transaction (sequence numbers, commit checksums), REVOKE
 * collects revoked blocks, REPLAY records the data blocks of every committed transaction
 * that were not revoked by the same or a later one. Every walk is bounded by the log
 * length; every block number is checked against the filesystem before it is recorded.
 *
 * After bv_journal_load() the overlay is immutable, so lookups need no lock.
 */
#include "fs/ext4/ext4_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/ext4/journal.h"
#include "util/le.h"
#include "util/log.h"

enum pass { PASS_SCAN, PASS_REVOKE, PASS_REPLAY };

/* One replayed filesystem block: its journal copy at JPHYS, or for an escaped block (whose
 * first four bytes the journal had to change) an in-memory copy with the magic restored. */
struct jent {
	uint64_t blk;
	uint64_t jphys;
	uint8_t *copy;  /* owned; NULL unless escaped */
	uint32_t order; /* record order, so the last transaction's copy wins */
};

struct bv_journal {
	struct jent *ents; /* sorted by blk, one per block; immutable after load */
	size_t count;
	uint32_t block_size;
};

/* Revoked block -> the newest transaction that revoked it (open addressing). */
struct revoke {
	uint64_t blk;
	uint32_t seq;
	bool used;
};

/* Everything the three passes share. */
struct jctx {
	struct bv_ext4 *fs;
	struct bv_ext4_inode inode;
	uint32_t bs;
	uint32_t total;      /* blocks of the journal inode usable as log (<= s_maxlen) */
	uint32_t first, last; /* the circular log is [first, last) */
	uint32_t start, sequence;
	uint32_t compat, incompat;
	bool csum23, csum3, is64, async;
	uint32_t csum_seed;
	size_t tag_bytes;

	/* The last run answered by bv_ext4_map_blocks: log reads are mostly sequential. */
	uint64_t run_lblk, run_pblk;
	uint32_t run_len;

	uint32_t end_transaction; /* first transaction not to replay (set by SCAN) */

	struct revoke *rv;
	size_t rv_cap, rv_used;
	uint64_t rv_records; /* revoke records read, all passes */

	struct jent *ents;
	size_t n_ents, cap_ents;
	size_t escaped_bytes;
	uint32_t bad_data_csums;
};

/* Memory and work at open (docs/design.md section 13 has the whole ceiling). The largest
 * journal mke2fs makes is 262144 blocks (2^18: 1 GiB of 4 KiB blocks), and a log cannot
 * journal or revoke more distinct blocks than it walks, so every cap below sits at or above
 * what a default journal can hold. A crafted journal inode can map billions of log blocks
 * onto the same few physical ones, so the log's length bounds nothing: past these caps the
 * journal is refused (mount with -o norecovery to serve the image as it is on disk).
 *
 * Unique revoked blocks tracked: a table kept at most half full, 2^19 slots of 16 bytes,
 * 8 MiB (12 MiB while it doubles). */
#define REVOKE_MAX (1u << 18)

/* Escaped blocks (data starting with the JBD2 magic, data=journal only) are kept in
 * memory: at most 8 MiB of them. */
#define ESCAPED_MAX_BYTES (8u << 20)

/* Log blocks walked per pass (the filesystem's block count when that is smaller): at
 * most three passes of 2^18 block reads at open. */
#define WALK_MAX (1u << 18)
/* Journaled block copies recorded: 2^18 entries of 32 bytes, 8 MiB (12 MiB while the
 * array doubles). */
#define ENTS_MAX (1u << 18)
/* Revoke records read in all (each is a hash-table probe): 16 Mi. A log of 32768 full
 * 1 KiB revoke blocks (8.3 Mi records, check_journal_craft) replays in well under 0.3 s. */
#define REVOKE_RECORDS_MAX (1u << 24)

/* jbd2 compares transaction IDs modulo 2^32 (tid_gt / tid_geq). */
static bool tid_gt(uint32_t x, uint32_t y)
{
	return (int32_t)(x - y) > 0;
}

static bool tid_geq(uint32_t x, uint32_t y)
{
	return (int32_t)(x - y) >= 0;
}

/* crc32_be as jbd2's v1 COMPAT_CHECKSUM uses it: MSB first, poly 0x04C11DB7, no
 * inversion. Only old ext3-era journals use it, so a bitwise loop is fast enough. */
static uint32_t crc32_be(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--) {
		crc ^= (uint32_t)*p++ << 24;
		for (int k = 0; k < 8; k++)
			crc = (crc << 1) ^ (0x04C11DB7u & (0u - (crc >> 31)));
	}
	return crc;
}

/* crc32c of a block whose be32 checksum at OFF counts as zero, as jbd2 computes it. */
static uint32_t csum_block(uint32_t seed, const uint8_t *b, size_t len, size_t off)
{
	static const uint8_t zero[4];
	uint32_t c = bv_crc32c(seed, b, off);

	c = bv_crc32c(c, zero, 4);
	return bv_crc32c(c, b + off + 4, len - off - 4);
}

/* Maps log block LBLK (< total) to its physical block, caching the run. */
static int jmap(struct jctx *c, uint32_t lblk, uint64_t *phys)
{
	struct bv_ext4_map m;
	int err;

	if (lblk >= c->total)
		return bv_ext4_corrupt(c->fs, "journal: log block %u past the journal (%u blocks)",
				       lblk, c->total);
	if (c->run_len && lblk >= c->run_lblk && lblk - c->run_lblk < c->run_len) {
		*phys = c->run_pblk + (lblk - c->run_lblk);
		return 0;
	}
	err = bv_ext4_map_blocks(c->fs, &c->inode, lblk, c->total - lblk, &m);
	if (err == -EINVAL) /* inline data: a journal inode must have blocks */
		return bv_ext4_corrupt(c->fs, "journal: inode %u has no block map", c->inode.ino);
	if (err)
		return err;
	/* jbd2's bmap fails on a hole ("bad block"): a journal is fully allocated. */
	if (m.hole || m.pblk == 0 || m.len == 0 || m.lblk != lblk)
		return bv_ext4_corrupt(c->fs, "journal: log block %u is not mapped (inode %u)",
				       lblk, c->inode.ino);
	c->run_lblk = lblk;
	c->run_pblk = m.pblk;
	c->run_len = m.len;
	*phys = m.pblk;
	return 0;
}

/* Pins log block LBLK through the cache (not bv_ext4_bread: no overlay exists yet). */
static int jread(struct jctx *c, uint32_t lblk, struct bv_cache_ref *ref, uint64_t *physp)
{
	uint64_t phys;
	int err = jmap(c, lblk, &phys);

	if (err)
		return err;
	err = bv_cache_get(c->fs->cache, phys, ref);
	if (err)
		return bv_ext4_report(c->fs, err, "journal: cannot read log block %u (block %llu)",
				      lblk, (unsigned long long)phys);
	if (physp)
		*physp = phys;
	return 0;
}

/* Advances a log position by N blocks around the circular log. jbd2 subtracts the log
 * length once; a modulo gives the same answer for a sane log and stays inside it for a
 * corrupt one. */
static uint32_t wrap_add(const struct jctx *c, uint32_t pos, uint32_t n)
{
	uint64_t len = c->last - c->first;
	uint64_t p = (uint64_t)pos + n;

	if (p >= c->last)
		p = c->first + (p - c->first) % len;
	return (uint32_t)p;
}

/* Number of tags in a descriptor block, as jbd2's count_tags() walks them. */
static uint32_t count_tags(const struct jctx *c, const uint8_t *b)
{
	size_t size = c->bs - (c->csum23 ? JBD2_BLOCK_TAIL_SIZE : 0);
	size_t off = JBD2_HEADER_SIZE;
	uint32_t n = 0;

	while (off + c->tag_bytes <= size) {
		uint16_t flags = bv_be16(b + off + JBD2_TAG_FLAGS);

		n++;
		off += c->tag_bytes;
		if (!(flags & JBD2_FLAG_SAME_UUID))
			off += JBD2_UUID_SIZE;
		if (flags & JBD2_FLAG_LAST_TAG)
			break;
	}
	return n;
}

static bool descr_csum_ok(const struct jctx *c, const uint8_t *b)
{
	size_t off = c->bs - JBD2_BLOCK_TAIL_SIZE;

	return bv_be32(b + off) == csum_block(c->csum_seed, b, c->bs, off);
}

static bool commit_csum_ok(const struct jctx *c, const uint8_t *b)
{
	return bv_be32(b + JBD2_COMMIT_CHKSUM) ==
	       csum_block(c->csum_seed, b, c->bs, JBD2_COMMIT_CHKSUM);
}

/* v2/v3 data block checksum: crc32c over the big-endian sequence then the block as it
 * sits in the journal (escaped). v2 tags keep only the low 16 bits. */
static bool tag_csum_ok(const struct jctx *c, const uint8_t *tag, const uint8_t *data,
			uint32_t seq)
{
	uint8_t be[4] = { (uint8_t)(seq >> 24), (uint8_t)(seq >> 16), (uint8_t)(seq >> 8),
			  (uint8_t)seq };
	uint32_t csum;

	if (!c->csum23)
		return true;
	csum = bv_crc32c(c->csum_seed, be, sizeof(be));
	csum = bv_crc32c(csum, data, c->bs);
	if (c->csum3)
		return bv_be32(tag + JBD2_TAG3_CHECKSUM) == csum;
	return bv_be16(tag + JBD2_TAG_CHECKSUM) == (uint16_t)csum;
}

static uint64_t tag_blocknr(const struct jctx *c, const uint8_t *tag)
{
	uint64_t blk = bv_be32(tag);

	if (c->is64)
		blk |= (uint64_t)bv_be32(tag + JBD2_TAG_BLOCKNR_HIGH) << 32;
	return blk;
}

static size_t rv_slot(uint64_t blk, size_t cap)
{
	uint64_t h = blk * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 17) & (cap - 1);
}

static int rv_grow(struct jctx *c)
{
	size_t cap = c->rv_cap ? c->rv_cap * 2 : 1024;
	struct revoke *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < c->rv_cap; i++) {
		size_t s;

		if (!c->rv[i].used)
			continue;
		for (s = rv_slot(c->rv[i].blk, cap); t[s].used; s = (s + 1) & (cap - 1))
			;
		t[s] = c->rv[i];
	}
	free(c->rv);
	c->rv = t;
	c->rv_cap = cap;
	return 0;
}

static struct revoke *rv_find(const struct jctx *c, uint64_t blk)
{
	if (!c->rv_cap)
		return NULL;
	for (size_t s = rv_slot(blk, c->rv_cap);; s = (s + 1) & (c->rv_cap - 1)) {
		if (!c->rv[s].used)
			return NULL;
		if (c->rv[s].blk == blk)
			return &c->rv[s];
	}
}

/* Records that transaction SEQ revoked BLK; the newest revocation is the one that counts. */
static int rv_set(struct jctx *c, uint64_t blk, uint32_t seq)
{
	struct revoke *r = rv_find(c, blk);
	size_t s;
	int err;

	if (r) {
		if (tid_gt(seq, r->seq))
			r->seq = seq;
		return 0;
	}
	if (c->rv_used >= REVOKE_MAX)
		return bv_ext4_corrupt(c->fs, "journal: more than %u revoked blocks", REVOKE_MAX);
	/* Keep the table at most half full so probes stay short. */
	if ((c->rv_used + 1) * 2 > c->rv_cap) {
		err = rv_grow(c);
		if (err)
			return err;
	}
	for (s = rv_slot(blk, c->rv_cap); c->rv[s].used; s = (s + 1) & (c->rv_cap - 1))
		;
	c->rv[s].blk = blk;
	c->rv[s].seq = seq;
	c->rv[s].used = true;
	c->rv_used++;
	return 0;
}

/* A block written by transaction SEQ is skipped if a transaction at or after SEQ revoked it. */
static bool rv_test(const struct jctx *c, uint64_t blk, uint32_t seq)
{
	const struct revoke *r = rv_find(c, blk);

	return r && !tid_gt(seq, r->seq);
}

static int scan_revoke(struct jctx *c, const uint8_t *b, uint32_t lblk, uint32_t seq)
{
	size_t csum_size = c->csum23 ? JBD2_BLOCK_TAIL_SIZE : 0;
	size_t rec = c->is64 ? 8 : 4;
	uint32_t rcount = bv_be32(b + JBD2_REVOKE_R_COUNT);

	/* jbd2 fails recovery (-EINVAL) on a count past the block. */
	if (rcount > c->bs - csum_size)
		return bv_ext4_corrupt(c->fs,
				       "journal: revoke block at log block %u: r_count %u past the block",
				       lblk, rcount);
	c->rv_records += rcount / rec;
	if (c->rv_records > REVOKE_RECORDS_MAX)
		return bv_ext4_corrupt(c->fs, "journal: more than %u revoke records",
				       REVOKE_RECORDS_MAX);
	for (size_t off = JBD2_REVOKE_HEADER_SIZE; off + rec <= rcount; off += rec) {
		uint64_t blk = rec == 8 ? bv_be64(b + off) : bv_be32(b + off);
		int err = rv_set(c, blk, seq);

		if (err)
			return err;
	}
	return 0;
}

static int ent_add(struct jctx *c, uint64_t blk, uint64_t jphys, uint8_t *copy)
{
	if (c->n_ents >= ENTS_MAX)
		return bv_ext4_corrupt(c->fs, "journal: more than %u journaled blocks", ENTS_MAX);
	if (c->n_ents == c->cap_ents) {
		size_t cap = c->cap_ents ? c->cap_ents * 2 : 256;
		struct jent *e = reallocarray(c->ents, cap, sizeof(*e));

		if (!e)
			return -ENOMEM;
		c->ents = e;
		c->cap_ents = cap;
	}
	c->ents[c->n_ents] = (struct jent){
		.blk = blk, .jphys = jphys, .copy = copy, .order = (uint32_t)c->n_ents
	};
	c->n_ents++;
	return 0;
}

/* Replays one descriptor block's tags: records where each data block's copy lives. */
static int replay_descriptor(struct jctx *c, const uint8_t *d, uint32_t *next_blk,
			     uint32_t seq)
{
	size_t size = c->bs - (c->csum23 ? JBD2_BLOCK_TAIL_SIZE : 0);
	size_t off = JBD2_HEADER_SIZE;
	int err;

	while (off + c->tag_bytes <= size) {
		const uint8_t *tag = d + off;
		uint16_t flags = bv_be16(tag + JBD2_TAG_FLAGS);
		uint64_t blk = tag_blocknr(c, tag);
		uint32_t io_block = *next_blk;
		struct bv_cache_ref ref;
		uint64_t jphys;
		uint8_t *copy = NULL;

		*next_blk = wrap_add(c, *next_blk, 1);
		if (rv_test(c, blk, seq))
			goto next;

		/* The data block itself is needed only to check its checksum or to undo the
		 * escape; otherwise its journal location is all we record. */
		if (c->csum23 || (flags & JBD2_FLAG_ESCAPE)) {
			err = jread(c, io_block, &ref, &jphys);
			if (err)
				return err;
			if (!tag_csum_ok(c, tag, ref.data, seq)) {
				/* jbd2 skips the block, replays the rest, then reports failure. */
				bv_cache_put(c->fs->cache, &ref);
				c->bad_data_csums++;
				bv_ext4_badcsum(c->fs,
						"journal: bad checksum on data block %llu in log block %u; not replayed",
						(unsigned long long)blk, io_block);
				goto next;
			}
			if (flags & JBD2_FLAG_ESCAPE) {
				c->escaped_bytes += c->bs;
				if (c->escaped_bytes > ESCAPED_MAX_BYTES) {
					bv_cache_put(c->fs->cache, &ref);
					return bv_ext4_report(c->fs, -ENOMEM,
							      "journal: more than %u MiB of escaped blocks",
							      ESCAPED_MAX_BYTES >> 20);
				}
				copy = malloc(c->bs);
				if (!copy) {
					bv_cache_put(c->fs->cache, &ref);
					return -ENOMEM;
				}
				memcpy(copy, ref.data, c->bs);
				copy[0] = (uint8_t)(JBD2_MAGIC_NUMBER >> 24);
				copy[1] = (uint8_t)(JBD2_MAGIC_NUMBER >> 16);
				copy[2] = (uint8_t)(JBD2_MAGIC_NUMBER >> 8);
				copy[3] = (uint8_t)JBD2_MAGIC_NUMBER;
			}
			bv_cache_put(c->fs->cache, &ref);
		} else {
			err = jmap(c, io_block, &jphys);
			if (err)
				return err;
		}
		if (blk >= c->fs->sb.s_blocks_count) {
			free(copy);
			return bv_ext4_corrupt(c->fs,
					       "journal: log block %u replays block %llu past the filesystem end (%llu)",
					       io_block, (unsigned long long)blk,
					       (unsigned long long)c->fs->sb.s_blocks_count);
		}
		err = ent_add(c, blk, jphys, copy);
		if (err) {
			free(copy);
			return err;
		}
next:
		off += c->tag_bytes;
		if (!(flags & JBD2_FLAG_SAME_UUID))
			off += JBD2_UUID_SIZE;
		if (flags & JBD2_FLAG_LAST_TAG)
			break;
	}
	return 0;
}

/* v1 COMPAT_CHECKSUM: crc32_be over the descriptor and every data block it describes. */
static int sum_v1(struct jctx *c, const uint8_t *d, uint32_t *next_blk, uint32_t *crc)
{
	uint32_t n = count_tags(c, d);

	*crc = crc32_be(*crc, d, c->bs);
	for (uint32_t i = 0; i < n; i++) {
		struct bv_cache_ref ref;
		int err = jread(c, *next_blk, &ref, NULL);

		if (err)
			return err;
		*crc = crc32_be(*crc, ref.data, c->bs);
		bv_cache_put(c->fs->cache, &ref);
		*next_blk = wrap_add(c, *next_blk, 1);
	}
	return 0;
}

/* One walk of the log from s_start, like jbd2's do_one_pass(). */
static int do_pass(struct jctx *c, enum pass pass)
{
	uint32_t next_id = c->sequence;
	uint32_t next_blk = c->start;
	uint32_t crc32_sum = ~0u;
	uint64_t last_commit_time = 0;
	bool need_check_commit_time = false;
	uint64_t walked = 0;
	uint64_t limit = c->last - c->first;
	uint64_t cap = c->fs->sb.s_blocks_count < WALK_MAX ? c->fs->sb.s_blocks_count : WALK_MAX;
	struct bv_cache_ref ref;
	int err = 0;

	for (;;) {
		uint32_t lblk = next_blk, blocktype, seq;
		const uint8_t *b;

		if (pass != PASS_SCAN && tid_geq(next_id, c->end_transaction))
			break;
		/* A live log never holds more blocks than the log has: walking further
		 * means the transaction in progress overlaps the log's own tail (torn or
		 * crafted), so the log ends before it. This also bounds a crafted log
		 * whose sequence numbers go round forever. Later passes stop earlier. */
		if (walked > limit) {
			if (pass != PASS_SCAN)
				return bv_ext4_corrupt(c->fs, "journal: log from block %u does not end",
						       c->start);
			bv_debug("journal: log wraps onto itself at transaction %u", next_id);
			break;
		}
		/* Only a log longer than the filesystem or than WALK_MAX gets here: its
		 * blocks cannot all be distinct, so it is crafted or broken. */
		if (walked > cap)
			return bv_ext4_corrupt(c->fs, "journal: log walk passes %" PRIu64
					       " blocks; the filesystem has %" PRIu64,
					       cap, c->fs->sb.s_blocks_count);
		err = jread(c, lblk, &ref, NULL);
		if (err)
			return err;
		b = ref.data;
		walked++;
		next_blk = wrap_add(c, next_blk, 1);

		/* Anything that is not the next transaction's block ends the log. */
		seq = bv_be32(b + 8);
		if (bv_be32(b) != JBD2_MAGIC_NUMBER || seq != next_id) {
			bv_cache_put(c->fs->cache, &ref);
			break;
		}
		blocktype = bv_be32(b + 4);

		if (blocktype == JBD2_DESCRIPTOR_BLOCK) {
			if (c->csum23 && !descr_csum_ok(c, b)) {
				/* In SCAN this may be a stale block from an earlier use of the
				 * log: the commit time decides (below). Later passes never reach
				 * such a transaction unless the log changed under us. */
				if (pass != PASS_SCAN) {
					bv_cache_put(c->fs->cache, &ref);
					return bv_ext4_badcsum(c->fs,
							       "journal: bad descriptor checksum at log block %u",
							       lblk);
				}
				need_check_commit_time = true;
			}
			if (pass == PASS_REPLAY) {
				err = replay_descriptor(c, b, &next_blk, seq);
				walked += count_tags(c, b);
			} else if (pass == PASS_SCAN &&
				   (c->compat & JBD2_FEATURE_COMPAT_CHECKSUM) &&
				   !need_check_commit_time) {
				err = sum_v1(c, b, &next_blk, &crc32_sum);
				walked += count_tags(c, b);
			} else {
				uint32_t n = count_tags(c, b);

				next_blk = wrap_add(c, next_blk, n);
				walked += n;
			}
			bv_cache_put(c->fs->cache, &ref);
			if (err)
				return err;
			continue;
		}

		if (blocktype == JBD2_COMMIT_BLOCK) {
			uint64_t commit_time = bv_be64(b + JBD2_COMMIT_SEC);
			bool bad = false;

			if (pass != PASS_SCAN) {
				bv_cache_put(c->fs->cache, &ref);
				next_id++;
				continue;
			}
			if (need_check_commit_time) {
				bv_cache_put(c->fs->cache, &ref);
				/* A bad descriptor/revoke checksum in a transaction whose commit
				 * is newer than the last good one is real corruption: jbd2 fails
				 * the recovery. An older commit is a stale leftover: the log
				 * ends here. */
				if (commit_time >= last_commit_time)
					return bv_ext4_badcsum(c->fs,
							       "journal: bad checksum in transaction %u",
							       next_id);
				break;
			}
			if (c->compat & JBD2_FEATURE_COMPAT_CHECKSUM) {
				uint32_t found = bv_be32(b + JBD2_COMMIT_CHKSUM);
				uint8_t type = b[JBD2_COMMIT_CHKSUM_TYPE];
				uint8_t size = b[JBD2_COMMIT_CHKSUM_SIZE];

				if (!((found == crc32_sum && type == JBD2_CRC32_CHKSUM &&
				       size == JBD2_CRC32_CHKSUM_SIZE) ||
				      (type == 0 && size == 0 && found == 0)))
					bad = true;
				crc32_sum = ~0u;
			}
			if (!bad && c->csum23 && !commit_csum_ok(c, b))
				bad = true;
			bv_cache_put(c->fs->cache, &ref);
			if (bad) {
				/* The kernel replays the transactions before this one, marks
				 * this one failed and mounts (ext4 then logs "journal
				 * transaction %u is corrupt"); an older commit time means a
				 * stale block and simply ends the log. */
				if (commit_time >= last_commit_time)
					bv_ext4_badcsum(c->fs,
							"journal: transaction %u has a bad commit checksum; replay stops before it",
							next_id);
				break;
			}
			last_commit_time = commit_time;
			next_id++;
			continue;
		}

		if (blocktype == JBD2_REVOKE_BLOCK) {
			if (pass == PASS_SCAN && c->csum23 && !descr_csum_ok(c, b))
				need_check_commit_time = true;
			if (pass == PASS_REVOKE)
				err = scan_revoke(c, b, lblk, seq);
			bv_cache_put(c->fs->cache, &ref);
			if (err)
				return err;
			continue;
		}

		/* An unknown block type ends the log, as in jbd2. */
		bv_cache_put(c->fs->cache, &ref);
		break;
	}

	if (pass == PASS_SCAN) {
		c->end_transaction = next_id;
	} else if (c->end_transaction != next_id) {
		/* Passes disagree only if a log block changed between them. */
		return bv_ext4_corrupt(c->fs, "journal: pass %d ended at transaction %u, not %u",
				       (int)pass, next_id, c->end_transaction);
	}
	return 0;
}

static int ent_cmp(const void *a, const void *b)
{
	const struct jent *x = a, *y = b;

	if (x->blk != y->blk)
		return x->blk < y->blk ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Sorts the recorded copies by block and keeps only the last one written per block. */
static int overlay_build(struct jctx *c, struct bv_journal **out)
{
	struct bv_journal *j = calloc(1, sizeof(*j));
	size_t n = 0;

	if (!j)
		return -ENOMEM;
	qsort(c->ents, c->n_ents, sizeof(*c->ents), ent_cmp);
	for (size_t i = 0; i < c->n_ents; i++) {
		if (i + 1 < c->n_ents && c->ents[i + 1].blk == c->ents[i].blk) {
			free(c->ents[i].copy);
			continue;
		}
		c->ents[n++] = c->ents[i];
	}
	j->ents = c->ents;
	j->count = n;
	j->block_size = c->bs;
	c->ents = NULL;
	c->n_ents = c->cap_ents = 0;
	*out = j;
	return 0;
}

/* Reads and checks the journal superblock (log block 0) into C. */
static int load_sb(struct jctx *c)
{
	struct bv_ext4 *fs = c->fs;
	struct bv_cache_ref ref;
	const uint8_t *b;
	uint32_t blocktype, maxlen, num_fc;
	int err;

	err = jread(c, 0, &ref, NULL);
	if (err)
		return err;
	b = ref.data;
	err = -EUCLEAN;
	if (bv_be32(b) != JBD2_MAGIC_NUMBER) {
		bv_ext4_corrupt(fs, "journal: bad superblock magic 0x%08x (inode %u)", bv_be32(b),
				c->inode.ino);
		goto out;
	}
	blocktype = bv_be32(b + 4);
	if (blocktype != JBD2_SUPERBLOCK_V1 && blocktype != JBD2_SUPERBLOCK_V2) {
		bv_ext4_corrupt(fs, "journal: unknown superblock type %u", blocktype);
		goto out;
	}
	if (bv_be32(b + JBD2_SB_BLOCKSIZE) != c->bs) {
		bv_ext4_corrupt(fs, "journal: block size %u differs from the filesystem's %u",
				bv_be32(b + JBD2_SB_BLOCKSIZE), c->bs);
		goto out;
	}
	maxlen = bv_be32(b + JBD2_SB_MAXLEN);
	if (maxlen > c->total) {
		bv_ext4_corrupt(fs, "journal: s_maxlen %u past the journal inode (%u blocks)",
				maxlen, c->total);
		goto out;
	}
	c->total = maxlen;
	c->first = bv_be32(b + JBD2_SB_FIRST);
	c->sequence = bv_be32(b + JBD2_SB_SEQUENCE);
	c->start = bv_be32(b + JBD2_SB_START);
	if (c->first == 0 || c->first >= maxlen) {
		bv_ext4_corrupt(fs, "journal: s_first %u outside the journal (%u blocks)",
				c->first, maxlen);
		goto out;
	}
	/* A v1 superblock has no feature fields (jbd2 treats them as zero). */
	if (blocktype == JBD2_SUPERBLOCK_V2) {
		c->compat = bv_be32(b + JBD2_SB_FEATURE_COMPAT);
		c->incompat = bv_be32(b + JBD2_SB_FEATURE_INCOMPAT);
		if ((c->incompat & ~JBD2_KNOWN_INCOMPAT_FEATURES) ||
		    (bv_be32(b + JBD2_SB_FEATURE_RO_COMPAT) & ~JBD2_KNOWN_ROCOMPAT_FEATURES)) {
			err = bv_ext4_report(fs, -EOPNOTSUPP,
					     "journal: unknown features (incompat 0x%x, ro_compat 0x%x)",
					     c->incompat & ~JBD2_KNOWN_INCOMPAT_FEATURES,
					     bv_be32(b + JBD2_SB_FEATURE_RO_COMPAT));
			goto out;
		}
	}
	c->csum3 = c->incompat & JBD2_FEATURE_INCOMPAT_CSUM_V3;
	c->csum23 = c->csum3 || (c->incompat & JBD2_FEATURE_INCOMPAT_CSUM_V2);
	c->is64 = c->incompat & JBD2_FEATURE_INCOMPAT_64BIT;
	c->async = c->incompat & JBD2_FEATURE_INCOMPAT_ASYNC_COMMIT;
	if ((c->incompat & JBD2_FEATURE_INCOMPAT_CSUM_V2) && c->csum3) {
		bv_ext4_corrupt(fs, "journal: checksum v2 and v3 both set");
		goto out;
	}
	if (c->csum23 && (c->compat & JBD2_FEATURE_COMPAT_CHECKSUM)) {
		bv_ext4_corrupt(fs, "journal: checksum v1 and v2/v3 both set");
		goto out;
	}
	if (c->csum23) {
		uint32_t want;

		if (b[JBD2_SB_CHECKSUM_TYPE] != JBD2_CRC32C_CHKSUM) {
			bv_ext4_corrupt(fs, "journal: unknown checksum type %u",
					b[JBD2_SB_CHECKSUM_TYPE]);
			goto out;
		}
		want = csum_block(~0u, b, JBD2_SB_SIZE, JBD2_SB_CHECKSUM);
		if (bv_be32(b + JBD2_SB_CHECKSUM) != want) {
			err = bv_ext4_badcsum(fs, "journal: superblock checksum 0x%08x, expected 0x%08x",
					      bv_be32(b + JBD2_SB_CHECKSUM), want);
			goto out;
		}
		c->csum_seed = bv_crc32c(~0u, b + JBD2_SB_UUID, JBD2_UUID_SIZE);
	}

	/* Fast commit blocks sit after the log proper: the log wraps before them. Their
	 * contents (ext4 fast-commit replay) are not interpreted here. */
	c->last = maxlen;
	if (c->incompat & JBD2_FEATURE_INCOMPAT_FAST_COMMIT) {
		num_fc = bv_be32(b + JBD2_SB_NUM_FC_BLKS);
		if (num_fc == 0)
			num_fc = JBD2_DEFAULT_FAST_COMMIT_BLOCKS;
		if (maxlen < num_fc || maxlen - num_fc < JBD2_MIN_JOURNAL_BLOCKS) {
			bv_ext4_corrupt(fs, "journal: %u blocks too short for %u fast-commit blocks",
					maxlen, num_fc);
			goto out;
		}
		c->last = maxlen - num_fc;
	}
	if (c->first >= c->last) {
		bv_ext4_corrupt(fs, "journal: empty log (s_first %u, end %u)", c->first, c->last);
		goto out;
	}
	if (c->start != 0 && (c->start < c->first || c->start >= c->last)) {
		bv_ext4_corrupt(fs, "journal: s_start %u outside the log [%u, %u)", c->start,
				c->first, c->last);
		goto out;
	}
	if (c->csum3)
		c->tag_bytes = JBD2_TAG3_SIZE;
	else
		/* journal_tag_bytes(): csum v2 tags carry 2 more bytes; 32-bit drops the
		 * high block number. */
		c->tag_bytes = JBD2_TAG_SIZE + (c->csum23 ? 2 : 0) - (c->is64 ? 0 : 4);
	err = 0;
out:
	bv_cache_put(fs->cache, &ref);
	return err;
}

static void ctx_free(struct jctx *c)
{
	for (size_t i = 0; i < c->n_ents; i++)
		free(c->ents[i].copy);
	free(c->ents);
	free(c->rv);
}

int bv_journal_load(struct bv_ext4 *fs)
{
	struct jctx c = { .fs = fs, .bs = fs->sb.block_size };
	bool recover = bv_ext4_has_incompat(&fs->sb, EXT4_FEATURE_INCOMPAT_RECOVER);
	uint64_t total;
	int err;

	fs->journal = NULL;
	fs->journal_replayed = 0;
	fs->journal_state = "none";
	if (!bv_ext4_has_compat(&fs->sb, EXT4_FEATURE_COMPAT_HAS_JOURNAL))
		return 0;
	if (fs->sb.s_journal_inum == 0)
		return bv_ext4_report(fs, -EOPNOTSUPP,
				      "journal: external journal (device 0x%x) is not supported",
				      fs->sb.s_journal_dev);
	/* Like mount -o noload: the journal is not read at all. */
	if (fs->skip_journal) {
		fs->journal_state = recover ? "needs_recovery" : "clean";
		if (recover)
			bv_warn("journal: needs recovery but replay was skipped; "
				"recent changes are not visible");
		return 0;
	}

	err = bv_ext4_inode_get(fs, fs->sb.s_journal_inum, &c.inode);
	if (err == -ENOENT)
		return bv_ext4_corrupt(fs, "journal: inode %u is deleted", fs->sb.s_journal_inum);
	if (err)
		return err;
	if (!S_ISREG(c.inode.mode))
		return bv_ext4_corrupt(fs, "journal: inode %u is not a regular file (mode 0%o)",
				       c.inode.ino, c.inode.mode);
	/* jbd2 sizes the journal from i_size; the log counts in 32-bit blocks. */
	total = c.inode.size / c.bs;
	c.total = total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
	if (c.total < 2)
		return bv_ext4_corrupt(fs, "journal: inode %u too small (%llu bytes)", c.inode.ino,
				       (unsigned long long)c.inode.size);

	err = load_sb(&c);
	if (err)
		goto out;
	fs->journal_state = "clean";
	/* The kernel treats s_start 0 as an empty log even when RECOVER is set. */
	if (!recover || c.start == 0)
		goto out;

	/* The kernel then replays ext4 fast commits from the area after the log; we do not
	 * interpret them, so changes recorded only there stay invisible. */
	if (c.incompat & JBD2_FEATURE_INCOMPAT_FAST_COMMIT)
		bv_warn("journal: fast-commit blocks are not replayed; changes recorded only "
			"there are not visible");
	err = do_pass(&c, PASS_SCAN);
	if (!err)
		err = do_pass(&c, PASS_REVOKE);
	if (!err)
		err = do_pass(&c, PASS_REPLAY);
	if (err)
		goto out;
	if (c.n_ents) {
		err = overlay_build(&c, &fs->journal);
		if (err)
			goto out;
		fs->journal_replayed = (uint32_t)fs->journal->count;
	}
	fs->journal_state = "replayed";
	bv_info("journal: replayed transactions %u..%u in memory: %u blocks%s", c.sequence,
		c.end_transaction - 1, fs->journal_replayed,
		c.bad_data_csums ? " (some skipped for bad checksums)" : "");
out:
	ctx_free(&c);
	return err;
}

static const struct jent *ent_find(const struct bv_journal *j, uint64_t blk)
{
	size_t lo = 0, hi = j->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (j->ents[mid].blk < blk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < j->count ? &j->ents[lo] : NULL; /* first entry with .blk >= blk */
}

bool bv_journal_lookup(struct bv_ext4 *fs, uint64_t blk, struct bv_cache_ref *ref, int *err)
{
	const struct bv_journal *j = fs->journal;
	const struct jent *e;
	int rc;

	if (!j)
		return false;
	e = ent_find(j, blk);
	if (!e || e->blk != blk)
		return false;
	if (e->copy) {
		/* An escaped block lives in memory: a ref the cache does not own. */
		ref->data = e->copy;
		ref->priv = NULL;
		*err = 0;
		return true;
	}
	rc = bv_cache_get(fs->cache, e->jphys, ref);
	*err = rc;
	return true;
}

bool bv_journal_overlaps(const struct bv_journal *j, uint64_t blk, uint64_t count)
{
	const struct jent *e;

	if (!j || count == 0)
		return false;
	e = ent_find(j, blk);
	return e && e->blk - blk < count;
}

void bv_journal_free(struct bv_journal *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->count; i++)
		free(j->ents[i].copy);
	free(j->ents);
	free(j);
}
