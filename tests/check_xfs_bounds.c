/* Work per request on crafted XFS images (docs/ondisk.md section 16): each test builds an
 * image whose metadata claims far more work than a request may do, and asserts what the
 * bound allows: the error returned and the cache gets made (bv_cache_stats_get), never
 * timings. Each would fail without its bound (the comment says how). CPU per request is
 * printed for the record.
 *
 * The crafted inodes live in free slots of the root's inode chunk (the reader locates an
 * inode by its number alone), their blocks in the empty AGs 1 and 2 of a fresh mkfs.xfs
 * image (v5, 4 KiB blocks, 512 MiB: four AGs of 32768 blocks). */
#include <time.h>

#include "tests/xfs_test.h"
#include "util/le.h"

#define BS 4096u
#define AGBLKLOG 15 /* 32768-block AGs */
#define FSB(ag, agbno) (((uint64_t)(ag) << AGBLKLOG) | (agbno))
#define BYTE(ag, agbno) (((uint64_t)(ag) * 32768 + (agbno)) * BS)
#define LEAFBLK ((1ull << 35) / BS) /* XFS_DIR2_LEAF_OFFSET in fs blocks */
#define NDATA 20000u                /* directory data blocks: more than one request reads */
#define BUDGET 16384u               /* bv_xfs_walk_budget(4096) */

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t cache_gets(struct xt_fs *t)
{
	struct bv_cache_stats st;

	bv_cache_stats_get(t->fs->cache, &st);
	return st.hits + st.misses;
}

/* bmbt record: unwritten(1) startoff(54) startblock(52) blockcount(21), big-endian. */
static void put_rec(uint8_t *p, uint64_t off, uint64_t fsb, uint64_t count)
{
	xt_put_be64(p, (off << 9) | (fsb >> 43));
	xt_put_be64(p + 8, ((fsb & ((1ull << 43) - 1)) << 21) | count);
}

struct crafted {
	const char *img;
	uint64_t root, dir, file;
	uint8_t uuid[16];
};

/* Writes inode INO as a copy of the root inode (for the v3 core) with the fields given. */
static void put_inode(const char *img, struct xt_fs *t, uint64_t ino, uint16_t mode,
		      uint64_t size, uint32_t nextents, uint8_t forkoff, uint16_t anextents,
		      const uint8_t *dfork, size_t dlen, const uint8_t *afork, size_t alen)
{
	uint8_t d[512];
	uint64_t root = t->fs->sb.rootino;

	xt_pread(img, d, sizeof(d), xt_ino_byte(t, root));
	xt_put_be16(d + 2, mode);
	d[5] = 2;                            /* di_format: extents */
	xt_put_be32(d + 16, 1);              /* di_nlink */
	xt_put_be64(d + 56, size);
	xt_put_be64(d + 64, 1ull << 40);     /* di_nblocks: "the inode has blocks enough" */
	xt_put_be32(d + 76, nextents);
	xt_put_be16(d + 80, anextents);
	d[82] = forkoff;
	d[83] = forkoff ? 2 : 0;             /* di_aformat */
	xt_put_be64(d + 120, bv_be64(d + 120) & ~(1ull << 4)); /* no NREXT64 */
	xt_put_be64(d + 152, ino);
	memset(d + 176, 0, sizeof(d) - 176);
	if (dfork)
		memcpy(d + 176, dfork, dlen);
	if (afork)
		memcpy(d + 176 + forkoff * 8, afork, alen);
	xt_fix_crc(d, sizeof(d), 100);
	xt_pwrite(img, d, sizeof(d), xt_ino_byte(t, ino));
}

/* The v5 header shared by da blocks (blkinfo), dir3 data blocks and so on: CRC at CRC,
 * blkno, uuid and owner at their offsets. */
static void seal(uint8_t *b, uint64_t byte, size_t crc, size_t blkno, size_t uuid,
		 size_t owner, const struct crafted *c, uint64_t ino)
{
	xt_put_be64(b + blkno, byte >> 9);
	memcpy(b + uuid, c->uuid, 16);
	xt_put_be64(b + owner, ino);
	xt_fix_crc(b, BS, crc);
}

