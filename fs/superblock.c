/* STUB: replaced by its owner. */
#include "fs/ext4_priv.h"

#include <errno.h>

int bv_ext4_sb_decode(const uint8_t *raw, uint64_t dev_size, bool verify_csum, struct bv_ext4_sb *sb, char *errbuf, size_t errbuf_size) { (void)raw; (void)dev_size; (void)verify_csum; (void)sb; (void)errbuf; (void)errbuf_size; return -EOPNOTSUPP; }
void bv_ext4_sb_features_str(const struct bv_ext4_sb *sb, char *buf, size_t size) { (void)sb; if (size) buf[0] = 0; }
