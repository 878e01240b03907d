/* Block mapping: extent trees and indirect block maps.
 *
 * The first tests build extent roots and direct maps by hand on a filesystem struct that
 * has no device behind it (nothing below the inode is read). The rest build images with
 * mkfs, find the tree's blocks by parsing the image, break one field in an in-memory copy
 * and expect the exact error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/ext4/ext4_priv.h"
#include "fs/ext4/inode.h"
#include "util/le.h"
#include "tests/testutil.h"

/* mke2fs.conf's ext4, spelled out so the tree shape does not depend on the host's config. */
#define BM_EXT4_OPTS                                                                       \
	"-I 256 -O has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,"   \
	"extra_isize,ext_attr"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

/* ---- synthetic: a filesystem struct with geometry only ---- */

static struct bv_ext4 fake_fs;
static uint8_t fake_dev[1];

/* Corruption reports name the source, so the struct gets an (empty) memory source; every
 * block the tests map is below the inode, so nothing is ever read from it. */
static struct bv_ext4 *fake_fs_get(uint32_t bs, uint64_t blocks)
{
	bv_source_close(fake_fs.src); /* a test may build several */
	memset(&fake_fs, 0, sizeof(fake_fs));
	ck_assert_int_eq(bv_source_open_mem(fake_dev, sizeof(fake_dev), &fake_fs.src), 0);
	fake_fs.sb.block_size = bs;
	fake_fs.sb.s_log_block_size = bs == 1024 ? 0 : bs == 2048 ? 1 : 2;
	fake_fs.sb.s_first_data_block = bs == 1024 ? 1 : 0;
	fake_fs.sb.s_blocks_count = blocks;
	return &fake_fs;
}

static void fake_fs_teardown(void)
{
	bv_source_close(fake_fs.src);
	fake_fs.src = NULL;
}

static void hdr_put(uint8_t *p, uint16_t entries, uint16_t max, uint16_t depth)
{
	put16(p, 0xF30A);
	put16(p + 2, entries);
	put16(p + 4, max);
	put16(p + 6, depth);
	put32(p + 8, 0);
}

static void ext_put(uint8_t *p, int i, uint32_t lblk, uint16_t len, uint64_t pblk)
{
	uint8_t *e = p + 12 + 12 * i;

	put32(e, lblk);
	put16(e + 4, len);
	put16(e + 6, (uint16_t)(pblk >> 32));
	put32(e + 8, (uint32_t)pblk);
}

/* Extents: [10, 15) at 100, [20, 22) unwritten at 200, [30, 31) at 300. */
static void root_inode(struct bv_ext4_inode *ino)
{
	memset(ino, 0, sizeof(*ino));
	ino->ino = 12;
	ino->flags = EXT4_EXTENTS_FL;
	hdr_put(ino->i_block, 3, 4, 0);
	ext_put(ino->i_block, 0, 10, 5, 100);
	ext_put(ino->i_block, 1, 20, 32768 + 2, 200);
	ext_put(ino->i_block, 2, 30, 1, 300);
}

START_TEST(test_extent_root_maps_runs_and_holes)
{
	struct bv_ext4 *fs = fake_fs_get(4096, 1000);
	struct bv_ext4_inode ino;
	struct bv_ext4_map m;

	root_inode(&ino);
	/* A hole before the first extent reaches it. */
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 0, 100, &m), 0);
	ck_assert(m.hole);
	ck_assert_uint_eq(m.lblk, 0);
	ck_assert_uint_eq(m.len, 10);
	/* Mid-extent: the rest of it, offset physically. */
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 12, 100, &m), 0);
	ck_assert(!m.hole && !m.unwritten);
	ck_assert_uint_eq(m.pblk, 102);
	ck_assert_uint_eq(m.len, 3);
	/* MAX_LEN bounds a mapped run and a hole. */
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 10, 2, &m), 0);
	ck_assert_uint_eq(m.len, 2);
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 15, 3, &m), 0);
	ck_assert(m.hole);
	ck_assert_uint_eq(m.len, 3);
	/* A hole between extents ends at the next one. */
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 15, 100, &m), 0);
	ck_assert(m.hole);
	ck_assert_uint_eq(m.len, 5);
	/* ee_len above 32768 is unwritten. */
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 20, 100, &m), 0);
	ck_assert(!m.hole && m.unwritten);
	ck_assert_uint_eq(m.pblk, 200);
	ck_assert_uint_eq(m.len, 2);
	/* After the last extent: a hole of MAX_LEN. */
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 31, 1000, &m), 0);
	ck_assert(m.hole);
	ck_assert_uint_eq(m.len, 1000);
	/* Past the 32-bit logical range nothing is mapped. */
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, (uint64_t)1 << 40, 7, &m), 0);
	ck_assert(m.hole);
	ck_assert_uint_eq(m.len, 7);
}
END_TEST

START_TEST(test_extent_full_length_is_written)
{
	struct bv_ext4 *fs = fake_fs_get(4096, 100000);
	struct bv_ext4_inode ino;
	struct bv_ext4_map m;

	root_inode(&ino);
	hdr_put(ino.i_block, 1, 4, 0);
	ext_put(ino.i_block, 0, 0, 32768, 40000); /* EXT_INIT_MAX_LEN: written */
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 0, UINT32_MAX, &m), 0);
	ck_assert(!m.unwritten && !m.hole);
	ck_assert_uint_eq(m.len, 32768);
	ck_assert_uint_eq(m.pblk, 40000);
}
END_TEST

