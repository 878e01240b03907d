/* The XFS reader's entry point and ops table: open and close, info, the stat and statfs
 * views of what was decoded, corruption reports, and dispatch to the structure files.
 *
 * What stat and statfs report follows the kernel's xfs_vn_getattr and xfs_fs_statfs on a
 * read-only mount (no delayed allocation, no reservations: xfs_mountfs makes the per-AG
 * and reserve-pool reservations only for a writable mount).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fs/fs_ops.h"
#include "fs/xfs/xfs_priv.h"
#include "util/log.h"
#include "util/report.h"

_Static_assert(sizeof(struct bv_xfs_inode) <= BV_INODE_PRIV_BYTES,
	       "the decoded XFS inode must fit in struct bv_inode");

/* The superblock is read whole up to the largest sector size (its CRC covers one). */
#define BV_XFS_SB_READ 32768

/* di_flags (XFS_DIFLAG_*) and di_flags2 (XFS_DIFLAG2_*). */
#define XFS_DIFLAG_REALTIME (1u << 0)
#define XFS_DIFLAG_PREALLOC (1u << 1)
#define XFS_DIFLAG_IMMUTABLE (1u << 3)
#define XFS_DIFLAG_APPEND (1u << 4)
#define XFS_DIFLAG_SYNC (1u << 5)
#define XFS_DIFLAG_NOATIME (1u << 6)
#define XFS_DIFLAG_NODUMP (1u << 7)
#define XFS_DIFLAG_RTINHERIT (1u << 8)
#define XFS_DIFLAG_PROJINHERIT (1u << 9)
#define XFS_DIFLAG_NOSYMLINKS (1u << 10)
#define XFS_DIFLAG_EXTSIZE (1u << 11)
#define XFS_DIFLAG_EXTSZINHERIT (1u << 12)
#define XFS_DIFLAG_NODEFRAG (1u << 13)
#define XFS_DIFLAG_FILESTREAM (1u << 14)
#define XFS_DIFLAG2_DAX (1ull << 0)
#define XFS_DIFLAG2_COWEXTSIZE (1ull << 2)

/* uapi linux/fs.h values, spelled out so the build does not depend on the host's. */
#define BV_FS_XFLAG_REALTIME 0x00000001u
#define BV_FS_XFLAG_PREALLOC 0x00000002u
#define BV_FS_XFLAG_IMMUTABLE 0x00000008u
#define BV_FS_XFLAG_APPEND 0x00000010u
#define BV_FS_XFLAG_SYNC 0x00000020u
#define BV_FS_XFLAG_NOATIME 0x00000040u
#define BV_FS_XFLAG_NODUMP 0x00000080u
#define BV_FS_XFLAG_RTINHERIT 0x00000100u
#define BV_FS_XFLAG_PROJINHERIT 0x00000200u
#define BV_FS_XFLAG_NOSYMLINKS 0x00000400u
#define BV_FS_XFLAG_EXTSIZE 0x00000800u
#define BV_FS_XFLAG_EXTSZINHERIT 0x00001000u
#define BV_FS_XFLAG_NODEFRAG 0x00002000u
#define BV_FS_XFLAG_FILESTREAM 0x00004000u
#define BV_FS_XFLAG_DAX 0x00008000u
#define BV_FS_XFLAG_COWEXTSIZE 0x00010000u
#define BV_FS_XFLAG_HASATTR 0x80000000u
#define BV_FS_SYNC_FL 0x00000008u
#define BV_FS_IMMUTABLE_FL 0x00000010u
#define BV_FS_APPEND_FL 0x00000020u
#define BV_FS_NODUMP_FL 0x00000040u
#define BV_FS_NOATIME_FL 0x00000080u
#define BV_FS_DAX_FL 0x02000000u
#define BV_FS_PROJINHERIT_FL 0x20000000u

#define XFS_SUPER_MAGIC 0x58465342
#define XFS_MAXINUMBER ((1ull << 56) - 1)
#define XFS_INODES_PER_CHUNK 64
#define XFS_ALLOCBT_AGFL_RESERVE 4
#define XFS_SB_VERSION2_LAZYSBCOUNTBIT 0x02
/* xfs_vn_getattr gives device nodes BLKDEV_IOSIZE (a page). */

