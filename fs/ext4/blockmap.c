/* Logical to physical block mapping: the ext4 extent tree and the ext2/3 indirect block map.
 *
 * Both walks go from the inode's i_block down through metadata blocks pinned in the cache,
 * check every node they touch before trusting it, and answer one run of blocks: mapped
 * (possibly unwritten) or a hole reaching to the next mapped block. Nothing recurses and
 * every loop is bounded by a constant or by a count already checked against the block size.
 */
#include "fs/ext4/ext4_priv.h"

#include <errno.h>

#include "fs/ext4/inode.h"
#include "util/le.h"

/* ---- extent tree layout (kernel names) ---- */

#define EXT4_EXT_MAGIC 0xF30A
#define EXT4_EXT_HDR_SIZE 12   /* struct ext4_extent_header */
#define EXT4_EXT_ENTRY_SIZE 12 /* struct ext4_extent and struct ext4_extent_idx */
#define EXT4_EXT_TAIL_SIZE 4   /* struct ext4_extent_tail: et_checksum */
#define EXT4_MAX_EXTENT_DEPTH 5
#define EXT_INIT_MAX_LEN 32768u /* longer ee_len values mean unwritten */

/* Header fields. */
#define EH_MAGIC 0
#define EH_ENTRIES 2
#define EH_MAX 4
#define EH_DEPTH 6

/* Leaf entry (struct ext4_extent). */
#define EE_BLOCK 0
#define EE_LEN 4
#define EE_START_HI 6
#define EE_START_LO 8

/* Index entry (struct ext4_extent_idx). */
#define EI_BLOCK 0
#define EI_LEAF_LO 4
#define EI_LEAF_HI 8

/* Extent files address 32-bit logical blocks; the first block past them. */
#define EXT_LBLK_LIMIT ((uint64_t)1 << 32)

/* Indirect map: 12 direct pointers then single, double and triple indirect. */
#define EXT4_NDIR_BLOCKS 12
#define EXT4_IND_BLOCK 12
#define EXT4_DIND_BLOCK 13
#define EXT4_TIND_BLOCK 14

/* A hole made of many empty indirect blocks is extended this many steps per call at most;
 * the caller simply asks again for the rest. Keeps one call's work bounded on a hostile
 * image whose indirect blocks are all zeros. */
#define IND_HOLE_MAX_STEPS 256

/* A physical run [PBLK, PBLK + COUNT) is usable for file data or metadata when it lies
 * past the superblock area and inside the filesystem, as ext4_sb_block_valid() demands. */
static bool blocks_valid(const struct bv_ext4 *fs, uint64_t pblk, uint64_t count)
{
	if (pblk <= fs->sb.s_first_data_block || count == 0)
		return false;
	return pblk < fs->sb.s_blocks_count && count <= fs->sb.s_blocks_count - pblk;
}

static inline uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* ---- extent tree ---- */

/* One node of the tree as a checked view: the entries start at ENT. */
struct ext_node {
	const uint8_t *ent;
	uint16_t entries;
	uint16_t depth;
};

static uint64_t idx_pblk(const uint8_t *e)
{
	return (uint64_t)bv_le32(e + EI_LEAF_LO) | ((uint64_t)bv_le16(e + EI_LEAF_HI) << 32);
}

static uint64_t ext_pblk(const uint8_t *e)
{
	return (uint64_t)bv_le32(e + EE_START_LO) | ((uint64_t)bv_le16(e + EE_START_HI) << 32);
}

/* ee_len with the unwritten flag folded out; 0 stays 0 (invalid). */
static uint32_t ext_len(const uint8_t *e, bool *unwritten)
{
	uint32_t len = bv_le16(e + EE_LEN);

	*unwritten = len > EXT_INIT_MAX_LEN;
	return *unwritten ? len - EXT_INIT_MAX_LEN : len;
}

/* Checks the extent tail of non-root node BUF (block BLK of inode INODE). The seed is the
 * inode's: crc32c over the little-endian inode number then generation. */
