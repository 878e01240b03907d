/* Directories: linear dirent blocks, the htree (dir_index) lookup, inline directories.
 *
 * A directory's data is read block by block through the block map and the metadata cache.
 * Every entry is checked as the kernel's ext4_check_dir_entry checks it before a byte of
 * it is used. Positions handed to callers are byte offsets in the directory (logical
 * block * block size + offset in the block), which stay valid because the image never
 * changes under us; for inline directories 0 and 1 are the made-up "." and "..", and
 * larger values are offsets in the inline data.
 */
#include "fs/ext4/dir.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/ext4/ext4_priv.h"
#include "fs/ext4/hash.h"
#include "fs/ext4/inode.h"
#include "util/le.h"

/* ext4 logical block numbers are 32-bit: no directory is longer than this. */
#define DIR_MAX_BLOCKS (1ULL << 32)
/* Inline data is i_block plus one xattr value; an xattr value fits in a block. */
#define INLINE_MAX_BYTES (EXT4_MIN_INLINE_DATA_SIZE + 65536)
/* Offset of the first dirent in inline data: the parent inode comes first. */
#define INLINE_DOTDOT_SIZE 4
/* dx_probe's "fall back to a linear scan" answer; never leaves this file. */
#define DX_FALLBACK 1
/* "Block number" of inline data in corruption reports. */
#define INLINE_BLK UINT64_MAX

/* Work per request. A directory's i_size and extents can claim 2^20 blocks (4 GiB) without
 * large_dir and the whole filesystem with it, mapped again and again onto a few zeroed or
 * garbage blocks; reading each costs about 2 us (map, cache, first dirent refused), so a
 * missed lookup or a readdir that keeps finding nothing could take seconds per request.
 * One lookup, and one call of bv_ext4_dir_iterate, therefore reads at most
 * DIR_SCAN_BLOCKS directory blocks (holes and htree index blocks count as one each), and
 * never more than DIR_SCAN_BYTES of them, so 64 KiB blocks full of tiny entries cost no
 * more: 16384 blocks of 1 and 4 KiB, 1024 of 64 KiB, about 30 ms of CPU at worst.
 * Past it a lookup is -EUCLEAN, reported; a walk that passed entries returns -EAGAIN
 * (resume from the last one: a FUSE READDIR replies with what it packed), one that passed
 * none is -EUCLEAN, reported. The price, paid only by linear (unindexed) directories: a
 * lookup cannot reach a name past the first 64 MiB (16 MiB with 1 KiB blocks) of one,
 * about 400,000 short names, which mkfs and the kernel index on any dir_index filesystem;
 * and a listing fails where 16384 blocks in a row hold no live entry (a directory that
 * once held millions of names and lost them all: ext4 never shrinks directories). */
#define DIR_SCAN_BLOCKS (1u << 14)
#define DIR_SCAN_BYTES (64u << 20)

unsigned char bv_ext4_ft_to_dt(uint8_t file_type)
{
	static const unsigned char dt[EXT4_FT_MAX] = {
		[EXT4_FT_UNKNOWN] = DT_UNKNOWN, [EXT4_FT_REG_FILE] = DT_REG,
		[EXT4_FT_DIR] = DT_DIR,         [EXT4_FT_CHRDEV] = DT_CHR,
		[EXT4_FT_BLKDEV] = DT_BLK,      [EXT4_FT_FIFO] = DT_FIFO,
		[EXT4_FT_SOCK] = DT_SOCK,       [EXT4_FT_SYMLINK] = DT_LNK,
	};

	/* The kernel's get_dtype: anything out of range is unknown, never an error. */
	return file_type < EXT4_FT_MAX ? dt[file_type] : DT_UNKNOWN;
}

uint32_t bv_ext4_rec_len_decode(uint16_t raw, uint32_t block_size)
{
	if (block_size < 65536)
		return raw;
	/* A 64 KiB record does not fit in 16 bits: it is stored as 65535 or 0, and the low
	 * two bits (always zero in a real length) carry bits 16-17. */
	if (raw == 65535 || raw == 0)
		return 65536;
	return (raw & 65532u) | ((uint32_t)(raw & 3) << 16);
}

