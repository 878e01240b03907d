/* STUB: replaced by its owner. */
#include "fs/ext4_priv.h"

#include <errno.h>

ssize_t bv_ext4_inline_size(struct bv_ext4 *fs, const struct bv_ext4_inode *inode) { (void)fs; (void)inode; return -EOPNOTSUPP; }
ssize_t bv_ext4_inline_read(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, void *buf, size_t len, uint64_t off) { (void)fs; (void)inode; (void)buf; (void)len; (void)off; return -EOPNOTSUPP; }