START_TEST(test_extent_48bit_physical)
{
	struct bv_ext4 *fs = fake_fs_get(4096, (uint64_t)1 << 40);
	struct bv_ext4_inode ino;
	struct bv_ext4_map m;

	root_inode(&ino);
	hdr_put(ino.i_block, 1, 4, 0);
	ext_put(ino.i_block, 0, 0, 8, ((uint64_t)0x12 << 32) | 0x345678);
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 3, 100, &m), 0);
	ck_assert_uint_eq(m.pblk, (((uint64_t)0x12 << 32) | 0x345678) + 3);
}
END_TEST

/* Each root corruption, one field broken in the valid root above. */
static void expect_root_error(void (*breaker)(struct bv_ext4_inode *), int want)
{
	struct bv_ext4 *fs = fake_fs_get(4096, 1000);
	struct bv_ext4_inode ino;
	struct bv_ext4_map m = { .lblk = 77 };

	root_inode(&ino);
	breaker(&ino);
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 12, 100, &m), want);
	ck_assert_uint_eq(m.lblk, 77); /* untouched on failure */
}

static void brk_magic(struct bv_ext4_inode *i) { put16(i->i_block, 0xF30B); }
static void brk_entries(struct bv_ext4_inode *i) { put16(i->i_block + 2, 5); put16(i->i_block + 4, 4); }
static void brk_entries_over_max(struct bv_ext4_inode *i) { put16(i->i_block + 4, 2); }
static void brk_max_zero(struct bv_ext4_inode *i) { put16(i->i_block + 2, 0); put16(i->i_block + 4, 0); }
static void brk_max_room(struct bv_ext4_inode *i) { put16(i->i_block + 4, 5); }
static void brk_depth(struct bv_ext4_inode *i) { put16(i->i_block + 6, 6); }
static void brk_unsorted(struct bv_ext4_inode *i) { ext_put(i->i_block, 1, 5, 2, 200); }
static void brk_overlap(struct bv_ext4_inode *i) { ext_put(i->i_block, 1, 14, 2, 200); }
static void brk_zero_len(struct bv_ext4_inode *i) { ext_put(i->i_block, 1, 20, 0, 200); }
static void brk_past_end(struct bv_ext4_inode *i) { ext_put(i->i_block, 2, 30, 1, 1000); }
static void brk_run_past_end(struct bv_ext4_inode *i) { ext_put(i->i_block, 2, 30, 2, 999); }
static void brk_block_zero(struct bv_ext4_inode *i) { ext_put(i->i_block, 2, 30, 1, 0); }
static void brk_lblk_overflow(struct bv_ext4_inode *i) { ext_put(i->i_block, 2, 0xFFFFFFFF, 2, 300); }
static void brk_index_empty(struct bv_ext4_inode *i) { hdr_put(i->i_block, 0, 4, 1); }
static void brk_index_past_end(struct bv_ext4_inode *i)
{
	hdr_put(i->i_block, 1, 4, 1);
	put32(i->i_block + 12, 0);
	put32(i->i_block + 16, 5000);
	put16(i->i_block + 20, 0);
}

START_TEST(test_extent_root_rejects_bad_magic) { expect_root_error(brk_magic, -EUCLEAN); }
END_TEST
START_TEST(test_extent_root_rejects_eh_max_over_room) { expect_root_error(brk_max_room, -EUCLEAN); expect_root_error(brk_entries, -EUCLEAN); }
END_TEST
START_TEST(test_extent_root_rejects_entries_over_max) { expect_root_error(brk_entries_over_max, -EUCLEAN); }
END_TEST
START_TEST(test_extent_root_rejects_zero_max) { expect_root_error(brk_max_zero, -EUCLEAN); }
END_TEST
START_TEST(test_extent_root_rejects_depth_over_5) { expect_root_error(brk_depth, -EUCLEAN); }
END_TEST
START_TEST(test_extent_root_rejects_unsorted) { expect_root_error(brk_unsorted, -EUCLEAN); }
END_TEST
START_TEST(test_extent_root_rejects_overlap) { expect_root_error(brk_overlap, -EUCLEAN); }
END_TEST
START_TEST(test_extent_root_rejects_zero_length) { expect_root_error(brk_zero_len, -EUCLEAN); }
END_TEST
START_TEST(test_extent_root_rejects_block_past_end) { expect_root_error(brk_past_end, -EUCLEAN); expect_root_error(brk_run_past_end, -EUCLEAN); }
END_TEST
START_TEST(test_extent_root_rejects_superblock_area) { expect_root_error(brk_block_zero, -EUCLEAN); }
END_TEST
START_TEST(test_extent_root_rejects_logical_overflow) { expect_root_error(brk_lblk_overflow, -EUCLEAN); }
END_TEST
START_TEST(test_extent_index_rejects_empty) { expect_root_error(brk_index_empty, -EUCLEAN); }
END_TEST
START_TEST(test_extent_index_rejects_block_past_end) { expect_root_error(brk_index_past_end, -EUCLEAN); }
END_TEST

