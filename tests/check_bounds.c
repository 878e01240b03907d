/* Work per request (issue 10, docs/ondisk.md section 16): for each request an image can
 * make expensive, a crafted image and a count of the blocks the request reads through the
 * cache, asserted against the bound. CPU times are printed for the table, never asserted.
 * Images are mkfs.ext4 output patched with debugfs and dd, as a hostile image would be. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "fs/ext4/ext4_priv.h"
#include "fs/ext4/inode.h"
#include "tests/testutil.h"

/* fs/ext4/dir.c's DIR_SCAN_BLOCKS: what one directory request may read. */
#define SCAN_BLOCKS 16384
/* Gets besides the directory's own blocks: none in these images (the extents live in
 * i_block, the inode was read before counting), but leave room for a descriptor. */
#define SLACK 4

static uint64_t cache_gets(struct bv_ext4 *fs)
{
	struct bv_cache_stats st;

	bv_cache_stats_get(fs->cache, &st);
	return st.hits + st.misses;
}

static double cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* ---- a linear directory that claims 49152 blocks ---- */

/* 1 KiB blocks, no journal, no index, no checksums: /d holds three names in its one real
 * block B0. Its i_block is rewritten to three extents: lblk 0 -> B0, then 32768 and 16383
 * blocks both mapped onto the same physical run at RUN_START, and i_size says 49152 blocks
 * (the whole filesystem). FILL says what that run holds: zeros (every block's first
 * dirent is corrupt) or copies of B0 (every block holds live entries). */
#define RUN_START 12288u
#define DIR_BLOCKS 49152u

static const char *craft_long_dir(bool fill_with_entries)
{
	static char out[PATH_MAX];
	char src[PATH_MAX];
	const char *base;
	const char *tag = fill_with_entries ? "full" : "zero";
	unsigned long long b0;
	FILE *f;

	snprintf(src, sizeof(src), "%s/bounds_src", bv_test_tmpdir());
	bv_test_sh("rm -rf '%s' && mkdir -p '%s/d' && touch '%s/d/a' '%s/d/b' '%s/d/c'", src, src,
		   src, src, src);
	base = bv_test_mkfs("bounds_dir", "-b 1024 -O ^has_journal,^dir_index,^metadata_csum",
			    src, "48M");
	ck_assert_ptr_nonnull(base);
	snprintf(out, sizeof(out), "%s/bounds_dir_%s.img", bv_test_tmpdir(), tag);
	{
		char cmd[PATH_MAX * 2];

		snprintf(cmd, sizeof(cmd), "debugfs -R 'bmap /d 0' '%s' 2>/dev/null", base);
		f = popen(cmd, "r");
		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(fscanf(f, "%llu", &b0), 1);
		pclose(f);
	}
	ck_assert_uint_lt(b0, RUN_START); /* the run must not cover the real block */
	/* i_block words: header (magic, 3 entries; max 4, depth 0), then per extent
	 * ee_block, ee_len | ee_start_hi << 16, ee_start_lo. */
	ck_assert_int_eq(
		bv_test_sh("cp '%s' '%s' && debugfs -w -f - '%s' >/dev/null 2>&1 <<EOF\n"
			   "sif /d size %u\n"
			   "sif /d block[0] 0x0003F30A\nsif /d block[1] 4\nsif /d block[2] 0\n"
			   "sif /d block[3] 0\nsif /d block[4] 1\nsif /d block[5] %llu\n"
			   "sif /d block[6] 1\nsif /d block[7] 32768\nsif /d block[8] %u\n"
			   "sif /d block[9] 32769\nsif /d block[10] 16383\nsif /d block[11] %u\n"
			   "EOF\n",
			   base, out, out, DIR_BLOCKS * 1024u, b0, RUN_START, RUN_START),
		0);
	if (fill_with_entries)
		ck_assert_int_eq(bv_test_sh("python3 -c 'f = open(\"%s\", \"r+b\"); "
					    "f.seek(%llu * 1024); b = f.read(1024); "
					    "f.seek(%u * 1024); f.write(b * 32768)'",
					    out, b0, RUN_START),
				 0);
	else
		ck_assert_int_eq(bv_test_sh("dd if=/dev/zero of='%s' bs=1024 seek=%u count=32768 "
					    "conv=notrunc 2>/dev/null", out, RUN_START),
				 0);
	return out;
}

struct counted {
	uint64_t n, next;
};

