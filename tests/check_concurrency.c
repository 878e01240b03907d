/* Many threads on one opened filesystem, as the daemon's FUSE workers share it: 16 threads
 * read files at random offsets and lengths, look names up, walk directories, resolve paths,
 * read symlinks and xattrs and call statfs, all at once, over one memory source and a
 * metadata cache small enough to evict all the time. Every answer must equal what one
 * thread alone got before (or, for file data, the bytes the source tree was made with).
 * Under `make tsan` (ThreadSanitizer) this suite is the unit half of the race proof; in
 * plain `make check` it still checks the answers.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockio/cache.h"
#include "fs/ext4/ext4.h"
#include "fs/ext4/ext4_priv.h"
#include "tests/testutil.h"

#define NTHREADS 16
#define NBIG 12
#define NMANY 1200 /* an htree directory on 1 KiB blocks */
#define NLINKS 40

static const uint64_t big_sizes[NBIG] = {
	0, 1, 1023, 1024, 1025, 4103, 65537, 200000, 1 << 20, (3 << 20) + 5, 777777, 12345,
};

/* Byte OFF of file FILE: differs per file and per offset, so a block of the wrong file, or
 * from the wrong place in the right one, is caught. */
static uint8_t content_byte(uint32_t file, uint64_t off)
{
	uint64_t x = (off + 1) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)file << 40);

	return (uint8_t)(x >> 29 ^ off);
}

static void write_file(const char *path, uint32_t file, uint64_t size)
{
	FILE *f = fopen(path, "wb");
	uint8_t buf[4096];

	ck_assert_ptr_nonnull(f);
	for (uint64_t off = 0; off < size;) {
		size_t n = size - off < sizeof(buf) ? (size_t)(size - off) : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = content_byte(file, off + i);
		ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
		off += n;
	}
	ck_assert_int_eq(fclose(f), 0);
}

/* The tree: big/fN (sizes above), many/nNNNN (1200 small files), links/lNN (fast and slow
 * symlinks into many/), and a sparse file with data on both sides of a hole. */
static const char *make_tree(void)
{
	static char dir[PATH_MAX];
	char path[PATH_MAX + 64];

	snprintf(dir, sizeof(dir), "%s/conc-src", bv_test_tmpdir());
	if (access(dir, F_OK) == 0)
		return dir;
	ck_assert_int_eq(bv_test_sh("mkdir -p '%s/big' '%s/many' '%s/links'", dir, dir, dir), 0);
	for (uint32_t i = 0; i < NBIG; i++) {
		snprintf(path, sizeof(path), "%s/big/f%u", dir, i);
		write_file(path, i, big_sizes[i]);
	}
	for (uint32_t i = 0; i < NMANY; i++) {
		snprintf(path, sizeof(path), "%s/many/n%04u", dir, i);
		write_file(path, 1000 + i, i % 97);
	}
	for (uint32_t i = 0; i < NLINKS; i++) {
		char target[200];

		/* Even: a fast symlink (in the inode); odd: longer than 60 bytes, in a block. */
		if (i % 2 == 0)
			snprintf(target, sizeof(target), "../many/n%04u", i * 7);
		else
			snprintf(target, sizeof(target),
				 "../many/./././././././././././././././././././././././n%04u", i * 7);
		snprintf(path, sizeof(path), "%s/links/l%02u", dir, i);
		ck_assert_int_eq(symlink(target, path), 0);
	}
	snprintf(path, sizeof(path), "%s/big/sparse", dir);
	ck_assert_int_eq(bv_test_sh("printf A > '%s' && truncate -s 5M '%s' && printf B >> '%s'",
				    path, path, path), 0);
	return dir;
}

/* What one thread alone saw: the answers the threads must all give again. */
struct baseline {
	uint32_t big_ino[NBIG], sparse_ino, many_ino[NMANY], link_ino[NLINKS];
	uint32_t many_dir, links_dir, big_dir;
	uint64_t many_listing; /* a hash of the whole listing of many/ */
	size_t many_entries;
	char link_target[NLINKS][200];
	ssize_t xattr_list_len[NBIG];
	fsblkcnt_t bfree;
};

struct listing {
	uint64_t hash;
	size_t n;
};

static int listing_entry(void *ctx, const char *name, size_t len, uint32_t ino, uint8_t ft,
			 uint64_t next)
{
	struct listing *l = ctx;

	for (size_t i = 0; i < len; i++)
		l->hash = (l->hash ^ (uint8_t)name[i]) * 0x100000001B3ull;
	l->hash = (l->hash ^ ino ^ ((uint64_t)ft << 32)) * 0x100000001B3ull;
	l->n++;
	return 0;
}