START_TEST(test_extent_first_data_block_1k)
{
	/* With 1 KiB blocks the superblock is block 1: block 1 is not data, block 2 is. */
	struct bv_ext4 *fs = fake_fs_get(1024, 1000);
	struct bv_ext4_inode ino;
	struct bv_ext4_map m;

	root_inode(&ino);
	hdr_put(ino.i_block, 1, 4, 0);
	ext_put(ino.i_block, 0, 0, 1, 1);
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 0, 1, &m), -EUCLEAN);
	ext_put(ino.i_block, 0, 0, 1, 2);
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 0, 1, &m), 0);
	ck_assert_uint_eq(m.pblk, 2);
}
END_TEST

static void direct_inode(struct bv_ext4_inode *ino, const uint32_t *ptrs, int n)
{
	memset(ino, 0, sizeof(*ino));
	ino->ino = 13;
	for (int i = 0; i < n; i++)
		put32(ino->i_block + 4 * i, ptrs[i]);
}

START_TEST(test_indirect_direct_runs_and_holes)
{
	struct bv_ext4 *fs = fake_fs_get(4096, 1000);
	const uint32_t ptrs[12] = { 50, 51, 52, 70, 0, 0, 80, 81, 0, 0, 0, 0 };
	struct bv_ext4_inode ino;
	struct bv_ext4_map m;

	direct_inode(&ino, ptrs, 12);
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 0, 100, &m), 0);
	ck_assert(!m.hole);
	ck_assert_uint_eq(m.pblk, 50);
	ck_assert_uint_eq(m.len, 3);
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 1, 1, &m), 0);
	ck_assert_uint_eq(m.pblk, 51);
	ck_assert_uint_eq(m.len, 1);
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 3, 100, &m), 0);
	ck_assert_uint_eq(m.pblk, 70);
	ck_assert_uint_eq(m.len, 1);
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 4, 100, &m), 0);
	ck_assert(m.hole);
	ck_assert_uint_eq(m.len, 2);
	/* A hole over the last direct pointers continues through the empty single,
	 * double and triple indirect ranges: up to MAX_LEN. */
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 8, 5000, &m), 0);
	ck_assert(m.hole);
	ck_assert_uint_eq(m.len, 5000);
}
END_TEST

START_TEST(test_indirect_rejects_pointer_past_end)
{
	struct bv_ext4 *fs = fake_fs_get(4096, 1000);
	uint32_t ptrs[15] = { 50, 1000 };
	struct bv_ext4_inode ino;
	struct bv_ext4_map m;

	direct_inode(&ino, ptrs, 15);
	/* The run from 0 stops before the bad pointer; asking for it is corruption. */
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 0, 100, &m), 0);
	ck_assert_uint_eq(m.len, 1);
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 1, 100, &m), -EUCLEAN);
	ptrs[1] = 0;
	ptrs[12] = 1000; /* the single indirect block itself */
	direct_inode(&ino, ptrs, 15);
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 12, 1, &m), -EUCLEAN);
	/* ...but a hole before it still reads, ending where the bad range starts. */
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 1, 100, &m), 0);
	ck_assert(m.hole);
	ck_assert_uint_eq(m.len, 11);
}
END_TEST

START_TEST(test_indirect_rejects_block_past_triple_range)
{
	struct bv_ext4 *fs = fake_fs_get(1024, 1000);
	struct bv_ext4_inode ino;
	struct bv_ext4_map m;
	uint64_t limit = 12 + 256 + 256 * 256 + 256 * 256 * 256;

	direct_inode(&ino, NULL, 0);
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, limit - 1, 10, &m), 0);
	ck_assert(m.hole);
	ck_assert_uint_eq(m.len, 1); /* nothing maps past the range: the run stops there */
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, limit, 1, &m), -EUCLEAN);
}
END_TEST

START_TEST(test_map_rejects_zero_max_len_and_inline)
{
	struct bv_ext4 *fs = fake_fs_get(4096, 1000);
	struct bv_ext4_inode ino;
	struct bv_ext4_map m;

	root_inode(&ino);
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 0, 0, &m), -EINVAL);
	ino.flags = EXT4_INLINE_DATA_FL;
	ck_assert_int_eq(bv_ext4_map_blocks(fs, &ino, 0, 1, &m), -EINVAL);
}
END_TEST

/* ---- images ---- */

/* A source directory for the tree images: a file at every other block (one extent per
 * data block, enough for a depth-2 tree with 1 KiB blocks) and a plain ext2 file that
 * reaches the double indirect range. */
