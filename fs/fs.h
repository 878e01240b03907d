/* One read-only filesystem, whatever its on-disk format: the interface the FUSE adapter,
 * the commands, export mode and --require use. They never know which format they serve.
 *
 * bv_fs_open() picks the reader from what is on the source (ext2/3/4 in fs/ext4/, XFS in
 * fs/xfs/); every other function dispatches through that reader's ops table (fs_ops.h).
 * A reader decodes each on-disk field with bounds checks and treats corruption as an error
 * of the request that met it, never as a crash or a hang.
 *
 * Thread safety: once open, every function may be called from several threads at once on
 * the same filesystem.
 *
 * Errors are 0 or -errno: -EUCLEAN for corruption (logged once, where found, with the inode
 * or block number), -EBADMSG for a bad checksum, -EOPNOTSUPP for an unsupported feature,
 * -ENOENT, -ENOTDIR, -ENODATA, -ERANGE, -EINVAL as the matching syscalls would say.
 */
#ifndef BV_FS_FS_H
#define BV_FS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "blockio/source.h"

struct bv_fs;

struct bv_fs_opts {
	size_t cache_bytes; /* metadata cache budget; 0 = the reader's default (1 MiB) */
	bool no_recovery;   /* serve the on-disk state as is, without the journal or log: ext4's
			     * noload, xfs's norecovery. Otherwise ext4 replays its journal in
			     * memory and xfs refuses a dirty log. */
	bool skip_csum;     /* do not verify metadata checksums (tests only) */
};

struct bv_time {
	int64_t sec;
	uint32_t nsec;
};

/* An inode as the adapter and the commands see it: the fields they act on, decoded and
 * trusted, and the reader's own decoded inode in PRIV, which only that reader looks at.
 * Plain data: lives on the caller's stack, is copied freely, needs no release. */
#define BV_INODE_PRIV_BYTES 256
struct bv_inode {
	uint64_t ino;        /* as st_ino */
	uint32_t generation; /* for file handles and FS_IOC_GETVERSION */
	uint32_t mode;       /* st_mode: type and permission bits */
	uint64_t size;       /* st_size */
	uint32_t flags;      /* FS_IOC_GETFLAGS as the kernel answers it (FS_*_FL) */
	uint32_t xflags;     /* FS_IOC_FSGETXATTR's fsx_xflags (FS_XFLAG_*) */
	uint32_t projid;     /* FS_IOC_FSGETXATTR's fsx_projid */
	uint32_t extsize;    /* FS_IOC_FSGETXATTR's fsx_extsize, in bytes; 0 for none */
	uint32_t cowextsize; /* fsx_cowextsize, in bytes; 0 for none */
	uint32_t nextents;   /* fsx_nextents: data fork extents where the format says (xfs) */
	struct bv_time crtime; /* birth time (statx's btime), when HAS_CRTIME */
	bool has_crtime;
	_Alignas(8) unsigned char priv[BV_INODE_PRIV_BYTES];
};

/* What `probe` prints and the daemon reports. Strings are NUL-terminated. */
struct bv_fs_info {
	char type[8];         /* "ext2", "ext3", "ext4" or "xfs", as blkid names them */
	char uuid_str[37];
	char label[17];
	uint32_t block_size;
	uint32_t cluster_size; /* ext4 bigalloc's; the block size elsewhere */
	uint32_t inode_size;
	uint64_t blocks_count, free_blocks_count;
	uint64_t inodes_count, free_inodes_count; /* xfs: inodes allocated so far, and free */
	uint32_t group_count;  /* block groups (ext) or allocation groups (xfs) */
	char features[1024];  /* feature names, space separated, as its mkfs spells them */
	const char *journal_state; /* "none", "clean", "replayed" (ext4, in memory), "dirty"
				    * (served without recovery) */
	uint32_t journal_replayed_blocks;
	uint64_t root_ino;
};

/* Opens the filesystem on SRC (borrowed; must outlive the filesystem) with the reader its
 * superblock's magic names. OPTS may be NULL. On failure returns -errno and, if ERRBUF is
 * not NULL, a sentence saying why (naming a refused feature, say; "not an ext2/3/4 or xfs
 * filesystem" for anything else). Freed with bv_fs_close(). */
int bv_fs_open(struct bv_source *src, const struct bv_fs_opts *opts, struct bv_fs **out,
	       char *errbuf, size_t errbuf_size);
void bv_fs_close(struct bv_fs *fs);

void bv_fs_info_get(struct bv_fs *fs, struct bv_fs_info *out);
uint64_t bv_fs_root_ino(const struct bv_fs *fs);

/* How an inode number reached us, which decides what a bad one is. */
enum bv_iget {
	BV_IGET_ANY,    /* any in-use inode (the root, a stat by number) */
	BV_IGET_LINKED, /* named by a directory entry: an inode no name may lead to (ext4's
			 * journal, an xattr-value inode) is corruption, -EUCLEAN */
	BV_IGET_HANDLE, /* named by a file handle (the caller's): anything unusable is -ESTALE */
};

/* Reads and validates inode INO. -ENOENT when it is not in use, -EUCLEAN when corrupt or
 * out of range (but see enum bv_iget). */
int bv_fs_inode_get(struct bv_fs *fs, uint64_t ino, enum bv_iget how, struct bv_inode *out);

/* Fills ST as the kernel would for stat(2). st_dev is left 0. */
void bv_fs_stat(struct bv_fs *fs, const struct bv_inode *inode, struct stat *st);