static int count_entry(void *ctx, const char *name, size_t len, uint32_t ino, uint8_t ft,
		       uint64_t next_pos)
{
	struct counted *c = ctx;

	(void)name, (void)len, (void)ino, (void)ft;
	c->n++;
	c->next = next_pos;
	return 0;
}

static void open_long_dir(const char *img, struct bv_source **src, struct bv_ext4 **fs,
			  struct bv_ext4_inode *dir)
{
	struct bv_ext4_inode root;
	uint32_t ino;

	*fs = bv_test_open_file(img, NULL, src);
	ck_assert_int_eq(bv_ext4_inode_get(*fs, BV_EXT4_ROOT_INO, &root), 0);
	ck_assert_int_eq(bv_ext4_lookup(*fs, &root, "d", 1, &ino), 0);
	ck_assert_int_eq(bv_ext4_inode_get(*fs, ino, dir), 0);
	ck_assert_uint_eq(dir->size / 1024, DIR_BLOCKS);
}

/* A missed lookup in 49152 corrupt blocks: stops at the bound with -EUCLEAN instead of
 * reading them all for -ENOENT (0.8 s wall, 0.24 s CPU per lookup for 131072 blocks
 * before the bound). */
START_TEST(test_dir_lookup_reads_at_most_the_scan_bound)
{
	const char *img = craft_long_dir(false);
	struct bv_source *src;
	struct bv_ext4 *fs;
	struct bv_ext4_inode dir;
	uint64_t before, gets;
	uint32_t ino;
	double t;

	open_long_dir(img, &src, &fs, &dir);
	/* Names in the first block are found at once. */
	before = cache_gets(fs);
	ck_assert_int_eq(bv_ext4_lookup(fs, &dir, "b", 1, &ino), 0);
	ck_assert_uint_le(cache_gets(fs) - before, 1 + SLACK);

	before = cache_gets(fs);
	t = cpu_now();
	ck_assert_int_eq(bv_ext4_lookup(fs, &dir, "missing", 7, &ino), -EUCLEAN);
	t = cpu_now() - t;
	gets = cache_gets(fs) - before;
	printf("bounds: missed lookup, %u-block linear dir of zeroed blocks: %llu gets, "
	       "%.1f ms CPU\n", DIR_BLOCKS, (unsigned long long)gets, t * 1e3);
	ck_assert_uint_ge(gets, SCAN_BLOCKS - SLACK);
	ck_assert_uint_le(gets, SCAN_BLOCKS + SLACK);
	bv_ext4_close(fs);
	bv_source_close(src);
}
END_TEST

/* readdir over the same directory: the first call passes the entries of block 0 and stops
 * at the bound with -EAGAIN (a FUSE READDIR replies with what it packed); the call that
 * resumes after them finds nothing in its 16384 blocks and fails. Each reads at most the
 * bound, where a READDIR used to read every block until its buffer filled. */
START_TEST(test_dir_iterate_reads_at_most_the_scan_bound)
{
	const char *img = craft_long_dir(false);
	struct bv_source *src;
	struct bv_ext4 *fs;
	struct bv_ext4_inode dir;
	struct counted c = { 0 };
	uint64_t before, gets;
	double t;

	open_long_dir(img, &src, &fs, &dir);
	before = cache_gets(fs);
	ck_assert_int_eq(bv_ext4_dir_iterate(fs, &dir, 0, count_entry, &c), -EAGAIN);
	gets = cache_gets(fs) - before;
	ck_assert_uint_eq(c.n, 5); /* . .. a b c */
	ck_assert_uint_le(gets, SCAN_BLOCKS + SLACK);

	before = cache_gets(fs);
	c.n = 0;
	t = cpu_now();
	ck_assert_int_eq(bv_ext4_dir_iterate(fs, &dir, c.next, count_entry, &c), -EUCLEAN);
	t = cpu_now() - t;
	gets = cache_gets(fs) - before;
	printf("bounds: readdir resumed into %u zeroed blocks: %llu gets, %.1f ms CPU\n",
	       DIR_BLOCKS - 1, (unsigned long long)gets, t * 1e3);
	ck_assert_uint_eq(c.n, 0);
	ck_assert_uint_ge(gets, SCAN_BLOCKS - SLACK);
	ck_assert_uint_le(gets, SCAN_BLOCKS + SLACK);
	bv_ext4_close(fs);
	bv_source_close(src);
}
END_TEST

/* The legitimate side of the trade-off: a directory whose every block holds live entries
 * is listed whole by callers that resume after -EAGAIN (each call within the bound), while
 * a missed lookup in it still stops at the bound. */