static const char *bm_srcdir(void)
{
	static char dir[512];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/blockmap-src", bv_test_tmpdir());
	if (bv_test_sh("test -d '%s'", dir) == 0)
		return dir;
	if (bv_test_sh("mkdir -p '%s.tmp'", dir) != 0)
		return NULL;
	char path[600];
	snprintf(path, sizeof(path), "%s.tmp/stride", dir);
	f = fopen(path, "wb");
	if (!f)
		return NULL;
	uint8_t blk[1024];
	for (int i = 0; i < 900; i++) {
		memset(blk, 'a' + i % 26, sizeof(blk));
		put32(blk, (uint32_t)i);
		if (fseek(f, (long)i * 2 * 1024, SEEK_SET) != 0 || fwrite(blk, 1, 1024, f) != 1024)
			break;
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s.tmp/dense", dir);
	f = fopen(path, "wb");
	if (!f)
		return NULL;
	for (int i = 0; i < 400; i++) {
		memset(blk, 'A' + i % 26, sizeof(blk));
		put32(blk, (uint32_t)i);
		fwrite(blk, 1, 1024, f);
	}
	fclose(f);
	/* 1 GiB, data only at 0 and at 512 MiB: with 1 KiB blocks that is triple indirect. */
	snprintf(path, sizeof(path), "%s.tmp/sparse", dir);
	f = fopen(path, "wb");
	if (!f)
		return NULL;
	memset(blk, 'S', sizeof(blk));
	fwrite(blk, 1, 100, f);
	fseek(f, 512L * 1024 * 1024 + 100, SEEK_SET);
	for (int i = 0; i < 8; i++)
		fwrite(blk, 1, sizeof(blk), f);
	fclose(f);
	if (truncate(path, 1024L * 1024 * 1024) != 0)
		return NULL;
	if (bv_test_sh("mv '%s.tmp' '%s'", dir, dir) != 0)
		return NULL;
	return dir;
}

/* Inode number of /NAME in IMG, from debugfs. */
static uint32_t bm_ino(const char *img, const char *name)
{
	char cmd[1024], line[256];
	unsigned ino = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "debugfs -R 'stat /%s' '%s' 2>/dev/null", name, img);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "Inode: %u", &ino) == 1)
			break;
	pclose(p);
	return ino;
}

/* An opened in-memory copy of an image, for patching. */
struct bm_img {
	uint8_t *buf;
	size_t len;
	struct bv_source *src;
	struct bv_ext4 *fs;
};

static int bm_open(struct bm_img *im, bool skip_csum)
{
	struct bv_ext4_opts opts = { .skip_csum = skip_csum };
	char why[256];
	int err;

	err = bv_source_open_mem(im->buf, im->len, &im->src);
	if (err)
		return err;
	err = bv_ext4_open(im->src, &opts, &im->fs, why, sizeof(why));
	if (err) {
		bv_source_close(im->src);
		im->src = NULL;
	}
	return err;
}

static void bm_close(struct bm_img *im)
{
	bv_ext4_close(im->fs);
	bv_source_close(im->src);
	im->fs = NULL;
	im->src = NULL;
}

/* Maps every block of INODE in MAX_LEN pieces and checks the runs tile the file. */
static int bm_walk(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, uint32_t max_len,
		   uint64_t *mapped)
{
	uint64_t nblk = (inode->size + fs->sb.block_size - 1) / fs->sb.block_size;
	struct bv_ext4_map m;

	*mapped = 0;
	for (uint64_t l = 0; l < nblk; l += m.len) {
		int err = bv_ext4_map_blocks(fs, inode, l, max_len, &m);

		if (err)
			return err;
		ck_assert_uint_eq(m.lblk, l);
		ck_assert_uint_ge(m.len, 1);
		ck_assert_uint_le(m.len, max_len);
		if (!m.hole)
			*mapped += m.len;
	}
	return 0;
}

/* The 1 KiB-block ext4 image with the stride file: extent tree of depth 2. */
static const char *bm_ext4_img(void)
{
	const char *src = bm_srcdir();

	if (!src)
		return NULL;
	return bv_test_mkfs("blockmap-ext4-1k", "-b 1024 " BM_EXT4_OPTS, src, "16M");
}

static bool bm_load(struct bm_img *im, const char *img)
{
	memset(im, 0, sizeof(*im));
	return img && bv_test_slurp(img, &im->buf, &im->len) == 0;
}

/* Opens the 1 KiB image and reads /stride (depth-2 tree) into *INODE. */
static void bm_open_stride(struct bm_img *im, struct bv_ext4_inode *inode)
{
	const char *img = bm_ext4_img();

	ck_assert_ptr_nonnull(img);
	ck_assert(bm_load(im, img));
	ck_assert_int_eq(bm_open(im, false), 0);
	ck_assert_int_eq(bv_ext4_inode_get(im->fs, bm_ino(img, "stride"), inode), 0);
}

START_TEST(test_extent_tree_depth2_maps_every_block)
{
	struct bm_img im;
	struct bv_ext4_inode inode;
	uint64_t mapped;

	bm_open_stride(&im, &inode);
	ck_assert(inode.flags & EXT4_EXTENTS_FL);
	ck_assert_uint_eq(bv_le16(inode.i_block + 6), 2); /* depth 2, as built */
	ck_assert_int_eq(bm_walk(im.fs, &inode, UINT32_MAX, &mapped), 0);
	ck_assert_uint_eq(mapped, 900);
	/* Every even block maps, every odd one is a one-block hole. */
	for (uint64_t l = 0; l < 1799; l++) {
		struct bv_ext4_map m;

		ck_assert_int_eq(bv_ext4_map_blocks(im.fs, &inode, l, 100, &m), 0);
		ck_assert_uint_eq(m.hole, l % 2);
		ck_assert_uint_eq(m.len, 1);
	}
	bm_close(&im);
	free(im.buf);
}
END_TEST

/* A forward walk through a cursor answers exactly what a descent per call answers, for
 * every block and run length, and descends only when it leaves a leaf: once per leaf of
 * the depth-2 tree (900 extents, 84 per 1 KiB leaf) instead of once per call. */