int bv_ext4_dirent_check(const struct bv_ext4_sb *sb, const uint8_t *buf, size_t size,
			 size_t off, struct bv_ext4_dirent *out, const char **why)
{
	const uint8_t *p;
	uint32_t rlen, ino;
	uint8_t name_len;

	/* The 8-byte header must be there before anything is read. */
	if (!bv_in_bounds(off, EXT4_DIRENT_NAME, size)) {
		*why = "directory entry overrun";
		return -EUCLEAN;
	}
	p = buf + off;
	ino = bv_le32(p + EXT4_DIRENT_INODE);
	rlen = bv_ext4_rec_len_decode(bv_le16(p + EXT4_DIRENT_REC_LEN), sb->block_size);
	name_len = p[EXT4_DIRENT_NAME_LEN];

	if (rlen < EXT4_DIR_REC_LEN(1))
		*why = "rec_len is smaller than minimal";
	else if (rlen % 4 != 0)
		*why = "rec_len % 4 != 0";
	else if (rlen < EXT4_DIR_REC_LEN(name_len))
		*why = "rec_len is too small for name_len";
	else if (!bv_in_bounds(off, rlen, size))
		*why = "directory entry overrun";
	/* A gap too small for any entry cannot be what the kernel wrote. */
	else if (off + rlen != size && size - (off + rlen) < EXT4_DIR_REC_LEN(1))
		*why = "directory entry too close to block end";
	else if (ino > sb->s_inodes_count)
		*why = "inode out of bounds";
	else if (ino != 0 && name_len == 0)
		*why = "live entry with an empty name";
	else
		goto ok;
	return -EUCLEAN;
ok:
	out->inode = ino;
	out->rec_len = rlen;
	out->name_len = name_len;
	/* Without the filetype feature the byte is the high half of an old 16-bit name_len. */
	out->file_type = bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_FILETYPE)
				 ? p[EXT4_DIRENT_FILE_TYPE]
				 : EXT4_FT_UNKNOWN;
	out->name = (const char *)p + EXT4_DIRENT_NAME;
	return 0;
}

/* What every walk over one directory needs. */
struct dirctx {
	struct bv_ext4 *fs;
	const struct bv_ext4_inode *dir;
	uint32_t bs;
	uint64_t nblocks;    /* i_size / block size, capped */
	uint32_t csum_seed;  /* per-inode crc32c seed (metadata_csum) */
	bool has_csum;       /* metadata_csum: layout has tails */
	bool is_dx;          /* dir_index feature and EXT4_INDEX_FL */
	uint32_t budget;     /* blocks this request may still read (DIR_SCAN_BLOCKS) */
	uint64_t passed;     /* entries handed to the caller's callback so far */
};

/* The blocks one request may read in directory D (what dirctx_init gave it). */
static uint32_t budget_of(const struct dirctx *d)
{
	return DIR_SCAN_BYTES / d->bs < DIR_SCAN_BLOCKS ? DIR_SCAN_BYTES / d->bs : DIR_SCAN_BLOCKS;
}

static void dirctx_init(struct dirctx *d, struct bv_ext4 *fs, const struct bv_ext4_inode *dir)
{
	uint8_t le[4];

	d->fs = fs;
	d->dir = dir;
	d->bs = fs->sb.block_size;
	d->nblocks = dir->size / d->bs;
	if (d->nblocks > DIR_MAX_BLOCKS)
		d->nblocks = DIR_MAX_BLOCKS;
	/* Extents may map many logical blocks onto the same physical ones, so i_size bounds
	 * nothing: a directory has no more distinct blocks than the filesystem, and past that
	 * a crafted one would only make every walk repeat itself for minutes. */
	if (d->nblocks > fs->sb.s_blocks_count) {
		bv_ext4_corrupt(fs, "directory inode %u: i_size %" PRIu64 " is more blocks than the "
				"filesystem has; reading the first %" PRIu64, dir->ino, dir->size,
				fs->sb.s_blocks_count);
		d->nblocks = fs->sb.s_blocks_count;
	}
	d->has_csum = bv_ext4_has_ro_compat(&fs->sb, EXT4_FEATURE_RO_COMPAT_METADATA_CSUM);
	d->is_dx = bv_ext4_has_compat(&fs->sb, EXT4_FEATURE_COMPAT_DIR_INDEX) &&
		   (dir->flags & EXT4_INDEX_FL);
	d->budget = budget_of(d);
	d->passed = 0;
	/* The kernel's ei->i_csum_seed: the fs seed, then the inode number and generation. */
	le[0] = (uint8_t)dir->ino;
	le[1] = (uint8_t)(dir->ino >> 8);
	le[2] = (uint8_t)(dir->ino >> 16);
	le[3] = (uint8_t)(dir->ino >> 24);
	d->csum_seed = bv_crc32c(fs->sb.csum_seed, le, 4);
	le[0] = (uint8_t)dir->generation;
	le[1] = (uint8_t)(dir->generation >> 8);
	le[2] = (uint8_t)(dir->generation >> 16);
	le[3] = (uint8_t)(dir->generation >> 24);
	d->csum_seed = bv_crc32c(d->csum_seed, le, 4);
}

