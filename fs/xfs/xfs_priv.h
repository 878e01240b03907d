/* The XFS reader's internals, shared by its files and its unit tests only.
 *
 * Layering inside fs/xfs/ (each file owns one structure family):
 *   superblock.c  primary superblock: decode, feature allow-list, geometry checks, CRC
 *   log.c         is the log clean? (head search, last record header, unmount record)
 *   ag.c          AGF and AGI headers: the free and inode counters statfs sums at open
 *   inode.c       inode number -> location, dinode checks (CRC, magic, fork sizes), decode
 *   bmap.c        data/attr fork mapping: extent lists and bmbt btrees of any depth, each
 *                 bmbt block checked once per thread and walk
 *   file.c        read, runs for splice, SEEK_DATA/SEEK_HOLE, symlinks (local and remote)
 *   da.c          reading a directory or attr block through the fork map; the v5
 *                 self-describing header check every metadata block shares
 *   da_node.c     the dabtree: name hash, node walk down to a leaf, sibling links
 *   dir.c         directories: shortform, block, leaf, node, btree-format; lookup, readdir
 *   attr.c        xattrs: shortform, leaf, node, remote values, ACLs; list and get
 *   xfs.c         open/close, info, stat and ioctl flags, statfs, the bv_fs_ops table
 *
 * What each structure's checks are, and the work per request, is in docs/ondisk.md.
 *
 * Every on-disk field is read with util/le.h's bv_be* from a (pointer, length) view whose
 * bounds were checked. Nothing here trusts a count, length, offset or depth from disk.
 */
#ifndef BV_FS_XFS_PRIV_H
#define BV_FS_XFS_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blockio/cache.h"
#include "blockio/source.h"
#include "fs/fs.h"

/* The decoded superblock: host order, checked at open, immutable afterwards. */
struct bv_xfs_sb {
	uint32_t blocksize;   /* sb_blocksize: 512..65536, a power of two */
	uint8_t blocklog;
	uint16_t sectsize;
	uint8_t sectlog;
	uint16_t inodesize;   /* 256..2048 */
	uint8_t inodelog;
	uint8_t inopblog;     /* log2(inodes per block) */
	uint32_t agblocks;    /* blocks per AG */
	uint8_t agblklog;     /* log2 rounded up of agblocks */
	uint32_t agcount;
	uint64_t dblocks;     /* blocks in the data device */
	uint32_t dirblksize;  /* directory block bytes: blocksize << sb_dirblklog */
	uint8_t dirblklog;
	uint64_t rootino;
	uint64_t logstart;    /* fsblock of the internal log; 0 = external (refused) */
	uint32_t logblocks;
	uint16_t versionnum;
	uint32_t features2, features_compat, features_ro_compat, features_incompat,
		 features_log_incompat;
	bool crc;             /* v5: CRCs, self-describing metadata headers */
	bool ftype;           /* dirents carry a file type byte */
	bool nrext64;         /* large extent counters */
	bool bigtime;
	bool needsrepair;
	uint8_t uuid[16];     /* sb_uuid */
	uint8_t meta_uuid[16];/* what v5 metadata headers carry (sb_meta_uuid, else sb_uuid) */
	char fname[13];
	uint64_t icount, ifree, fdblocks;
	uint32_t rextsize;
	uint64_t rblocks;
	/* added by the core reader */
	uint64_t rextents;
	uint16_t inopblock;   /* inodes per block: blocksize >> inodelog */
	uint8_t imax_pct;     /* max % of space for inodes (statfs's f_files) */
	uint16_t logsectsize; /* log sector bytes (512 when sb_logsectsize is 0) */
	uint32_t sunit, swidth; /* stripe unit/width, fs blocks */
	bool ro_unknown;      /* unknown ro_compat bits: served anyway, we never write */
	uint64_t rbmino, rsumino, uquotino, gquotino, pquotino; /* no name may lead here */
};

