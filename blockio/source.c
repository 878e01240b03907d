/* STUB */
#include "blockio/source.h"
#include <errno.h>
int bv_source_open(const char *path, struct bv_source **out) { (void)path; (void)out; return -EOPNOTSUPP; }
int bv_source_open_mem(const void *buf, size_t len, struct bv_source **out) { (void)buf; (void)len; (void)out; return -EOPNOTSUPP; }
int bv_source_read(struct bv_source *src, void *buf, size_t len, uint64_t off) { (void)src; (void)buf; (void)len; (void)off; return -EOPNOTSUPP; }
uint64_t bv_source_size(const struct bv_source *src) { (void)src; return 0; }
int bv_source_fd(const struct bv_source *src) { (void)src; return -1; }
const char *bv_source_path(const struct bv_source *src) { (void)src; return ""; }
int bv_source_is_blockdev(const struct bv_source *src, dev_t *rdev) { (void)src; (void)rdev; return 0; }
void bv_source_close(struct bv_source *src) { (void)src; }