/* A dir3 data block at BYTE: "." and ".." when FIRST, "y" when NAMED, then free space. */
static void data_block(uint8_t *b, uint64_t byte, bool first, bool named,
		       const struct crafted *c)
{
	size_t off = 64;

	memset(b, 0, BS);
	xt_put_be32(b, 0x58444433); /* XDD3 */
	if (first) {
		/* inumber, namelen, name, ftype, tag: 16 bytes each, rounded. */
		xt_put_be64(b + 64, c->dir), b[72] = 1, b[73] = '.', b[74] = 2;
		xt_put_be16(b + 78, 64);
		xt_put_be64(b + 80, c->root), b[88] = 2, b[89] = '.', b[90] = '.', b[91] = 2;
		xt_put_be16(b + 94, 80);
		off = 96;
	} else if (named) {
		/* "y" naming the root: an entry for the hash index to point at. */
		xt_put_be64(b + 64, c->root), b[72] = 1, b[73] = 'y', b[74] = 2;
		xt_put_be16(b + 78, 64);
		off = 80;
	}
	xt_put_be16(b + off, 0xffff);
	xt_put_be16(b + off + 2, (uint16_t)(BS - off));
	xt_put_be16(b + BS - 2, (uint16_t)off);
	seal(b, byte, 4, 8, 24, 40, c, c->dir);
}

/* A da3 blkinfo block with MAGIC and sibling links, COUNT at 56; ENTRIES after 64. */
static void da_block(uint8_t *b, uint16_t magic, uint32_t forw, uint32_t back)
{
	memset(b, 0, BS);
	xt_put_be32(b, forw);
	xt_put_be32(b + 4, back);
	xt_put_be16(b + 8, magic);
}

/* The crafted image, once per run:
 *   dir (root + 8): a leaf-format directory of NDATA data blocks (block 0 holds "." and
 *   "..", blocks 1 to 400 one "y" each, the rest only free space), whose hash index is two
 *   leafn blocks linked into a loop, each holding 400 entries of the hash of "x" that
 *   point at the 400 "y";
 *   file (root + 9): an attr fork whose dabtree root (block 0) leads to leaf 1, and leaves
 *   1 and 2 are linked into a loop; di_nblocks says 2^40 for both, so only the request
 *   budget ends the walks (the older bound, the blocks the inode has, is the whole fs). */
static const char *crafted(const char *test, struct crafted *c)
{
	static char path[PATH_MAX];
	const char *base = xt_mkfs(test, "bounds", "");
	struct xt_fs t;
	uint8_t fork[64], afork[16], *b;
	uint32_t hx = bv_xfs_da_hashname((const uint8_t *)"x", 1);

	if (!base)
		return NULL;
	snprintf(path, sizeof(path), "%s/xfs_bounds_crafted.img", bv_test_tmpdir());
	c->img = path;
	ck_assert_int_eq(xt_open(&t, base, NULL), 0);
	c->root = t.fs->sb.rootino;
	c->dir = c->root + 8;
	c->file = c->root + 9;
	memcpy(c->uuid, t.fs->sb.meta_uuid, 16);
	ck_assert_uint_eq(t.fs->sb.blocksize, BS);
	ck_assert_uint_eq(t.fs->sb.agblklog, AGBLKLOG);
	xt_close(&t);
	if (xt_exists(path))
		return path;
	ck_assert_int_eq(bv_test_sh("cp --sparse=always '%s' '%s.tmp'", base, path), 0);
	snprintf(path + strlen(path), 5, ".tmp");
	ck_assert_int_eq(xt_open(&t, path, NULL), 0);

	put_rec(fork, 0, FSB(1, 64), 1);
	put_rec(fork + 16, 1, FSB(1, 65), NDATA - 1);
	put_rec(fork + 32, LEAFBLK, FSB(2, 64), 2);
	put_inode(path, &t, c->dir, 040755, (uint64_t)NDATA * BS, 3, 0, 0, fork, 48, NULL, 0);
	put_rec(afork, 0, FSB(2, 128), 3);
	put_inode(path, &t, c->file, 0100644, 0, 0, 15, 1, NULL, 0, afork, 16);

	b = malloc((size_t)NDATA * BS);
	ck_assert_ptr_nonnull(b);
	for (uint32_t i = 0; i < NDATA; i++)
		data_block(b + (size_t)i * BS, BYTE(1, 64 + i), i == 0, i >= 1 && i <= 400, c);
	xt_pwrite(path, b, (size_t)NDATA * BS, BYTE(1, 64));
	/* leafn A at LEAFBLK, B at LEAFBLK + 1: A -> B -> A. */
	for (int i = 0; i < 2; i++) {
		uint8_t *l = b + (size_t)i * BS;
		uint32_t other = (uint32_t)(LEAFBLK + 1 - i);

		da_block(l, 0x3dff, other, other);
		xt_put_be16(l + 56, 400);
		for (int e = 0; e < 400; e++) {
			xt_put_be32(l + 64 + e * 8, hx);
			/* the "y" of data block 1 + e */
			xt_put_be32(l + 64 + e * 8 + 4, (uint32_t)(((1u + e) * BS + 64) / 8));
		}
		seal(l, BYTE(2, 64 + i), 12, 16, 32, 48, c, c->dir);
	}
	xt_pwrite(path, b, 2 * BS, BYTE(2, 64));
	/* attr: node 0 -> leaf 1; leaves 1 -> 2 -> 1. */
	da_block(b, 0x3ebe, 0, 0);
	xt_put_be16(b + 56, 1);                  /* count */
	xt_put_be16(b + 58, 1);                  /* level */
	xt_put_be32(b + 64, 0xffffffffu);        /* hashval */
	xt_put_be32(b + 68, 1);                  /* before */
	seal(b, BYTE(2, 128), 12, 16, 32, 48, c, c->file);
	for (int i = 1; i <= 2; i++) {
		uint8_t *l = b + (size_t)i * BS;

		da_block(l, 0x3bee, (uint32_t)(3 - i), (uint32_t)(3 - i));
		seal(l, BYTE(2, 128 + i), 12, 16, 32, 48, c, c->file);
	}
	xt_pwrite(path, b, 3 * BS, BYTE(2, 128));
	free(b);
	xt_close(&t);
	path[strlen(path) - 4] = '\0';
	ck_assert_int_eq(bv_test_sh("mv '%s.tmp' '%s'", path, path), 0);
	return path;
}