START_TEST(test_extent_cursor_walk_matches_descents)
{
	static const uint32_t lens[] = { 1, 2, 3, 7, 100, UINT32_MAX };
	struct bm_img im;
	struct bv_ext4_inode inode;

	bm_open_stride(&im, &inode);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		struct bv_ext4_map_cursor cur = { 0 };
		uint64_t descents = 0, from = UINT64_MAX;

		for (uint64_t l = 0; l < 1900;) {
			struct bv_ext4_map a, b;

			ck_assert_int_eq(bv_ext4_map_next(im.fs, &inode, &cur, l, lens[k], &a), 0);
			if (cur.from != from)
				descents++;
			from = cur.from;
			ck_assert_int_eq(bv_ext4_map_blocks(im.fs, &inode, l, lens[k], &b), 0);
			ck_assert_mem_eq(&a, &b, sizeof(a));
			l += a.len;
		}
		bv_ext4_map_cursor_end(im.fs, &cur);
		ck_assert_ptr_null(cur.ent);
		ck_assert_uint_ge(descents, 900 / 84 + 1);
		ck_assert_uint_le(descents, 900 / 84 + 2);
	}
	/* A block before the cursor's leaf is answered by a descent, rightly. */
	{
		struct bv_ext4_map_cursor cur = { 0 };
		struct bv_ext4_map a, b;

		ck_assert_int_eq(bv_ext4_map_next(im.fs, &inode, &cur, 1700, 1, &a), 0);
		ck_assert_int_eq(bv_ext4_map_next(im.fs, &inode, &cur, 10, 1, &a), 0);
		ck_assert_int_eq(bv_ext4_map_blocks(im.fs, &inode, 10, 1, &b), 0);
		ck_assert_mem_eq(&a, &b, sizeof(a));
		ck_assert_uint_eq(cur.from, 10);
		bv_ext4_map_cursor_end(im.fs, &cur);
	}
	bm_close(&im);
	free(im.buf);
}
END_TEST

/* A walk is linear in the blocks it visits: mapping the 1799 blocks of the depth-2 tree
 * one call each validates each extent block once (the thread remembers the last one per
 * level), not once per call, which made a crafted directory cost blocks x entries. */
START_TEST(test_extent_walk_validates_each_block_once)
{
	struct bm_img im;
	struct bv_ext4_inode inode;
	struct bv_ext4_map m;
	unsigned long checks;

	bm_open_stride(&im, &inode);
	for (uint64_t l = 0; l < 1799; l++)
		ck_assert_int_eq(bv_ext4_map_blocks(im.fs, &inode, l, 1, &m), 0);
	checks = atomic_load(&im.fs->ext_node_checks);
	/* One index block and the leaves under it (900 extents, 84 per 1 KiB leaf): each
	 * once. Checked on every call, this would be 2 x 1799. */
	ck_assert_uint_ge(checks, 2);
	ck_assert_uint_le(checks, 16);
	/* Another inode's walk through the same blocks is validated for that inode anew:
	 * the checksum, seeded with the generation, then fails. */
	inode.generation ^= 1;
	ck_assert_int_ne(bv_ext4_map_blocks(im.fs, &inode, 0, 1, &m), 0);
	bm_close(&im);
	free(im.buf);
}
END_TEST

/* Holes run to the next mapped block: the sparse 1 GiB file is walked in a few calls,
 * extent-mapped and through the triple indirect range of a 1 KiB ext2 map alike. */
static void bm_sparse_walk(const char *img, bool extents)
{
	struct bm_img im;
	struct bv_ext4_inode inode;
	struct bv_ext4_map m;
	uint64_t l = 0, mapped = 0;
	int calls = 0;

	ck_assert_ptr_nonnull(img);
	ck_assert(bm_load(&im, img));
	ck_assert_int_eq(bm_open(&im, false), 0);
	ck_assert_int_eq(bv_ext4_inode_get(im.fs, bm_ino(img, "sparse"), &inode), 0);
	ck_assert_uint_eq(!!(inode.flags & EXT4_EXTENTS_FL), extents);
	ck_assert_uint_eq(inode.size, 1024ull * 1024 * 1024);
	while (l < 1024 * 1024) {
		ck_assert_int_eq(bv_ext4_map_blocks(im.fs, &inode, l, 1024 * 1024 - (uint32_t)l, &m), 0);
		ck_assert_uint_eq(m.lblk, l);
		if (!m.hole)
			mapped += m.len;
		l += m.len;
		calls++;
	}
	ck_assert_uint_eq(l, 1024 * 1024);
	ck_assert_uint_eq(mapped, 1 + 9); /* block 0, then 8 KiB at +100 bytes: 9 blocks */
	ck_assert_int_le(calls, 8);
	/* The hole after block 0 ends exactly at the data at 512 MiB + 100. */
	ck_assert_int_eq(bv_ext4_map_blocks(im.fs, &inode, 1, UINT32_MAX, &m), 0);
	ck_assert(m.hole);
	ck_assert_uint_eq(m.len, 512 * 1024 - 1);
	bm_close(&im);
	free(im.buf);
}

START_TEST(test_extent_sparse_1g_maps_in_few_calls) { bm_sparse_walk(bm_ext4_img(), true); }
END_TEST
START_TEST(test_indirect_sparse_1g_maps_in_few_calls)
{
	const char *src = bm_srcdir();

	ck_assert_ptr_nonnull(src);
	bm_sparse_walk(bv_test_mkfs("blockmap-ext2-1k", "-t ext2 -b 1024", src, "16M"), false);
}
END_TEST

