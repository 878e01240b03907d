/* What a reader of one on-disk format provides to fs/fs.c: an open function and an ops
 * table. Only fs/fs.c and the readers include this; everything else uses fs/fs.h.
 *
 * Each function takes the reader's own filesystem (IMPL, what its open returned) and has
 * the contract of the bv_fs_* function of the same name in fs/fs.h. An inode's PRIV bytes
 * are the reader's to fill in inode_get and to read back in every other call.
 */
#ifndef BV_FS_FS_OPS_H
#define BV_FS_FS_OPS_H

#include "fs/fs.h"

struct bv_fs_ops {
	const char *name; /* "ext4", "xfs": for messages */
	void (*close)(void *impl);
	void (*info_get)(void *impl, struct bv_fs_info *out);
	int (*inode_get)(void *impl, uint64_t ino, enum bv_iget how, struct bv_inode *out);
	void (*stat)(void *impl, const struct bv_inode *inode, struct stat *st);
	int (*lookup)(void *impl, const struct bv_inode *dir, const char *name, size_t len,
		      uint64_t *ino);
	int (*dir_iterate)(void *impl, const struct bv_inode *dir, uint64_t pos, bv_fs_dir_fn fn,
			   void *ctx);
	ssize_t (*read)(void *impl, const struct bv_inode *inode, void *buf, size_t len,
			uint64_t off);
	int (*run_get)(void *impl, const struct bv_inode *inode, uint64_t off, size_t len,
		       struct bv_fs_run *out);
	int (*seek)(void *impl, const struct bv_inode *inode, uint64_t off, bool data,
		    uint64_t *out);
	int (*readlink)(void *impl, const struct bv_inode *inode, char *buf, size_t size,
			size_t *len);
	ssize_t (*xattr_list)(void *impl, const struct bv_inode *inode, char *buf, size_t size,
			      bool trusted);
	ssize_t (*xattr_get)(void *impl, const struct bv_inode *inode, const char *name,
			     void *buf, size_t size);
	void (*statfs)(void *impl, struct statvfs *st);
};

/* A reader's entry point: opens SRC as that format, or -errno with a sentence in ERRBUF.
 * -EMEDIUMTYPE (and no sentence) when the superblock is not this format's at all, so that
 * bv_fs_open can say what the source holds instead. */
typedef int (*bv_fs_open_fn)(struct bv_source *src, const struct bv_fs_opts *opts,
			     void **impl, const struct bv_fs_ops **ops, char *errbuf,
			     size_t errbuf_size);

extern const struct bv_fs_ops bv_ext4_fs_ops;

/* A struct bv_fs over a reader's filesystem opened by other means (unit tests drive the
 * ext4 reader directly and resolve paths through this). It does not own IMPL: closing it
 * frees only the wrapper. NULL on ENOMEM. */
struct bv_fs *bv_fs_wrap(void *impl, const struct bv_fs_ops *ops);

int bv_ext4_fs_open(struct bv_source *src, const struct bv_fs_opts *opts, void **impl,
		    const struct bv_fs_ops **ops, char *errbuf, size_t errbuf_size);
int bv_xfs_fs_open(struct bv_source *src, const struct bv_fs_opts *opts, void **impl,
		   const struct bv_fs_ops **ops, char *errbuf, size_t errbuf_size);

#endif
