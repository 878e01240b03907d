/* A crafted journal inode whose extents map a huge number of log blocks onto the same
 * small physical region: the replay walk must refuse it at once (-EUCLEAN) instead of
 * walking millions of blocks, while the same log mapped once still replays.
 *
 * Each test builds a fresh 1 KiB-block filesystem, finds the journal inode and its
 * superblock, then writes into the image bytes: a region of log blocks at the end of the
 * filesystem (descriptor + data pairs, or revoke blocks), an extent tree of depth 2 whose
 * leaves map that region REPEATS times, a commit block, a journal superblock whose log
 * starts at block 1 with s_maxlen the mapped length, and the RECOVER flag. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/ext4/ext4_priv.h"
#include "fs/ext4/journal.h"
#include "util/le.h"
#include "tests/testutil.h"

#define JC_BS 1024u
#define JC_SEQ 7u
/* The longest initialized extent: one extent maps the whole region once. */
#define JC_REGION 32768u
#define JC_EXT_SIZE 12u                               /* ext4_extent / ext4_extent_idx */
#define JC_LEAF_MAX ((JC_BS - JC_EXT_SIZE) / JC_EXT_SIZE) /* 84 with 1 KiB blocks */
#define JC_ROOT_MAX 4u                                /* index entries in i_block */
#define JC_LEAVES_MAX (JC_ROOT_MAX * JC_LEAF_MAX)
/* Blocks after the region: index blocks, leaves, the commit block, the replay target. */
#define JC_TAIL (JC_ROOT_MAX + JC_LEAVES_MAX + 2)
/* The amplified log: one index block of full leaves, 7054 copies of the region (231 M
 * log blocks). Before the walk caps each pass walked all of them: minutes. */
#define JC_REPEATS_BIG (JC_LEAF_MAX * JC_LEAF_MAX - 2)
#define JC_REPEATS_MAX (JC_LEAVES_MAX * JC_LEAF_MAX - 2)

#define EXT4_EXT_MAGIC 0xF30Au
#define SB_OFF 1024u
#define SB_BLOCKS_COUNT_LO 0x04
#define SB_LOG_BLOCK_SIZE 0x18
#define SB_FEATURE_INCOMPAT 0x60
#define I_SIZE_LO 0x04
#define I_BLOCK 0x28
#define I_SIZE_HIGH 0x6C
#define JBD2_REVOKE_R_COUNT_OFF 12

/* What the log region holds. */
enum jc_fill { JC_DESCRIPTORS, JC_REVOKES };

struct jc {
	uint8_t *buf;
	size_t len;
	uint64_t blocks; /* s_blocks_count */
	uint64_t jsb;    /* journal superblock (log block 0) */
	uint64_t region; /* first block of the region the extents repeat */
	uint64_t idx0;   /* index blocks at idx0.., then leaves at leaf0.. */
	uint64_t leaf0;
	uint64_t commit;
	uint64_t target; /* the block the descriptors' tag replays */
	uint32_t total;  /* log blocks mapped by the crafted inode */
	struct bv_source *src;
	struct bv_ext4 *fs;
	char err[256];
};

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint8_t *jc_block(struct jc *m, uint64_t blk)
{
	ck_assert(blk < m->blocks && (blk + 1) * JC_BS <= m->len);
	return m->buf + blk * JC_BS;
}

static void jbd2_header(uint8_t *b, uint32_t blocktype)
{
	put_be32(b, JBD2_MAGIC_NUMBER);
	put_be32(b + 4, blocktype);
	put_be32(b + 8, JC_SEQ);
}

static void ext_header(uint8_t *p, uint16_t entries, uint16_t max, uint16_t depth)
{
	put_le16(p, EXT4_EXT_MAGIC);
	put_le16(p + 2, entries);
	put_le16(p + 4, max);
	put_le16(p + 6, depth);
	put_le32(p + 8, 0);
}

/* Log extent I of the crafted inode: the journal superblock, REPEATS copies of the
 * region, then the commit block. */