static int list_dir(struct bv_ext4 *fs, uint32_t ino, struct listing *l)
{
	struct bv_ext4_inode dir;
	int err = bv_ext4_inode_get(fs, ino, &dir);

	*l = (struct listing){.hash = 0xCBF29CE484222325ull};
	return err ? err : bv_ext4_dir_iterate(fs, &dir, 0, listing_entry, l);
}

static uint32_t resolve(struct bv_ext4 *fs, const char *path)
{
	uint32_t ino = 0;

	ck_assert_msg(bv_test_resolve(fs, path, 0, &ino) == 0, "resolve %s", path);
	return ino;
}

static void baseline_take(struct bv_ext4 *fs, struct baseline *b)
{
	char path[64];
	struct listing l;
	struct statvfs sv;

	b->big_dir = resolve(fs, "/big");
	b->many_dir = resolve(fs, "/many");
	b->links_dir = resolve(fs, "/links");
	for (uint32_t i = 0; i < NBIG; i++) {
		struct bv_ext4_inode in;

		snprintf(path, sizeof(path), "/big/f%u", i);
		b->big_ino[i] = resolve(fs, path);
		ck_assert_int_eq(bv_ext4_inode_get(fs, b->big_ino[i], &in), 0);
		ck_assert_uint_eq(in.size, big_sizes[i]);
		b->xattr_list_len[i] = bv_ext4_xattr_list(fs, &in, NULL, 0);
	}
	b->sparse_ino = resolve(fs, "/big/sparse");
	for (uint32_t i = 0; i < NMANY; i++) {
		snprintf(path, sizeof(path), "/many/n%04u", i);
		b->many_ino[i] = resolve(fs, path);
	}
	for (uint32_t i = 0; i < NLINKS; i++) {
		struct bv_ext4_inode in;
		size_t len;

		snprintf(path, sizeof(path), "/links/l%02u", i);
		b->link_ino[i] = resolve(fs, path);
		ck_assert_int_eq(bv_ext4_inode_get(fs, b->link_ino[i], &in), 0);
		ck_assert_int_eq(bv_ext4_readlink(fs, &in, b->link_target[i],
						  sizeof(b->link_target[i]), &len), 0);
	}
	ck_assert_int_eq(list_dir(fs, b->many_dir, &l), 0);
	b->many_listing = l.hash;
	b->many_entries = l.n;
	ck_assert_uint_eq(l.n, NMANY + 2);
	bv_ext4_statfs(fs, &sv);
	b->bfree = sv.f_bfree;
}

struct worker {
	struct bv_ext4 *fs;
	const struct baseline *b;
	pthread_barrier_t *start;
	unsigned seed, rounds;
	uint64_t bad, reads, bytes;
	char why[200]; /* the first wrong answer */
};

static unsigned next_rand(unsigned *x)
{
	*x = *x * 1103515245u + 12345u;
	return *x >> 8;
}

#define WRONG(w, ...)                                                                      \
	do {                                                                               \
		if (!(w)->bad++)                                                            \
			snprintf((w)->why, sizeof((w)->why), __VA_ARGS__);                  \
	} while (0)

static void one_read(struct worker *w, uint8_t *buf, size_t cap)
{
	unsigned r = next_rand(&w->seed);
	uint32_t f = r % NBIG;
	uint64_t size = big_sizes[f];
	uint64_t off = size ? next_rand(&w->seed) % (size + 100) : 0;
	size_t len = next_rand(&w->seed) % cap + 1;
	struct bv_ext4_inode in;
	ssize_t n;

	if (bv_ext4_inode_get(w->fs, w->b->big_ino[f], &in) != 0) {
		WRONG(w, "inode of f%u", f);
		return;
	}
	n = bv_ext4_file_read(w->fs, &in, buf, len, off);
	size_t want = off >= size ? 0 : (size - off < len ? (size_t)(size - off) : len);
	if (n < 0 || (size_t)n != want) {
		WRONG(w, "f%u read %zu at %llu: %zd, want %zu", f, len, (unsigned long long)off, n,
		      want);
		return;
	}
	for (size_t i = 0; i < want; i++)
		if (buf[i] != content_byte(f, off + i)) {
			WRONG(w, "f%u byte %llu differs", f, (unsigned long long)(off + i));
			return;
		}
	w->reads++;
	w->bytes += want;
}