/* Block numbers of the tree of /stride: the index block under the root and the first
 * leaf under it. */
struct bm_tree {
	uint32_t ino;
	struct bv_ext4_inode inode;
	uint64_t index_blk, leaf_blk;
	uint32_t bs;
	uint32_t csum_seed;
};

static void bm_tree_get(struct bm_img *im, const char *img, struct bm_tree *t)
{
	const uint8_t *root, *idx;

	ck_assert_int_eq(bm_open(im, false), 0);
	t->ino = bm_ino(img, "stride");
	ck_assert_int_eq(bv_ext4_inode_get(im->fs, t->ino, &t->inode), 0);
	t->bs = im->fs->sb.block_size;
	t->csum_seed = im->fs->sb.csum_seed;
	root = t->inode.i_block;
	ck_assert_uint_eq(bv_le16(root + 6), 2);
	t->index_blk = bv_le32(root + 12 + 4) | ((uint64_t)bv_le16(root + 12 + 8) << 32);
	ck_assert_uint_lt((t->index_blk + 1) * t->bs, im->len + 1);
	idx = im->buf + t->index_blk * t->bs;
	ck_assert_uint_eq(bv_le16(idx), 0xF30A);
	ck_assert_uint_eq(bv_le16(idx + 6), 1);
	t->leaf_blk = bv_le32(idx + 12 + 4) | ((uint64_t)bv_le16(idx + 12 + 8) << 32);
	ck_assert_uint_eq(bv_le16(im->buf + t->leaf_blk * t->bs + 6), 0);
	bm_close(im);
}

/* Rewrites the extent tail of block BLK so only the field broken is wrong. */
static void bm_csum_fix(struct bm_img *im, const struct bm_tree *t, uint64_t blk)
{
	uint8_t *b = im->buf + blk * t->bs;
	size_t tail = 12 + 12 * (size_t)bv_le16(b + 4);
	uint8_t le[4];
	uint32_t crc;

	put32(le, t->ino);
	crc = bv_crc32c(t->csum_seed, le, 4);
	put32(le, t->inode.generation);
	crc = bv_crc32c(crc, le, 4);
	put32(b + tail, bv_crc32c(crc, b, tail));
}

/* Breaks the tree with BREAKER, then maps the whole file expecting WANT. */
static void bm_expect(void (*breaker)(uint8_t *blk, const struct bm_tree *t), bool leaf,
		      bool fix_csum, int want)
{
	const char *img = bm_ext4_img();
	struct bm_img im;
	struct bm_tree t;
	struct bv_ext4_inode inode;
	uint64_t mapped;

	ck_assert_ptr_nonnull(img);
	ck_assert(bm_load(&im, img));
	bm_tree_get(&im, img, &t);
	/* The intact tree maps. */
	ck_assert_int_eq(bm_open(&im, false), 0);
	ck_assert_int_eq(bv_ext4_inode_get(im.fs, t.ino, &inode), 0);
	ck_assert_int_eq(bm_walk(im.fs, &inode, 64, &mapped), 0);
	bm_close(&im);

	uint64_t blk = leaf ? t.leaf_blk : t.index_blk;
	breaker(im.buf + blk * t.bs, &t);
	if (fix_csum)
		bm_csum_fix(&im, &t, blk);
	ck_assert_int_eq(bm_open(&im, false), 0);
	ck_assert_int_eq(bm_walk(im.fs, &inode, 64, &mapped), want);
	bm_close(&im);
	free(im.buf);
}

static void tb_magic(uint8_t *b, const struct bm_tree *t) { (void)t; put16(b, 0x0AF3); }
static void tb_entries(uint8_t *b, const struct bm_tree *t) { (void)t; put16(b + 2, (uint16_t)(bv_le16(b + 4) + 1)); }
static void tb_max(uint8_t *b, const struct bm_tree *t) { put16(b + 4, (uint16_t)((t->bs - 12) / 12 + 1)); }
static void tb_depth(uint8_t *b, const struct bm_tree *t) { (void)t; put16(b + 6, (uint16_t)(bv_le16(b + 6) + 1)); }
static void tb_unsorted(uint8_t *b, const struct bm_tree *t)
{
	uint8_t tmp[12];

	(void)t;
	memcpy(tmp, b + 12 + 12 * 3, 12);
	memcpy(b + 12 + 12 * 3, b + 12 + 12 * 4, 12);
	memcpy(b + 12 + 12 * 4, tmp, 12);
}
/* The image is 16 MiB of 1 KiB blocks: block 16384 is the first past the end. */
static void tb_past_end_leaf(uint8_t *b, const struct bm_tree *t)
{
	(void)t;
	put32(b + 12 + 12 * 2 + 8, 16 * 1024); /* ee_start_lo */
}
static void tb_past_end_index(uint8_t *b, const struct bm_tree *t)
{
	(void)t;
	put32(b + 12 + 12 * 2 + 4, 16 * 1024); /* ei_leaf_lo */
}
static void tb_run_past_end(uint8_t *b, const struct bm_tree *t)
{
	(void)t;
	put16(b + 12 + 12 * 2 + 4, 2); /* a 1-block extent made 2 long, ending past the end */
	put32(b + 12 + 12 * 2 + 8, 16 * 1024 - 1);
}
static void tb_first(uint8_t *b, const struct bm_tree *t) { (void)t; put32(b + 12, bv_le32(b + 12) + 1); }
static void tb_csum(uint8_t *b, const struct bm_tree *t) { (void)t; b[12 + 12 * 2 + 8] ^= 1; }