/* Pins logical block LBLK. Returns 0 (pinned, *PBLK set), 1 for a hole (*NEXT = first
 * block after it), -EAGAIN when the request's budget of blocks is spent (nothing
 * reported: the caller says what it was doing), or -errno. */
static int dir_block_get(struct dirctx *d, uint64_t lblk, struct bv_cache_ref *ref,
			 uint64_t *pblk, uint64_t *next)
{
	struct bv_ext4_map map;
	uint64_t left = d->nblocks - lblk;
	int err;

	if (d->budget == 0)
		return -EAGAIN;
	d->budget--;
	err = bv_ext4_map_blocks(d->fs, d->dir, lblk, left > UINT32_MAX ? UINT32_MAX : (uint32_t)left,
				 &map);
	if (err)
		return err;
	/* An unwritten extent reads as zeros: no entries, like a hole. */
	if (map.hole || map.unwritten || map.pblk == 0) {
		*next = lblk + (map.len ? map.len : 1);
		return 1;
	}
	err = bv_ext4_bread(d->fs, map.pblk, ref);
	if (err)
		return err;
	*pblk = map.pblk;
	return 0;
}

/* An htree interior block (dx_node) looks like one deleted entry spanning the block. */
static bool is_dx_node(const struct dirctx *d, uint64_t lblk, const uint8_t *data)
{
	return d->is_dx && lblk != 0 && bv_le32(data + EXT4_DIRENT_INODE) == 0 &&
	       bv_ext4_rec_len_decode(bv_le16(data + EXT4_DIRENT_REC_LEN), d->bs) == d->bs;
}

/* Block 0 of an htree directory holds dx_root, whose checksum is a dx_tail. */
static bool has_leaf_csum(const struct dirctx *d, uint64_t lblk, const uint8_t *data)
{
	return d->fs->verify_csum && !(d->is_dx && lblk == 0) && !is_dx_node(d, lblk, data);
}

/* Verifies the dirent tail of a leaf block: 0 or -EBADMSG (reported). */
static int leaf_csum_verify(struct dirctx *d, uint64_t lblk, uint64_t pblk, const uint8_t *data)
{
	const uint8_t *t = data + d->bs - EXT4_DIRENT_TAIL_SIZE;

	/* The tail is a fake entry: inode 0, rec_len 12, name_len 0, file_type 0xDE. */
	if (bv_le32(t + EXT4_DIRENT_INODE) != 0 ||
	    bv_le16(t + EXT4_DIRENT_REC_LEN) != EXT4_DIRENT_TAIL_SIZE ||
	    t[EXT4_DIRENT_NAME_LEN] != 0 || t[EXT4_DIRENT_FILE_TYPE] != EXT4_FT_DIR_CSUM)
		return bv_ext4_badcsum(d->fs, "inode %u: directory block %llu (lblk %llu): no "
				       "space for the checksum tail", d->dir->ino,
				       (unsigned long long)pblk, (unsigned long long)lblk);
	if (bv_crc32c(d->csum_seed, data, d->bs - EXT4_DIRENT_TAIL_SIZE) !=
	    bv_le32(t + EXT4_DIRENT_TAIL_CSUM))
		return bv_ext4_badcsum(d->fs, "inode %u: directory block %llu (lblk %llu) failed "
				       "checksum", d->dir->ino, (unsigned long long)pblk,
				       (unsigned long long)lblk);
	return 0;
}

/* Searches one leaf block for NAME. 0 and *INO when found, -ENOENT otherwise; a corrupt
 * entry is reported and ends the search of this block. */
static int leaf_search(struct dirctx *d, const uint8_t *data, size_t size, uint64_t pblk,
		       size_t base, const char *name, size_t len, uint32_t *ino)
{
	struct bv_ext4_dirent de;
	const char *why;
	size_t off = 0;

	while (off < size) {
		if (bv_ext4_dirent_check(&d->fs->sb, data, size, off, &de, &why)) {
			if (pblk == INLINE_BLK)
				bv_ext4_corrupt(d->fs, "inode %u: inline directory offset %zu: %s",
						d->dir->ino, base + off, why);
			else
				bv_ext4_corrupt(d->fs, "inode %u: directory block %llu offset %zu: %s",
						d->dir->ino, (unsigned long long)pblk, off, why);
			return -ENOENT;
		}
		if (de.inode != 0 && de.name_len == len && memcmp(de.name, name, len) == 0) {
			*ino = de.inode;
			return 0;
		}
		off += de.rec_len;
	}
	return -ENOENT;
}

