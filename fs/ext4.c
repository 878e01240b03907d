/* STUB: replaced by its owner. */
#include "fs/ext4_priv.h"

#include <errno.h>

int bv_ext4_open(struct bv_source *src, const struct bv_ext4_opts *opts, struct bv_ext4 **out, char *errbuf, size_t errbuf_size) { (void)src; (void)opts; (void)out; if (errbuf && errbuf_size) errbuf[0] = 0; return -EOPNOTSUPP; }
void bv_ext4_close(struct bv_ext4 *fs) { (void)fs; }
void bv_ext4_info_get(const struct bv_ext4 *fs, struct bv_ext4_info *out) { (void)fs; (void)out; }
void bv_ext4_features_str(const struct bv_ext4 *fs, char *buf, size_t size) { (void)fs; if (size) buf[0] = 0; }
void bv_ext4_inode_stat(const struct bv_ext4 *fs, const struct bv_ext4_inode *inode, struct stat *st) { (void)fs; (void)inode; (void)st; }
void bv_ext4_statfs(const struct bv_ext4 *fs, struct statvfs *st) { (void)fs; (void)st; }
int bv_ext4_bread(struct bv_ext4 *fs, uint64_t blk, struct bv_cache_ref *ref) { (void)fs; (void)blk; (void)ref; return -EOPNOTSUPP; }
void bv_ext4_brelse(struct bv_ext4 *fs, struct bv_cache_ref *ref) { (void)fs; (void)ref; }
int bv_ext4_read_raw(struct bv_ext4 *fs, void *buf, size_t len, uint64_t off) { (void)fs; (void)buf; (void)len; (void)off; return -EOPNOTSUPP; }
int bv_ext4_report(struct bv_ext4 *fs, int err, const char *fmt, ...) { (void)fs; (void)fmt; return err; }