struct counted {
	uint64_t n, next;
};

static int count_entry(void *ctx, const char *name, size_t len, uint64_t ino,
		       unsigned char dtype, uint64_t next_pos)
{
	struct counted *c = ctx;

	(void)name, (void)len, (void)ino, (void)dtype;
	c->n++;
	c->next = next_pos;
	return 0;
}

/* Without the budget the first call walks all NDATA blocks and returns 0 (and a 32 GiB
 * data space of such blocks, 8 M of them, would take seconds per readdir). */
START_TEST(test_xfs_readdir_reads_at_most_the_walk_budget)
{
	struct crafted c;
	const char *img = crafted(__func__, &c);
	struct counted n = { 0 };
	struct bv_inode dir;
	uint64_t g0, g1;
	struct xt_fs t;
	double t0;
	int ret;

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	ck_assert_int_eq(t.ops->inode_get(t.fs, c.dir, BV_IGET_ANY, &dir), 0);
	g0 = cache_gets(&t);
	t0 = cpu_now();
	ret = t.ops->dir_iterate(t.fs, &dir, 0, count_entry, &n);
	g1 = cache_gets(&t);
	fprintf(stderr, "xfs readdir over %u empty directory blocks: %.1f ms CPU, %llu cache gets\n",
	       NDATA, (cpu_now() - t0) * 1e3, (unsigned long long)(g1 - g0));
	/* ".", ".." and the 400 "y", then the budget spent among empty blocks: resume
	 * later. */
	ck_assert_int_eq(ret, -EAGAIN);
	ck_assert_uint_eq(n.n, 402);
	/* Four gets per data block (three maps through the inode's fork, the block). */
	ck_assert_uint_le(g1 - g0, 4ull * BUDGET + 16);
	/* Resumed after "..": a whole budget of blocks without an entry is corruption. */
	ret = t.ops->dir_iterate(t.fs, &dir, n.next, count_entry, &n);
	ck_assert_int_eq(ret, -EUCLEAN);
	ck_assert_uint_eq(n.n, 402);
	xt_close(&t);
}
END_TEST

/* Without the budget the lookup goes round the two-leaf loop until the blocks the inode
 * claims (the whole filesystem: 131072) are spent, reading and checking the 400 data blocks
 * each leaf points into (the few a 1 MiB cache holds are evicted in turn): 52 M block
 * reads, minutes. */