static __thread char last_report[256];

int bv_xfs_report(struct bv_xfs *fs, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = bv_report_capped(&fs->corrupt_reports, BV_XFS_MAX_REPORTS, bv_source_path(fs->src),
			       last_report, sizeof(last_report), err, fmt, ap);
	va_end(ap);
	return err;
}

static void xfs_close(void *impl)
{
	struct bv_xfs *fs = impl;

	if (!fs)
		return;
	bv_cache_free(fs->cache);
	free(fs);
}

static void xfs_info_get(void *impl, struct bv_fs_info *out)
{
	struct bv_xfs *fs = impl;
	const struct bv_xfs_sb *sb = &fs->sb;
	const uint8_t *u = sb->uuid;

	memset(out, 0, sizeof(*out));
	snprintf(out->type, sizeof(out->type), "xfs");
	snprintf(out->uuid_str, sizeof(out->uuid_str),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
		 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
		 u[15]);
	snprintf(out->label, sizeof(out->label), "%s", sb->fname);
	out->block_size = sb->blocksize;
	out->cluster_size = sb->blocksize;
	out->inode_size = sb->inodesize;
	out->blocks_count = sb->dblocks;
	out->free_blocks_count = sb->fdblocks;
	out->inodes_count = sb->icount;
	out->free_inodes_count = sb->ifree;
	out->group_count = sb->agcount;
	bv_xfs_sb_features(sb, out->features, sizeof(out->features));
	out->journal_state = fs->log_dirty ? "dirty" : "clean";
	out->root_ino = sb->rootino;
}

/* xfs_ip2xflags: the FS_XFLAG_* view of di_flags and di_flags2. */
static uint32_t ip2xflags(const struct bv_xfs_inode *ip)
{
	static const struct { uint16_t di; uint32_t x; } map[] = {
		{ XFS_DIFLAG_REALTIME, BV_FS_XFLAG_REALTIME },
		{ XFS_DIFLAG_PREALLOC, BV_FS_XFLAG_PREALLOC },
		{ XFS_DIFLAG_IMMUTABLE, BV_FS_XFLAG_IMMUTABLE },
		{ XFS_DIFLAG_APPEND, BV_FS_XFLAG_APPEND },
		{ XFS_DIFLAG_SYNC, BV_FS_XFLAG_SYNC },
		{ XFS_DIFLAG_NOATIME, BV_FS_XFLAG_NOATIME },
		{ XFS_DIFLAG_NODUMP, BV_FS_XFLAG_NODUMP },
		{ XFS_DIFLAG_RTINHERIT, BV_FS_XFLAG_RTINHERIT },
		{ XFS_DIFLAG_PROJINHERIT, BV_FS_XFLAG_PROJINHERIT },
		{ XFS_DIFLAG_NOSYMLINKS, BV_FS_XFLAG_NOSYMLINKS },
		{ XFS_DIFLAG_EXTSIZE, BV_FS_XFLAG_EXTSIZE },
		{ XFS_DIFLAG_EXTSZINHERIT, BV_FS_XFLAG_EXTSZINHERIT },
		{ XFS_DIFLAG_NODEFRAG, BV_FS_XFLAG_NODEFRAG },
		{ XFS_DIFLAG_FILESTREAM, BV_FS_XFLAG_FILESTREAM },
	};
	uint32_t x = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (ip->flags & map[i].di)
			x |= map[i].x;
	if (ip->flags2 & XFS_DIFLAG2_DAX)
		x |= BV_FS_XFLAG_DAX;
	if (ip->flags2 & XFS_DIFLAG2_COWEXTSIZE)
		x |= BV_FS_XFLAG_COWEXTSIZE;
	if (ip->afork_size)
		x |= BV_FS_XFLAG_HASATTR;
	return x;
}

