/* Directories: shortform (in the inode), block, leaf and node formats (the data fork in
 * extents or a bmbt, which bv_xfs_bmap and bv_xfs_da_read make transparent).
 *
 * A directory's data fork is three spaces of 32 GiB: data blocks from offset 0 (entries
 * and unused runs, each starting on an 8-byte boundary and ending in a tag that holds its
 * own offset), the hash index from XFS_DIR2_LEAF_OFFSET (one leaf1 block, or a dabtree of
 * leafn blocks) and the free-space index from 64 GiB, which a reader never needs. A
 * block-format directory is one data block with its hash index at its end.
 *
 * Positions (readdir cookies) are the kernel's dataptrs: the byte offset of an entry in
 * the data space, in 8-byte units. Shortform entries carry the offset they would have in a
 * block ("." and ".." have the fixed offsets of the block format), so a position means the
 * same in every format. An entry's NEXT_POS is the dataptr of its end: every entry after
 * it starts there or later, nothing before it does, so a walk resumed from it neither
 * repeats nor skips an entry, and positions only grow.
 *
 * Lookup cost: shortform and block directories are scanned (at most one inode fork or one
 * directory block, 64 KiB). Leaf and node directories use the hash index: a binary search
 * of the leaf1 block, or the dabtree walk (at most XFS_DA_NODE_MAXDEPTH blocks) and the
 * leafn blocks holding that hash, then one data block per entry with a matching hash. So a
 * lookup reads O(depth + collisions) blocks whatever the directory's size, and listing a
 * directory then looking up every name costs O(n log n), never O(n^2) as scanning all
 * data blocks per lookup would. Each data block read is checked in full (O(block size)).
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/xfs/xfs_priv.h"
#include "util/le.h"

#define XFS_DIR2_BLOCK_MAGIC 0x58443242u /* XD2B */
#define XFS_DIR2_DATA_MAGIC 0x58443244u  /* XD2D */
#define XFS_DIR3_BLOCK_MAGIC 0x58444233u /* XDB3 */
#define XFS_DIR3_DATA_MAGIC 0x58444433u  /* XDD3 */
#define XFS_DIR2_LEAF1_MAGIC 0xd2f1
#define XFS_DIR2_LEAFN_MAGIC 0xd2ff
#define XFS_DIR3_LEAF1_MAGIC 0x3df1
#define XFS_DIR3_LEAFN_MAGIC 0x3dff

#define XFS_DIR2_DATA_FREE_TAG 0xffff
#define XFS_DIR2_DATA_ALIGN 8
#define XFS_DIR2_LEAF_OFFSET (1ULL << 35) /* 32 GiB: the hash index space */
#define XFS_DIR2_NULL_DATAPTR 0

/* struct xfs_dir2_data_hdr (magic, bestfree[3]) / xfs_dir3_data_hdr (48-byte blk hdr,
 * bestfree[3], pad): the first entry follows. */
#define DATA_HDR_SIZE(crc) ((crc) ? 64u : 16u)
/* struct xfs_dir2_leaf_hdr / xfs_dir3_leaf_hdr: count and stale after the blkinfo. */
#define LEAF_COUNT(crc) ((crc) ? 56u : 12u)
#define LEAF_HDR_SIZE(crc) ((crc) ? 64u : 16u)
#define LEAF_ENTRY_SIZE 8 /* hashval, address */
/* xfs_dir2_block_tail: count, stale; at the very end of a block-format block. */
#define BLOCK_TAIL_SIZE 8
/* xfs_dir2_leaf_tail: bestcount; at the very end of a leaf1 block, bests[] before it. */
#define LEAF1_TAIL_SIZE 4

/* Shortform: xfs_dir2_sf_hdr is count, i8count, parent (4 or 8 bytes); each entry is
 * namelen, offset[2], name, [ftype], inumber (4 or 8 bytes). */
#define SF_HDR_SIZE(i8) ((i8) ? 10u : 6u)
#define SF_ENTRY_FIXED 3

#define XFS_DIR3_FT_MAX 9
#define XFS_NAME_MAX 255
/* sb_versionnum's "borg bit": the ascii-ci feature (case-insensitive names). */
#define XFS_SB_VERSION_BORGBIT 0x4000