START_TEST(test_xfs_lookup_round_a_leaf_loop_is_bounded)
{
	struct crafted c;
	const char *img = crafted(__func__, &c);
	struct bv_inode dir;
	uint64_t ino = 0, g0, g1;
	struct xt_fs t;
	double t0;
	int ret;

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	ck_assert_int_eq(t.ops->inode_get(t.fs, c.dir, BV_IGET_ANY, &dir), 0);
	g0 = cache_gets(&t);
	t0 = cpu_now();
	ret = t.ops->lookup(t.fs, &dir, "x", 1, &ino);
	g1 = cache_gets(&t);
	fprintf(stderr, "xfs lookup round a leafn loop: %.1f ms CPU, %llu cache gets\n",
	       (cpu_now() - t0) * 1e3, (unsigned long long)(g1 - g0));
	ck_assert_int_eq(ret, -EUCLEAN);
	/* 16384 entries, each a data block read (four gets), 41 leaves of three. */
	ck_assert_uint_le(g1 - g0, 5ull * BUDGET);
	/* A name hashing above the loop's entries goes round it as well ("the hash may go
	 * on in the next leaf"): bounded the same way. */
	g0 = cache_gets(&t);
	ck_assert_int_eq(t.ops->lookup(t.fs, &dir, "..", 2, &ino), -EUCLEAN);
	ck_assert_uint_le(cache_gets(&t) - g0, 3ull * BUDGET + 64);
	xt_close(&t);
}
END_TEST

/* Without the budget listxattr and getxattr go round the loop 131072 times (about 400 K
 * cache gets and CRCs of 4 KiB: half a second) before the older bound stops them. */
START_TEST(test_xfs_xattr_walks_round_a_leaf_loop_are_bounded)
{
	struct crafted c;
	const char *img = crafted(__func__, &c);
	struct bv_inode in;
	uint64_t g0, g1;
	struct xt_fs t;
	char buf[256];
	double t0;
	ssize_t ret;

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	ck_assert_int_eq(t.ops->inode_get(t.fs, c.file, BV_IGET_ANY, &in), 0);
	g0 = cache_gets(&t);
	t0 = cpu_now();
	ret = t.ops->xattr_list(t.fs, &in, buf, 0, true);
	g1 = cache_gets(&t);
	fprintf(stderr, "xfs listxattr round an attr leaf loop: %.1f ms CPU, %llu cache gets\n",
	       (cpu_now() - t0) * 1e3, (unsigned long long)(g1 - g0));
	ck_assert_int_eq(ret, -EUCLEAN);
	ck_assert_uint_le(g1 - g0, 3ull * BUDGET + 64);
	/* getxattr: leaves without entries may be followed by more of the hash: round the
	 * loop too, bounded the same way. */
	g0 = cache_gets(&t);
	ret = t.ops->xattr_get(t.fs, &in, "user.x", buf, sizeof(buf));
	ck_assert_int_eq(ret, -EUCLEAN);
	ck_assert_uint_le(cache_gets(&t) - g0, 3ull * BUDGET + 64);
	xt_close(&t);
}
END_TEST

/* The bmbt blocks a walk passes through are checked once per thread, not once per
 * mapping: reading all of "frag" (8192 extents under a depth-2 bmbt, 16384 mappings)
 * checks each leaf about once. Without the memory: one check per mapping. */
START_TEST(test_xfs_bmap_checks_each_bmbt_block_once_per_walk)
{
	const char *img = xt_populated(__func__);
	struct bv_inode in;
	struct xt_fs t;
	uint8_t *buf = malloc(1 << 20);
	uint64_t off = 0, checks;
	ssize_t n;

	if (!img) {
		free(buf);
		return;
	}
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	ck_assert_int_eq(t.ops->inode_get(t.fs, xt_db_ino(img, "frag"), BV_IGET_ANY, &in), 0);
	while ((n = t.ops->read(t.fs, &in, buf, 1 << 20, off)) > 0)
		off += (uint64_t)n;
	ck_assert_int_eq(n, 0);
	ck_assert_uint_eq(off, in.size);
	checks = atomic_load(&t.fs->bmbt_checks);
	fprintf(stderr, "xfs bmbt blocks checked reading frag (16384 mappings): %llu\n",
	       (unsigned long long)checks);
	/* 8192 records at most 251 per leaf: 33 leaves or more, far below 16384. */
	ck_assert_uint_gt(checks, 0);
	ck_assert_uint_le(checks, 200);
	xt_close(&t);
	free(buf);
}
END_TEST

/* A forward walk through a cursor answers what a walk down from the root per call
 * answers, for every block of "frag", and walks down only when it leaves a leaf: once per
 * leaf (8192 records, at most 251 a leaf), not once per mapping (16384). */