static void jc_extent(const struct jc *m, uint32_t repeats, uint32_t i, uint32_t *lblk,
		      uint16_t *len, uint64_t *pblk)
{
	*len = 1;
	if (i == 0) {
		*lblk = 0;
		*pblk = m->jsb;
	} else if (i <= repeats) {
		*lblk = 1 + (i - 1) * JC_REGION;
		*len = (uint16_t)JC_REGION;
		*pblk = m->region;
	} else {
		*lblk = 1 + repeats * JC_REGION;
		*pblk = m->commit;
	}
}

/* Fills the region with FILL: a descriptor (one tag naming the target) and its data
 * block, repeated; or revoke blocks whose records fill the block. */
static void jc_fill_region(struct jc *m, enum jc_fill fill)
{
	for (uint32_t i = 0; i < JC_REGION; i++) {
		uint8_t *b = jc_block(m, m->region + i);

		memset(b, 0, JC_BS);
		if (fill == JC_REVOKES) {
			jbd2_header(b, JBD2_REVOKE_BLOCK);
			put_be32(b + JBD2_REVOKE_R_COUNT_OFF, JC_BS);
			for (uint32_t off = 16, r = 0; off + 4 <= JC_BS; off += 4, r++)
				put_be32(b + off, 100 + r);
		} else if (i % 2 == 0) {
			jbd2_header(b, JBD2_DESCRIPTOR_BLOCK);
			put_be32(b + JBD2_HEADER_SIZE, (uint32_t)m->target);
			put_be16(b + JBD2_HEADER_SIZE + JBD2_TAG_FLAGS,
				 JBD2_FLAG_LAST_TAG | JBD2_FLAG_SAME_UUID);
		} else {
			/* Data, not starting with the magic: recorded without reading it. */
			memset(b, 'X', JC_BS);
		}
	}
}

