/* The metadata block cache.
 *
 * One mutex guards the hash table, the LRU list and every entry's state and pin count.
 * The mutex is never held across bv_source_read(): a miss publishes a LOADING entry,
 * drops the lock, reads, retakes the lock and wakes everyone waiting for that block. So
 * a slow disk stalls only the threads that need the block being read, and a block is read
 * once however many threads want it at the same moment.
 *
 * Entries and their data are one allocation. In steady state a miss reuses the memory of
 * the block it evicts, and a hit allocates nothing at all.
 */
#include "blockio/cache.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Room for the superblock, a group descriptor block, an inode table block and an extent
 * path however small the budget: below that every lookup would thrash. */
#define BV_CACHE_MIN_BLOCKS 8
#define BV_CACHE_MIN_BLOCK_SIZE 1024u
#define BV_CACHE_MAX_BLOCK_SIZE 65536u

enum entry_state {
	ENTRY_LOADING, /* in the table; one thread is reading it */
	ENTRY_VALID,   /* in the table; data holds the block */
	ENTRY_FAILED,  /* out of the table; waiters collect err and drop their pins */
};

struct entry {
	uint64_t blockno;
	struct entry *hnext;               /* hash chain */
	struct entry *lru_prev, *lru_next; /* on the LRU list only while VALID and unpinned */
	uint32_t refs;                     /* pins, counting threads waiting on a LOADING entry */
	enum entry_state state;
	int err; /* -errno of the failed read, for ENTRY_FAILED */
	uint8_t data[];
};

struct bv_cache {
	struct bv_source *src; /* borrowed */
	uint32_t block_size;
	size_t max_bytes;
	uint32_t hash_bits;

	pthread_mutex_t lock;
	pthread_cond_t loaded; /* broadcast when any LOADING entry becomes VALID or FAILED */
	struct entry **buckets;   /* lock */
	struct entry *lru_head;   /* lock; most recently unpinned */
	struct entry *lru_tail;   /* lock; the next to evict */
	struct bv_cache_stats st; /* lock */
};

static uint32_t bucket_of(const struct bv_cache *c, uint64_t blockno)
{
	/* Fibonacci hashing: metadata block numbers come in runs, and the multiply spreads
	 * neighbours across the table where a plain mask would not mix high bits in. */
	return (uint32_t)((blockno * 0x9E3779B97F4A7C15ull) >> (64 - c->hash_bits));
}

static struct entry *lookup(struct bv_cache *c, uint64_t blockno)
{
	struct entry *e;

	for (e = c->buckets[bucket_of(c, blockno)]; e; e = e->hnext)
		if (e->blockno == blockno)
			return e;
	return NULL;
}

static void hash_insert(struct bv_cache *c, struct entry *e)
{
	uint32_t b = bucket_of(c, e->blockno);

	e->hnext = c->buckets[b];
	c->buckets[b] = e;
}