static void one_sparse_read(struct worker *w, uint8_t *buf)
{
	struct bv_ext4_inode in;
	uint64_t off = next_rand(&w->seed) % (5u << 20);
	ssize_t n;

	if (bv_ext4_inode_get(w->fs, w->b->sparse_ino, &in) != 0) {
		WRONG(w, "inode of sparse");
		return;
	}
	n = bv_ext4_file_read(w->fs, &in, buf, 2, off);
	if (n != 2 || buf[0] != (off == 0 ? 'A' : 0) || buf[1] != 0)
		WRONG(w, "sparse at %llu: %zd %02x %02x", (unsigned long long)off, n, buf[0], buf[1]);
}

static void one_lookup(struct worker *w)
{
	uint32_t i = next_rand(&w->seed) % NMANY, ino = 0;
	struct bv_ext4_inode dir, in;
	char name[16];
	int len = snprintf(name, sizeof(name), "n%04u", i);

	if (bv_ext4_inode_get(w->fs, w->b->many_dir, &dir) != 0 ||
	    bv_ext4_lookup(w->fs, &dir, name, (size_t)len, &ino) != 0 || ino != w->b->many_ino[i] ||
	    bv_ext4_inode_get_linked(w->fs, ino, &in) != 0 || in.size != i % 97)
		WRONG(w, "lookup of many/%s", name);
	/* A name that is not there: a miss walks the htree as far as a hit. */
	name[0] = 'x';
	if (bv_ext4_lookup(w->fs, &dir, name, (size_t)len, &ino) != -ENOENT)
		WRONG(w, "lookup of many/%s found something", name);
}

static void one_listing(struct worker *w)
{
	struct listing l;

	if (list_dir(w->fs, w->b->many_dir, &l) != 0 || l.hash != w->b->many_listing ||
	    l.n != w->b->many_entries)
		WRONG(w, "listing of many/: %zu entries", l.n);
}

static void one_link(struct worker *w)
{
	uint32_t i = next_rand(&w->seed) % NLINKS, ino = 0;
	struct bv_ext4_inode in;
	char path[64], target[200];
	size_t len;

	snprintf(path, sizeof(path), "/links/l%02u", i);
	if (bv_test_resolve(w->fs, path, 0, &ino) != 0 || ino != w->b->link_ino[i] ||
	    bv_ext4_inode_get(w->fs, ino, &in) != 0 ||
	    bv_ext4_readlink(w->fs, &in, target, sizeof(target), &len) != 0 ||
	    strcmp(target, w->b->link_target[i]) != 0) {
		WRONG(w, "readlink of %s", path);
		return;
	}
	/* And through it: resolution follows the link into many/. */
	if (bv_test_resolve(w->fs, path, BV_RESOLVE_FOLLOW, &ino) != 0 ||
	    ino != w->b->many_ino[i * 7])
		WRONG(w, "resolve of %s through the link", path);
}

static void one_meta(struct worker *w)
{
	uint32_t f = next_rand(&w->seed) % NBIG;
	struct bv_ext4_inode in;
	struct statvfs sv;

	if (bv_ext4_inode_get(w->fs, w->b->big_ino[f], &in) != 0 ||
	    bv_ext4_xattr_list(w->fs, &in, NULL, 0) != w->b->xattr_list_len[f] ||
	    bv_ext4_xattr_get(w->fs, &in, "user.none", NULL, 0) != -ENODATA)
		WRONG(w, "xattrs of f%u", f);
	bv_ext4_statfs(w->fs, &sv);
	if (sv.f_bfree != w->b->bfree)
		WRONG(w, "statfs bfree %llu", (unsigned long long)sv.f_bfree);
}

/* The metadata cache straight: pin a few blocks at once, check they hold what the image
 * holds there, unpin, while the reader's own gets evict around them. */
static void one_cache(struct worker *w, const uint8_t *img, uint64_t nblocks)
{
	struct bv_cache_ref ref[3] = {{0}};
	uint64_t blk[3];
	uint32_t bs = w->fs->sb.block_size;

	for (int i = 0; i < 3; i++) {
		blk[i] = next_rand(&w->seed) % nblocks;
		if (bv_cache_get(w->fs->cache, blk[i], &ref[i]) != 0) {
			WRONG(w, "cache get of block %llu", (unsigned long long)blk[i]);
			break;
		}
	}
	for (int i = 0; i < 3; i++) {
		if (ref[i].priv && memcmp(ref[i].data, img + blk[i] * bs, bs) != 0)
			WRONG(w, "cache block %llu differs", (unsigned long long)blk[i]);
		bv_cache_put(w->fs->cache, &ref[i]);
	}
}