/* Builds the image (see the file comment) with the region mapped REPEATS times into M. */
static void jc_build(struct jc *m, enum jc_fill fill, uint32_t repeats)
{
	const char *p;
	char img[4096];
	long long iblk, ioff;
	uint8_t *ino, *root, *jsb;
	uint32_t nexts = repeats + 2, nleaves = (nexts + JC_LEAF_MAX - 1) / JC_LEAF_MAX;
	uint32_t nidx = (nleaves + JC_LEAF_MAX - 1) / JC_LEAF_MAX;
	uint64_t size;

	memset(m, 0, sizeof(*m));
	ck_assert_uint_ge(repeats, 1);
	ck_assert_uint_le(repeats, JC_REPEATS_MAX);
	/* No backup superblocks or reserved GDT blocks: the last 40000 blocks are free. */
	p = bv_test_mkfs("journal_craft",
			 "-t ext4 -b 1024 -O ^metadata_csum,^64bit,^resize_inode,sparse_super2 "
			 "-E num_backup_sb=0",
			 NULL, "64M");
	ck_assert_ptr_nonnull(p);
	snprintf(img, sizeof(img), "%s", p);
	iblk = bv_test_debugfs_num(img, "imap <8>", "located at block");
	ioff = bv_test_debugfs_num(img, "imap <8>", "offset");
	ck_assert_int_gt(iblk, 0);
	ck_assert_int_ge(ioff, 0);
	ck_assert_int_eq(bv_test_slurp(img, &m->buf, &m->len), 0);

	ck_assert_uint_ge(m->len, SB_OFF + 1024);
	ck_assert_uint_eq(bv_le32(m->buf + SB_OFF + SB_LOG_BLOCK_SIZE), 0);
	m->blocks = bv_le32(m->buf + SB_OFF + SB_BLOCKS_COUNT_LO);
	ck_assert_uint_le(m->blocks * JC_BS, m->len);
	ck_assert_uint_gt(m->blocks, JC_REGION + JC_TAIL);
	m->region = m->blocks - JC_TAIL - JC_REGION;
	m->idx0 = m->region + JC_REGION;
	m->leaf0 = m->idx0 + JC_ROOT_MAX;
	m->commit = m->leaf0 + JC_LEAVES_MAX;
	m->target = m->commit + 1;
	/* Everything written must be free, so only the journal differs from a sound image. */
	ck_assert_int_eq(bv_test_sh("debugfs -R 'testb %llu %u' '%s' 2>&1 | grep -q 'not in use'",
				    (unsigned long long)m->region, JC_REGION + JC_TAIL, img),
			 0);
	ck_assert_int_ne(bv_test_sh("debugfs -R 'testb %llu %u' '%s' 2>&1 | grep -q 'marked in use'",
				    (unsigned long long)m->region, JC_REGION + JC_TAIL, img),
			 0);

	/* The journal inode as mkfs made it: one extent, log block 0 first. */
	ck_assert_uint_le((uint64_t)iblk * JC_BS + (uint64_t)ioff + 256, m->len);
	ino = m->buf + (uint64_t)iblk * JC_BS + (uint64_t)ioff;
	root = ino + I_BLOCK;
	ck_assert_uint_eq(bv_le16(root), EXT4_EXT_MAGIC);
	ck_assert_uint_eq(bv_le16(root + 6), 0);
	ck_assert_uint_ge(bv_le16(root + 2), 1);
	ck_assert_uint_eq(bv_le32(root + 12), 0);
	m->jsb = ((uint64_t)bv_le16(root + 12 + 6) << 32) | bv_le32(root + 12 + 8);
	ck_assert_uint_eq(bv_be32(jc_block(m, m->jsb)), JBD2_MAGIC_NUMBER);
	ck_assert_uint_lt(m->jsb, m->region);

	jc_fill_region(m, fill);
	memset(jc_block(m, m->commit), 0, JC_BS);
	jbd2_header(jc_block(m, m->commit), JBD2_COMMIT_BLOCK);
	memset(jc_block(m, m->target), 0, JC_BS);

	/* Depth 2: i_block indexes up to four index blocks, each up to 84 leaves of 84
	 * extents. Each index entry names the first log block below it. */
	memset(root, 0, 60);
	ext_header(root, (uint16_t)nidx, JC_ROOT_MAX, 2);
	for (uint32_t i = 0; i < nidx; i++) {
		uint8_t *ib = jc_block(m, m->idx0 + i);

		memset(ib, 0, JC_BS);
		put_le32(root + 12 + i * JC_EXT_SIZE + 4, (uint32_t)(m->idx0 + i));
	}
	for (uint32_t l = 0; l < nleaves; l++) {
		uint8_t *leaf = jc_block(m, m->leaf0 + l);
		uint8_t *ib = jc_block(m, m->idx0 + l / JC_LEAF_MAX);
		uint8_t *idx = ib + 12 + (l % JC_LEAF_MAX) * JC_EXT_SIZE;
		uint32_t first = l * JC_LEAF_MAX, n = nexts - first;

		if (n > JC_LEAF_MAX)
			n = JC_LEAF_MAX;
		memset(leaf, 0, JC_BS);
		ext_header(leaf, (uint16_t)n, JC_LEAF_MAX, 0);
		for (uint32_t e = 0; e < n; e++) {
			uint8_t *x = leaf + 12 + e * JC_EXT_SIZE;
			uint32_t lblk;
			uint16_t len;
			uint64_t pblk;

			jc_extent(m, repeats, first + e, &lblk, &len, &pblk);
			put_le32(x, lblk);
			put_le16(x + 4, len);
			put_le16(x + 6, (uint16_t)(pblk >> 32));
			put_le32(x + 8, (uint32_t)pblk);
			if (e == 0) {
				put_le32(idx, lblk);
				if (l % JC_LEAF_MAX == 0)
					put_le32(root + 12 + (l / JC_LEAF_MAX) * JC_EXT_SIZE, lblk);
			}
		}
		put_le32(idx + 4, (uint32_t)(m->leaf0 + l));
		ext_header(ib, (uint16_t)(l % JC_LEAF_MAX + 1), JC_LEAF_MAX, 1);
	}
	m->total = 2 + repeats * JC_REGION;
	size = (uint64_t)m->total * JC_BS;
	put_le32(ino + I_SIZE_LO, (uint32_t)size);
	put_le32(ino + I_SIZE_HIGH, (uint32_t)(size >> 32));

	/* v2 journal superblock without features; the log starts at block 1. */
	jsb = jc_block(m, m->jsb);
	ck_assert_uint_eq(bv_be32(jsb + 4), JBD2_SUPERBLOCK_V2);
	ck_assert_uint_eq(bv_be32(jsb + JBD2_SB_BLOCKSIZE), JC_BS);
	put_be32(jsb + JBD2_SB_MAXLEN, m->total);
	put_be32(jsb + JBD2_SB_FIRST, 1);
	put_be32(jsb + JBD2_SB_SEQUENCE, JC_SEQ);
	put_be32(jsb + JBD2_SB_START, 1);
	put_be32(jsb + JBD2_SB_FEATURE_COMPAT, 0);
	put_be32(jsb + JBD2_SB_FEATURE_INCOMPAT, 0);
	put_be32(jsb + JBD2_SB_FEATURE_RO_COMPAT, 0);

	put_le32(m->buf + SB_OFF + SB_FEATURE_INCOMPAT,
		 bv_le32(m->buf + SB_OFF + SB_FEATURE_INCOMPAT) | EXT4_FEATURE_INCOMPAT_RECOVER);
}