/* What every operation on one directory needs. */
struct dctx {
	struct bv_xfs *fs;
	const struct bv_xfs_inode *dir;
	uint32_t bsize;     /* directory block bytes */
	uint32_t fsbcount;  /* fs blocks per directory block */
	unsigned blklog;    /* log2(bsize) */
	uint64_t leafblk;   /* fork block where the hash index space starts */
	uint64_t ndata;     /* directory blocks in the data space (from di_size) */
	bool crc, ftype, ci;
	uint8_t *buf;       /* one directory block */
	uint64_t buf_db;    /* the checked data block in BUF, UINT64_MAX for none */
	bool buf_raw0;      /* BUF holds block 0 as read (header checked, entries not) */
	uint32_t budget;    /* blocks this request may still visit (bv_xfs_walk_budget) */
	uint64_t passed;    /* entries handed to the caller's callback so far */
};

/* Takes one block from the request's budget: 0, or -EAGAIN when it is spent (nothing
 * reported: the caller says what it was doing). */
static int spend(struct dctx *d)
{
	if (d->budget == 0)
		return -EAGAIN;
	d->budget--;
	return 0;
}

/* One checked entry of a data block. NAME points into the block. */
struct dent {
	uint64_t ino;
	const uint8_t *name;
	uint8_t namelen;
	uint8_t ftype;
	uint32_t off;  /* in the block */
	uint32_t size; /* entsize */
};

typedef int (*dent_fn)(struct dctx *d, const struct dent *e, uint64_t db, void *arg);

static unsigned char ft_to_dt(uint8_t ft)
{
	static const unsigned char dt[XFS_DIR3_FT_MAX] = {
		DT_UNKNOWN, DT_REG, DT_DIR, DT_CHR, DT_BLK, DT_FIFO, DT_SOCK, DT_LNK, DT_WHT,
	};

	return ft < XFS_DIR3_FT_MAX ? dt[ft] : DT_UNKNOWN;
}

/* xfs_dir2_data_entsize: inumber, namelen, name, [ftype], tag, rounded to 8. */
static uint32_t entsize(const struct dctx *d, unsigned namelen)
{
	return (8u + 1u + namelen + (d->ftype ? 1u : 0u) + 2u + 7u) & ~7u;
}

static int dctx_init(struct dctx *d, struct bv_xfs *fs, const struct bv_xfs_inode *dir)
{
	const struct bv_xfs_sb *sb = &fs->sb;
	uint64_t space;

	memset(d, 0, sizeof(*d));
	d->fs = fs;
	d->dir = dir;
	d->bsize = sb->dirblksize;
	d->blklog = (unsigned)sb->blocklog + sb->dirblklog;
	d->fsbcount = 1u << sb->dirblklog;
	d->leafblk = XFS_DIR2_LEAF_OFFSET >> sb->blocklog;
	d->crc = sb->crc;
	d->ftype = sb->ftype;
	d->ci = (sb->versionnum & XFS_SB_VERSION_BORGBIT) != 0;
	d->buf_db = UINT64_MAX;
	d->budget = bv_xfs_walk_budget(d->bsize);
	/* The data space ends at di_size (only data blocks grow it) and at 32 GiB. */
	space = dir->size < XFS_DIR2_LEAF_OFFSET ? dir->size : XFS_DIR2_LEAF_OFFSET;
	d->ndata = (space + d->bsize - 1) >> d->blklog;
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	return 0;
}

static uint8_t *dbuf(struct dctx *d)
{
	if (!d->buf)
		d->buf = malloc(d->bsize);
	return d->buf;
}

static int dcorrupt(const struct dctx *d, uint64_t db, uint32_t off, const char *why)
{
	if (db == UINT64_MAX)
		return bv_xfs_corrupt(d->fs, "directory inode %" PRIu64 ": shortform, byte %"
				      PRIu32 ": %s", d->dir->ino, off, why);
	return bv_xfs_corrupt(d->fs, "directory inode %" PRIu64 ": directory block %" PRIu64
			      ", offset %" PRIu32 ": %s", d->dir->ino, db, off, why);
}

/* xfs_dir2_namecheck: a name is 1..255 bytes with neither '/' nor NUL. */
static bool name_ok(const uint8_t *name, size_t len)
{
	return len >= 1 && len <= XFS_NAME_MAX && !memchr(name, '/', len) && !memchr(name, 0, len);
}

