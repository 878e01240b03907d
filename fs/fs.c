/* The filesystem-neutral interface: picks a reader at open and dispatches to it. */
#include "fs/fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs_ops.h"

struct bv_fs {
	const struct bv_fs_ops *ops;
	void *impl;
	uint64_t root_ino;
	bool owned; /* close frees IMPL too */
};

static struct bv_fs *fs_new(void *impl, const struct bv_fs_ops *ops, bool owned)
{
	struct bv_fs_info info;
	struct bv_fs *fs = calloc(1, sizeof(*fs));

	if (!fs)
		return NULL;
	fs->ops = ops;
	fs->impl = impl;
	fs->owned = owned;
	ops->info_get(impl, &info);
	fs->root_ino = info.root_ino;
	return fs;
}

struct bv_fs *bv_fs_wrap(void *impl, const struct bv_fs_ops *ops)
{
	return fs_new(impl, ops, false);
}

/* The format is chosen by the magic at the start of the source, "XFSB" for XFS; anything
 * else goes to the ext2/3/4 reader, whose sentence then says what is wrong. (Which
 * filesystem blkid sees, and whether several signatures conflict, the commands check
 * before they get here.) */
int bv_fs_open(struct bv_source *src, const struct bv_fs_opts *opts, struct bv_fs **out,
	       char *errbuf, size_t errbuf_size)
{
	const struct bv_fs_ops *ops = NULL;
	uint8_t magic[4];
	void *impl = NULL;
	struct bv_fs *fs;
	int err;

	if (errbuf && errbuf_size)
		errbuf[0] = '\0';
	if (bv_source_size(src) >= sizeof(magic) &&
	    bv_source_read(src, magic, sizeof(magic), 0) == 0 && memcmp(magic, "XFSB", 4) == 0)
		err = bv_xfs_fs_open(src, opts, &impl, &ops, errbuf, errbuf_size);
	else
		err = bv_ext4_fs_open(src, opts, &impl, &ops, errbuf, errbuf_size);
	if (err == -EMEDIUMTYPE && errbuf && errbuf_size && !errbuf[0])
		snprintf(errbuf, errbuf_size, "not an ext2/3/4 or xfs filesystem this build reads");
	if (err)
		return err;
	fs = fs_new(impl, ops, true);
	if (!fs) {
		ops->close(impl);
		return -ENOMEM;
	}
	*out = fs;
	return 0;
}

void bv_fs_close(struct bv_fs *fs)
{
	if (!fs)
		return;
	if (fs->owned)
		fs->ops->close(fs->impl);
	free(fs);
}

void bv_fs_info_get(struct bv_fs *fs, struct bv_fs_info *out)
{
	fs->ops->info_get(fs->impl, out);
}

uint64_t bv_fs_root_ino(const struct bv_fs *fs)
{
	return fs->root_ino;
}

int bv_fs_inode_get(struct bv_fs *fs, uint64_t ino, enum bv_iget how, struct bv_inode *out)
{
	return fs->ops->inode_get(fs->impl, ino, how, out);
}

void bv_fs_stat(struct bv_fs *fs, const struct bv_inode *inode, struct stat *st)
{
	fs->ops->stat(fs->impl, inode, st);
}

int bv_fs_lookup(struct bv_fs *fs, const struct bv_inode *dir, const char *name, size_t len,
		 uint64_t *ino)
{
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	return fs->ops->lookup(fs->impl, dir, name, len, ino);
}

int bv_fs_dir_iterate(struct bv_fs *fs, const struct bv_inode *dir, uint64_t pos,
		      bv_fs_dir_fn fn, void *ctx)
{
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	return fs->ops->dir_iterate(fs->impl, dir, pos, fn, ctx);
}

ssize_t bv_fs_read(struct bv_fs *fs, const struct bv_inode *inode, void *buf, size_t len,
		   uint64_t off)
{
	return fs->ops->read(fs->impl, inode, buf, len, off);
}

int bv_fs_run_get(struct bv_fs *fs, const struct bv_inode *inode, uint64_t off, size_t len,
		  struct bv_fs_run *out)
{
	return fs->ops->run_get(fs->impl, inode, off, len, out);
}

int bv_fs_seek(struct bv_fs *fs, const struct bv_inode *inode, uint64_t off, bool data,
	       uint64_t *out)
{
	return fs->ops->seek(fs->impl, inode, off, data, out);
}

int bv_fs_readlink(struct bv_fs *fs, const struct bv_inode *inode, char *buf, size_t size,
		   size_t *len)
{
	if (!S_ISLNK(inode->mode))
		return -EINVAL;
	return fs->ops->readlink(fs->impl, inode, buf, size, len);
}

ssize_t bv_fs_xattr_list(struct bv_fs *fs, const struct bv_inode *inode, char *buf,
			 size_t size, bool trusted)
{
	return fs->ops->xattr_list(fs->impl, inode, buf, size, trusted);
}

ssize_t bv_fs_xattr_get(struct bv_fs *fs, const struct bv_inode *inode, const char *name,
			void *buf, size_t size)
{
	return fs->ops->xattr_get(fs->impl, inode, name, buf, size);
}

void bv_fs_statfs(struct bv_fs *fs, struct statvfs *st)
{
	fs->ops->statfs(fs->impl, st);
}