static const uint8_t *cur_img;
static uint64_t cur_nblocks;

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	size_t cap = 300000;
	uint8_t *buf = malloc(cap);

	ck_assert_ptr_nonnull(buf);
	pthread_barrier_wait(w->start);
	for (unsigned r = 0; r < w->rounds; r++) {
		switch (next_rand(&w->seed) % 8) {
		case 0:
		case 1:
			one_read(w, buf, cap);
			break;
		case 2:
			one_sparse_read(w, buf);
			break;
		case 3:
			one_lookup(w);
			break;
		case 4:
			/* A whole listing is ~40 blocks: less often than the rest. */
			if (r % 4 == 0)
				one_listing(w);
			else
				one_lookup(w);
			break;
		case 5:
			one_link(w);
			break;
		case 6:
			one_meta(w);
			break;
		default:
			one_cache(w, cur_img, cur_nblocks);
			break;
		}
	}
	free(buf);
	return NULL;
}

/* Opens IMG from memory with a cache of CACHE_BYTES and runs the 16 workers over it. */
static void run_threads(const char *img_path, size_t cache_bytes, unsigned rounds)
{
	struct bv_ext4_opts opts = {.cache_bytes = cache_bytes};
	struct bv_source *src;
	struct bv_ext4 *fs;
	struct baseline *b = calloc(1, sizeof(*b));
	struct worker w[NTHREADS];
	pthread_t tid[NTHREADS];
	pthread_barrier_t start;
	uint8_t *img;
	size_t len;
	uint64_t reads = 0, bytes = 0;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(bv_test_slurp(img_path, &img, &len), 0);
	fs = bv_test_open_mem(img, len, &opts, &src);
	baseline_take(fs, b);
	/* A fresh open for the threads, so the first statfs and the cold cache race too. */
	bv_ext4_close(fs);
	bv_source_close(src);
	fs = bv_test_open_mem(img, len, &opts, &src);
	cur_img = img;
	cur_nblocks = len / fs->sb.block_size;

	ck_assert_int_eq(pthread_barrier_init(&start, NULL, NTHREADS), 0);
	for (unsigned i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){.fs = fs, .b = b, .start = &start,
				       .seed = i * 2654435761u + 7, .rounds = rounds};
		ck_assert_int_eq(pthread_create(&tid[i], NULL, worker_run, &w[i]), 0);
	}
	for (unsigned i = 0; i < NTHREADS; i++)
		pthread_join(tid[i], NULL);
	for (unsigned i = 0; i < NTHREADS; i++) {
		ck_assert_msg(w[i].bad == 0, "thread %u: %llu wrong answers, first: %s", i,
			      (unsigned long long)w[i].bad, w[i].why);
		reads += w[i].reads;
		bytes += w[i].bytes;
	}
	struct bv_cache_stats st;
	bv_cache_stats_get(fs->cache, &st);
	printf("concurrency: %d threads, %llu file reads (%llu bytes), cache %llu hits, %llu "
	       "misses, %llu evictions\n", NTHREADS, (unsigned long long)reads,
	       (unsigned long long)bytes, (unsigned long long)st.hits,
	       (unsigned long long)st.misses, (unsigned long long)st.evictions);
	/* The small budget really was under pressure, so eviction raced with pins. */
	ck_assert_uint_gt(st.evictions, 0);
	pthread_barrier_destroy(&start);
	bv_ext4_close(fs);
	bv_source_close(src);
	free(img);
	free(b);
}

/* 1 KiB blocks, metadata_csum, a 32 KiB cache: every lookup and map walk evicts. */
START_TEST(test_threads_share_one_fs_and_agree_with_one_thread)
{
	const char *img = bv_test_mkfs("conc-1k", "-b 1024", make_tree(), "48M");

	ck_assert_ptr_nonnull(img);
	run_threads(img, 32 * 1024, 400);
}
END_TEST

/* 4 KiB blocks without metadata_csum or extents (block maps, indirect blocks). */
START_TEST(test_threads_share_one_block_mapped_fs)
{
	const char *img = bv_test_mkfs("conc-noext", "-b 4096 -O ^extent,^64bit,^metadata_csum",
				       make_tree(), "48M");

	ck_assert_ptr_nonnull(img);
	run_threads(img, 64 * 1024, 400);
}
END_TEST

static Suite *concurrency_suite(void)
{
	Suite *s = suite_create("concurrency");
	TCase *tc = tcase_create("threads");

	/* ThreadSanitizer runs them several times slower. */
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_threads_share_one_fs_and_agree_with_one_thread);
	tcase_add_test(tc, test_threads_share_one_block_mapped_fs);
	suite_add_tcase(s, tc);
	return s;
}

BV_SUITE(concurrency_suite)
