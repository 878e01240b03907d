/* What the reader's own files share: the opened filesystem, the decoded superblock, block
 * reads through the journal overlay and the cache, and corruption reports.
 * Nothing outside fs/ includes this; the FUSE adapter and commands use fs/ext4.h. */
#ifndef BV_FS_EXT4_PRIV_H
#define BV_FS_EXT4_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "blockio/cache.h"
#include "blockio/source.h"
#include "fs/ext4/ext4.h"
#include "fs/ext4/superblock.h"
#include "util/crc.h"

struct bv_journal;

struct bv_ext4 {
	struct bv_source *src;       /* borrowed */
	struct bv_cache *cache;      /* owned; metadata blocks */
	struct bv_journal *journal;  /* owned; NULL when no block needs replaying */
	struct bv_ext4_sb sb;        /* immutable after open */
	bool verify_csum;            /* metadata_csum present and not opts.skip_csum */
	const char *journal_state;   /* see struct bv_ext4_info */
	uint32_t journal_replayed;
	bool skip_journal;           /* opts.skip_journal, set before bv_journal_load */
	atomic_uint corrupt_reports; /* how many corruption lines were logged; capped */
	uint64_t overhead_blocks;    /* metadata blocks statfs leaves out; set at open */
	uint64_t id;                 /* unique per open in this process (blockmap.c's memory) */
	atomic_ulong ext_node_checks; /* extent blocks fully validated (tests count them) */
	/* statfs's free counts, summed from the group descriptors on first use (the image
	 * never changes, so once is enough). free_lock protects the three fields below. */
	pthread_mutex_t free_lock;
	int free_state;              /* 0 not yet, 1 summed, -1 fell back to the superblock */
	uint64_t free_blocks;        /* in blocks (clusters x cluster ratio) */
	uint64_t free_inodes;
};

/* Pins filesystem block BLK: the journal's copy if replay left one, else the cached
 * block. BLK past the end of the filesystem is corruption: -EUCLEAN, reported with WHAT
 * and INO (0 = none) naming who asked. Release with bv_ext4_brelse(). */
int bv_ext4_bread(struct bv_ext4 *fs, uint64_t blk, struct bv_cache_ref *ref);
void bv_ext4_brelse(struct bv_ext4 *fs, struct bv_cache_ref *ref);

/* Reads LEN bytes at byte offset OFF of the filesystem, bypassing the cache, for file
 * data: one pread per call, except where blocks in the range were replayed from the
 * journal, which are copied from there. Returns 0 or -errno. */
int bv_ext4_read_raw(struct bv_ext4 *fs, void *buf, size_t len, uint64_t off);

/* Logs one line naming the corruption (capped per filesystem so a broken image cannot
 * flood the log) and returns ERR, so callers write `return bv_ext4_corrupt(fs, ...)`. */