START_TEST(test_xfs_bmap_cursor_walk_matches_descents)
{
	const char *img = xt_populated(__func__);
	struct bv_xfs_bmap_cursor cur = { 0 };
	struct bv_xfs_inode ip;
	struct xt_fs t;
	uint64_t descents = 0, mappings = 0, from = UINT64_MAX, end;

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	ck_assert_int_eq(bv_xfs_inode_read(t.fs, xt_db_ino(img, "frag"), &ip), 0);
	ck_assert_uint_eq(ip.format, BV_XFS_FMT_BTREE);
	end = ip.size / BS + 10;
	for (uint64_t l = 0; l < end; mappings++) {
		struct bv_xfs_map a, b;

		ck_assert_int_eq(bv_xfs_bmap_next(t.fs, &ip, BV_XFS_DATA_FORK, &cur, l, &a), 0);
		if (cur.from != from)
			descents++;
		from = cur.from;
		ck_assert_int_eq(bv_xfs_bmap(t.fs, &ip, BV_XFS_DATA_FORK, l, &b), 0);
		ck_assert_mem_eq(&a, &b, sizeof(a));
		ck_assert_uint_ge(a.len, 1);
		l += a.len;
	}
	bv_xfs_bmap_cursor_end(t.fs, &cur);
	ck_assert_ptr_null(cur.recs);
	ck_assert_uint_ge(mappings, 16384);
	ck_assert_uint_ge(descents, 8192 / 251 + 1);
	ck_assert_uint_le(descents, 200);
	xt_close(&t);
}
END_TEST

/* SEEK_DATA through a crafted bmbt (root in the inode, one node, SEEK_LEAVES full leaves)
 * of one-block unwritten extents at every other block, then one written extent: the walk
 * stops at its cap of 65536 mappings with "data" there, reading each leaf once. Walking
 * down per mapping read inode, node and leaf for each of them (196608 gets); without the
 * cap it walked all 70560 mappings. */
#define SEEK_LEAVES 140u
#define SEEK_RECS (SEEK_LEAVES * 251u)
#define SEEK_CAP 65536u /* fs/xfs/file.c's BV_XFS_SEEK_MAX_RUNS */

START_TEST(test_xfs_seek_walks_each_leaf_once_and_stops_at_the_cap)
{
	const char *base = xt_mkfs(__func__, "bounds", "");
	const size_t hdr = 72, slots = (BS - 72) / 16;
	const uint64_t node = 1000; /* AG 1 (AG 2 holds the log): the node, then the leaves */
	const uint64_t leaves = SEEK_CAP / 2 / 251 + 1;
	struct crafted c = { 0 };
	struct bv_xfs_inode ip;
	struct xt_fs t;
	uint8_t fork[4 + 20 * 16] = { 0 }, d[512], *b;
	uint64_t ino, g0, gets, pos;
	const char *img;
	double cpu;

	if (!base)
		return;
	img = xt_copy(base, "xfs_bounds_seek");
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	ck_assert_uint_eq(t.fs->sb.blocksize, BS);
	ck_assert_uint_eq(t.fs->sb.inodesize, 512);
	memcpy(c.uuid, t.fs->sb.meta_uuid, 16);
	ino = t.fs->sb.rootino + 10;
	/* The root: bmdr level 2, one key (0) and its pointer, in a fork of 20 slots. */
	xt_put_be16(fork, 2);
	xt_put_be16(fork + 2, 1);
	xt_put_be64(fork + 4 + 20 * 8, FSB(1, node));
	put_inode(img, &t, ino, 0100644, (2ull * (SEEK_RECS - 1) + 1) * BS, SEEK_RECS, 0, 0,
		  fork, sizeof(fork), NULL, 0);
	xt_pread(img, d, sizeof(d), xt_ino_byte(&t, ino));
	d[5] = 3; /* di_format: btree */
	xt_fix_crc(d, sizeof(d), 100);
	xt_pwrite(img, d, sizeof(d), xt_ino_byte(&t, ino));

	b = calloc(SEEK_LEAVES + 1, BS);
	ck_assert_ptr_nonnull(b);
	xt_put_be32(b, 0x424d4133); /* BMA3 */
	xt_put_be16(b + 4, 1);
	xt_put_be16(b + 6, SEEK_LEAVES);
	memset(b + 8, 0xff, 16); /* no siblings */
	for (uint32_t l = 0; l < SEEK_LEAVES; l++) {
		uint8_t *leaf = b + (size_t)(l + 1) * BS;

		xt_put_be64(b + hdr + l * 8, 2ull * l * 251);
		xt_put_be64(b + hdr + slots * 8 + l * 8, FSB(1, node + 1 + l));
		xt_put_be32(leaf, 0x424d4133);
		xt_put_be16(leaf + 6, 251);
		memset(leaf + 8, 0xff, 16);
		for (uint32_t r = 0; r < 251; r++) {
			uint64_t k = (uint64_t)l * 251 + r;

			put_rec(leaf + hdr + r * 16, 2 * k, FSB(1, 64), 1);
			if (k + 1 < SEEK_RECS)
				leaf[hdr + r * 16] |= 0x80; /* unwritten, all but the last */
		}
		seal(leaf, BYTE(1, node + 1 + l), 64, 24, 40, 56, &c, ino);
	}
	seal(b, BYTE(1, node), 64, 24, 40, 56, &c, ino);
	xt_pwrite(img, b, (size_t)(SEEK_LEAVES + 1) * BS, BYTE(1, node));
	free(b);
	xt_close(&t);

	ck_assert_msg(xt_open(&t, img, NULL) == 0, "%s", t.why);
	ck_assert_int_eq(bv_xfs_inode_read(t.fs, ino, &ip), 0);
	ck_assert_uint_eq(ip.format, BV_XFS_FMT_BTREE);
	g0 = cache_gets(&t);
	cpu = cpu_now();
	ck_assert_int_eq(bv_xfs_file_seek(t.fs, &ip, 0, true, &pos), 0);
	cpu = cpu_now() - cpu;
	gets = cache_gets(&t) - g0;
	fprintf(stderr, "xfs SEEK_DATA over %u mappings of a depth-2 bmbt: %.1f ms CPU, %llu "
		"cache gets\n", SEEK_CAP, cpu * 1e3, (unsigned long long)gets);
	ck_assert_uint_eq(pos, (uint64_t)SEEK_CAP * BS);
	ck_assert_uint_ge(gets, leaves);
	ck_assert_uint_le(gets, 3 * (leaves + 1) + 8);
	/* From the last leaf on, the written extent is found; it is data up to i_size. */
	ck_assert_int_eq(bv_xfs_file_seek(t.fs, &ip, (2ull * SEEK_RECS - 1000) * BS, true, &pos),
			 0);
	ck_assert_uint_eq(pos, 2ull * (SEEK_RECS - 1) * BS);
	ck_assert_int_eq(bv_xfs_file_seek(t.fs, &ip, pos, false, &pos), 0);
	ck_assert_uint_eq(pos, ip.size);
	ck_assert_int_eq(bv_xfs_file_seek(t.fs, &ip, 7, false, &pos), 0);
	ck_assert_uint_eq(pos, 7);
	xt_close(&t);
}
END_TEST