/* Walks the entries of one block (or inline region) DATA of SIZE bytes whose first byte is
 * at directory position BASE, calling FN for live entries at positions >= START. A corrupt
 * entry is reported and ends the walk of this block, as the kernel's readdir skips to the
 * next block. Returns 0 or FN's non-zero value. */
static int walk_entries(struct dirctx *d, const uint8_t *data, size_t size, uint64_t base,
			uint64_t start, uint64_t blk, bv_ext4_dir_fn fn, void *ctx)
{
	struct bv_ext4_dirent de;
	const char *why;
	size_t off = 0;
	int ret;

	/* Always walk from the block start so a resume position can never land mid-entry. */
	while (off < size) {
		if (bv_ext4_dirent_check(&d->fs->sb, data, size, off, &de, &why)) {
			if (blk == INLINE_BLK)
				bv_ext4_corrupt(d->fs, "inode %u: inline directory offset %llu: %s",
						d->dir->ino, (unsigned long long)(base + off), why);
			else
				bv_ext4_corrupt(d->fs, "inode %u: directory block %llu offset %zu: %s",
						d->dir->ino, (unsigned long long)blk, off, why);
			return 0;
		}
		/* A name with '/' or NUL can name nothing: the kernel's VFS fails a whole
		 * getdents on one (and the host does the same with a FUSE reply), so the
		 * entry is reported and skipped rather than passed on. */
		if (de.inode != 0 && (memchr(de.name, '/', de.name_len) ||
				      memchr(de.name, '\0', de.name_len))) {
			bv_ext4_corrupt(d->fs, "inode %u: directory entry at %llu has '/' or NUL "
					"in its name", d->dir->ino, (unsigned long long)(base + off));
		} else if (de.inode != 0 && base + off >= start) {
			d->passed++;
			ret = fn(ctx, de.name, de.name_len, de.inode, de.file_type,
				 base + off + de.rec_len);
			if (ret)
				return ret;
		}
		off += de.rec_len;
	}
	return 0;
}

/* ---- inline directories ---- */

/* Reads all of an inline directory's data into a malloc'd *BUF (*LEN bytes) and checks the
 * parent inode stored in its first 4 bytes. */
static int inline_load(struct dirctx *d, uint8_t **buf, size_t *len)
{
	ssize_t size, got;
	uint8_t *b;
	uint32_t parent;

	size = bv_ext4_inline_size(d->fs, d->dir);
	if (size < 0)
		return (int)size;
	if (size < INLINE_DOTDOT_SIZE || size > INLINE_MAX_BYTES)
		return bv_ext4_corrupt(d->fs, "inode %u: inline directory of %zd bytes",
				       d->dir->ino, size);
	b = malloc((size_t)size);
	if (!b)
		return -ENOMEM;
	got = bv_ext4_inline_read(d->fs, d->dir, b, (size_t)size, 0);
	if (got != size) {
		free(b);
		return got < 0 ? (int)got : bv_ext4_corrupt(d->fs, "inode %u: short inline data",
							     d->dir->ino);
	}
	parent = bv_le32(b);
	if (parent == 0 || parent > d->fs->sb.s_inodes_count) {
		free(b);
		return bv_ext4_corrupt(d->fs, "inode %u: inline directory parent %u out of range",
				       d->dir->ino, parent);
	}
	*buf = b;
	*len = (size_t)size;
	return 0;
}

/* The two regions of inline dirents: the rest of i_block after the parent, and the
 * system.data value. Entries never straddle them. */
static void inline_region(size_t total, int i, size_t *start, size_t *size)
{
	size_t iblock_end = total < EXT4_MIN_INLINE_DATA_SIZE ? total : EXT4_MIN_INLINE_DATA_SIZE;

	if (i == 0) {
		*start = INLINE_DOTDOT_SIZE;
		*size = iblock_end - INLINE_DOTDOT_SIZE;
	} else {
		*start = iblock_end;
		*size = total - iblock_end;
	}
}

