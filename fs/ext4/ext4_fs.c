/* The ext2/3/4 reader behind the filesystem-neutral interface (fs/fs.h): its bv_fs_ops.
 *
 * A struct bv_inode carries the decoded struct bv_ext4_inode in its PRIV bytes; the
 * fields every caller acts on (mode, size, the FS_IOC_GETFLAGS and FSGETXATTR answers) are
 * filled here once, as ext4's own ioctls would compute them. */
#include <errno.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>

#include "fs/ext4/ext4.h"
#include "fs/fs_ops.h"

_Static_assert(sizeof(struct bv_ext4_inode) <= BV_INODE_PRIV_BYTES,
	       "the decoded ext4 inode must fit in struct bv_inode");

/* EXT4_FL_USER_VISIBLE: the i_flags bits FS_IOC_GETFLAGS shows (ext4_fileattr_get);
 * huge_file, ea_inode and the reserved bit stay hidden. */
#define EXT4_FL_USER_VISIBLE 0x725BDFFFu
#define EXT4_PROJINHERIT_FL 0x20000000u

static const struct bv_ext4_inode *ext4_of(const struct bv_inode *inode)
{
	return (const struct bv_ext4_inode *)inode->priv;
}

/* fileattr_fill_flags: the flags the two interfaces share, as xflags. */
static uint32_t xflags_of(uint32_t fl)
{
	static const struct {
		uint32_t fl, xfl;
	} map[] = {
		{ FS_SYNC_FL, FS_XFLAG_SYNC },	     { FS_IMMUTABLE_FL, FS_XFLAG_IMMUTABLE },
		{ FS_APPEND_FL, FS_XFLAG_APPEND },   { FS_NODUMP_FL, FS_XFLAG_NODUMP },
		{ FS_NOATIME_FL, FS_XFLAG_NOATIME }, { FS_DAX_FL, FS_XFLAG_DAX },
		{ FS_PROJINHERIT_FL, FS_XFLAG_PROJINHERIT },
	};
	uint32_t xfl = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (fl & map[i].fl)
			xfl |= map[i].xfl;
	return xfl;
}

static void inode_wrap(const struct bv_ext4_inode *in, struct bv_inode *out)
{
	uint32_t fl = in->flags & EXT4_FL_USER_VISIBLE;

	/* ext4_fileattr_get: project inheritance means nothing on a regular file. */
	if (S_ISREG(in->mode))
		fl &= ~EXT4_PROJINHERIT_FL;
	memset(out, 0, offsetof(struct bv_inode, priv));
	out->ino = in->ino;
	out->generation = in->generation;
	out->mode = in->mode;
	out->size = in->size;
	out->flags = fl;
	out->xflags = xflags_of(fl);
	out->projid = in->projid;
	out->crtime = (struct bv_time){ in->crtime.sec, in->crtime.nsec };
	out->has_crtime = in->has_crtime;
	memcpy(out->priv, in, sizeof(*in));
}

static int ext4_inode_get(void *impl, uint64_t ino, enum bv_iget how, struct bv_inode *out)
{
	struct bv_ext4_inode in;
	int err;

	if (ino > UINT32_MAX)
		return how == BV_IGET_HANDLE ? -ESTALE : -EUCLEAN;
	switch (how) {
	case BV_IGET_LINKED:
		err = bv_ext4_inode_get_linked(impl, (uint32_t)ino, &in);
		break;
	case BV_IGET_HANDLE:
		err = bv_ext4_inode_get_handle(impl, (uint32_t)ino, &in);
		break;
	default:
		err = bv_ext4_inode_get(impl, (uint32_t)ino, &in);
		break;
	}
	if (!err)
		inode_wrap(&in, out);
	return err;
}

static void ext4_close(void *impl)
{
	bv_ext4_close(impl);
}

static void ext4_info_get(void *impl, struct bv_fs_info *out)
{
	struct bv_ext4_info in;

	bv_ext4_info_get(impl, &in);
	memset(out, 0, sizeof(*out));
	snprintf(out->type, sizeof(out->type), "%s", in.type);
	memcpy(out->uuid_str, in.uuid_str, sizeof(out->uuid_str));
	snprintf(out->label, sizeof(out->label), "%s", in.label);
	out->block_size = in.block_size;
	out->cluster_size = in.cluster_size;
	out->inode_size = in.inode_size;
	out->blocks_count = in.blocks_count;
	out->free_blocks_count = in.free_blocks_count;
	out->inodes_count = in.inodes_count;
	out->free_inodes_count = in.free_inodes_count;
	out->group_count = in.group_count;
	bv_ext4_features_str(impl, out->features, sizeof(out->features));
	out->journal_state = in.journal_state;
	out->journal_replayed_blocks = in.journal_replayed_blocks;
	out->root_ino = BV_EXT4_ROOT_INO;
}