/* AGs under 16 MiB are refused as the kernel refuses them: a crafted superblock cannot
 * ask open to read millions of AG headers from a small image. */
START_TEST(test_xfs_ags_under_16_mib_are_refused)
{
	const char *base = xt_mkfs(__func__, "bounds", "");
	const char *img;
	uint8_t sb[512];
	struct xt_fs t;

	if (!base)
		return;
	img = xt_copy(base, "xfs_bounds_smallag");
	xt_pread(img, sb, sizeof(sb), 0);
	/* 2048-block (8 MiB) AGs: agblocks, agblklog and agcount agreeing with dblocks. */
	xt_put_be32(sb + 84, 2048);
	sb[124] = 11;
	xt_put_be32(sb + 88, (uint32_t)(bv_be64(sb + 8) / 2048));
	xt_fix_crc(sb, sizeof(sb), 224);
	xt_pwrite(img, sb, sizeof(sb), 0);
	ck_assert_int_eq(xt_open(&t, img, NULL), -EUCLEAN);
	ck_assert_msg(strstr(t.why, "bad AG size"), "%s", t.why);
}
END_TEST

static Suite *xfs_bounds_suite(void)
{
	Suite *s = suite_create("xfs_bounds");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_xfs_readdir_reads_at_most_the_walk_budget);
	tcase_add_test(tc, test_xfs_lookup_round_a_leaf_loop_is_bounded);
	tcase_add_test(tc, test_xfs_xattr_walks_round_a_leaf_loop_are_bounded);
	tcase_add_test(tc, test_xfs_bmap_checks_each_bmbt_block_once_per_walk);
	tcase_add_test(tc, test_xfs_bmap_cursor_walk_matches_descents);
	tcase_add_test(tc, test_xfs_seek_walks_each_leaf_once_and_stops_at_the_cap);
	tcase_add_test(tc, test_xfs_ags_under_16_mib_are_refused);
	suite_add_tcase(s, tc);
	return s;
}

BV_SUITE(xfs_bounds_suite)