START_TEST(test_extent_block_rejects_bad_magic) { bm_expect(tb_magic, true, false, -EUCLEAN); bm_expect(tb_magic, false, false, -EUCLEAN); }
END_TEST
START_TEST(test_extent_block_rejects_entries_over_max) { bm_expect(tb_entries, true, true, -EUCLEAN); }
END_TEST
START_TEST(test_extent_block_rejects_max_over_room) { bm_expect(tb_max, false, true, -EUCLEAN); }
END_TEST
START_TEST(test_extent_block_rejects_child_depth_mismatch) { bm_expect(tb_depth, true, true, -EUCLEAN); bm_expect(tb_depth, false, true, -EUCLEAN); }
END_TEST
START_TEST(test_extent_block_rejects_unsorted_leaf) { bm_expect(tb_unsorted, true, true, -EUCLEAN); }
END_TEST
START_TEST(test_extent_block_rejects_unsorted_index) { bm_expect(tb_unsorted, false, true, -EUCLEAN); }
END_TEST
START_TEST(test_extent_block_rejects_block_past_end) { bm_expect(tb_past_end_leaf, true, true, -EUCLEAN); bm_expect(tb_past_end_index, false, true, -EUCLEAN); bm_expect(tb_run_past_end, true, true, -EUCLEAN); }
END_TEST
START_TEST(test_extent_block_rejects_first_entry_mismatch) { bm_expect(tb_first, true, true, -EUCLEAN); }
END_TEST
START_TEST(test_extent_block_rejects_bad_checksum) { bm_expect(tb_csum, true, false, -EBADMSG); bm_expect(tb_csum, false, false, -EBADMSG); }
END_TEST

/* An extent running past where the next index starts is clipped there: the kernel's
 * lookup takes those blocks from the next subtree, and so do we. */
START_TEST(test_extent_past_next_index_is_clipped)
{
	const char *img = bm_ext4_img();
	struct bm_img im;
	struct bm_tree t;
	struct bv_ext4_inode inode;
	struct bv_ext4_map m;

	ck_assert_ptr_nonnull(img);
	ck_assert(bm_load(&im, img));
	bm_tree_get(&im, img, &t);
	uint8_t *leaf = im.buf + t.leaf_blk * t.bs;
	uint8_t *idx = im.buf + t.index_blk * t.bs;
	uint16_t n = bv_le16(leaf + 2);
	uint8_t *last = leaf + 12 + 12 * (n - 1);
	uint32_t next = bv_le32(idx + 12 + 12); /* where the second leaf starts */
	uint32_t start = bv_le32(last);

	ck_assert_uint_eq(bv_le16(last + 4), 1);
	ck_assert_uint_eq(start + 2, next); /* the stride layout: data, hole, next leaf */
	put16(last + 4, 4);                  /* now runs 2 blocks into the next leaf */
	bm_csum_fix(&im, &t, t.leaf_blk);
	ck_assert_int_eq(bm_open(&im, false), 0);
	ck_assert_int_eq(bv_ext4_inode_get(im.fs, t.ino, &inode), 0);
	ck_assert_int_eq(bv_ext4_map_blocks(im.fs, &inode, start, 100, &m), 0);
	ck_assert(!m.hole);
	ck_assert_uint_eq(m.len, 2);
	ck_assert_uint_eq(m.pblk, bv_le32(last + 8));
	/* Block NEXT maps from the second leaf, not from the stray extent. */
	uint8_t *leaf2 = im.buf + (bv_le32(idx + 12 + 12 + 4)) * (uint64_t)t.bs;
	ck_assert_int_eq(bv_ext4_map_blocks(im.fs, &inode, next, 100, &m), 0);
	ck_assert(!m.hole);
	ck_assert_uint_eq(m.pblk, bv_le32(leaf2 + 12 + 8));
	bm_close(&im);
	free(im.buf);
}
END_TEST

START_TEST(test_extent_block_checksum_skipped_with_skip_csum)
{
	const char *img = bm_ext4_img();
	struct bm_img im;
	struct bm_tree t;
	struct bv_ext4_inode inode;
	uint64_t mapped;

	ck_assert_ptr_nonnull(img);
	ck_assert(bm_load(&im, img));
	bm_tree_get(&im, img, &t);
	uint8_t *leaf = im.buf + t.leaf_blk * t.bs;
	leaf[12 + 12 * bv_le16(leaf + 4)] ^= 0xFF; /* the tail, after eh_max entries */
	ck_assert_int_eq(bm_open(&im, false), 0);
	ck_assert_int_eq(bv_ext4_inode_get(im.fs, t.ino, &inode), 0);
	ck_assert_int_eq(bm_walk(im.fs, &inode, 64, &mapped), -EBADMSG);
	bm_close(&im);
	ck_assert_int_eq(bm_open(&im, true), 0);
	ck_assert_int_eq(bm_walk(im.fs, &inode, 64, &mapped), 0);
	ck_assert_uint_eq(mapped, 900);
	bm_close(&im);
	free(im.buf);
}
END_TEST