static uint8_t ci_fold(uint8_t c)
{
	/* xfs_ascii_ci_xfrm: ASCII letters only. */
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static uint32_t dir_hash(const struct dctx *d, const uint8_t *name, size_t len)
{
	uint32_t hash = 0;

	if (!d->ci)
		return bv_xfs_da_hashname(name, len);
	for (size_t i = 0; i < len; i++)
		hash = ((hash << 7) | (hash >> 25)) ^ ci_fold(name[i]);
	return hash;
}

/* 2: the same name; 1: the same name but for ASCII case, on an ascii-ci filesystem. */
static int name_cmp(const struct dctx *d, const uint8_t *a, size_t alen, const char *b,
		    size_t blen)
{
	if (alen != blen)
		return 0;
	if (memcmp(a, b, alen) == 0)
		return 2;
	if (!d->ci)
		return 0;
	for (size_t i = 0; i < alen; i++)
		if (ci_fold(a[i]) != ci_fold((uint8_t)b[i]))
			return 0;
	return 1;
}

/* ---- data blocks ---- */

/* Walks the data entries of block DB in BUF, bytes [DATA_HDR_SIZE, END), checking every
 * entry and unused run the way the kernel's data block verifier does; FN (may be NULL) is
 * called for each entry that starts at FROM or later. Each step advances at least 8 bytes,
 * so the walk ends within END / 8 steps. Returns 0, FN's non-zero value or -EUCLEAN. */
static int data_walk(struct dctx *d, const uint8_t *buf, size_t end, uint64_t db, size_t from,
		     dent_fn fn, void *arg)
{
	size_t off = DATA_HDR_SIZE(d->crc);
	int ret;

	while (off < end) {
		const uint8_t *p = buf + off;
		struct dent e;

		if (!bv_in_bounds(off, 8, end))
			return dcorrupt(d, db, (uint32_t)off, "entry header runs past the data");
		if (bv_be16(p) == XFS_DIR2_DATA_FREE_TAG) {
			/* xfs_dir2_data_unused: freetag, length, ..., tag. */
			size_t len = bv_be16(p + 2);

			if (len < 8 || len % XFS_DIR2_DATA_ALIGN || !bv_in_bounds(off, len, end))
				return dcorrupt(d, db, (uint32_t)off, "bad unused entry length");
			if (bv_be16(p + len - 2) != off)
				return dcorrupt(d, db, (uint32_t)off, "unused entry tag is not its "
						"offset");
			off += len;
			continue;
		}
		e.ino = bv_be64(p);
		e.namelen = p[8];
		e.name = p + 9;
		e.off = (uint32_t)off;
		e.size = entsize(d, e.namelen);
		if (!bv_in_bounds(off, e.size, end))
			return dcorrupt(d, db, (uint32_t)off, "entry runs past the data");
		if (bv_be16(p + e.size - 2) != off)
			return dcorrupt(d, db, (uint32_t)off, "entry tag is not its offset");
		/* "." and ".." are stored entries here; every other name must be a name. */
		if (!name_ok(e.name, e.namelen))
			return dcorrupt(d, db, (uint32_t)off, "bad entry name");
		e.ftype = d->ftype ? p[9 + e.namelen] : 0;
		if (e.ftype >= XFS_DIR3_FT_MAX)
			return dcorrupt(d, db, (uint32_t)off, "bad file type");
		if (!bv_xfs_ino_plausible(&d->fs->sb, e.ino))
			return dcorrupt(d, db, (uint32_t)off, "inode number outside the "
					"filesystem");
		if (fn && off >= from && (ret = fn(d, &e, db, arg)) != 0)
			return ret;
		off += e.size;
	}
	return 0;
}

/* Reads directory block DB of the data space into d->buf and checks its header: the
 * block-format magic when BLOCK, the data magic otherwise. *END is where the entries end
 * (before the hash index of a block-format block). */
static int data_read(struct dctx *d, uint64_t db, bool block, size_t *end)
{
	uint8_t *buf = dbuf(d);
	uint32_t magic, want;
	int err;

	if (!buf)
		return -ENOMEM;
	if (d->buf_db != db && !(db == 0 && d->buf_raw0)) {
		d->buf_db = UINT64_MAX;
		d->buf_raw0 = false;
		err = bv_xfs_da_blk_read(d->fs, d->dir, BV_XFS_DATA_FORK, db * d->fsbcount, buf,
					 d->bsize, BV_XFS_HDR_DIR3);
		if (err)
			return err;
	}
	magic = bv_be32(buf);
	if (block)
		want = d->crc ? XFS_DIR3_BLOCK_MAGIC : XFS_DIR2_BLOCK_MAGIC;
	else
		want = d->crc ? XFS_DIR3_DATA_MAGIC : XFS_DIR2_DATA_MAGIC;
	if (magic != want)
		return dcorrupt(d, db, 0, block ? "bad block-format magic" : "bad data magic");
	*end = d->bsize;
	if (block) {
		uint64_t count = bv_be32(buf + d->bsize - BLOCK_TAIL_SIZE);
		uint64_t leaf = count * LEAF_ENTRY_SIZE + BLOCK_TAIL_SIZE;

		if (leaf > d->bsize - DATA_HDR_SIZE(d->crc))
			return dcorrupt(d, db, d->bsize - BLOCK_TAIL_SIZE, "leaf count does not "
					"fit the block");
		*end = d->bsize - (size_t)leaf;
	}
	/* Checked once per read: later walks of the same buffer may trust it. */
	if (d->buf_db != db) {
		d->buf_raw0 = false;
		err = data_walk(d, buf, *end, db, 0, NULL, NULL);
		if (err)
			return err;
		d->buf_db = db;
	}
	return 0;
}

/* What block 0 says the directory is: 1 for block format, 0 for leaf or node. */
static int dir_is_block(struct dctx *d)
{
	uint8_t *buf = dbuf(d);
	uint32_t magic;
	int err;

	if (!buf)
		return -ENOMEM;
	/* Block 0 always exists: it holds "." and "..", which are never removed. */
	err = bv_xfs_da_blk_read(d->fs, d->dir, BV_XFS_DATA_FORK, 0, buf, d->bsize,
				 BV_XFS_HDR_DIR3);
	if (err)
		return err;
	/* Kept for the data_read of block 0 that follows. */
	d->buf_raw0 = true;
	magic = bv_be32(buf);
	if (magic == (d->crc ? XFS_DIR3_BLOCK_MAGIC : XFS_DIR2_BLOCK_MAGIC))
		return 1;
	if (magic == (d->crc ? XFS_DIR3_DATA_MAGIC : XFS_DIR2_DATA_MAGIC))
		return 0;
	return dcorrupt(d, 0, 0, "block 0 is neither a block-format nor a data block");
}

/* ---- shortform ---- */

struct sf {
	const uint8_t *p;
	size_t len;     /* di_size: the bytes in use */
	size_t first;   /* first entry */
	unsigned count;
	bool i8;
	uint64_t parent;
};

static uint64_t sf_ino(const uint8_t *p, bool i8)
{
	return i8 ? bv_be64(p) : bv_be32(p);
}

/* Checks the whole shortform directory as xfs_dir2_sf_verify does: header, every entry
 * inside di_size, offsets increasing, names, types, inode numbers, i8count. */
static int sf_open(struct dctx *d, const uint8_t *fork, size_t forklen, struct sf *sf)
{
	size_t pos, hdr;
	unsigned i, i8count = 0;
	uint32_t next_off;

	if (d->dir->size > forklen || d->dir->size < SF_HDR_SIZE(false))
		return dcorrupt(d, UINT64_MAX, 0, "size does not fit the inode fork");
	sf->p = fork;
	sf->len = (size_t)d->dir->size;
	sf->count = fork[0];
	sf->i8 = fork[1] != 0;
	hdr = SF_HDR_SIZE(sf->i8);
	if (hdr > sf->len)
		return dcorrupt(d, UINT64_MAX, 0, "header runs past the data");
	sf->parent = sf_ino(fork + 2, sf->i8);
	if (!bv_xfs_ino_plausible(&d->fs->sb, sf->parent))
		return dcorrupt(d, UINT64_MAX, 0, "bad parent inode number");
	if (sf->parent > UINT32_MAX)
		i8count++;
	sf->first = hdr;
	/* "." and ".." take the first two slots of the block they would be in. */
	next_off = DATA_HDR_SIZE(d->crc) + entsize(d, 1) + entsize(d, 2);
	pos = hdr;
	/* COUNT is a byte: at most 255 steps, each inside di_size. */
	for (i = 0; i < sf->count; i++) {
		const uint8_t *e = fork + pos;
		size_t namelen, esize, ino_at;
		uint64_t ino;

		if (!bv_in_bounds(pos, SF_ENTRY_FIXED, sf->len))
			return dcorrupt(d, UINT64_MAX, (uint32_t)pos, "count is more entries "
					"than the fork holds");
		namelen = e[0];
		ino_at = SF_ENTRY_FIXED + namelen + (d->ftype ? 1 : 0);
		esize = ino_at + (sf->i8 ? 8 : 4);
		if (!bv_in_bounds(pos, esize, sf->len))
			return dcorrupt(d, UINT64_MAX, (uint32_t)pos, "count is more entries "
					"than the fork holds");
		if (!name_ok(e + SF_ENTRY_FIXED, namelen))
			return dcorrupt(d, UINT64_MAX, (uint32_t)pos, "bad entry name");
		if (bv_be16(e + 1) < next_off)
			return dcorrupt(d, UINT64_MAX, (uint32_t)pos, "entry offsets do not "
					"increase");
		next_off = bv_be16(e + 1) + entsize(d, (unsigned)namelen);
		if (d->ftype && e[SF_ENTRY_FIXED + namelen] >= XFS_DIR3_FT_MAX)
			return dcorrupt(d, UINT64_MAX, (uint32_t)pos, "bad file type");
		ino = sf_ino(e + ino_at, sf->i8);
		if (!bv_xfs_ino_plausible(&d->fs->sb, ino))
			return dcorrupt(d, UINT64_MAX, (uint32_t)pos, "inode number outside the "
					"filesystem");
		if (ino > UINT32_MAX)
			i8count++;
		pos += esize;
	}
	if (pos != sf->len)
		return dcorrupt(d, UINT64_MAX, (uint32_t)pos, "entries do not end at the size");
	if (i8count != fork[1])
		return dcorrupt(d, UINT64_MAX, 0, "i8count does not match the inode numbers");
	return 0;
}

/* Entry I of a checked shortform directory, from *POS (advanced past it). */
static void sf_entry(const struct dctx *d, const struct sf *sf, size_t *pos, struct dent *e)
{
	const uint8_t *p = sf->p + *pos;
	size_t ino_at;

	e->namelen = p[0];
	e->off = bv_be16(p + 1);
	e->name = p + SF_ENTRY_FIXED;
	e->ftype = d->ftype ? p[SF_ENTRY_FIXED + e->namelen] : 0;
	ino_at = SF_ENTRY_FIXED + e->namelen + (d->ftype ? 1 : 0);
	e->ino = sf_ino(p + ino_at, sf->i8);
	e->size = entsize(d, e->namelen);
	*pos += ino_at + (sf->i8 ? 8 : 4);
}

static int sf_with(struct dctx *d, struct bv_cache_ref *ref, struct sf *sf)
{
	const uint8_t *fork;
	size_t len;
	int err;

	err = bv_xfs_fork_bytes(d->fs, d->dir, BV_XFS_DATA_FORK, ref, &fork, &len);
	if (err)
		return err == -ENODATA ? dcorrupt(d, UINT64_MAX, 0, "no data fork") : err;
	err = sf_open(d, fork, len, sf);
	if (err)
		bv_cache_put(d->fs->cache, ref);
	return err;
}

static int sf_iterate(struct dctx *d, uint64_t pos, bv_fs_dir_fn fn, void *ctx)
{
	struct bv_cache_ref ref;
	uint32_t dot = DATA_HDR_SIZE(d->crc), dotdot = dot + entsize(d, 1);
	uint32_t first = dotdot + entsize(d, 2);
	struct sf sf;
	size_t p;
	int ret;

	ret = sf_with(d, &ref, &sf);
	if (ret)
		return ret;
	if (pos <= dot / 8 && (ret = fn(ctx, ".", 1, d->dir->ino, DT_DIR, dotdot / 8)) != 0)
		goto out;
	if (pos <= dotdot / 8 && (ret = fn(ctx, "..", 2, sf.parent, DT_DIR, first / 8)) != 0)
		goto out;
	p = sf.first;
	for (unsigned i = 0; i < sf.count; i++) {
		struct dent e;

		sf_entry(d, &sf, &p, &e);
		if (e.off / 8 < pos)
			continue;
		ret = fn(ctx, (const char *)e.name, e.namelen, e.ino,
			 d->ftype ? ft_to_dt(e.ftype) : DT_UNKNOWN, (e.off + e.size) / 8);
		if (ret)
			goto out;
	}
out:
	bv_cache_put(d->fs->cache, &ref);
	return ret;
}

static int sf_lookup(struct dctx *d, const char *name, size_t len, uint64_t *ino)
{
	struct bv_cache_ref ref;
	struct sf sf;
	uint64_t ci_ino = 0;
	size_t p;
	int ret;

	ret = sf_with(d, &ref, &sf);
	if (ret)
		return ret;
	ret = -ENOENT;
	if (len == 1 && name[0] == '.') {
		*ino = d->dir->ino;
		ret = 0;
	} else if (len == 2 && name[0] == '.' && name[1] == '.') {
		*ino = sf.parent;
		ret = 0;
	} else {
		p = sf.first;
		for (unsigned i = 0; i < sf.count; i++) {
			struct dent e;
			int m;

			sf_entry(d, &sf, &p, &e);
			m = name_cmp(d, e.name, e.namelen, name, len);
			if (m == 2) {
				*ino = e.ino;
				ret = 0;
				break;
			}
			if (m == 1 && !ci_ino)
				ci_ino = e.ino;
		}
		if (ret && ci_ino) {
			*ino = ci_ino;
			ret = 0;
		}
	}
	bv_cache_put(d->fs->cache, &ref);
	return ret;
}

/* ---- readdir over data blocks ---- */

struct emit {
	bv_fs_dir_fn fn;
	void *ctx;
};

static int emit_one(struct dctx *d, const struct dent *e, uint64_t db, void *arg)
{
	struct emit *em = arg;
	uint64_t end = (db << d->blklog) + e->off + e->size;

	d->passed++;
	return em->fn(em->ctx, (const char *)e->name, e->namelen, e->ino,
		      d->ftype ? ft_to_dt(e->ftype) : DT_UNKNOWN, end / XFS_DIR2_DATA_ALIGN);
}

/* Walks the data blocks from the one holding byte START of the data space, skipping holes
 * (blocks freed when they emptied). Each step of the loop either handles a mapped
 * directory block or skips a whole hole, so it ends within (blocks + holes) steps; the
 * step count is capped by the blocks the inode has, too. */
static int data_iterate(struct dctx *d, bool block, uint64_t start, bv_fs_dir_fn fn, void *ctx)
{
	struct emit em = { fn, ctx };
	uint64_t db = start >> d->blklog;
	uint64_t steps = 0, max_steps = bv_xfs_da_max_blocks(d->fs, d->dir) + d->dir->nextents + 1;
	size_t from = start & (d->bsize - 1), end;
	int ret;

	if (block && db > 0)
		return 0;
	while (db < (block ? 1 : d->ndata)) {
		struct bv_xfs_map map;

		if (++steps > max_steps)
			return dcorrupt(d, db, 0, "more directory blocks than the inode has");
		ret = spend(d);
		if (ret == -EAGAIN && d->passed == 0)
			return bv_xfs_corrupt(d->fs, "directory inode %" PRIu64 ": %" PRIu32
					      " directory blocks from position %" PRIu64 " hold "
					      "no entry (the most one request reads)", d->dir->ino,
					      bv_xfs_walk_budget(d->bsize), start / XFS_DIR2_DATA_ALIGN);
		if (ret)
			return ret;
		if (!block) {
			ret = bv_xfs_bmap(d->fs, d->dir, BV_XFS_DATA_FORK, db * d->fsbcount, &map);
			if (ret)
				return ret;
			if (map.hole || map.unwritten) {
				/* Go on at the first directory block at or after the hole's end. */
				uint64_t next = map.off + map.len;

				if (map.len == 0 || next <= db * d->fsbcount)
					return dcorrupt(d, db, 0, "block map does not advance");
				db = (next + d->fsbcount - 1) / d->fsbcount;
				from = 0;
				continue;
			}
		}
		ret = data_read(d, db, block, &end);
		if (ret)
			return ret;
		ret = data_walk(d, d->buf, end, db, from, emit_one, &em);
		if (ret)
			return ret;
		from = 0;
		db++;
	}
	return 0;
}

/* ---- lookup through the hash index ---- */

struct match {
	const char *name;
	size_t len;
	uint64_t ino, ci_ino;
	bool found;
	uint32_t want_off; /* the entry the leaf points at */
	bool at_entry;
};

static int match_at(struct dctx *d, const struct dent *e, uint64_t db, void *arg)
{
	struct match *m = arg;
	int c;

	if (e->off < m->want_off)
		return 0;
	if (e->off != m->want_off)
		return 1; /* walked past it: the address is not an entry */
	m->at_entry = true;
	c = name_cmp(d, e->name, e->namelen, m->name, m->len);
	if (c == 2) {
		m->ino = e->ino;
		m->found = true;
	} else if (c == 1 && !m->ci_ino) {
		m->ci_ino = e->ino;
	}
	return 1;
}

/* For a scan of a whole block: stops at the exact name, remembers a case-insensitive one. */
static int match_all(struct dctx *d, const struct dent *e, uint64_t db, void *arg)
{
	struct match *m = arg;
	int c = name_cmp(d, e->name, e->namelen, m->name, m->len);

	if (c == 2) {
		m->ino = e->ino;
		m->found = true;
		return 1;
	}
	if (c == 1 && !m->ci_ino)
		m->ci_ino = e->ino;
	return 0;
}

/* Checks the data entry at dataptr ADDR against the name in M. */
static int check_addr(struct dctx *d, uint32_t addr, struct match *m)
{
	uint64_t byte = (uint64_t)addr * XFS_DIR2_DATA_ALIGN;
	uint64_t db = byte >> d->blklog;
	size_t end;
	int ret;

	if (db >= d->ndata)
		return dcorrupt(d, d->leafblk, 0, "hash index points past the data space");
	/* Each entry a hash index sends us to costs a walk of its block, cached or not. */
	ret = spend(d);
	if (ret)
		return ret;
	ret = data_read(d, db, false, &end);
	if (ret)
		return ret;
	m->want_off = (uint32_t)(byte & (d->bsize - 1));
	m->at_entry = false;
	ret = data_walk(d, d->buf, end, db, 0, match_at, m);
	if (ret < 0)
		return ret;
	if (!m->at_entry)
		return dcorrupt(d, db, m->want_off, "hash index points at no entry");
	return 0;
}

/* Looks HASH up in the leaf entries at ENTS (COUNT of them, sorted by hash) of the leaf at
 * fork block LEAF (in LBUF). *MORE says that the last entry had HASH, so the next leaf may
 * hold more. */
static int leaf_match(struct dctx *d, const uint8_t *ents, unsigned count, uint32_t hash,
		      struct match *m, bool *more)
{
	unsigned lo = 0, hi = count, i;
	int ret;

	/* The first entry whose hash is >= HASH. */
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (bv_be32(ents + (size_t)mid * LEAF_ENTRY_SIZE) < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < count && bv_be32(ents + (size_t)i * LEAF_ENTRY_SIZE) == hash; i++) {
		uint32_t addr = bv_be32(ents + (size_t)i * LEAF_ENTRY_SIZE + 4);

		if (addr == XFS_DIR2_NULL_DATAPTR)
			continue; /* stale */
		ret = check_addr(d, addr, m);
		if (ret)
			return ret;
		if (m->found)
			return 0;
	}
	*more = i == count;
	return 0;
}

/* The entries of a leaf1 (LEAF1) or leafn block in LBUF, after checking that they fit. */
static int leaf_entries(struct dctx *d, const uint8_t *lbuf, uint64_t blk, bool leaf1,
			const uint8_t **ents, unsigned *count)
{
	uint16_t want = leaf1 ? (d->crc ? XFS_DIR3_LEAF1_MAGIC : XFS_DIR2_LEAF1_MAGIC)
			      : (d->crc ? XFS_DIR3_LEAFN_MAGIC : XFS_DIR2_LEAFN_MAGIC);
	uint64_t room = d->bsize - LEAF_HDR_SIZE(d->crc);

	if (bv_be16(lbuf + XFS_DA_BLKINFO_MAGIC) != want)
		return dcorrupt(d, blk, 0, leaf1 ? "bad leaf1 magic" : "bad leafn magic");
	*count = bv_be16(lbuf + LEAF_COUNT(d->crc));
	if (leaf1) {
		uint64_t bests = bv_be32(lbuf + d->bsize - LEAF1_TAIL_SIZE);

		/* bests[] and the tail sit at the end, after the entries. */
		if (bests * 2 + LEAF1_TAIL_SIZE > room)
			return dcorrupt(d, blk, 0, "bestcount does not fit the leaf");
		room -= bests * 2 + LEAF1_TAIL_SIZE;
	}
	if ((uint64_t)*count * LEAF_ENTRY_SIZE > room)
		return dcorrupt(d, blk, 0, "leaf count does not fit the block");
	*ents = lbuf + LEAF_HDR_SIZE(d->crc);
	return 0;
}

static int hashed_lookup(struct dctx *d, struct match *m)
{
	uint32_t hash = dir_hash(d, (const uint8_t *)m->name, m->len);
	uint8_t *lbuf = malloc(d->bsize);
	uint64_t blk, steps = 0, max = bv_xfs_da_max_blocks(d->fs, d->dir);
	const uint8_t *ents = NULL;
	unsigned count = 0;
	bool leaf1, more = false;
	uint16_t magic;
	int ret;

	if (!lbuf)
		return -ENOMEM;
	/* The root of the index says the format: one leaf1 block, or a dabtree (whose
	 * root is a node, or a single leafn block). */
	ret = bv_xfs_da_blk_read(d->fs, d->dir, BV_XFS_DATA_FORK, d->leafblk, lbuf, d->bsize,
				 BV_XFS_HDR_DA);
	if (ret)
		goto out;
	magic = bv_be16(lbuf + XFS_DA_BLKINFO_MAGIC);
	leaf1 = magic == (d->crc ? XFS_DIR3_LEAF1_MAGIC : XFS_DIR2_LEAF1_MAGIC);
	blk = d->leafblk;
	if (!leaf1) {
		ret = bv_xfs_da_find_leaf(d->fs, d->dir, BV_XFS_DATA_FORK, d->leafblk, false,
					  hash, lbuf, d->bsize, &blk);
		if (ret)
			goto out;
	}
	for (;;) {
		ret = leaf_entries(d, lbuf, blk, leaf1, &ents, &count);
		if (ret)
			goto out;
		ret = leaf_match(d, ents, count, hash, m, &more);
		if (ret || m->found || leaf1 || !more)
			goto out;
		/* The hash runs on into the next leafn block. */
		if (++steps > max) {
			ret = dcorrupt(d, blk, 0, "leaf chain longer than the directory");
			goto out;
		}
		ret = spend(d);
		if (ret)
			goto out;
		ret = bv_xfs_da_next_leaf(d->fs, d->dir, BV_XFS_DATA_FORK, blk, lbuf, d->bsize,
					  &blk);
		if (ret) {
			ret = ret > 0 ? 0 : ret;
			goto out;
		}
	}
out:
	free(lbuf);
	return ret;
}

/* ---- the interface ---- */

int bv_xfs_dir_lookup(struct bv_xfs *fs, const struct bv_xfs_inode *dir, const char *name,
		      size_t len, uint64_t *ino)
{
	struct match m = { .name = name, .len = len };
	struct dctx d;
	int ret;

	ret = dctx_init(&d, fs, dir);
	if (ret)
		return ret;
	if (len == 0)
		return -ENOENT;
	if (len > XFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (dir->format == BV_XFS_FMT_LOCAL)
		return sf_lookup(&d, name, len, ino);
	if (dir->format != BV_XFS_FMT_EXTENTS && dir->format != BV_XFS_FMT_BTREE)
		return dcorrupt(&d, 0, 0, "bad data fork format");
	ret = dir_is_block(&d);
	if (ret == 1) {
		size_t end;

		/* One block: scanning it costs what checking it does. */
		ret = data_read(&d, 0, true, &end);
		if (!ret) {
			m.want_off = 0;
			ret = data_walk(&d, d.buf, end, 0, 0, match_all, &m);
		}
	} else if (ret == 0) {
		ret = hashed_lookup(&d, &m);
	}
	free(d.buf);
	if (ret == -EAGAIN)
		return bv_xfs_corrupt(fs, "directory inode %" PRIu64 ": looking a name up visits "
				      "more than %" PRIu32 " blocks (the most one request reads)",
				      dir->ino, bv_xfs_walk_budget(d.bsize));
	if (ret < 0)
		return ret;
	if (m.found || m.ci_ino) {
		*ino = m.found ? m.ino : m.ci_ino;
		return 0;
	}
	return -ENOENT;
}

int bv_xfs_dir_iterate(struct bv_xfs *fs, const struct bv_xfs_inode *dir, uint64_t pos,
		       bv_fs_dir_fn fn, void *ctx)
{
	struct dctx d;
	int ret;

	ret = dctx_init(&d, fs, dir);
	if (ret)
		return ret;
	/* Past the data space: the end (positions never go there). */
	if (pos >= XFS_DIR2_LEAF_OFFSET / XFS_DIR2_DATA_ALIGN)
		return 0;
	if (dir->format == BV_XFS_FMT_LOCAL)
		return sf_iterate(&d, pos, fn, ctx);
	if (dir->format != BV_XFS_FMT_EXTENTS && dir->format != BV_XFS_FMT_BTREE)
		return dcorrupt(&d, 0, 0, "bad data fork format");
	ret = dir_is_block(&d);
	if (ret >= 0)
		ret = data_iterate(&d, ret == 1, pos * XFS_DIR2_DATA_ALIGN, fn, ctx);
	free(d.buf);
	return ret;
}