/* Finds NAME (LEN bytes, no '/') in directory DIR: 0 and *INO, -ENOENT, -ENOTDIR. */
int bv_fs_lookup(struct bv_fs *fs, const struct bv_inode *dir, const char *name, size_t len,
		 uint64_t *ino);

/* Called for each entry of a directory. NAME is not NUL-terminated; DTYPE is a DT_* value
 * (DT_UNKNOWN when the format does not record it); NEXT_POS is the position to resume
 * after this entry. A non-zero return stops the walk and is returned by the walk. */
typedef int (*bv_fs_dir_fn)(void *ctx, const char *name, size_t len, uint64_t ino,
			    unsigned char dtype, uint64_t next_pos);

/* Walks directory DIR from position POS (0 = the start), "." and ".." included. Returns 0
 * at the end, FN's non-zero value, or -errno. Positions are the reader's own cookies. A
 * reader may bound the work of one call: -EAGAIN means it stopped there after passing at
 * least one entry, and a caller that wants the rest calls again from the last NEXT_POS
 * (ext4 and xfs: at most 16384 directory blocks, 64 MiB of them, per call; docs/ondisk.md
 * section 16). */
int bv_fs_dir_iterate(struct bv_fs *fs, const struct bv_inode *dir, uint64_t pos,
		      bv_fs_dir_fn fn, void *ctx);

/* Reads up to LEN bytes at OFF of INODE's data into BUF: holes and unwritten extents read
 * as zeros, reads stop at the size. Returns the byte count (0 at or past the end) or
 * -errno. */
ssize_t bv_fs_read(struct bv_fs *fs, const struct bv_inode *inode, void *buf, size_t len,
		   uint64_t off);

/* A stretch of a file's data for callers that move bytes without copying (splice): LEN
 * bytes from the asked offset read as zeros (ZERO) or are the LEN bytes at offset PHYS of
 * file descriptor FD, exactly as stored. */
struct bv_fs_run {
	int fd;
	bool zero;
	uint64_t phys;
	size_t len;
};

/* The longest physically contiguous (or all-zero) stretch of INODE's data from OFF, at
 * most LEN bytes, never past the size (LEN 0 at or past the end). -EOPNOTSUPP when the
 * bytes must go through bv_fs_read instead (inline data, a memory source, replayed
 * blocks). */
int bv_fs_run_get(struct bv_fs *fs, const struct bv_inode *inode, uint64_t off, size_t len,
		  struct bv_fs_run *out);

/* lseek(2)'s SEEK_DATA (DATA true) or SEEK_HOLE over INODE as the kernel answers for a file
 * with nothing cached. -ENXIO at or past the size or when no data follows. Bounded. */
int bv_fs_seek(struct bv_fs *fs, const struct bv_inode *inode, uint64_t off, bool data,
	       uint64_t *out);

/* Copies symlink INODE's target into BUF (NUL-terminated) and its length into *LEN.
 * -ERANGE if it does not fit, -EINVAL if INODE is not a symlink. */
int bv_fs_readlink(struct bv_fs *fs, const struct bv_inode *inode, char *buf, size_t size,
		   size_t *len);

/* listxattr(2) as a caller who may (TRUSTED) or may not see trusted.* names: SIZE 0 asks
 * for the bytes needed; else NUL-terminated names into BUF, or -ERANGE. */
ssize_t bv_fs_xattr_list(struct bv_fs *fs, const struct bv_inode *inode, char *buf,
			 size_t size, bool trusted);

/* getxattr(2): value of NAME, -ENODATA when absent, -ERANGE when SIZE is too small (SIZE 0
 * returns the length). POSIX ACLs come back in the xattr format, as the kernel returns
 * them. */
ssize_t bv_fs_xattr_get(struct bv_fs *fs, const struct bv_inode *inode, const char *name,
			void *buf, size_t size);

/* statvfs(2) figures as the kernel reports them for this filesystem. */
void bv_fs_statfs(struct bv_fs *fs, struct statvfs *st);

#define BV_RESOLVE_FOLLOW 0x1 /* follow a symlink in the last component */
#define BV_RESOLVE_MAX_LINKS 40
/* Lookups ("..", names) one resolution may do. A path the caller gives has at most 2048
 * components (PATH_MAX); the image's symlinks can splice in 40 targets of 4095 bytes more,
 * about 80,000 lookups, each up to the directory bound of docs/ondisk.md section 16. The
 * cap keeps every caller's path and bounds what the image adds. */
#define BV_RESOLVE_MAX_LOOKUPS 4096

/* Resolves PATH inside the image as if the image were the root filesystem: an absolute
 * symlink target starts again at the image's root, ".." at the root stays there, so no
 * path can leave the image. At most BV_RESOLVE_MAX_LINKS symlinks and
 * BV_RESOLVE_MAX_LOOKUPS lookups (-ELOOP past either).
 * Returns 0 and *INO, or -ENOENT, -ENOTDIR, -ELOOP, -ENAMETOOLONG, -EUCLEAN. */
int bv_fs_resolve(struct bv_fs *fs, const char *path, unsigned flags, uint64_t *ino);

/* The same from directory START (a relative PATH starts there; an absolute one, or an
 * absolute symlink target, at the image's root), spending *LOOKUPS, a budget the caller
 * may share between resolutions: -ELOOP once it is spent. */
int bv_fs_resolve_at(struct bv_fs *fs, uint64_t start, const char *path, unsigned flags,
		     uint64_t *ino, unsigned *lookups);

#endif