static int inline_iterate(struct dirctx *d, uint64_t pos, bv_ext4_dir_fn fn, void *ctx)
{
	uint8_t *buf;
	size_t len, start, size;
	int ret;

	ret = inline_load(d, &buf, &len);
	if (ret)
		return ret;
	/* The kernel makes up "." and ".." for inline directories at the first positions. */
	if (pos == 0) {
		ret = fn(ctx, ".", 1, d->dir->ino, EXT4_FT_DIR, 1);
		if (ret)
			goto out_free;
	}
	if (pos <= 1) {
		ret = fn(ctx, "..", 2, bv_le32(buf), EXT4_FT_DIR, INLINE_DOTDOT_SIZE);
		if (ret)
			goto out_free;
	}
	for (int i = 0; i < 2; i++) {
		inline_region(len, i, &start, &size);
		if (size == 0)
			continue;
		ret = walk_entries(d, buf + start, size, start, pos, INLINE_BLK, fn, ctx);
		if (ret)
			goto out_free;
	}
out_free:
	free(buf);
	return ret;
}

static int inline_lookup(struct dirctx *d, const char *name, size_t len, uint32_t *ino)
{
	uint8_t *buf;
	size_t total, start, size;
	int ret;

	ret = inline_load(d, &buf, &total);
	if (ret)
		return ret;
	if (len == 1 && name[0] == '.') {
		*ino = d->dir->ino;
		goto out_free;
	}
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		*ino = bv_le32(buf);
		goto out_free;
	}
	ret = -ENOENT;
	for (int i = 0; i < 2 && ret == -ENOENT; i++) {
		inline_region(total, i, &start, &size);
		if (size)
			ret = leaf_search(d, buf + start, size, INLINE_BLK, start, name, len, ino);
	}
out_free:
	free(buf);
	return ret;
}

/* ---- linear directories ---- */

int bv_ext4_dir_iterate(struct bv_ext4 *fs, const struct bv_ext4_inode *dir, uint64_t pos,
			bv_ext4_dir_fn fn, void *ctx)
{
	struct bv_cache_ref ref = { 0 };
	struct dirctx d;
	uint64_t lblk, pblk, next;
	uint32_t start;
	int ret;

	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	dirctx_init(&d, fs, dir);
	if (dir->flags & EXT4_INLINE_DATA_FL)
		return inline_iterate(&d, pos, fn, ctx);

	lblk = pos / d.bs;
	start = (uint32_t)(pos % d.bs);
	while (lblk < d.nblocks) {
		ret = dir_block_get(&d, lblk, &ref, &pblk, &next);
		if (ret == -EAGAIN && d.passed == 0)
			return bv_ext4_corrupt(fs, "inode %u: %u directory blocks from position "
					       "%" PRIu64 " hold no entry (the most one request "
					       "reads)", dir->ino, budget_of(&d), pos);
		if (ret < 0)
			return ret;
		if (ret == 1) {
			/* Holes in a directory carry no entries; the kernel skips them too. */
			lblk = next;
			start = 0;
			continue;
		}
		ret = 0;
		if (is_dx_node(&d, lblk, ref.data)) {
			/* Interior htree block: nothing for readdir. */
		} else if (has_leaf_csum(&d, lblk, ref.data) &&
			   leaf_csum_verify(&d, lblk, pblk, ref.data)) {
			/* Reported; readdir skips a block that fails its checksum, as the kernel does. */
		} else {
			ret = walk_entries(&d, ref.data, d.bs, lblk * d.bs, lblk * d.bs + start, pblk,
					   fn, ctx);
		}
		bv_ext4_brelse(fs, &ref);
		if (ret)
			return ret;
		lblk++;
		start = 0;
	}
	return 0;
}

/* Linear lookup over blocks [0, END). A corrupt entry ends the search of its block only;
 * a bad checksum fails the lookup as in the kernel's ext4_find_entry. */
static int linear_lookup(struct dirctx *d, uint64_t end, const char *name, size_t len,
			 uint32_t *ino)
{
	struct bv_cache_ref ref = { 0 };
	uint64_t lblk = 0, pblk, next;
	int ret;

	while (lblk < end) {
		ret = dir_block_get(d, lblk, &ref, &pblk, &next);
		if (ret < 0)
			return ret;
		if (ret == 1) {
			lblk = next;
			continue;
		}
		if (is_dx_node(d, lblk, ref.data))
			ret = -ENOENT;
		else if (has_leaf_csum(d, lblk, ref.data))
			ret = leaf_csum_verify(d, lblk, pblk, ref.data);
		if (ret == 0)
			ret = leaf_search(d, ref.data, d->bs, pblk, 0, name, len, ino);
		bv_ext4_brelse(d->fs, &ref);
		if (ret != -ENOENT)
			return ret;
		lblk++;
	}
	return -ENOENT;
}

