/* TEMPORARY: the directory and xattr readers come from branch xfs-dir (dir.c, attr.c).
 * Until that branch is merged these stand in so the library links. Delete this file at
 * the merge. */
#include <errno.h>

#include "fs/xfs/xfs_priv.h"

int bv_xfs_dir_lookup(struct bv_xfs *fs, const struct bv_xfs_inode *dir, const char *name,
		      size_t len, uint64_t *ino)
{
	(void)fs, (void)dir, (void)name, (void)len, (void)ino;
	return -EOPNOTSUPP;
}

int bv_xfs_dir_iterate(struct bv_xfs *fs, const struct bv_xfs_inode *dir, uint64_t pos,
		       bv_fs_dir_fn fn, void *ctx)
{
	(void)fs, (void)dir, (void)pos, (void)fn, (void)ctx;
	return -EOPNOTSUPP;
}

ssize_t bv_xfs_xattr_list(struct bv_xfs *fs, const struct bv_xfs_inode *ip, char *buf,
			  size_t size, bool trusted)
{
	(void)fs, (void)ip, (void)buf, (void)size, (void)trusted;
	return -EOPNOTSUPP;
}

ssize_t bv_xfs_xattr_get(struct bv_xfs *fs, const struct bv_xfs_inode *ip, const char *name,
			 void *buf, size_t size)
{
	(void)fs, (void)ip, (void)name, (void)buf, (void)size;
	return -EOPNOTSUPP;
}
