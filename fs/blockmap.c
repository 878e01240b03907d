/* STUB: replaced by its owner. */
#include "fs/ext4_priv.h"

#include <errno.h>

int bv_ext4_map_blocks(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, uint64_t lblk, uint32_t max_len, struct bv_ext4_map *out) { (void)fs; (void)inode; (void)lblk; (void)max_len; (void)out; return -EOPNOTSUPP; }