/* ---- htree ---- */

/* One level of the index walk: the pinned index block and where we are in it. */
struct dx_frame {
	struct bv_cache_ref ref;
	const uint8_t *entries;  /* entry 0 is the count/limit pair */
	uint32_t count;
	uint32_t at;
};

/* Why the index cannot be used, for the single fall-back report. */
struct dx_fail {
	const char *why;
	uint64_t lblk;
};

static uint32_t dx_hash_at(const struct dx_frame *f, uint32_t i)
{
	return bv_le32(f->entries + (size_t)i * EXT4_DX_ENTRY_SIZE);
}

static uint32_t dx_block_at(const struct dx_frame *f, uint32_t i)
{
	/* The top 4 bits were reserved for a never-finished feature; the kernel masks them. */
	return bv_le32(f->entries + (size_t)i * EXT4_DX_ENTRY_SIZE + 4) & 0x0fffffff;
}

/* Checks the count/limit header at COUNT_OFF of index block DATA and its dx_tail
 * checksum. Returns 0, -EBADMSG (reported) or DX_FALLBACK with FAIL set. */
static int dx_block_check(struct dirctx *d, const uint8_t *data, uint64_t lblk,
			  uint32_t count_off, struct dx_frame *f, struct dx_fail *fail)
{
	uint32_t space = d->bs - count_off - (d->has_csum ? EXT4_DX_TAIL_SIZE : 0);
	uint32_t limit = bv_le16(data + count_off);
	uint32_t count = bv_le16(data + count_off + 2);

	fail->lblk = lblk;
	if (limit != space / EXT4_DX_ENTRY_SIZE) {
		fail->why = "dx limit does not match the block size";
		return DX_FALLBACK;
	}
	if (count == 0 || count > limit) {
		fail->why = "dx count beyond limit";
		return DX_FALLBACK;
	}
	f->entries = data + count_off;
	f->count = count;
	/* Hashes must ascend for the binary search to mean anything. */
	for (uint32_t i = 2; i < count; i++) {
		if (dx_hash_at(f, i) < dx_hash_at(f, i - 1)) {
			fail->why = "dx hashes out of order";
			return DX_FALLBACK;
		}
	}
	for (uint32_t i = 0; i < count; i++) {
		if (dx_block_at(f, i) >= d->nblocks || dx_block_at(f, i) == 0) {
			fail->why = "dx entry points past the directory";
			return DX_FALLBACK;
		}
	}
	if (d->fs->verify_csum) {
		/* The dx_tail follows LIMIT entries; the csum covers the COUNT used ones,
		 * then dt_reserved, then a zero where the checksum sits. */
		const uint8_t *t = data + count_off + (size_t)limit * EXT4_DX_ENTRY_SIZE;
		static const uint8_t zero[4];
		uint32_t crc;

		crc = bv_crc32c(d->csum_seed, data, count_off + (size_t)count * EXT4_DX_ENTRY_SIZE);
		crc = bv_crc32c(crc, t, 4);
		crc = bv_crc32c(crc, zero, 4);
		if (crc != bv_le32(t + 4))
			return bv_ext4_badcsum(d->fs, "inode %u: directory index block (lblk %llu) "
					       "failed checksum", d->dir->ino,
					       (unsigned long long)lblk);
	}
	return 0;
}

/* Binary search: the last entry whose hash is <= HASH (entry 0 covers everything below
 * entry 1's hash). */
static uint32_t dx_search(const struct dx_frame *f, uint32_t hash)
{
	uint32_t lo = 1, hi = f->count; /* search [lo, hi) */

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (dx_hash_at(f, mid) > hash)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo - 1;
}

/* Pins index node LBLK (below the root) into F and checks it. */
static int dx_node_load(struct dirctx *d, uint64_t lblk, struct dx_frame *f,
			struct dx_fail *fail)
{
	uint64_t pblk, next;
	int ret;

	ret = dir_block_get(d, lblk, &f->ref, &pblk, &next);
	if (ret < 0)
		return ret;
	fail->lblk = lblk;
	if (ret == 1) {
		fail->why = "hole where an index block should be";
		return DX_FALLBACK;
	}
	if (!is_dx_node(d, lblk, f->ref.data) || f->ref.data[EXT4_DIRENT_NAME_LEN] != 0) {
		fail->why = "leaf block found instead of an index block";
		return DX_FALLBACK;
	}
	return dx_block_check(d, f->ref.data, lblk, EXT4_DX_NODE_ENTRIES, f, fail);
}