struct bv_xfs {
	struct bv_source *src;
	struct bv_cache *cache;  /* blocksize blocks */
	struct bv_xfs_sb sb;
	uint64_t id;             /* unique per open in this process (bmap.c's per-thread memory) */
	bool skip_csum;
	bool log_dirty;          /* served with norecovery */
	atomic_uint_fast64_t bmbt_checks; /* bmbt blocks checked in full (tests assert it) */
	atomic_uint corrupt_reports; /* corruption lines logged so far; capped */
	/* statfs's free counts, fixed at open (see ag.c and xfs.c's statfs) */
	uint64_t st_fdblocks, st_icount, st_ifree, st_allocbt_blks;
};

/* ---- xfs.c ---- */

/* Logs one line naming a corruption (capped per filesystem, so a broken image cannot flood
 * the log) and returns ERR, so callers write `return bv_xfs_corrupt(fs, "inode %llu: ...")`.
 * Say the inode or block in the message. Thread safe. */
int bv_xfs_report(struct bv_xfs *fs, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define BV_XFS_MAX_REPORTS 64
#define bv_xfs_corrupt(fs, ...) bv_xfs_report((fs), -EUCLEAN, __VA_ARGS__)
#define bv_xfs_badcsum(fs, ...) bv_xfs_report((fs), -EBADMSG, __VA_ARGS__)

/* ---- superblock.c ---- */

/* Decodes and checks the primary superblock in BUF (LEN bytes, at least one sector: 512
 * are enough to find the sector size, the CRC wants sb_sectsize) of a source of DEV_SIZE
 * bytes into SB. -EMEDIUMTYPE (no sentence) when the magic is not XFSB; otherwise -EUCLEAN,
 * -EBADMSG (CRC, unless SKIP_CSUM) or -EOPNOTSUPP with a sentence in ERRBUF. */
int bv_xfs_sb_decode(const uint8_t *buf, size_t len, uint64_t dev_size, bool skip_csum,
		     struct bv_xfs_sb *sb, char *errbuf, size_t errbuf_size);

/* The feature names of SB as mkfs.xfs -N / xfs_info name them, space separated, into BUF. */
void bv_xfs_sb_features(const struct bv_xfs_sb *sb, char *buf, size_t size);

#define BV_XFS_DATA_FORK 0
#define BV_XFS_ATTR_FORK 1

/* Fork formats (di_format / di_aformat). */
#define BV_XFS_FMT_DEV 0
#define BV_XFS_FMT_LOCAL 1
#define BV_XFS_FMT_EXTENTS 2
#define BV_XFS_FMT_BTREE 3

/* A decoded, validated inode: what bv_inode.priv holds for XFS (must fit in it). Forks
 * are not copied: their bytes are read back from the inode's block (IBLOCK, byte offset
 * IOFF within that fs block; the cluster may span blocks, an inode never does). */
struct bv_xfs_inode {
	uint64_t ino;
	uint16_t mode;
	uint8_t version;         /* 1, 2 or 3 */
	uint8_t format, aformat; /* BV_XFS_FMT_* */
	uint32_t uid, gid, nlink;
	uint32_t projid;
	uint64_t size;
	uint64_t nblocks;        /* di_nblocks: fs blocks, both forks */
	uint64_t nextents;       /* data fork extent count */
	uint32_t anextents;      /* attr fork extent count */
	uint16_t flags;          /* di_flags (XFS_DIFLAG_*) */
	uint64_t flags2;         /* di_flags2 (v3) */
	uint32_t extsize, cowextsize;
	uint32_t gen;
	uint32_t rdev;           /* device nodes: di_u, as the kernel's sysv encoding */
	struct { int64_t sec; uint32_t nsec; } atime, mtime, ctime, crtime;
	bool has_crtime;
	uint64_t iblock;         /* fs block holding the inode */
	uint32_t ioff;           /* byte offset of the inode inside that block */
	uint16_t dfork_off, dfork_size; /* data fork: offset from the inode start, bytes */
	uint16_t afork_off, afork_size; /* attr fork (size 0 when there is none) */
};

/* ---- ag.c ---- */

struct bv_xfs_ag_counts {
	uint64_t fdblocks;     /* sum of agf_freeblks + agf_flcount + agf_btreeblks */
	uint64_t allocbt_blks; /* free-space btree blocks beyond the roots (m_allocbt_blks) */
	uint64_t icount, ifree;/* sums of agi_count and agi_freecount */
};

/* Reads and checks every AG's AGF and AGI and sums their counters into OUT. -E2BIG when
 * there are too many AGs to read; -EUCLEAN/-EBADMSG (reported) for a bad header. */
int bv_xfs_ag_counts(struct bv_xfs *fs, struct bv_xfs_ag_counts *out);

/* ---- inode.c ---- */

/* Where inode INO lives: the fsblock holding it and its byte offset in that block. 0, or
 * -EUCLEAN (not logged) when INO is outside the AGs. */
int bv_xfs_ino_locate(const struct bv_xfs *fs, uint64_t ino, uint64_t *fsb, uint32_t *ioff);

/* Reads inode INO (any enum bv_iget rule) into OUT: number checked against the AG
 * geometry, CRC (v5), magic, version, mode, fork formats and sizes that fit the inode,
 * extent counts that fit their fork. -ENOENT for a free inode (mode 0). */
int bv_xfs_inode_read(struct bv_xfs *fs, uint64_t ino, struct bv_xfs_inode *out);

/* Pins the inode's block and points *FORK at the WHICH fork's bytes inside it (*LEN bytes:
 * the literal area's share, already bounds-checked against the inode size). Release with
 * bv_cache_put(fs->cache, REF). -ENODATA when the inode has no such fork. */
int bv_xfs_fork_bytes(struct bv_xfs *fs, const struct bv_xfs_inode *ip, int which,
		      struct bv_cache_ref *ref, const uint8_t **fork, size_t *len);

/* ---- bmap.c ---- */

/* One mapping of a fork: file blocks [OFF, OFF + LEN) are either a hole (HOLE; LEN runs up
 * to the next mapped block or to UINT64_MAX - OFF at the end) or the fs blocks from FSB
 * (an XFS fsblock number: AG in the high bits) and possibly UNWRITTEN (read as zeros). */
struct bv_xfs_map {
	uint64_t off, len;
	uint64_t fsb;
	bool hole, unwritten;
};

/* Maps file block LBLK of fork WHICH (extents or btree format; -EINVAL for others).
 * The answer always starts at LBLK: OUT->off == LBLK, and for a mapping FSB is the fs block
 * holding LBLK itself (the extent trimmed at the front); LEN >= 1.
 * Every extent record and bmbt block is checked (CRC, magic, level, owner, key order,
 * extents inside the filesystem, no overlap); a btree deeper than the format allows or a
 * loop is -EUCLEAN. Bounded work per call: one root-to-leaf walk. */
int bv_xfs_bmap(struct bv_xfs *fs, const struct bv_xfs_inode *ip, int which, uint64_t lblk,
		struct bv_xfs_map *out);

/* A forward walk's place in a fork's map: the records (a bmbt leaf, or the extent list in
 * the inode) its last call reached, pinned, and the file blocks they answer. Mapping on
 * through them then searches only them instead of walking down from the root again for
 * every run (docs/ondisk.md section 16). One thread, one inode, one fork, blocks asked in
 * increasing order (an earlier one walks down again). Zero it before the first call;
 * release it with bv_xfs_bmap_cursor_end(). */
struct bv_xfs_bmap_cursor {
	struct bv_cache_ref ref; /* the block holding the records */
	const uint8_t *recs;     /* the checked records; NULL: none yet */
	size_t nrec;
	uint64_t from, hi, next_key; /* they answer blocks [from, hi); a hole ends at next_key */
	int which;
};

/* bv_xfs_bmap for one step of a forward walk through CUR (NULL: bv_xfs_bmap). */
int bv_xfs_bmap_next(struct bv_xfs *fs, const struct bv_xfs_inode *ip, int which,
		     struct bv_xfs_bmap_cursor *cur, uint64_t lblk, struct bv_xfs_map *out);
void bv_xfs_bmap_cursor_end(struct bv_xfs *fs, struct bv_xfs_bmap_cursor *cur);

/* The byte offset on the source of fs block FSB, after checking that FSB .. FSB + COUNT - 1
 * lie inside one AG and inside the filesystem. -EUCLEAN otherwise. */
int bv_xfs_fsb_to_byte(const struct bv_xfs *fs, uint64_t fsb, uint64_t count, uint64_t *byte);

/* ---- da.c ---- */

/* Reads the directory or attr block at fork block DABLK (fs->sb.dirblksize bytes for the
 * data fork of a directory, fs->sb.blocksize for an attr fork) into BUF, assembling it from
 * however many extents it spans. A hole is -EUCLEAN (a dabtree never points at one).
 * *DADDR (may be NULL) gets the disk address, in 512-byte units, of its first fs block:
 * what a v5 header's blkno must say. */
int bv_xfs_da_read(struct bv_xfs *fs, const struct bv_xfs_inode *ip, int which,
		   uint64_t dablk, uint8_t *buf, size_t len, uint64_t *daddr);

/* Checks a v5 self-describing header: CRC at CRC_OFF over LEN bytes, blkno (the block's
 * daddr, 512-byte units, of its first fs block), owner inode, meta uuid. On v4 does
 * nothing. -EBADMSG for a bad CRC (unless fs->skip_csum), -EUCLEAN for the rest. Logs
 * nothing: the caller reports, naming the inode and block. */
int bv_xfs_hdr3_check(const struct bv_xfs *fs, const uint8_t *buf, size_t len, size_t crc_off,
		      size_t blkno_off, uint64_t daddr, size_t uuid_off, size_t owner_off,
		      uint64_t owner);

/* crc32c of BUF with the 4 bytes at CRC_OFF taken as zero, as xfs_verify_cksum does. */
bool bv_xfs_cksum_ok(const uint8_t *buf, size_t len, size_t crc_off);

/* ---- dir.c ---- */
int bv_xfs_dir_lookup(struct bv_xfs *fs, const struct bv_xfs_inode *dir, const char *name,
		      size_t len, uint64_t *ino);
int bv_xfs_dir_iterate(struct bv_xfs *fs, const struct bv_xfs_inode *dir, uint64_t pos,
		       bv_fs_dir_fn fn, void *ctx);

/* ---- attr.c ---- */
ssize_t bv_xfs_xattr_list(struct bv_xfs *fs, const struct bv_xfs_inode *ip, char *buf,
			  size_t size, bool trusted);
ssize_t bv_xfs_xattr_get(struct bv_xfs *fs, const struct bv_xfs_inode *ip, const char *name,
			 void *buf, size_t size);

/* ==== Directories and xattrs (branch xfs-dir: da_node.c, dir.c, attr.c) ==== */

/* da block headers (struct xfs_da_blkinfo; xfs_da3_blkinfo on v5): byte offsets. Node,
 * directory leaf and attr leaf blocks all start with one. */
#define XFS_DA_NODE_MAGIC 0xfebe
#define XFS_DA3_NODE_MAGIC 0x3ebe
#define XFS_DA_BLKINFO_FORW 0
#define XFS_DA_BLKINFO_BACK 4
#define XFS_DA_BLKINFO_MAGIC 8      /* be16 */
#define XFS_DA3_BLKINFO_CRC 12
#define XFS_DA3_BLKINFO_BLKNO 16
#define XFS_DA3_BLKINFO_UUID 32
#define XFS_DA3_BLKINFO_OWNER 48
#define XFS_DA_BLKINFO_SIZE 12
#define XFS_DA3_BLKINFO_SIZE 56
#define XFS_DA_NODE_MAXDEPTH 5      /* levels of a dabtree, leaves included */

/* The dabtree hash of a name (xfs_da_hashname): each byte rotated in 7 bits at a time. */
uint32_t bv_xfs_da_hashname(const uint8_t *name, size_t len);

/* Which self-describing header a v5 block carries: the da3_blkinfo of node and leaf blocks,
 * the xfs_dir3_blk_hdr of directory data and free blocks, the xfs_attr3_rmt_hdr of a
 * remote attr value block. */
enum bv_xfs_hdr_kind { BV_XFS_HDR_DA, BV_XFS_HDR_DIR3, BV_XFS_HDR_RMT };

/* Reads the da block at fork block DABLK (LEN bytes: dirblksize or blocksize) of fork WHICH
 * into BUF and, on v5, checks its header of kind KIND (CRC -EBADMSG; blkno, owner, uuid
 * -EUCLEAN). The caller checks the magic. */
int bv_xfs_da_blk_read(struct bv_xfs *fs, const struct bv_xfs_inode *ip, int which,
		       uint64_t dablk, uint8_t *buf, size_t len, enum bv_xfs_hdr_kind kind);

/* Walks the dabtree of fork WHICH from ROOT down to a leaf: the leftmost (LEFTMOST) or the
 * first whose hash range may hold HASH, as the kernel's node lookup picks. Node blocks are
 * checked (header, magic, count, level from 1 to XFS_DA_NODE_MAXDEPTH and one less at each
 * step, so a pointer loop is -EUCLEAN); the walk is at most XFS_DA_NODE_MAXDEPTH reads.
 * Returns 0 with the leaf block (not a node, whatever its magic: the caller checks) in BUF
 * and its fork block in *LEAF. */
int bv_xfs_da_find_leaf(struct bv_xfs *fs, const struct bv_xfs_inode *ip, int which,
			uint64_t root, bool leftmost, uint32_t hash, uint8_t *buf, size_t len,
			uint64_t *leaf);

/* Follows the forw link of the leaf in BUF (fork block CUR): 0 and the next leaf in BUF
 * and *NEXT (its back link checked to be CUR, so the chain cannot loop), 1 at the end of
 * the chain, or -errno. Callers bound the number of steps as well. */
int bv_xfs_da_next_leaf(struct bv_xfs *fs, const struct bv_xfs_inode *ip, int which,
			uint64_t cur, uint8_t *buf, size_t len, uint64_t *next);

/* Work per request in a directory or attr fork (docs/ondisk.md section 16). Sizes and
 * extents can claim 32 GiB of directory data space (8 M blocks) and leaf chains whose
 * sibling links close a loop, bounded before only by di_nblocks (up to the filesystem's
 * size): a readdir over empty blocks or a lookup or listxattr going round a two-leaf loop
 * could take seconds to minutes. So one lookup, one readdir call, one getxattr and one
 * listxattr visit at most bv_xfs_walk_budget() blocks (data blocks, holes skipped, leaf
 * blocks along a chain, entries a hash index sends us to: one each), 16384 of up to 4 KiB,
 * 64 MiB in all (1024 of 64 KiB), as fs/ext4/dir.c does. Past it a readdir that passed
 * entries returns -EAGAIN (resume from the last one); anything else is -EUCLEAN, reported. */
#define BV_XFS_WALK_BLOCKS (1u << 14)
#define BV_XFS_WALK_BYTES (64u << 20)
static inline uint32_t bv_xfs_walk_budget(uint32_t block_bytes)
{
	return BV_XFS_WALK_BYTES / block_bytes < BV_XFS_WALK_BLOCKS
		       ? BV_XFS_WALK_BYTES / block_bytes
		       : BV_XFS_WALK_BLOCKS;
}

/* True when INO could name an inode of this filesystem: not 0, its AG and block inside. */
bool bv_xfs_ino_plausible(const struct bv_xfs_sb *sb, uint64_t ino);

/* The most fork blocks a walk of IP's dabtree leaves may visit: a bound for chain walks. */
uint64_t bv_xfs_da_max_blocks(const struct bv_xfs *fs, const struct bv_xfs_inode *ip);

/* ==== end of the xfs-dir section ==== */

/* ---- file.c ---- */
ssize_t bv_xfs_file_read(struct bv_xfs *fs, const struct bv_xfs_inode *ip, void *buf,
			 size_t len, uint64_t off);
int bv_xfs_file_run_get(struct bv_xfs *fs, const struct bv_xfs_inode *ip, uint64_t off,
			size_t len, struct bv_fs_run *out);
int bv_xfs_file_seek(struct bv_xfs *fs, const struct bv_xfs_inode *ip, uint64_t off,
		     bool data, uint64_t *out);
int bv_xfs_readlink(struct bv_xfs *fs, const struct bv_xfs_inode *ip, char *buf, size_t size,
		    size_t *len);

/* ---- log.c ---- */

/* Finds the log's head and says whether its last record is a clean unmount. 0 and *DIRTY,
 * or -EUCLEAN when the log cannot be made sense of (which open refuses). */
int bv_xfs_log_state(struct bv_xfs *fs, bool *dirty);

#endif