START_TEST(test_dir_iterate_resumes_through_a_long_live_directory)
{
	const char *img = craft_long_dir(true);
	struct bv_source *src;
	struct bv_ext4 *fs;
	struct bv_ext4_inode dir;
	struct counted c = { 0 };
	uint64_t before;
	unsigned calls = 0;
	uint32_t ino;
	int ret;

	open_long_dir(img, &src, &fs, &dir);
	do {
		before = cache_gets(fs);
		ret = bv_ext4_dir_iterate(fs, &dir, c.next, count_entry, &c);
		ck_assert_uint_le(cache_gets(fs) - before, SCAN_BLOCKS + SLACK);
		calls++;
	} while (ret == -EAGAIN && calls < 16);
	ck_assert_int_eq(ret, 0);
	/* Every block is a copy of block 0, ". .. a b c" 49152 times, whose last entry
	 * ends its block: each call resumes at the next block, three calls in all. */
	ck_assert_uint_eq(c.n, 5ull * DIR_BLOCKS);
	ck_assert_uint_eq(calls, DIR_BLOCKS / SCAN_BLOCKS);

	before = cache_gets(fs);
	ck_assert_int_eq(bv_ext4_lookup(fs, &dir, "missing", 7, &ino), -EUCLEAN);
	ck_assert_uint_le(cache_gets(fs) - before, SCAN_BLOCKS + SLACK);
	bv_ext4_close(fs);
	bv_source_close(src);
}
END_TEST

/* ---- SEEK_DATA over a map of 200001 runs ---- */

/* 4 KiB blocks, no journal, no checksums: /f's i_block is rewritten to a depth-2 tree
 * (root -> one index block -> SEEK_LEAVES leaves of 340 extents) of SEEK_EXTENTS one-block
 * unwritten extents at every other block, all on /f's one real block B0, then one written
 * extent after them; i_size ends with it. SEEK_DATA from 0 meets a hole or an unwritten
 * extent at every block (holes to it) until the cap. */
#define SEEK_EXTENTS 100000u
#define SEEK_PER_LEAF 340u
#define SEEK_LEAVES ((SEEK_EXTENTS + 1 + SEEK_PER_LEAF - 1) / SEEK_PER_LEAF)
#define SEEK_INDEX_BLK 8191u /* then the leaves, in the free second half of the image */
#define SEEK_CAP_RUNS 65536u /* fs/ext4/file.c's BV_SEEK_MAX_RUNS */

static const char *craft_seek_file(void)
{
	static char out[PATH_MAX];
	char src[PATH_MAX];
	const char *base;
	long long b0;

	snprintf(src, sizeof(src), "%s/bounds_seek_src", bv_test_tmpdir());
	bv_test_sh("rm -rf '%s' && mkdir -p '%s' && printf data >'%s/f'", src, src, src);
	base = bv_test_mkfs("bounds_seek", "-b 4096 -O ^has_journal,^metadata_csum", src, "64M");
	ck_assert_ptr_nonnull(base);
	b0 = bv_test_debugfs_num(base, "bmap /f 0", "");
	ck_assert_int_gt(b0, 0);
	ck_assert_int_lt(b0, SEEK_INDEX_BLK);
	snprintf(out, sizeof(out), "%s/bounds_seek_crafted.img", bv_test_tmpdir());
	/* i_block: header (magic, 1 entry; max 4, depth 2), the index entry (block 0 ->
	 * SEEK_INDEX_BLK). Then the index block and the leaves, written by Python: header
	 * (magic, entries, max 340, depth), entries (ee_block, ee_len, ee_start_hi,
	 * ee_start_lo; ei_block, ei_leaf_lo, ei_leaf_hi, unused). ee_len 32769: one block,
	 * unwritten. */
	ck_assert_int_eq(
		bv_test_sh("cp '%s' '%s' && debugfs -w -f - '%s' >/dev/null 2>&1 <<EOF\n"
			   "sif /f size %llu\n"
			   "sif /f block[0] 0x0001F30A\nsif /f block[1] 0x00020004\nsif /f block[2] 0\n"
			   "sif /f block[3] 0\nsif /f block[4] %u\nsif /f block[5] 0\n"
			   "EOF\n",
			   base, out, out, (2ull * SEEK_EXTENTS + 1) * 4096, SEEK_INDEX_BLK),
		0);
	ck_assert_int_eq(
		bv_test_sh("python3 - '%s' %u %u %u %u %lld <<'EOF'\n"
			   "import struct, sys\n"
			   "img, n, per, nleaves, index, b0 = sys.argv[1], *map(int, sys.argv[2:])\n"
			   "ext = [(2 * k, 32769) for k in range(n)] + [(2 * n, 1)]\n"
			   "blk = lambda b: b.ljust(4096, b'\\0')\n"
			   "hdr = lambda cnt, depth: struct.pack('<HHHHI', 0xF30A, cnt, 340, depth, 0)\n"
			   "with open(img, 'r+b') as f:\n"
			   "    idx = hdr(nleaves, 1)\n"
			   "    for i in range(nleaves):\n"
			   "        part = ext[i * per:(i + 1) * per]\n"
			   "        leaf = hdr(len(part), 0) + b''.join(\n"
			   "            struct.pack('<IHHI', lb, ln, 0, b0) for lb, ln in part)\n"
			   "        f.seek((index + 1 + i) * 4096); f.write(blk(leaf))\n"
			   "        idx += struct.pack('<IIHH', part[0][0], index + 1 + i, 0, 0)\n"
			   "    f.seek(index * 4096); f.write(blk(idx))\n"
			   "EOF\n",
			   out, SEEK_EXTENTS, SEEK_PER_LEAF, SEEK_LEAVES, SEEK_INDEX_BLK, b0),
		0);
	return out;
}

