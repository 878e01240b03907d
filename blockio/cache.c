/* STUB */
#include "blockio/cache.h"
#include <errno.h>
int bv_cache_new(struct bv_source *src, uint32_t block_size, size_t max_bytes, struct bv_cache **out) { (void)src; (void)block_size; (void)max_bytes; (void)out; return -EOPNOTSUPP; }
int bv_cache_get(struct bv_cache *c, uint64_t blockno, struct bv_cache_ref *ref) { (void)c; (void)blockno; (void)ref; return -EOPNOTSUPP; }
void bv_cache_put(struct bv_cache *c, struct bv_cache_ref *ref) { (void)c; (void)ref; }
void bv_cache_stats_get(struct bv_cache *c, struct bv_cache_stats *out) { (void)c; (void)out; }
void bv_cache_free(struct bv_cache *c) { (void)c; }