/* Checks dx_root in block 0 (pinned in F) and computes NAME's hash. */
static int dx_root_check(struct dirctx *d, const char *name, size_t len, struct dx_frame *f,
			 unsigned *levels, uint32_t *hash, struct dx_fail *fail)
{
	const uint8_t *data = f->ref.data;
	const uint8_t *info = data + EXT4_DX_ROOT_INFO;
	unsigned version = info[4];
	unsigned max_levels = bv_ext4_has_incompat(&d->fs->sb, EXT4_FEATURE_INCOMPAT_LARGEDIR)
				      ? EXT4_HTREE_LEVEL
				      : EXT4_HTREE_LEVEL_COMPAT;
	int ret;

	fail->lblk = 0;
	fail->why = NULL;
	if (bv_ext4_rec_len_decode(bv_le16(data + EXT4_DIRENT_REC_LEN), d->bs) != 12 ||
	    data[EXT4_DIRENT_NAME_LEN] != 1 || data[EXT4_DIRENT_NAME] != '.')
		fail->why = "dx_root has no \".\"";
	else if (bv_ext4_rec_len_decode(bv_le16(data + 12 + EXT4_DIRENT_REC_LEN), d->bs) !=
			 d->bs - 12 ||
		 data[12 + EXT4_DIRENT_NAME_LEN] != 2 || data[12 + EXT4_DIRENT_NAME] != '.' ||
		 data[12 + EXT4_DIRENT_NAME + 1] != '.')
		fail->why = "dx_root has no \"..\"";
	else if (bv_le32(info) != 0)
		fail->why = "dx_root reserved_zero is set";
	else if (version > DX_HASH_TEA)
		fail->why = "unrecognised dx_root hash version";
	else if (info[5] != EXT4_DX_ROOT_INFO_LEN)
		fail->why = "dx_root info_length is not 8";
	else if (info[6] >= max_levels)
		fail->why = "dx_root indirect_levels too large";
	else if (info[7] & 1)
		fail->why = "dx_root has unimplemented hash flags";
	if (fail->why)
		return DX_FALLBACK;
	ret = dx_block_check(d, data, 0, EXT4_DX_ROOT_ENTRIES, f, fail);
	if (ret)
		return ret;
	*levels = info[6];
	/* The on-disk version is the signed one; the superblock says which char the
	 * filesystem's creator hashed with. Neither flag: the kernel on x86 uses signed. */
	if (d->fs->sb.s_flags & EXT2_FLAGS_UNSIGNED_HASH)
		version += 3;
	if (bv_ext4_hash_compute(version, d->fs->sb.s_hash_seed, name, len, hash, NULL)) {
		fail->why = "unsupported hash";
		return DX_FALLBACK;
	}
	return 0;
}

/* Moves to the next leaf when the name's hash may continue there (its hash collides with
 * the next index entry's, whose low bit marks a continued run), as ext4_htree_next_block.
 * Returns 1 when moved, 0 when the search is over, or a negative/DX_FALLBACK error. */
static int dx_next_leaf(struct dirctx *d, struct dx_frame *frames, unsigned levels,
			uint32_t hash, struct dx_fail *fail)
{
	int lvl = (int)levels;
	int ret;

	while (lvl >= 0 && frames[lvl].at + 1 >= frames[lvl].count)
		lvl--;
	if (lvl < 0)
		return 0;
	if ((dx_hash_at(&frames[lvl], frames[lvl].at + 1) & ~1u) != hash)
		return 0;
	frames[lvl].at++;
	/* Walk down the first entries of the levels below. */
	for (unsigned l = (unsigned)lvl + 1; l <= levels; l++) {
		bv_ext4_brelse(d->fs, &frames[l].ref);
		ret = dx_node_load(d, dx_block_at(&frames[l - 1], frames[l - 1].at), &frames[l],
				   fail);
		if (ret)
			return ret;
		frames[l].at = 0;
	}
	return 1;
}

/* Looks NAME up through the index. 0 and *INO, -ENOENT, -errno, or DX_FALLBACK with FAIL
 * saying why the index is unusable. */