int bv_ext4_report(struct bv_ext4 *fs, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define bv_ext4_corrupt(fs, ...) bv_ext4_report((fs), -EUCLEAN, __VA_ARGS__)
#define bv_ext4_badcsum(fs, ...) bv_ext4_report((fs), -EBADMSG, __VA_ARGS__)

/* ---- inode.c ---- */

/* Pins the inode table block holding inode INO and gives the inode's byte offset in it.
 * The raw inode is fs->sb.inode_size bytes there. For xattr.c (in-inode xattrs). */
int bv_ext4_inode_raw_get(struct bv_ext4 *fs, uint32_t ino, struct bv_cache_ref *ref,
			  uint32_t *offset);

/* ---- blockmap.c: logical to physical block mapping (extents and indirect maps) ---- */

/* One run of a file's logical blocks, as ext4_map_blocks answers: LEN blocks from LBLK
 * are either at PBLK.. (mapped; UNWRITTEN reads as zeros) or a hole (PBLK 0). */
struct bv_ext4_map {
	uint64_t lblk;
	uint64_t pblk;
	uint32_t len;
	bool unwritten;
	bool hole;
};

/* Maps logical block LBLK of INODE (extent-mapped or indirect), answering a run of at most
 * MAX_LEN blocks. A hole runs to the next mapped block (or MAX_LEN). Every physical block
 * answered lies inside the filesystem. Returns 0 or -errno. */
int bv_ext4_map_blocks(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, uint64_t lblk,
		       uint32_t max_len, struct bv_ext4_map *out);

/* A forward walk's place in an extent tree: the leaf its last call reached, pinned, and
 * the logical blocks that leaf answers. Mapping on through the same leaf then searches
 * only that leaf instead of descending the tree again for every run: a SEEK_DATA over
 * 65536 runs of a depth-2 tree makes 194 cache gets instead of 131072 (docs/ondisk.md
 * section 16). One thread, one inode (a root leaf points into its i_block), blocks asked
 * in increasing order (an earlier one descends again). Zero it before the first call;
 * release it with bv_ext4_map_cursor_end(). Indirect maps ignore it. */
struct bv_ext4_map_cursor {
	struct bv_cache_ref ref; /* the leaf's block; holds nothing when the root is the leaf */
	const uint8_t *ent;      /* the leaf's checked entries; NULL: no leaf yet */
	uint16_t entries;
	uint64_t from, limit; /* it answers blocks [from, limit) */
};

/* bv_ext4_map_blocks for one step of a forward walk through CUR (NULL: bv_ext4_map_blocks). */
int bv_ext4_map_next(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
		     struct bv_ext4_map_cursor *cur, uint64_t lblk, uint32_t max_len,
		     struct bv_ext4_map *out);
void bv_ext4_map_cursor_end(struct bv_ext4 *fs, struct bv_ext4_map_cursor *cur);

/* The first logical block INODE's map cannot address (2^32 for extents, past the triple
 * indirect range for block maps): nothing is ever mapped from there on. */
uint64_t bv_ext4_map_limit(const struct bv_ext4 *fs, const struct bv_ext4_inode *inode);

/* ---- inline.c: inline data (i_block head + system.data xattr tail) ---- */

/* Size of INODE's inline data (60 + system.data length); -errno on corruption. */
ssize_t bv_ext4_inline_size(struct bv_ext4 *fs, const struct bv_ext4_inode *inode);

/* Reads inline data bytes [OFF, OFF+LEN) into BUF; returns the count (short at the end). */
ssize_t bv_ext4_inline_read(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, void *buf,
			    size_t len, uint64_t off);

/* ---- xattr.c ---- */

/* Raw xattr lookup by on-disk name index (EXT4_XATTR_INDEX_*) and suffix, in the inode
 * body then the xattr block (ea_inode values followed). Same size semantics as getxattr. */
ssize_t bv_ext4_xattr_get_raw(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			      uint8_t name_index, const char *name, size_t name_len, void *buf,
			      size_t size);

/* ---- journal.c: in-memory replay ---- */

/* Reads the journal superblock (internal journal, inode fs->sb.s_journal_inum). If the
 * filesystem needs recovery, walks the log and records, for every block the kernel would
 * replay, where its newest copy lives; nothing is written. Sets fs->journal (NULL when
 * nothing is to replay), fs->journal_state and fs->journal_replayed.
 * -EUCLEAN / -EBADMSG on a journal the kernel would refuse. */
int bv_journal_load(struct bv_ext4 *fs);

/* If block BLK was replayed, pins the replayed copy into *REF and returns true. */
bool bv_journal_lookup(struct bv_ext4 *fs, uint64_t blk, struct bv_cache_ref *ref, int *err);

/* True when any block in [BLK, BLK+COUNT) was replayed. */
bool bv_journal_overlaps(const struct bv_journal *j, uint64_t blk, uint64_t count);

void bv_journal_free(struct bv_journal *j);

#endif
