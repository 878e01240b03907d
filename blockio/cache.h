/* The metadata block cache: a bounded, thread-safe cache of fixed-size blocks read from a
 * source.
 *
 * Callers pin a block with bv_cache_get() and unpin it with bv_cache_put(); a pinned block
 * is never evicted or changed. Unpinned blocks are evicted least-recently-used first when
 * the cache holds more than its byte budget. If every cached block is pinned the cache
 * grows past its budget rather than fail, and shrinks back as blocks are unpinned.
 *
 * Thread safety: every function may be called from several threads at once. No lock is
 * held across device I/O: a miss reads with the lock dropped, and other threads that want
 * the same block wait for that one read instead of issuing their own.
 */
#ifndef BV_BLOCKIO_CACHE_H
#define BV_BLOCKIO_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "blockio/source.h"

struct bv_cache;

#define BV_CACHE_DEFAULT_BYTES (1024 * 1024)

/* A pinned block. DATA is BLOCK_SIZE bytes, valid until bv_cache_put(). */
struct bv_cache_ref {
	const uint8_t *data;
	void *priv; /* the cache's own; NULL for a ref that holds nothing */
};

/* Creates a cache of BLOCK_SIZE-byte blocks over SRC (borrowed; must outlive the cache).
 * BLOCK_SIZE is a power of two from 1024 to 65536, else -EINVAL.
 * MAX_BYTES is the budget (0 means BV_CACHE_DEFAULT_BYTES); the cache always has room
 * for at least 8 blocks, whatever the budget. Returns 0 or -errno. */
int bv_cache_new(struct bv_source *src, uint32_t block_size, size_t max_bytes,
		 struct bv_cache **out);

/* Pins block BLOCKNO (byte offset BLOCKNO * block_size), reading it on a miss.
 * Returns 0 and fills *REF, or -errno from the source (a block not wholly inside the
 * source is -EIO; *REF untouched). A failed read is not cached, and every thread that was
 * waiting for that read gets its error. Allocates nothing on a hit. */
int bv_cache_get(struct bv_cache *c, uint64_t blockno, struct bv_cache_ref *ref);

/* Unpins. Accepts a ref whose priv is NULL (does nothing) and clears REF. */
void bv_cache_put(struct bv_cache *c, struct bv_cache_ref *ref);

/* Counters for tests and benchmarks. A miss is a get that read the source itself; a get
 * that found the block, or waited for another thread's read of it, is a hit. An eviction
 * is an unpinned block dropped to stay within budget (not counting bv_cache_free). */
struct bv_cache_stats {
	uint64_t hits, misses, evictions;
	size_t bytes; /* bytes of block data held now, including blocks being read */
};
void bv_cache_stats_get(struct bv_cache *c, struct bv_cache_stats *out);

/* Frees every block. No block may be pinned. Accepts NULL. */
void bv_cache_free(struct bv_cache *c);

#endif
