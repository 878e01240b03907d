/* STUB: replaced by its owner. */
#include "fs/ext4_priv.h"

#include <errno.h>

ssize_t bv_ext4_xattr_list(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, char *buf, size_t size) { (void)fs; (void)inode; (void)buf; (void)size; return -EOPNOTSUPP; }
ssize_t bv_ext4_xattr_get(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, const char *name, void *buf, size_t size) { (void)fs; (void)inode; (void)name; (void)buf; (void)size; return -EOPNOTSUPP; }
ssize_t bv_ext4_xattr_get_raw(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, uint8_t name_index, const char *name, size_t name_len, void *buf, size_t size) { (void)fs; (void)inode; (void)name_index; (void)name; (void)name_len; (void)buf; (void)size; return -EOPNOTSUPP; }