static int dx_lookup(struct dirctx *d, const char *name, size_t len, uint32_t *ino,
		     struct dx_fail *fail)
{
	struct dx_frame frames[EXT4_HTREE_LEVEL] = { 0 };
	struct bv_cache_ref leaf = { 0 };
	uint64_t lblk, pblk, next, leaves = 0;
	unsigned levels = 0;
	uint32_t hash = 0;
	int ret;

	fail->lblk = 0;
	/* An index needs its root block and at least one leaf inside i_size. */
	if (d->nblocks < 2) {
		fail->why = "indexed directory smaller than two blocks";
		return DX_FALLBACK;
	}
	ret = dir_block_get(d, 0, &frames[0].ref, &pblk, &next);
	if (ret < 0)
		return ret;
	if (ret == 1) {
		fail->why = "hole at the dx_root block";
		return DX_FALLBACK;
	}
	ret = dx_root_check(d, name, len, &frames[0], &levels, &hash, fail);
	if (ret)
		goto out;
	frames[0].at = dx_search(&frames[0], hash);
	for (unsigned l = 1; l <= levels; l++) {
		ret = dx_node_load(d, dx_block_at(&frames[l - 1], frames[l - 1].at), &frames[l],
				   fail);
		if (ret)
			goto out;
		frames[l].at = dx_search(&frames[l], hash);
	}

	/* Each step moves an index position forward, but index entries may name the same
	 * leaf again and again: a sound index visits each leaf block at most once, so more
	 * visits than the directory has blocks means a crafted one. */
	for (;;) {
		if (++leaves > d->nblocks) {
			fail->why = "index visits more leaves than the directory has blocks";
			ret = DX_FALLBACK;
			goto out;
		}
		lblk = dx_block_at(&frames[levels], frames[levels].at);
		ret = dir_block_get(d, lblk, &leaf, &pblk, &next);
		if (ret < 0)
			goto out;
		if (ret == 1) {
			fail->why = "hole where a leaf block should be";
			fail->lblk = lblk;
			ret = DX_FALLBACK;
			goto out;
		}
		if (is_dx_node(d, lblk, leaf.data)) {
			fail->why = "index block found instead of a leaf";
			fail->lblk = lblk;
			ret = DX_FALLBACK;
			goto out_leaf;
		}
		if (d->fs->verify_csum) {
			ret = leaf_csum_verify(d, lblk, pblk, leaf.data);
			if (ret)
				goto out_leaf;
		}
		ret = leaf_search(d, leaf.data, d->bs, pblk, 0, name, len, ino);
		bv_ext4_brelse(d->fs, &leaf);
		if (ret != -ENOENT)
			goto out;
		ret = dx_next_leaf(d, frames, levels, hash, fail);
		if (ret == 0)
			ret = -ENOENT;
		if (ret != 1)
			goto out;
	}
out_leaf:
	bv_ext4_brelse(d->fs, &leaf);
out:
	for (unsigned l = 0; l < EXT4_HTREE_LEVEL; l++)
		bv_ext4_brelse(d->fs, &frames[l].ref);
	return ret;
}

int bv_ext4_lookup(struct bv_ext4 *fs, const struct bv_ext4_inode *dir, const char *name,
		   size_t len, uint32_t *ino)
{
	struct dx_fail fail = { 0 };
	struct dirctx d;
	uint32_t found = 0;
	bool dot;
	int ret;

	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	if (len == 0)
		return -ENOENT;
	if (len > EXT4_NAME_LEN)
		return -ENAMETOOLONG;
	dirctx_init(&d, fs, dir);
	if (dir->flags & EXT4_INLINE_DATA_FL)
		ret = inline_lookup(&d, name, len, &found);
	else {
		/* "." and ".." live in block 0 only, outside the index's hash space. */
		dot = name[0] == '.' && (len == 1 || (len == 2 && name[1] == '.'));
		if (dot)
			ret = linear_lookup(&d, d.nblocks ? 1 : 0, name, len, &found);
		else if (d.is_dx && (ret = dx_lookup(&d, name, len, &found, &fail)) != DX_FALLBACK)
			;
		else {
			if (d.is_dx)
				bv_ext4_corrupt(fs, "inode %u: htree block %llu: %s; falling back to "
						"a linear scan", dir->ino,
						(unsigned long long)fail.lblk, fail.why);
			ret = linear_lookup(&d, d.nblocks, name, len, &found);
		}
	}
	if (ret == -EAGAIN)
		ret = bv_ext4_corrupt(fs, "inode %u: lookup gave up after %u directory blocks "
				      "(the most one request reads)", dir->ino, budget_of(&d));
	if (ret == 0)
		*ino = found;
	return ret;
}
