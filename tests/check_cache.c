/* The metadata block cache: hits and misses, LRU eviction within the byte budget, pins,
 * errors that must not stick, and many threads sharing one read per block. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockio/cache.h"
#include "tests/testutil.h"

/* Byte OFF of every test source: distinct per block and per offset in a block, so a
 * block served for the wrong number, or overwritten while pinned, is caught. */
static uint8_t pattern_byte(uint64_t off)
{
	return (uint8_t)(off + (off >> 10) * 37 + (off >> 16) * 11);
}

static uint8_t *pattern_new(size_t len)
{
	uint8_t *buf = malloc(len);

	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(i);
	return buf;
}

static bool block_ok(const uint8_t *data, uint32_t bs, uint64_t blockno)
{
	for (uint32_t i = 0; i < bs; i++)
		if (data[i] != pattern_byte(blockno * bs + i))
			return false;
	return true;
}

/* A memory source of NBLOCKS blocks of BS bytes and a cache over it. */
struct fixture {
	uint8_t *mem;
	struct bv_source *src;
	struct bv_cache *cache;
	uint32_t bs;
};

static void fixture_init(struct fixture *f, uint32_t bs, size_t nblocks, size_t budget)
{
	f->bs = bs;
	f->mem = pattern_new(bs * nblocks);
	ck_assert_int_eq(bv_source_open_mem(f->mem, bs * nblocks, &f->src), 0);
	ck_assert_int_eq(bv_cache_new(f->src, bs, budget, &f->cache), 0);
}

/* The same over a scratch file, to run the pread path of the source. */
static void fixture_init_file(struct fixture *f, const char *name, uint32_t bs,
			      size_t nblocks, size_t budget)
{
	char path[PATH_MAX];
	FILE *fp;

	f->bs = bs;
	f->mem = pattern_new(bs * nblocks);
	snprintf(path, sizeof(path), "%s/%s", bv_test_tmpdir(), name);
	fp = fopen(path, "wb");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(f->mem, 1, bs * nblocks, fp), bs * nblocks);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(bv_source_open(path, &f->src), 0);
	ck_assert_int_eq(bv_cache_new(f->src, bs, budget, &f->cache), 0);
}

static void fixture_fini(struct fixture *f)
{
	bv_cache_free(f->cache);
	bv_source_close(f->src);
	free(f->mem);
}

static struct bv_cache_stats stats(struct bv_cache *c)
{
	struct bv_cache_stats st;

	bv_cache_stats_get(c, &st);
	return st;
}

/* Gets, checks the data and puts one block. */
static void touch(struct fixture *f, uint64_t blockno)
{
	struct bv_cache_ref ref = {0};

	ck_assert_int_eq(bv_cache_get(f->cache, blockno, &ref), 0);
	ck_assert(block_ok(ref.data, f->bs, blockno));
	bv_cache_put(f->cache, &ref);
	ck_assert_ptr_null(ref.data);
	ck_assert_ptr_null(ref.priv);
}

START_TEST(test_cache_rejects_bad_block_size)
{
	static uint8_t mem[65536 * 8];
	struct bv_source *src;
	struct bv_cache *c = NULL;

	ck_assert_int_eq(bv_source_open_mem(mem, sizeof(mem), &src), 0);
	ck_assert_int_eq(bv_cache_new(src, 512, 0, &c), -EINVAL);
	ck_assert_int_eq(bv_cache_new(src, 3072, 0, &c), -EINVAL);
	ck_assert_int_eq(bv_cache_new(src, 131072, 0, &c), -EINVAL);
	ck_assert_int_eq(bv_cache_new(src, 0, 0, &c), -EINVAL);
	ck_assert_ptr_null(c);
	ck_assert_int_eq(bv_cache_new(src, 1024, 0, &c), 0);
	bv_cache_free(c);
	ck_assert_int_eq(bv_cache_new(src, 65536, 0, &c), 0);
	bv_cache_free(c);
	bv_cache_free(NULL);
	bv_source_close(src);
}
END_TEST