static void hash_remove(struct bv_cache *c, struct entry *e)
{
	struct entry **pp = &c->buckets[bucket_of(c, e->blockno)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	e->hnext = NULL;
}

static void lru_push_head(struct bv_cache *c, struct entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = c->lru_head;
	if (c->lru_head)
		c->lru_head->lru_prev = e;
	else
		c->lru_tail = e;
	c->lru_head = e;
}

static void lru_remove(struct bv_cache *c, struct entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->lru_head = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

/* Takes the least recently used unpinned block out of the cache; the caller frees or
 * reuses it. NULL when every block is pinned or loading. */
static struct entry *evict_one(struct bv_cache *c)
{
	struct entry *e = c->lru_tail;

	if (!e)
		return NULL;
	lru_remove(c, e);
	hash_remove(c, e);
	c->st.bytes -= c->block_size;
	c->st.evictions++;
	return e;
}

/* Frees unpinned blocks, oldest first, until the cache is back within its budget. */
static void trim(struct bv_cache *c)
{
	while (c->st.bytes > c->max_bytes) {
		struct entry *e = evict_one(c);

		if (!e)
			break;
		free(e);
	}
}

int bv_cache_new(struct bv_source *src, uint32_t block_size, size_t max_bytes,
		 struct bv_cache **out)
{
	struct bv_cache *c;
	size_t nblocks, min_bytes = (size_t)BV_CACHE_MIN_BLOCKS * block_size;
	uint32_t bits = 4;
	int err;

	/* ext4 block sizes are powers of two from 1 KiB to 64 KiB; the same bounds keep
	 * every byte offset computation below far from overflow. */
	if (!src || !out || block_size < BV_CACHE_MIN_BLOCK_SIZE ||
	    block_size > BV_CACHE_MAX_BLOCK_SIZE || (block_size & (block_size - 1)))
		return -EINVAL;
	if (max_bytes == 0)
		max_bytes = BV_CACHE_DEFAULT_BYTES;
	if (max_bytes < min_bytes)
		max_bytes = min_bytes;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->src = src;
	c->block_size = block_size;
	c->max_bytes = max_bytes;
	/* About two buckets per block the budget holds, capped so a huge budget does not
	 * allocate a huge table up front; chains stay short either way. */
	nblocks = max_bytes / block_size;
	while (bits < 20 && ((size_t)1 << bits) < nblocks * 2)
		bits++;
	c->hash_bits = bits;
	c->buckets = calloc((size_t)1 << bits, sizeof(*c->buckets));
	if (!c->buckets) {
		err = -ENOMEM;
		goto err_free;
	}
	err = -pthread_mutex_init(&c->lock, NULL);
	if (err)
		goto err_free;
	err = -pthread_cond_init(&c->loaded, NULL);
	if (err)
		goto err_mutex;
	*out = c;
	return 0;

err_mutex:
	pthread_mutex_destroy(&c->lock);
err_free:
	free(c->buckets);
	free(c);
	return err;
}

/* Called with the lock held on a LOADING or VALID entry that the caller has just pinned
 * (refs already counted). Waits out a load in progress; returns 0 if the block is now
 * valid, or the loader's error after dropping the pin. */
static int wait_loaded(struct bv_cache *c, struct entry *e)
{
	int err;

	while (e->state == ENTRY_LOADING)
		pthread_cond_wait(&c->loaded, &c->lock);
	if (e->state == ENTRY_VALID)
		return 0;
	/* The loader took the entry out of the table; the last pin frees it. */
	err = e->err;
	if (--e->refs == 0)
		free(e);
	return err;
}

int bv_cache_get(struct bv_cache *c, uint64_t blockno, struct bv_cache_ref *ref)
{
	uint64_t off;
	struct entry *e;
	int err;

	/* A block whose byte offset does not fit 64 bits is past any source's end. */
	if (__builtin_mul_overflow(blockno, (uint64_t)c->block_size, &off))
		return -EIO;

	pthread_mutex_lock(&c->lock);
	e = lookup(c, blockno);
	if (e) {
		/* A hit, or a wait for another thread's read: either way no I/O of ours. */
		c->st.hits++;
		if (e->refs++ == 0 && e->state == ENTRY_VALID)
			lru_remove(c, e);
		err = wait_loaded(c, e);
		pthread_mutex_unlock(&c->lock);
		if (err)
			return err;
		ref->data = e->data;
		ref->priv = e;
		return 0;
	}

	c->st.misses++;
	/* Make room before reading: reuse the oldest unpinned block's memory if the budget
	 * is full, otherwise (or if everything is pinned) allocate and grow. */
	e = NULL;
	if (c->st.bytes + c->block_size > c->max_bytes)
		e = evict_one(c);
	if (!e) {
		e = malloc(sizeof(*e) + c->block_size);
		if (!e) {
			pthread_mutex_unlock(&c->lock);
			return -ENOMEM;
		}
	}
	e->blockno = blockno;
	e->hnext = e->lru_prev = e->lru_next = NULL;
	e->refs = 1;
	e->state = ENTRY_LOADING;
	e->err = 0;
	hash_insert(c, e);
	c->st.bytes += c->block_size;
	pthread_mutex_unlock(&c->lock);

	/* The only I/O in this file, with no lock held. */
	err = bv_source_read(c->src, e->data, c->block_size, off);

	pthread_mutex_lock(&c->lock);
	if (err) {
		/* Not cached: the next get retries the read (a transient error, or a block the
		 * caller should not have asked for, must not stick). Waiters share this error. */
		hash_remove(c, e);
		c->st.bytes -= c->block_size;
		e->state = ENTRY_FAILED;
		e->err = err;
	} else {
		e->state = ENTRY_VALID;
	}
	pthread_cond_broadcast(&c->loaded);
	if (err) {
		if (--e->refs == 0)
			free(e);
		/* Freed room may let the cache shrink back if it had grown while pinned. */
		trim(c);
		pthread_mutex_unlock(&c->lock);
		return err;
	}
	pthread_mutex_unlock(&c->lock);
	ref->data = e->data;
	ref->priv = e;
	return 0;
}

void bv_cache_put(struct bv_cache *c, struct bv_cache_ref *ref)
{
	struct entry *e;

	if (!ref || !ref->priv)
		return;
	e = ref->priv;
	ref->data = NULL;
	ref->priv = NULL;

	pthread_mutex_lock(&c->lock);
	assert(e->refs > 0 && e->state == ENTRY_VALID);
	if (--e->refs == 0) {
		lru_push_head(c, e);
		/* The cache may have grown past its budget while everything was pinned. */
		trim(c);
	}
	pthread_mutex_unlock(&c->lock);
}

void bv_cache_stats_get(struct bv_cache *c, struct bv_cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->st;
	pthread_mutex_unlock(&c->lock);
}

void bv_cache_free(struct bv_cache *c)
{
	if (!c)
		return;
	if (c->buckets) {
		for (size_t i = 0; i < ((size_t)1 << c->hash_bits); i++) {
			struct entry *e = c->buckets[i];

			while (e) {
				struct entry *next = e->hnext;

				assert(e->refs == 0);
				free(e);
				e = next;
			}
		}
		free(c->buckets);
	}
	pthread_cond_destroy(&c->loaded);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