/* fileattr_fill_xflags: the FS_IOC_GETFLAGS bits the kernel derives from the xflags. */
static uint32_t xflags2flags(uint32_t x)
{
	uint32_t f = 0;

	if (x & BV_FS_XFLAG_IMMUTABLE)
		f |= BV_FS_IMMUTABLE_FL;
	if (x & BV_FS_XFLAG_APPEND)
		f |= BV_FS_APPEND_FL;
	if (x & BV_FS_XFLAG_SYNC)
		f |= BV_FS_SYNC_FL;
	if (x & BV_FS_XFLAG_NOATIME)
		f |= BV_FS_NOATIME_FL;
	if (x & BV_FS_XFLAG_NODUMP)
		f |= BV_FS_NODUMP_FL;
	if (x & BV_FS_XFLAG_DAX)
		f |= BV_FS_DAX_FL;
	if (x & BV_FS_XFLAG_PROJINHERIT)
		f |= BV_FS_PROJINHERIT_FL;
	return f;
}

static bool is_meta_ino(const struct bv_xfs_sb *sb, uint64_t ino)
{
	return ino == sb->rbmino || ino == sb->rsumino || ino == sb->uquotino ||
	       ino == sb->gquotino || ino == sb->pquotino;
}

static int xfs_inode_get(void *impl, uint64_t ino, enum bv_iget how, struct bv_inode *out)
{
	struct bv_xfs *fs = impl;
	struct bv_xfs_inode ip;
	int err;

	/* Internal inodes (realtime bitmap and summary, quotas) are no file: 0 and NULLFSINO
	 * (all ones) mean "none" in those fields and can never match a real inode here. */
	if (ino != 0 && ino != UINT64_MAX && is_meta_ino(&fs->sb, ino)) {
		if (how == BV_IGET_HANDLE)
			return -ESTALE;
		if (how == BV_IGET_LINKED)
			return bv_xfs_corrupt(fs, "inode %" PRIu64 ": an internal inode is named "
					      "by a directory entry", ino);
	}
	err = bv_xfs_inode_read(fs, ino, &ip);
	if (err) {
		if (how == BV_IGET_HANDLE && (err == -EUCLEAN || err == -ENOENT ||
					      err == -EBADMSG))
			return -ESTALE;
		if (how == BV_IGET_LINKED && err == -ENOENT)
			return bv_xfs_corrupt(fs, "inode %" PRIu64 ": named by a directory entry "
					      "but free", ino);
		return err;
	}
	memset(out, 0, sizeof(*out));
	out->ino = ino;
	out->generation = ip.gen;
	out->mode = ip.mode;
	out->size = ip.size;
	out->xflags = ip2xflags(&ip);
	out->flags = xflags2flags(out->xflags);
	out->projid = ip.projid;
	/* xfs_fill_fsxattr: the hint in bytes when EXTSIZE or EXTSZINHERIT is set. */
	if (ip.flags & (XFS_DIFLAG_EXTSIZE | XFS_DIFLAG_EXTSZINHERIT)) {
		uint64_t b = (uint64_t)ip.extsize << fs->sb.blocklog;

		out->extsize = b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;
	}
	/* ... and the CoW hint when COWEXTSIZE is set. */
	if (ip.flags2 & XFS_DIFLAG2_COWEXTSIZE) {
		uint64_t b = (uint64_t)ip.cowextsize << fs->sb.blocklog;

		out->cowextsize = b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;
	}
	/* fsx_nextents: what xfs_fill_fsxattr reports, the in-core fork's record count
	 * (if_bytes / 16): the extent count for extents and btree forks, and for a local
	 * (shortform) directory or symlink its size over 16, which the kernel shows too. */
	if (ip.format == BV_XFS_FMT_EXTENTS || ip.format == BV_XFS_FMT_BTREE)
		out->nextents = ip.nextents > UINT32_MAX ? UINT32_MAX : (uint32_t)ip.nextents;
	else if (ip.format == BV_XFS_FMT_LOCAL)
		out->nextents = (uint32_t)(ip.size / 16); /* size <= the fork: checked */
	if (ip.has_crtime) {
		out->crtime.sec = ip.crtime.sec;
		out->crtime.nsec = ip.crtime.nsec;
		out->has_crtime = true;
	}
	memcpy(out->priv, &ip, sizeof(ip));
	return 0;
}