START_TEST(test_cache_counts_hits_and_misses)
{
	struct fixture f;
	struct bv_cache_stats st;

	fixture_init(&f, 4096, 16, 0);
	touch(&f, 3);
	st = stats(f.cache);
	ck_assert_uint_eq(st.misses, 1);
	ck_assert_uint_eq(st.hits, 0);
	ck_assert_uint_eq(st.bytes, 4096);
	touch(&f, 3);
	touch(&f, 4);
	touch(&f, 3);
	st = stats(f.cache);
	ck_assert_uint_eq(st.misses, 2);
	ck_assert_uint_eq(st.hits, 2);
	ck_assert_uint_eq(st.evictions, 0);
	ck_assert_uint_eq(st.bytes, 8192);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_cache_same_block_pinned_twice_shares_data)
{
	struct fixture f;
	struct bv_cache_ref a = {0}, b = {0};

	fixture_init(&f, 1024, 16, 0);
	ck_assert_int_eq(bv_cache_get(f.cache, 7, &a), 0);
	ck_assert_int_eq(bv_cache_get(f.cache, 7, &b), 0);
	ck_assert_ptr_eq(a.data, b.data);
	bv_cache_put(f.cache, &a);
	ck_assert(block_ok(b.data, 1024, 7));
	bv_cache_put(f.cache, &b);
	ck_assert_uint_eq(stats(f.cache).misses, 1);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_cache_evicts_least_recently_used_within_budget)
{
	struct fixture f;
	struct bv_cache_stats st;

	/* Budget of exactly 8 one-KiB blocks. */
	fixture_init(&f, 1024, 64, 8 * 1024);
	for (uint64_t b = 0; b < 8; b++)
		touch(&f, b);
	ck_assert_uint_eq(stats(f.cache).evictions, 0);
	/* Touching 0 again makes 1 the oldest: block 8 must push out 1, not 0. */
	touch(&f, 0);
	touch(&f, 8);
	st = stats(f.cache);
	ck_assert_uint_eq(st.evictions, 1);
	ck_assert_uint_eq(st.bytes, 8 * 1024);
	ck_assert_uint_eq(st.misses, 9);
	touch(&f, 0);
	ck_assert_uint_eq(stats(f.cache).misses, 9);
	touch(&f, 1);
	ck_assert_uint_eq(stats(f.cache).misses, 10);

	for (uint64_t b = 10; b < 64; b++)
		touch(&f, b);
	st = stats(f.cache);
	ck_assert_uint_le(st.bytes, 8 * 1024);
	ck_assert_uint_eq(st.misses + st.hits, 8 + 1 + 1 + 1 + 1 + 54);
	ck_assert_uint_eq(st.evictions, st.misses - 8);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_cache_tiny_budget_still_holds_a_few_blocks)
{
	struct fixture f;

	fixture_init(&f, 4096, 32, 1);
	for (uint64_t b = 0; b < 8; b++)
		touch(&f, b);
	for (uint64_t b = 0; b < 8; b++)
		touch(&f, b);
	ck_assert_uint_eq(stats(f.cache).misses, 8);
	ck_assert_uint_eq(stats(f.cache).hits, 8);
	ck_assert_uint_eq(stats(f.cache).evictions, 0);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_cache_pinned_blocks_survive_eviction_pressure)
{
	struct fixture f;
	struct bv_cache_ref pins[4];
	struct bv_cache_stats st;

	fixture_init(&f, 1024, 256, 8 * 1024);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(bv_cache_get(f.cache, (uint64_t)i, &pins[i]), 0);
	/* Far more traffic than the budget: only the four unpinned slots churn. */
	for (uint64_t b = 4; b < 256; b++) {
		touch(&f, b);
		ck_assert_uint_le(stats(f.cache).bytes, 8 * 1024);
	}
	for (int i = 0; i < 4; i++) {
		ck_assert(block_ok(pins[i].data, 1024, (uint64_t)i));
		bv_cache_put(f.cache, &pins[i]);
	}
	st = stats(f.cache);
	ck_assert_uint_eq(st.misses, 256);
	/* Unpinned last, they are the most recent: still cached. */
	for (uint64_t b = 0; b < 4; b++)
		touch(&f, b);
	ck_assert_uint_eq(stats(f.cache).misses, 256);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_cache_grows_when_all_pinned_and_shrinks_on_put)
{
	struct fixture f;
	struct bv_cache_ref pins[20];
	struct bv_cache_stats st;

	fixture_init(&f, 1024, 32, 8 * 1024);
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(bv_cache_get(f.cache, (uint64_t)i, &pins[i]), 0);
	st = stats(f.cache);
	ck_assert_uint_eq(st.bytes, 20 * 1024);
	ck_assert_uint_eq(st.evictions, 0);
	for (int i = 0; i < 20; i++)
		ck_assert(block_ok(pins[i].data, 1024, (uint64_t)i));
	for (int i = 0; i < 20; i++)
		bv_cache_put(f.cache, &pins[i]);
	st = stats(f.cache);
	ck_assert_uint_eq(st.bytes, 8 * 1024);
	ck_assert_uint_eq(st.evictions, 12);
	/* The last eight unpinned (12..19) are the ones kept. */
	for (uint64_t b = 12; b < 20; b++)
		touch(&f, b);
	ck_assert_uint_eq(stats(f.cache).misses, 20);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_cache_block_past_end_is_eio_and_not_cached)
{
	struct fixture f;
	struct bv_cache_ref ref = {(const uint8_t *)"x", (void *)1};
	struct bv_cache_stats st;

	fixture_init(&f, 1024, 10, 0);
	ck_assert_int_eq(bv_cache_get(f.cache, 10, &ref), -EIO);
	ck_assert_int_eq(bv_cache_get(f.cache, 10, &ref), -EIO);
	ck_assert_int_eq(bv_cache_get(f.cache, 1ull << 60, &ref), -EIO);
	ck_assert_int_eq(bv_cache_get(f.cache, UINT64_MAX, &ref), -EIO);
	/* Out-parameters are written only on success. */
	ck_assert_ptr_eq(ref.priv, (void *)1);
	st = stats(f.cache);
	ck_assert_uint_eq(st.bytes, 0);
	ck_assert_uint_eq(st.hits, 0);
	touch(&f, 9);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_cache_partial_last_block_is_eio)
{
	static uint8_t mem[4096 + 100];
	struct bv_source *src;
	struct bv_cache *c;
	struct bv_cache_ref ref = {0};

	ck_assert_int_eq(bv_source_open_mem(mem, sizeof(mem), &src), 0);
	ck_assert_int_eq(bv_cache_new(src, 4096, 0, &c), 0);
	ck_assert_int_eq(bv_cache_get(c, 1, &ref), -EIO);
	ck_assert_int_eq(bv_cache_get(c, 0, &ref), 0);
	bv_cache_put(c, &ref);
	bv_cache_free(c);
	bv_source_close(src);
}
END_TEST