static int ext_check_csum(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			  const uint8_t *buf, uint16_t eh_max, uint64_t blk)
{
	size_t tail = EXT4_EXT_HDR_SIZE + (size_t)eh_max * EXT4_EXT_ENTRY_SIZE;
	uint8_t le[4];
	uint32_t crc;

	le[0] = (uint8_t)inode->ino;
	le[1] = (uint8_t)(inode->ino >> 8);
	le[2] = (uint8_t)(inode->ino >> 16);
	le[3] = (uint8_t)(inode->ino >> 24);
	crc = bv_crc32c(fs->sb.csum_seed, le, 4);
	le[0] = (uint8_t)inode->generation;
	le[1] = (uint8_t)(inode->generation >> 8);
	le[2] = (uint8_t)(inode->generation >> 16);
	le[3] = (uint8_t)(inode->generation >> 24);
	crc = bv_crc32c(crc, le, 4);
	crc = bv_crc32c(crc, buf, tail);
	if (crc != bv_le32(buf + tail))
		return bv_ext4_badcsum(fs, "inode %u: extent block %llu: bad checksum",
				       inode->ino, (unsigned long long)blk);
	return 0;
}

/* Validates the node at BUF (LEN bytes: 60 for the root in i_block, else a block, BLK)
 * that its parent says is at depth WANT_DEPTH (-1 for the root) and, below the root,
 * starts at logical block FIRST. Fills *NODE. Every entry is checked here, once, so the
 * binary search after it may trust order and bounds. */
static int ext_node_check(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			  const uint8_t *buf, size_t len, uint64_t blk, int want_depth,
			  uint32_t first, struct ext_node *node)
{
	bool root = want_depth < 0;
	uint16_t magic = bv_le16(buf + EH_MAGIC);
	uint16_t entries = bv_le16(buf + EH_ENTRIES);
	uint16_t eh_max = bv_le16(buf + EH_MAX);
	uint16_t depth = bv_le16(buf + EH_DEPTH);
	/* Room for the entries, leaving the 4-byte tail in a block (always there for
	 * power-of-two block sizes: (bs - 12) % 12 is 4 or 8). */
	size_t room = (len - EXT4_EXT_HDR_SIZE - (root ? 0 : EXT4_EXT_TAIL_SIZE)) /
		      EXT4_EXT_ENTRY_SIZE;
	const uint8_t *ent = buf + EXT4_EXT_HDR_SIZE;
	uint64_t next = 0; /* smallest logical block the next entry may start at */
	const char *why = NULL;
	int err;

	if (magic != EXT4_EXT_MAGIC)
		why = "bad magic";
	else if (eh_max == 0 || eh_max > room)
		why = "bad eh_max";
	else if (entries > eh_max)
		why = "eh_entries > eh_max";
	else if (root && depth > EXT4_MAX_EXTENT_DEPTH)
		why = "depth too large";
	else if (!root && depth != (uint16_t)want_depth)
		why = "depth differs from parent";
	else if (depth > 0 && entries == 0)
		why = "index node without entries";
	if (why)
		goto corrupt;

	/* The checksum comes after the header checks so eh_max places the tail in bounds,
	 * but before the entries are trusted. */
	if (!root && fs->verify_csum) {
		err = ext_check_csum(fs, inode, buf, eh_max, blk);
		if (err)
			return err;
	}

	/* The parent's index names the first block this child maps, as the kernel checks. */
	if (!root && entries > 0 && bv_le32(ent) != first) {
		why = "first entry differs from its index";
		goto corrupt;
	}

	for (uint16_t i = 0; i < entries; i++) {
		const uint8_t *e = ent + (size_t)i * EXT4_EXT_ENTRY_SIZE;
		uint32_t lblk = bv_le32(e);

		if (lblk < next) {
			why = depth ? "index entries out of order" : "extents overlap or out of order";
			goto corrupt;
		}
		if (depth > 0) {
			if (!blocks_valid(fs, idx_pblk(e), 1)) {
				why = "index points outside the filesystem";
				goto corrupt;
			}
			next = (uint64_t)lblk + 1;
		} else {
			bool unwritten;
			uint32_t n = ext_len(e, &unwritten);

			if (n == 0) {
				why = "zero-length extent";
				goto corrupt;
			}
			if ((uint64_t)lblk + n > EXT_LBLK_LIMIT) {
				why = "extent past the last logical block";
				goto corrupt;
			}
			if (!blocks_valid(fs, ext_pblk(e), n)) {
				why = "extent points outside the filesystem";
				goto corrupt;
			}
			next = (uint64_t)lblk + n;
		}
	}
	node->ent = ent;
	node->entries = entries;
	node->depth = depth;
	return 0;

corrupt:
	if (root)
		return bv_ext4_corrupt(fs, "inode %u: extent root: %s", inode->ino, why);
	return bv_ext4_corrupt(fs, "inode %u: extent block %llu: %s", inode->ino,
			       (unsigned long long)blk, why);
}