static const struct bv_xfs_inode *priv(const struct bv_inode *inode)
{
	return (const struct bv_xfs_inode *)(const void *)inode->priv;
}

static void xfs_stat(void *impl, const struct bv_inode *inode, struct stat *st)
{
	struct bv_xfs *fs = impl;
	const struct bv_xfs_inode *ip = priv(inode);
	long page = sysconf(_SC_PAGESIZE);
	uint32_t pagesize = page > 0 ? (uint32_t)page : 4096;

	memset(st, 0, sizeof(*st));
	st->st_ino = ip->ino;
	st->st_mode = ip->mode;
	st->st_nlink = ip->nlink;
	st->st_uid = ip->uid;
	st->st_gid = ip->gid;
	st->st_size = (off_t)ip->size;
	/* XFS_FSB_TO_BB(i_nblocks + i_delayed_blks); nothing is delayed read-only. nblocks
	 * is 64 bits from disk: saturate rather than wrap. */
	if (ip->nblocks > ((uint64_t)INT64_MAX >> (fs->sb.blocklog - 9)))
		st->st_blocks = INT64_MAX;
	else
		st->st_blocks = (blkcnt_t)(ip->nblocks << (fs->sb.blocklog - 9));
	if (S_ISCHR(ip->mode) || S_ISBLK(ip->mode)) {
		/* xfs_to_linux_dev_t: the sysv encoding, 14-bit major over 18-bit minor. */
		st->st_rdev = makedev((ip->rdev >> 18) & 0x3fff, ip->rdev & 0x3ffff);
		st->st_blksize = pagesize; /* BLKDEV_IOSIZE */
	} else {
		/* xfs_stat_blksize without largeio (realtime is refused at open). */
		st->st_blksize = fs->sb.blocksize > pagesize ? fs->sb.blocksize : pagesize;
	}
	st->st_atim.tv_sec = ip->atime.sec;
	st->st_atim.tv_nsec = ip->atime.nsec;
	st->st_mtim.tv_sec = ip->mtime.sec;
	st->st_mtim.tv_nsec = ip->mtime.nsec;
	st->st_ctim.tv_sec = ip->ctime.sec;
	st->st_ctim.tv_nsec = ip->ctime.nsec;
}

static int xfs_lookup(void *impl, const struct bv_inode *dir, const char *name, size_t len,
		      uint64_t *ino)
{
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	return bv_xfs_dir_lookup(impl, priv(dir), name, len, ino);
}

static int xfs_dir_iterate(void *impl, const struct bv_inode *dir, uint64_t pos,
			   bv_fs_dir_fn fn, void *ctx)
{
	if (!S_ISDIR(dir->mode))
		return -ENOTDIR;
	return bv_xfs_dir_iterate(impl, priv(dir), pos, fn, ctx);
}

static ssize_t xfs_read(void *impl, const struct bv_inode *inode, void *buf, size_t len,
			uint64_t off)
{
	if (S_ISDIR(inode->mode))
		return -EISDIR;
	if (!S_ISREG(inode->mode))
		return -EINVAL;
	return bv_xfs_file_read(impl, priv(inode), buf, len, off);
}

static int xfs_run_get(void *impl, const struct bv_inode *inode, uint64_t off, size_t len,
		       struct bv_fs_run *out)
{
	if (!S_ISREG(inode->mode))
		return -EINVAL;
	return bv_xfs_file_run_get(impl, priv(inode), off, len, out);
}

static int xfs_seek(void *impl, const struct bv_inode *inode, uint64_t off, bool data,
		    uint64_t *out)
{
	return bv_xfs_file_seek(impl, priv(inode), off, data, out);
}

static int xfs_readlink(void *impl, const struct bv_inode *inode, char *buf, size_t size,
			size_t *len)
{
	if (!S_ISLNK(inode->mode))
		return -EINVAL;
	return bv_xfs_readlink(impl, priv(inode), buf, size, len);
}