/* A read error must not stick: once the bytes exist again, the same block reads. */
START_TEST(test_cache_failed_read_is_retried_next_get)
{
	char path[PATH_MAX];
	uint8_t *data = pattern_new(8 * 1024);
	struct bv_source *src;
	struct bv_cache *c;
	struct bv_cache_ref ref = {0};
	FILE *fp;

	snprintf(path, sizeof(path), "%s/cache_retry.bin", bv_test_tmpdir());
	fp = fopen(path, "wb");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(data, 1, 8 * 1024, fp), 8 * 1024);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(bv_source_open(path, &src), 0);
	ck_assert_int_eq(bv_cache_new(src, 1024, 0, &c), 0);

	/* The file shrinks under the open source: block 6 now ends early. */
	ck_assert_int_eq(truncate(path, 4 * 1024), 0);
	ck_assert_int_eq(bv_cache_get(c, 6, &ref), -EIO);
	ck_assert_uint_eq(stats(c).bytes, 0);

	fp = fopen(path, "wb");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(data, 1, 8 * 1024, fp), 8 * 1024);
	ck_assert_int_eq(fclose(fp), 0);
	ck_assert_int_eq(bv_cache_get(c, 6, &ref), 0);
	ck_assert(block_ok(ref.data, 1024, 6));
	bv_cache_put(c, &ref);
	ck_assert_uint_eq(stats(c).misses, 2);

	bv_cache_free(c);
	bv_source_close(src);
	free(data);
}
END_TEST