/* ---- validated extent blocks, remembered per thread ---- */

/* A walk over a directory or a file maps its blocks in order, one call each, and every
 * call passes through the same few extent blocks. Checking each of them in full every time
 * (checksum, every entry) made a walk cost blocks x entries: about 1.4 s per lookup in a
 * crafted directory whose 340 extents all map one physical run. So each thread remembers,
 * per tree level, the last block it validated and for whom: the verdict depends only on
 * the block's bytes and on the inode (its number and generation seed the checksum), the
 * depth and first block its parent named. On a hit the header is still checked (O(1)):
 * should the bytes have changed under us (a device written by someone else), entries
 * past the block can never be read; anything else a changed block could say (order,
 * pointers) is bounded again where it is used (bread and the source refuse blocks past
 * the end). */
struct ext_checked {
	uint64_t fs_id; /* 0: empty */
	uint64_t blk;
	uint32_t ino, generation, first;
	int depth;
};
static __thread struct ext_checked ext_checked[EXT4_MAX_EXTENT_DEPTH];

static struct ext_checked *ext_checked_slot(int depth)
{
	return &ext_checked[depth >= 0 && depth < EXT4_MAX_EXTENT_DEPTH ? depth : 0];
}

static bool ext_checked_has(const struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			    uint64_t blk, int depth, uint32_t first)
{
	const struct ext_checked *c = ext_checked_slot(depth);

	return c->fs_id == fs->id && c->blk == blk && c->ino == inode->ino &&
	       c->generation == inode->generation && c->first == first && c->depth == depth;
}

static void ext_checked_put(const struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			    uint64_t blk, int depth, uint32_t first)
{
	*ext_checked_slot(depth) = (struct ext_checked){ .fs_id = fs->id, .blk = blk,
							 .ino = inode->ino,
							 .generation = inode->generation,
							 .first = first, .depth = depth };
}

/* ext_node_check for a block below the root, skipping the full check when this thread
 * validated the same block for the same inode, depth and first block last time. */
static int ext_block_check(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			   const uint8_t *buf, uint64_t blk, int depth, uint32_t first,
			   struct ext_node *node)
{
	size_t room = (fs->sb.block_size - EXT4_EXT_HDR_SIZE - EXT4_EXT_TAIL_SIZE) /
		      EXT4_EXT_ENTRY_SIZE;
	uint16_t entries = bv_le16(buf + EH_ENTRIES);
	uint16_t eh_max = bv_le16(buf + EH_MAX);
	int err;

	if (ext_checked_has(fs, inode, blk, depth, first) &&
	    bv_le16(buf + EH_MAGIC) == EXT4_EXT_MAGIC && eh_max <= room && entries <= eh_max &&
	    bv_le16(buf + EH_DEPTH) == (uint16_t)depth) {
		node->ent = buf + EXT4_EXT_HDR_SIZE;
		node->entries = entries;
		node->depth = (uint16_t)depth;
		return 0;
	}
	atomic_fetch_add_explicit(&fs->ext_node_checks, 1, memory_order_relaxed);
	err = ext_node_check(fs, inode, buf, fs->sb.block_size, blk, depth, first, node);
	if (err == 0)
		ext_checked_put(fs, inode, blk, depth, first);
	return err;
}

/* Index of the last entry starting at or before LBLK, or -1 when all start after it.
 * The entries are sorted (checked by ext_node_check). */