static ssize_t xfs_xattr_list(void *impl, const struct bv_inode *inode, char *buf, size_t size,
			      bool trusted)
{
	return bv_xfs_xattr_list(impl, priv(inode), buf, size, trusted);
}

static ssize_t xfs_xattr_get(void *impl, const struct bv_inode *inode, const char *name,
			     void *buf, size_t size)
{
	return bv_xfs_xattr_get(impl, priv(inode), name, buf, size);
}

/* xfs_fs_statfs on a read-only mount, from the counts statfs_counts_init fixed at open. */
static void xfs_statfs(void *impl, struct statvfs *st)
{
	struct bv_xfs *fs = impl;
	const struct bv_xfs_sb *sb = &fs->sb;
	/* xfs_alloc_set_aside: blocks kept back per AG to refill the AGFL and split. */
	uint64_t set_aside = (uint64_t)sb->agcount * (XFS_ALLOCBT_AGFL_RESERVE + 4);
	uint64_t icount = fs->st_icount, ifree = fs->st_ifree;
	uint64_t lsize = sb->logstart ? sb->logblocks : 0;
	uint64_t bfree, files, used, maxicount = 0;

	memset(st, 0, sizeof(*st));
	st->f_bsize = sb->blocksize;
	st->f_frsize = sb->blocksize;
	st->f_blocks = sb->dblocks - lsize; /* the log lies inside dblocks: checked at open */
	uint64_t unavailable = set_aside + fs->st_allocbt_blks;

	bfree = fs->st_fdblocks > unavailable ? fs->st_fdblocks - unavailable : 0;
	st->f_bfree = bfree;
	st->f_bavail = bfree;
	/* f_files: the inodes there are plus those the free space could hold, capped by
	 * imax_pct (m_maxicount, rounded down to whole inode chunks) and XFS_MAXINUMBER. */
	files = bfree > (XFS_MAXINUMBER >> sb->inopblog) ? XFS_MAXINUMBER
							 : bfree << sb->inopblog;
	files = icount > XFS_MAXINUMBER - files ? XFS_MAXINUMBER : files + icount;
	if (sb->imax_pct) {
		uint64_t ialloc_inos = sb->inopblock > XFS_INODES_PER_CHUNK ? sb->inopblock
									    : XFS_INODES_PER_CHUNK;
		uint64_t ialloc_blks = ialloc_inos >> sb->inopblog;
		uint64_t blocks = sb->dblocks / 100 * sb->imax_pct +
				  sb->dblocks % 100 * sb->imax_pct / 100;

		blocks = blocks / ialloc_blks * ialloc_blks;
		maxicount = blocks << sb->inopblog;
		if (files > maxicount)
			files = maxicount;
	}
	if (files < icount)
		files = icount;
	st->f_files = files;
	used = icount > ifree ? icount - ifree : 0;
	st->f_ffree = files > used ? files - used : 0;
	st->f_favail = st->f_ffree;
	st->f_namemax = 255;
	st->f_flag = ST_RDONLY;
	(void)XFS_SUPER_MAGIC;
}

/* The counters statfs shows, as the kernel's mount leaves them: the superblock's when the
 * log is clean, else (lazy counters) recounted from the AG headers; and the free-space
 * btree blocks it keeps back, which it learns reading every AGF at mount. If the AG
 * headers cannot be read the superblock's figures stand, and that is said once. */
static void statfs_counts_init(struct bv_xfs *fs)
{
	const struct bv_xfs_sb *sb = &fs->sb;
	struct bv_xfs_ag_counts c;
	bool lazy = sb->crc || (sb->features2 & XFS_SB_VERSION2_LAZYSBCOUNTBIT);
	int err;

	fs->st_fdblocks = sb->fdblocks;
	fs->st_icount = sb->icount;
	fs->st_ifree = sb->ifree;
	fs->st_allocbt_blks = 0;
	err = bv_xfs_ag_counts(fs, &c);
	if (err) {
		bv_warn("%s: statfs: cannot sum the AG headers' counters (%s); showing the "
			"superblock's", bv_source_path(fs->src), strerror(-err));
		return;
	}
	fs->st_allocbt_blks = c.allocbt_blks;
	if (fs->log_dirty && lazy) {
		fs->st_fdblocks = c.fdblocks;
		fs->st_icount = c.icount;
		fs->st_ifree = c.ifree;
	}
}