START_TEST(test_cache_put_of_empty_ref_does_nothing)
{
	struct fixture f;
	struct bv_cache_ref ref = {0};

	fixture_init(&f, 1024, 8, 0);
	bv_cache_put(f.cache, &ref);
	bv_cache_put(f.cache, NULL);
	ck_assert_uint_eq(stats(f.cache).bytes, 0);
	fixture_fini(&f);
}
END_TEST

/* Many threads over overlapping blocks. */
struct hammer {
	struct fixture *f;
	pthread_barrier_t *start;
	uint64_t nblocks;
	unsigned seed;
	unsigned rounds;
	unsigned pins; /* blocks held pinned at once by each thread */
	bool in_step;  /* walk 0, 1, 2... like every other thread, rather than at random */
	uint64_t bad;  /* blocks whose data did not match, or gets that failed */
	uint64_t gets;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	struct bv_cache_ref held[4] = {{0}};
	uint64_t held_no[4] = {0};
	unsigned x = h->seed;

	pthread_barrier_wait(h->start);
	for (unsigned r = 0; r < h->rounds; r++) {
		unsigned slot = r % h->pins;

		/* Overlap on purpose: every thread walks the same small range. */
		x = x * 1103515245u + 12345u;
		uint64_t b = h->in_step ? r % h->nblocks : (x >> 8) % h->nblocks;

		if (held[slot].priv) {
			if (!block_ok(held[slot].data, h->f->bs, held_no[slot]))
				h->bad++;
			bv_cache_put(h->f->cache, &held[slot]);
		}
		h->gets++;
		if (bv_cache_get(h->f->cache, b, &held[slot]) != 0) {
			h->bad++;
			continue;
		}
		held_no[slot] = b;
		if (!block_ok(held[slot].data, h->f->bs, b))
			h->bad++;
	}
	for (unsigned i = 0; i < h->pins; i++) {
		if (held[i].priv && !block_ok(held[i].data, h->f->bs, held_no[i]))
			h->bad++;
		bv_cache_put(h->f->cache, &held[i]);
	}
	return NULL;
}

static void hammer_all(struct fixture *f, unsigned nthreads, uint64_t nblocks,
		       unsigned rounds, unsigned pins, bool in_step, uint64_t *gets)
{
	pthread_t tid[16];
	struct hammer h[16];
	pthread_barrier_t start;

	ck_assert_uint_le(nthreads, 16);
	ck_assert_int_eq(pthread_barrier_init(&start, NULL, nthreads), 0);
	*gets = 0;
	for (unsigned i = 0; i < nthreads; i++) {
		h[i] = (struct hammer){.f = f, .start = &start, .nblocks = nblocks,
				       .seed = i * 2654435761u + 1, .rounds = rounds, .pins = pins,
				       .in_step = in_step};
		ck_assert_int_eq(pthread_create(&tid[i], NULL, hammer_run, &h[i]), 0);
	}
	for (unsigned i = 0; i < nthreads; i++) {
		pthread_join(tid[i], NULL);
		ck_assert_uint_eq(h[i].bad, 0);
		*gets += h[i].gets;
	}
	pthread_barrier_destroy(&start);
}