static int ext_node_search(const struct ext_node *node, uint32_t lblk)
{
	int lo = 0, hi = (int)node->entries - 1, found = -1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;

		if (bv_le32(node->ent + (size_t)mid * EXT4_EXT_ENTRY_SIZE) <= lblk) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

/* Descends from the root to the leaf that answers LBLK (below EXT_LBLK_LIMIT): *LEAF,
 * checked, and *REF, its block pinned (nothing when the root is the leaf; release it with
 * bv_ext4_brelse either way). *LIMIT is the first logical block after the subtree walked:
 * where the next sibling of some ancestor starts. It bounds holes and clips extents that
 * stray past it, so a run never answers blocks the kernel's lookup would take from
 * another subtree. Every block from LBLK up to *LIMIT descends to this same leaf. */
static int ext_descend(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, uint64_t lblk,
		       struct ext_node *leaf, struct bv_cache_ref *ref, uint64_t *limit)
{
	struct ext_node node;
	int err;

	*limit = EXT_LBLK_LIMIT;
	err = ext_node_check(fs, inode, inode->i_block, EXT4_INODE_BLOCK_BYTES, 0, -1, 0,
			     &node);
	if (err)
		return err;

	/* Depth is at most EXT4_MAX_EXTENT_DEPTH and falls by one per level, so this loop
	 * runs at most five times. */
	while (node.depth > 0) {
		struct bv_cache_ref cref = { 0 };
		const uint8_t *e;
		uint64_t child;
		uint32_t first;
		int i;

		/* Before the first index the kernel descends into the first one anyway; the
		 * leaf then shows a hole up to its first extent. */
		i = ext_node_search(&node, (uint32_t)lblk);
		if (i < 0)
			i = 0;
		if (i + 1 < node.entries)
			*limit = min_u64(*limit, bv_le32(node.ent + (size_t)(i + 1) *
							       EXT4_EXT_ENTRY_SIZE));
		e = node.ent + (size_t)i * EXT4_EXT_ENTRY_SIZE;
		child = idx_pblk(e);
		first = bv_le32(e + EI_BLOCK);

		err = bv_ext4_bread(fs, child, &cref);
		if (err)
			return err;
		/* NODE points into the parent's block until here: release it only now. */
		bv_ext4_brelse(fs, ref);
		*ref = cref;
		err = ext_block_check(fs, inode, ref->data, child, node.depth - 1, first, &node);
		if (err)
			return err;
	}
	*leaf = node;
	return 0;
}

/* Answers LBLK, at most MAX_LEN blocks, from LEAF, which answers the blocks from LBLK up
 * to LIMIT (ext_descend's). */
static void ext_leaf_map(const struct ext_node *leaf, uint64_t lblk, uint32_t max_len,
			 uint64_t limit, struct bv_ext4_map *out)
{
	/* Every sibling boundary in LIMIT starts after LBLK (each level took the last entry
	 * at or before LBLK, or the first when all start after it), so STOP > LBLK and no
	 * run below is empty. */
	uint64_t stop = min_u64(lblk + max_len, limit);
	int i = ext_node_search(leaf, (uint32_t)lblk);

	if (i >= 0) {
		const uint8_t *e = leaf->ent + (size_t)i * EXT4_EXT_ENTRY_SIZE;
		uint64_t start = bv_le32(e + EE_BLOCK);
		bool unwritten;
		uint32_t n = ext_len(e, &unwritten);

		if (lblk < start + n) {
			*out = (struct bv_ext4_map){
				.lblk = lblk,
				.pblk = ext_pblk(e) + (lblk - start),
				.len = (uint32_t)(min_u64(start + n, stop) - lblk),
				.unwritten = unwritten,
			};
			return;
		}
	}
	/* A hole: up to the next extent in this leaf, else the next subtree. */
	if (i + 1 < leaf->entries)
		stop = min_u64(stop, bv_le32(leaf->ent + (size_t)(i + 1) * EXT4_EXT_ENTRY_SIZE));
	*out = (struct bv_ext4_map){ .lblk = lblk, .len = (uint32_t)(stop - lblk), .hole = true };
}

/* Maps LBLK through the extent tree; with a cursor CUR (may be NULL), from the leaf it
 * holds when that leaf answers LBLK, and otherwise keeping the leaf reached. */
static int ext_map(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, uint64_t lblk,
		   uint32_t max_len, struct bv_ext4_map_cursor *cur, struct bv_ext4_map *out)
{
	struct bv_cache_ref ref = { 0 };
	struct ext_node leaf;
	uint64_t limit;
	int err;

	if (lblk >= EXT_LBLK_LIMIT) {
		/* Past what an extent can address: nothing is mapped there. */
		*out = (struct bv_ext4_map){ .lblk = lblk, .len = max_len, .hole = true };
		return 0;
	}
	if (cur && cur->ent && lblk >= cur->from && lblk < cur->limit) {
		leaf = (struct ext_node){ .ent = cur->ent, .entries = cur->entries };
		ext_leaf_map(&leaf, lblk, max_len, cur->limit, out);
		return 0;
	}
	err = ext_descend(fs, inode, lblk, &leaf, &ref, &limit);
	if (err) {
		bv_ext4_brelse(fs, &ref);
		return err;
	}
	ext_leaf_map(&leaf, lblk, max_len, limit, out);
	if (!cur) {
		bv_ext4_brelse(fs, &ref);
		return 0;
	}
	bv_ext4_map_cursor_end(fs, cur);
	*cur = (struct bv_ext4_map_cursor){ .ref = ref, .ent = leaf.ent, .entries = leaf.entries,
					    .from = lblk, .limit = limit };
	return 0;
}

/* ---- indirect block map ---- */

/* Geometry of the indirect map for this block size. */
struct ind_geom {
	uint32_t apb;    /* pointers per block */
	unsigned shift;  /* log2(apb) */
	uint64_t limit;  /* first logical block past the triple-indirect range */
};

static void ind_geom_get(const struct bv_ext4 *fs, struct ind_geom *g)
{
	g->apb = fs->sb.block_size / 4;
	g->shift = 0;
	while ((1u << g->shift) < g->apb)
		g->shift++;
	/* apb^3 is 2^42 at most (64 KiB blocks): no overflow. */
	g->limit = EXT4_NDIR_BLOCKS + ((uint64_t)1 << g->shift) + ((uint64_t)1 << (2 * g->shift)) +
		   ((uint64_t)1 << (3 * g->shift));
}

/* One step of the indirect walk: maps LBLK (below G->limit) to a run of at most MAX_LEN
 * blocks that never leaves the pointer array (i_block or one indirect block) holding
 * LBLK's last pointer. A zero pointer at any level makes a hole covering all that pointer
 * maps, extended over the zero pointers after it in the same array. A pointer outside the
 * filesystem is -EUCLEAN, reported unless QUIET. */
static int ind_step(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
		    const struct ind_geom *g, uint64_t lblk, uint64_t max_len, bool quiet,
		    struct bv_ext4_map *out)
{
	struct bv_cache_ref ref = { 0 };
	const uint8_t *arr = inode->i_block; /* the pointer array being looked at */
	uint32_t arr_end;                    /* where a scan along ARR must stop */
	uint64_t rel = lblk;                 /* LBLK's offset in what slot IDX maps */
	uint64_t span;                       /* logical blocks one pointer in ARR maps */
	uint64_t idx;
	unsigned levels = 0;                 /* indirect levels below i_block */
	int err = 0;

	/* Which i_block slot holds LBLK. */
	if (rel < EXT4_NDIR_BLOCKS) {
		idx = rel;
		rel = 0;
		/* Direct pointers scan along among themselves only: slot 12 maps a range. */
		arr_end = EXT4_NDIR_BLOCKS;
	} else {
		rel -= EXT4_NDIR_BLOCKS;
		for (levels = 1; levels < 3; levels++) {
			uint64_t cover = (uint64_t)1 << (g->shift * levels);

			if (rel < cover)
				break;
			rel -= cover;
		}
		idx = EXT4_IND_BLOCK + levels - 1; /* or EXT4_DIND_BLOCK, EXT4_TIND_BLOCK */
		/* The three indirect slots map ranges of different sizes: no scan. */
		arr_end = (uint32_t)idx + 1;
	}
	span = (uint64_t)1 << (g->shift * levels);

	for (unsigned lv = 0;; lv++) {
		struct bv_cache_ref cref = { 0 };
		uint32_t ptr = bv_le32(arr + idx * 4);
		uint64_t n;

		if (ptr != 0 && !blocks_valid(fs, ptr, 1)) {
			err = -EUCLEAN;
			if (!quiet)
				bv_ext4_corrupt(fs, "inode %u: block map: pointer %u for block %llu "
						"outside the filesystem",
						inode->ino, ptr, (unsigned long long)lblk);
			goto out;
		}
		if (ptr == 0) {
			/* A hole: the rest of this pointer's range, then every zero pointer
			 * after it in this array. */
			n = span - (rel & (span - 1));
			for (uint64_t j = idx + 1; j < arr_end && n < max_len; j++) {
				if (bv_le32(arr + j * 4) != 0)
					break;
				n += span;
			}
			*out = (struct bv_ext4_map){ .lblk = lblk, .hole = true,
						     .len = (uint32_t)min_u64(n, max_len) };
			goto out;
		}
		if (lv == levels) {
			/* A data pointer: extend over physically consecutive pointers. */
			n = 1;
			for (uint64_t j = idx + 1; j < arr_end && n < max_len; j++) {
				uint32_t p = bv_le32(arr + j * 4);

				if ((uint64_t)p != ptr + n || !blocks_valid(fs, p, 1))
					break;
				n++;
			}
			*out = (struct bv_ext4_map){ .lblk = lblk, .pblk = ptr, .len = (uint32_t)n };
			goto out;
		}
		/* Descend into indirect block PTR; ARR points into REF until released. */
		err = bv_ext4_bread(fs, ptr, &cref);
		if (err)
			goto out;
		bv_ext4_brelse(fs, &ref);
		ref = cref;
		arr = ref.data;
		arr_end = g->apb;
		span >>= g->shift;
		idx = (rel >> (g->shift * (levels - lv - 1))) & (g->apb - 1);
	}
out:
	bv_ext4_brelse(fs, &ref);
	return err;
}

static int ind_map(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, uint64_t lblk,
		   uint32_t max_len, struct bv_ext4_map *out)
{
	struct ind_geom g;
	struct bv_ext4_map m;
	uint64_t done, want;
	int err;

	ind_geom_get(fs, &g);
	if (lblk >= g.limit)
		return bv_ext4_corrupt(fs, "inode %u: block %llu past the triple-indirect range",
				       inode->ino, (unsigned long long)lblk);
	/* Nothing is mapped past the triple-indirect range: runs stop there. */
	want = min_u64(max_len, g.limit - lblk);
	err = ind_step(fs, inode, &g, lblk, want, false, &m);
	if (err)
		return err;
	if (!m.hole) {
		*out = m;
		return 0;
	}
	/* Grow the hole over the empty ranges after it until something is mapped. Trouble
	 * further on (a bad pointer, a read error) only ends the hole early: the caller
	 * meets it, reported, when it asks for that block itself. */
	done = m.len;
	for (int step = 1; step < IND_HOLE_MAX_STEPS && done < want; step++) {
		if (ind_step(fs, inode, &g, lblk + done, want - done, true, &m) != 0 || !m.hole)
			break;
		done += m.len;
	}
	*out = (struct bv_ext4_map){ .lblk = lblk, .len = (uint32_t)done, .hole = true };
	return 0;
}

int bv_ext4_map_blocks(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, uint64_t lblk,
		       uint32_t max_len, struct bv_ext4_map *out)
{
	return bv_ext4_map_next(fs, inode, NULL, lblk, max_len, out);
}

int bv_ext4_map_next(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
		     struct bv_ext4_map_cursor *cur, uint64_t lblk, uint32_t max_len,
		     struct bv_ext4_map *out)
{
	if (max_len == 0)
		return -EINVAL;
	if (inode->flags & EXT4_INLINE_DATA_FL)
		return -EINVAL; /* inline data has no blocks to map */
	if (inode->flags & EXT4_EXTENTS_FL)
		return ext_map(fs, inode, lblk, max_len, cur, out);
	return ind_map(fs, inode, lblk, max_len, out);
}

void bv_ext4_map_cursor_end(struct bv_ext4 *fs, struct bv_ext4_map_cursor *cur)
{
	bv_ext4_brelse(fs, &cur->ref);
	*cur = (struct bv_ext4_map_cursor){ 0 };
}

uint64_t bv_ext4_map_limit(const struct bv_ext4 *fs, const struct bv_ext4_inode *inode)
{
	struct ind_geom g;

	if (inode->flags & EXT4_EXTENTS_FL)
		return EXT_LBLK_LIMIT;
	ind_geom_get(fs, &g);
	return g.limit;
}