/* ext2 with 1 KiB blocks: /dense (400 blocks) uses direct, single and double indirect. */
START_TEST(test_indirect_block_rejects_pointer_past_end)
{
	const char *src = bm_srcdir();
	const char *img;
	struct bm_img im;
	struct bv_ext4_inode inode;
	uint64_t mapped, ind;
	uint32_t ino;

	ck_assert_ptr_nonnull(src);
	img = bv_test_mkfs("blockmap-ext2-1k", "-t ext2 -b 1024", src, "16M");
	ck_assert_ptr_nonnull(img);
	ck_assert(bm_load(&im, img));
	ino = bm_ino(img, "dense");
	ck_assert_int_eq(bm_open(&im, false), 0);
	ck_assert_int_eq(bv_ext4_inode_get(im.fs, ino, &inode), 0);
	ck_assert(!(inode.flags & EXT4_EXTENTS_FL));
	ck_assert_int_eq(bm_walk(im.fs, &inode, UINT32_MAX, &mapped), 0);
	ck_assert_uint_eq(mapped, 400);
	bm_close(&im);

	/* Pointer 5 of the single indirect block (logical block 17) past the end. */
	ind = bv_le32(inode.i_block + 12 * 4);
	ck_assert_uint_gt(ind, 1);
	put32(im.buf + ind * 1024 + 5 * 4, 16 * 1024);
	ck_assert_int_eq(bm_open(&im, false), 0);
	ck_assert_int_eq(bm_walk(im.fs, &inode, UINT32_MAX, &mapped), -EUCLEAN);
	/* Up to it the map still answers. */
	struct bv_ext4_map m;
	ck_assert_int_eq(bv_ext4_map_blocks(im.fs, &inode, 12, 100, &m), 0);
	ck_assert_uint_le(m.len, 5);
	bm_close(&im);
	free(im.buf);
}
END_TEST

static Suite *blockmap_suite(void)
{
	Suite *s = suite_create("blockmap");
	TCase *tc = tcase_create("synthetic");
	TCase *ti = tcase_create("images");

	tcase_add_checked_fixture(tc, NULL, fake_fs_teardown);
	tcase_add_test(tc, test_extent_root_maps_runs_and_holes);
	tcase_add_test(tc, test_extent_full_length_is_written);
	tcase_add_test(tc, test_extent_48bit_physical);
	tcase_add_test(tc, test_extent_root_rejects_bad_magic);
	tcase_add_test(tc, test_extent_root_rejects_eh_max_over_room);
	tcase_add_test(tc, test_extent_root_rejects_entries_over_max);
	tcase_add_test(tc, test_extent_root_rejects_zero_max);
	tcase_add_test(tc, test_extent_root_rejects_depth_over_5);
	tcase_add_test(tc, test_extent_root_rejects_unsorted);
	tcase_add_test(tc, test_extent_root_rejects_overlap);
	tcase_add_test(tc, test_extent_root_rejects_zero_length);
	tcase_add_test(tc, test_extent_root_rejects_block_past_end);
	tcase_add_test(tc, test_extent_root_rejects_superblock_area);
	tcase_add_test(tc, test_extent_root_rejects_logical_overflow);
	tcase_add_test(tc, test_extent_index_rejects_empty);
	tcase_add_test(tc, test_extent_index_rejects_block_past_end);
	tcase_add_test(tc, test_extent_first_data_block_1k);
	tcase_add_test(tc, test_indirect_direct_runs_and_holes);
	tcase_add_test(tc, test_indirect_rejects_pointer_past_end);
	tcase_add_test(tc, test_indirect_rejects_block_past_triple_range);
	tcase_add_test(tc, test_map_rejects_zero_max_len_and_inline);
	suite_add_tcase(s, tc);

	tcase_set_timeout(ti, 120);
	tcase_add_test(ti, test_extent_tree_depth2_maps_every_block);
	tcase_add_test(ti, test_extent_walk_validates_each_block_once);
	tcase_add_test(ti, test_extent_cursor_walk_matches_descents);
	tcase_add_test(ti, test_extent_sparse_1g_maps_in_few_calls);
	tcase_add_test(ti, test_indirect_sparse_1g_maps_in_few_calls);
	tcase_add_test(ti, test_extent_block_rejects_bad_magic);
	tcase_add_test(ti, test_extent_block_rejects_entries_over_max);
	tcase_add_test(ti, test_extent_block_rejects_max_over_room);
	tcase_add_test(ti, test_extent_block_rejects_child_depth_mismatch);
	tcase_add_test(ti, test_extent_block_rejects_unsorted_leaf);
	tcase_add_test(ti, test_extent_block_rejects_unsorted_index);
	tcase_add_test(ti, test_extent_block_rejects_block_past_end);
	tcase_add_test(ti, test_extent_block_rejects_first_entry_mismatch);
	tcase_add_test(ti, test_extent_block_rejects_bad_checksum);
	tcase_add_test(ti, test_extent_block_checksum_skipped_with_skip_csum);
	tcase_add_test(ti, test_extent_past_next_index_is_clipped);
	tcase_add_test(ti, test_indirect_block_rejects_pointer_past_end);
	suite_add_tcase(s, ti);
	return s;
}
BV_SUITE(blockmap_suite)