START_TEST(test_cache_threads_read_each_block_once)
{
	struct fixture f;
	struct bv_cache_stats st;
	uint64_t gets;

	/* Room for every block: any second read of a block would be a second miss. All
	 * threads walk the blocks in step, so each new block is wanted by many at once, and
	 * 64 KiB blocks keep each read long enough for the others to arrive while it runs. */
	fixture_init(&f, 65536, 256, 32 << 20);
	hammer_all(&f, 16, 256, 512, 2, true, &gets);
	st = stats(f.cache);
	ck_assert_uint_eq(st.misses, 256);
	ck_assert_uint_eq(st.evictions, 0);
	ck_assert_uint_eq(st.hits + st.misses, gets);
	ck_assert_uint_eq(st.bytes, 256 * 65536);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_cache_threads_under_eviction_pressure_keep_data_and_budget)
{
	struct fixture f;
	struct bv_cache_stats st;
	uint64_t gets;

	/* 8 threads pinning up to 3 blocks each can pin 24 blocks of a 16-block budget: the
	 * cache must grow, then come back to budget when all are unpinned. */
	fixture_init(&f, 1024, 200, 16 * 1024);
	hammer_all(&f, 8, 200, 5000, 3, false, &gets);
	st = stats(f.cache);
	ck_assert_uint_le(st.bytes, 16 * 1024);
	ck_assert_uint_eq(st.hits + st.misses, gets);
	ck_assert_uint_gt(st.evictions, 0);
	fixture_fini(&f);
}
END_TEST

START_TEST(test_cache_threads_over_file_source)
{
	struct fixture f;
	struct bv_cache_stats st;
	uint64_t gets;

	fixture_init_file(&f, "cache_threads.bin", 4096, 128, 32 * 4096);
	hammer_all(&f, 8, 128, 3000, 2, false, &gets);
	st = stats(f.cache);
	ck_assert_uint_le(st.bytes, 32 * 4096);
	ck_assert_uint_eq(st.hits + st.misses, gets);
	fixture_fini(&f);
}
END_TEST

struct failer {
	struct bv_cache *c;
	pthread_barrier_t *start;
	int rc[50];
};

static void *failer_run(void *arg)
{
	struct failer *fl = arg;
	struct bv_cache_ref ref = {0};

	pthread_barrier_wait(fl->start);
	for (int i = 0; i < 50; i++) {
		fl->rc[i] = bv_cache_get(fl->c, 100 + (uint64_t)(i % 3), &ref);
		if (fl->rc[i] == 0)
			bv_cache_put(fl->c, &ref);
	}
	return NULL;
}

START_TEST(test_cache_threads_all_get_read_error)
{
	struct fixture f;
	pthread_t tid[8];
	struct failer fl[8];
	pthread_barrier_t start;

	fixture_init(&f, 4096, 16, 0);
	ck_assert_int_eq(pthread_barrier_init(&start, NULL, 8), 0);
	for (int i = 0; i < 8; i++) {
		fl[i].c = f.cache;
		fl[i].start = &start;
		ck_assert_int_eq(pthread_create(&tid[i], NULL, failer_run, &fl[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(tid[i], NULL);
		for (int j = 0; j < 50; j++)
			ck_assert_int_eq(fl[i].rc[j], -EIO);
	}
	pthread_barrier_destroy(&start);
	ck_assert_uint_eq(stats(f.cache).bytes, 0);
	touch(&f, 15);
	fixture_fini(&f);
}
END_TEST

static Suite *cache_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_cache_rejects_bad_block_size);
	tcase_add_test(tc, test_cache_counts_hits_and_misses);
	tcase_add_test(tc, test_cache_same_block_pinned_twice_shares_data);
	tcase_add_test(tc, test_cache_evicts_least_recently_used_within_budget);
	tcase_add_test(tc, test_cache_tiny_budget_still_holds_a_few_blocks);
	tcase_add_test(tc, test_cache_pinned_blocks_survive_eviction_pressure);
	tcase_add_test(tc, test_cache_grows_when_all_pinned_and_shrinks_on_put);
	tcase_add_test(tc, test_cache_block_past_end_is_eio_and_not_cached);
	tcase_add_test(tc, test_cache_partial_last_block_is_eio);
	tcase_add_test(tc, test_cache_failed_read_is_retried_next_get);
	tcase_add_test(tc, test_cache_put_of_empty_ref_does_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_cache_threads_read_each_block_once);
	tcase_add_test(tc, test_cache_threads_under_eviction_pressure_keep_data_and_budget);
	tcase_add_test(tc, test_cache_threads_over_file_source);
	tcase_add_test(tc, test_cache_threads_all_get_read_error);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(cache_suite)