/* SEEK_DATA from 0 walks runs until its cap and answers where it stopped (data: the
 * answer the generic llseek gives every file), reading each leaf of the tree once: the
 * walk keeps its place in the tree. Descending per run read index block and leaf for
 * every run (131072 gets, about 0.1 s), and without the cap it walked all 200001 runs. */
START_TEST(test_seek_walks_each_leaf_once_and_stops_at_the_cap)
{
	const char *img = craft_seek_file();
	/* 65536 runs cover 32768 extents: the leaves holding them, each entered once. */
	const uint64_t leaves = SEEK_CAP_RUNS / 2 / SEEK_PER_LEAF + 1;
	struct bv_source *src;
	struct bv_ext4 *fs;
	struct bv_ext4_inode root, f;
	uint64_t before, gets, pos;
	uint32_t ino;
	double t;

	fs = bv_test_open_file(img, NULL, &src);
	ck_assert_int_eq(bv_ext4_inode_get(fs, BV_EXT4_ROOT_INO, &root), 0);
	ck_assert_int_eq(bv_ext4_lookup(fs, &root, "f", 1, &ino), 0);
	ck_assert_int_eq(bv_ext4_inode_get(fs, ino, &f), 0);

	before = cache_gets(fs);
	t = cpu_now();
	ck_assert_int_eq(bv_ext4_file_seek(fs, &f, 0, true, &pos), 0);
	t = cpu_now() - t;
	gets = cache_gets(fs) - before;
	printf("bounds: SEEK_DATA over %u runs of a depth-2 tree: %llu gets, %.1f ms CPU\n",
	       SEEK_CAP_RUNS, (unsigned long long)gets, t * 1e3);
	ck_assert_uint_eq(pos, (uint64_t)SEEK_CAP_RUNS * 4096);
	ck_assert_uint_ge(gets, leaves);
	ck_assert_uint_le(gets, 2 * (leaves + 1) + SLACK);

	/* Near the end the written extent is found, past the last leaf boundary. */
	ck_assert_int_eq(bv_ext4_file_seek(fs, &f, (2ull * SEEK_EXTENTS - 1000) * 4096, true,
					   &pos), 0);
	ck_assert_uint_eq(pos, 2ull * SEEK_EXTENTS * 4096);
	/* Unwritten extents are holes; the written one is data up to i_size. */
	ck_assert_int_eq(bv_ext4_file_seek(fs, &f, 5, false, &pos), 0);
	ck_assert_uint_eq(pos, 5);
	ck_assert_int_eq(bv_ext4_file_seek(fs, &f, 2ull * SEEK_EXTENTS * 4096, false, &pos), 0);
	ck_assert_uint_eq(pos, f.size);
	bv_ext4_close(fs);
	bv_source_close(src);
}
END_TEST

static Suite *bounds_suite(void)
{
	Suite *s = suite_create("bounds");
	TCase *tc = tcase_create("dir");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_dir_lookup_reads_at_most_the_scan_bound);
	tcase_add_test(tc, test_dir_iterate_reads_at_most_the_scan_bound);
	tcase_add_test(tc, test_dir_iterate_resumes_through_a_long_live_directory);
	tcase_add_test(tc, test_seek_walks_each_leaf_once_and_stops_at_the_cap);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(bounds_suite)
