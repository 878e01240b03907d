/* STUB: replaced by its owner. */
#include "fs/ext4_priv.h"

#include <errno.h>

int bv_ext4_inode_get(struct bv_ext4 *fs, uint32_t ino, struct bv_ext4_inode *out) { (void)fs; (void)ino; (void)out; return -EOPNOTSUPP; }
int bv_ext4_inode_raw_get(struct bv_ext4 *fs, uint32_t ino, struct bv_cache_ref *ref, uint32_t *offset) { (void)fs; (void)ino; (void)ref; (void)offset; return -EOPNOTSUPP; }
