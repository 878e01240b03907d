/* STUB */
#include "blockio/probe.h"
#include <errno.h>
int bv_probe_source(struct bv_source *src, struct bv_probe_result *out) { (void)src; (void)out; return -EOPNOTSUPP; }
bool bv_probe_is_ext(const struct bv_probe_result *r) { (void)r; return false; }
int bv_probe_check_ext(const struct bv_probe_result *r, const char *src_name, uint64_t src_size, char *msg, size_t msg_size) { (void)r; (void)src_name; (void)src_size; (void)msg; (void)msg_size; return -EOPNOTSUPP; }