static void ext4_stat(void *impl, const struct bv_inode *inode, struct stat *st)
{
	bv_ext4_inode_stat(impl, ext4_of(inode), st);
}

static int ext4_lookup(void *impl, const struct bv_inode *dir, const char *name, size_t len,
		       uint64_t *ino)
{
	uint32_t i;
	int err = bv_ext4_lookup(impl, ext4_of(dir), name, len, &i);

	if (!err)
		*ino = i;
	return err;
}

/* The neutral walk's callback behind ext4's: DT_* types instead of EXT4_FT_*. */
struct dir_walk {
	bv_fs_dir_fn fn;
	void *ctx;
};

static int dir_one(void *ctx, const char *name, size_t len, uint32_t ino, uint8_t ft,
		   uint64_t next_pos)
{
	struct dir_walk *w = ctx;

	return w->fn(w->ctx, name, len, ino, bv_ext4_ft_to_dt(ft), next_pos);
}

static int ext4_dir_iterate(void *impl, const struct bv_inode *dir, uint64_t pos,
			    bv_fs_dir_fn fn, void *ctx)
{
	struct dir_walk w = { fn, ctx };

	return bv_ext4_dir_iterate(impl, ext4_of(dir), pos, dir_one, &w);
}

static ssize_t ext4_read(void *impl, const struct bv_inode *inode, void *buf, size_t len,
			 uint64_t off)
{
	return bv_ext4_file_read(impl, ext4_of(inode), buf, len, off);
}

static int ext4_run_get(void *impl, const struct bv_inode *inode, uint64_t off, size_t len,
			struct bv_fs_run *out)
{
	struct bv_ext4_run run;
	int err = bv_ext4_file_run_get(impl, ext4_of(inode), off, len, &run);

	if (!err)
		*out = (struct bv_fs_run){ run.fd, run.zero, run.phys, run.len };
	return err;
}

static int ext4_seek(void *impl, const struct bv_inode *inode, uint64_t off, bool data,
		     uint64_t *out)
{
	return bv_ext4_file_seek(impl, ext4_of(inode), off, data, out);
}

static int ext4_readlink(void *impl, const struct bv_inode *inode, char *buf, size_t size,
			 size_t *len)
{
	return bv_ext4_readlink(impl, ext4_of(inode), buf, size, len);
}

static ssize_t ext4_xattr_list(void *impl, const struct bv_inode *inode, char *buf,
			       size_t size, bool trusted)
{
	return bv_ext4_xattr_list_as(impl, ext4_of(inode), buf, size, trusted);
}

static ssize_t ext4_xattr_get(void *impl, const struct bv_inode *inode, const char *name,
			      void *buf, size_t size)
{
	return bv_ext4_xattr_get(impl, ext4_of(inode), name, buf, size);
}

static void ext4_statfs(void *impl, struct statvfs *st)
{
	bv_ext4_statfs(impl, st);
}

const struct bv_fs_ops bv_ext4_fs_ops = {
	.name = "ext4",
	.close = ext4_close,
	.info_get = ext4_info_get,
	.inode_get = ext4_inode_get,
	.stat = ext4_stat,
	.lookup = ext4_lookup,
	.dir_iterate = ext4_dir_iterate,
	.read = ext4_read,
	.run_get = ext4_run_get,
	.seek = ext4_seek,
	.readlink = ext4_readlink,
	.xattr_list = ext4_xattr_list,
	.xattr_get = ext4_xattr_get,
	.statfs = ext4_statfs,
};

int bv_ext4_fs_open(struct bv_source *src, const struct bv_fs_opts *opts, void **impl,
		    const struct bv_fs_ops **ops, char *errbuf, size_t errbuf_size)
{
	struct bv_ext4_opts o = { 0 };
	struct bv_ext4 *fs;
	int err;

	if (opts)
		o = (struct bv_ext4_opts){ .cache_bytes = opts->cache_bytes,
					   .skip_journal = opts->no_recovery,
					   .skip_csum = opts->skip_csum };
	err = bv_ext4_open(src, &o, &fs, errbuf, errbuf_size);
	if (err)
		return err;
	*impl = fs;
	*ops = &bv_ext4_fs_ops;
	return 0;
}