/* Opens M's bytes. Returns bv_ext4_open's result. */
static int jc_open(struct jc *m)
{
	ck_assert_int_eq(bv_source_open_mem(m->buf, m->len, &m->src), 0);
	return bv_ext4_open(m->src, NULL, &m->fs, m->err, sizeof(m->err));
}

static void jc_close(struct jc *m)
{
	if (m->fs)
		bv_ext4_close(m->fs);
	bv_source_close(m->src);
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

/* The amplified log: refused by the walk cap, well inside Check's default timeout. */
static void jc_expect_refused(enum jc_fill fill)
{
	struct jc m;
	int err;

	jc_build(&m, fill, JC_REPEATS_BIG);
	/* Far more log blocks than the filesystem has: they cannot all be distinct. */
	ck_assert_uint_gt(m.total, 100 * m.blocks);
	err = jc_open(&m);
	/* Before the walk was capped this open took minutes: Check's per-test timeout is
	 * what catches a regression, not a clock in here. */
	ck_assert_msg(err == -EUCLEAN, "open returned %d (%s)", err, m.err);
	ck_assert_ptr_null(m.fs);
	ck_assert_msg(strstr(m.err, "log walk passes"), "wrong refusal: %s", m.err);
	jc_close(&m);
}

START_TEST(test_journal_craft_descriptor_amplification_refused)
{
	jc_expect_refused(JC_DESCRIPTORS);
}
END_TEST

START_TEST(test_journal_craft_revoke_amplification_refused)
{
	jc_expect_refused(JC_REVOKES);
}
END_TEST

/* The same log with its region mapped once (loop 0: descriptors, 1: revokes) is sound:
 * it replays, so the refusals above come from the amplification alone. */
START_TEST(test_journal_craft_region_mapped_once_replays)
{
	enum jc_fill fill = _i ? JC_REVOKES : JC_DESCRIPTORS;
	struct bv_ext4_info info;
	struct bv_cache_ref ref;
	struct jc m;
	int err;

	jc_build(&m, fill, 1);
	err = jc_open(&m);
	ck_assert_msg(err == 0, "open returned %d: %s", err, m.err);
	bv_ext4_info_get(m.fs, &info);
	ck_assert_str_eq(info.journal_state, "replayed");
	ck_assert_int_eq(bv_ext4_bread(m.fs, m.target, &ref), 0);
	if (fill == JC_DESCRIPTORS) {
		/* 16384 copies of one block: the last one wins. */
		ck_assert_uint_eq(info.journal_replayed_blocks, 1);
		ck_assert_uint_eq(ref.data[0], 'X');
		ck_assert_uint_eq(ref.data[JC_BS - 1], 'X');
	} else {
		ck_assert_uint_eq(info.journal_replayed_blocks, 0);
		ck_assert_uint_eq(ref.data[0], 0);
	}
	bv_ext4_brelse(m.fs, &ref);
	jc_close(&m);
}
END_TEST

static Suite *journal_craft_suite(void)
{
	Suite *s = suite_create("journal_craft");
	TCase *tc = tcase_create("core");

	/* Check's default timeout on purpose: before the walk caps, open took 12 s and more. */
	tcase_add_test(tc, test_journal_craft_descriptor_amplification_refused);
	tcase_add_test(tc, test_journal_craft_revoke_amplification_refused);
	tcase_add_loop_test(tc, test_journal_craft_region_mapped_once_replays, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

BV_SUITE(journal_craft_suite)