static const struct bv_fs_ops xfs_ops = {
	.name = "xfs",
	.close = xfs_close,
	.info_get = xfs_info_get,
	.inode_get = xfs_inode_get,
	.stat = xfs_stat,
	.lookup = xfs_lookup,
	.dir_iterate = xfs_dir_iterate,
	.read = xfs_read,
	.run_get = xfs_run_get,
	.seek = xfs_seek,
	.readlink = xfs_readlink,
	.xattr_list = xfs_xattr_list,
	.xattr_get = xfs_xattr_get,
	.statfs = xfs_statfs,
};

int bv_xfs_fs_open(struct bv_source *src, const struct bv_fs_opts *opts, void **impl,
		   const struct bv_fs_ops **ops, char *errbuf, size_t errbuf_size)
{
	static const struct bv_fs_opts defaults = { 0 };
	uint64_t dev_size = bv_source_size(src);
	size_t n = dev_size < BV_XFS_SB_READ ? (size_t)dev_size : BV_XFS_SB_READ;
	struct bv_xfs_inode root;
	struct bv_xfs *fs;
	uint8_t *buf;
	bool dirty;
	int err;

	if (!opts)
		opts = &defaults;
	if (n < 512)
		return -EMEDIUMTYPE;
	buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	err = bv_source_read(src, buf, n, 0);
	if (err) {
		free(buf);
		bv_say(errbuf, errbuf_size, "cannot read the superblock: %s", strerror(-err));
		return err;
	}
	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		free(buf);
		return -ENOMEM;
	}
	fs->src = src;
	fs->skip_csum = opts->skip_csum;
	{
		static atomic_uint_fast64_t opened;

		fs->id = atomic_fetch_add(&opened, 1) + 1;
	}
	atomic_init(&fs->bmbt_checks, 0);
	err = bv_xfs_sb_decode(buf, n, dev_size, opts->skip_csum, &fs->sb, errbuf, errbuf_size);
	free(buf);
	if (err)
		goto out_free;
	err = bv_cache_new(src, fs->sb.blocksize, opts->cache_bytes, &fs->cache);
	if (err) {
		bv_say(errbuf, errbuf_size, "cannot create the block cache: %s", strerror(-err));
		goto out_free;
	}
	last_report[0] = '\0';
	err = bv_xfs_log_state(fs, &dirty);
	if (err && opts->no_recovery) {
		/* norecovery: the kernel does not even look at the log then. Serve it, and
		 * say the log is not known clean. */
		bv_warn("%s: the XFS log cannot be read (%s); served without recovery",
			bv_source_path(src), last_report[0] ? last_report : strerror(-err));
		dirty = true;
		err = 0;
	}
	if (err) {
		bv_say(errbuf, errbuf_size, "cannot read the XFS log: %s",
		       last_report[0] ? last_report : strerror(-err));
		goto out_free;
	}
	if (dirty && !opts->no_recovery) {
		bv_say(errbuf, errbuf_size,
		       "the XFS log is dirty (the filesystem was not cleanly unmounted); mount it "
		       "once with the kernel to replay it, or serve it as is with -o norecovery");
		err = -EUCLEAN;
		goto out_free;
	}
	fs->log_dirty = dirty;
	last_report[0] = '\0';
	err = bv_xfs_inode_read(fs, fs->sb.rootino, &root);
	if (!err && !S_ISDIR(root.mode))
		err = bv_xfs_corrupt(fs, "root inode %" PRIu64 " is not a directory",
				     fs->sb.rootino);
	if (err) {
		bv_say(errbuf, errbuf_size, "cannot read the root directory: %s",
		       last_report[0] ? last_report : strerror(-err));
		goto out_free;
	}
	statfs_counts_init(fs);
	*impl = fs;
	*ops = &xfs_ops;
	return 0;

out_free:
	xfs_close(fs);
	return err;
}
