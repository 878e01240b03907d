/* The ext2/3/4 reader: the API the FUSE adapter and the commands use.
 *
 * A struct bv_ext4 is one opened filesystem over a source. It holds no process-global
 * state; several may be open at once. Every function here is safe to call from several
 * threads at once on the same filesystem: the decoded superblock is immutable after open
 * and the block cache and journal overlay do their own locking.
 *
 * Errors are 0 or -errno: -EUCLEAN for corruption (logged once, where found, with the inode
 * or block number), -EBADMSG for a bad checksum, -EOPNOTSUPP for an unsupported feature,
 * -ENOENT, -ENOTDIR, -ENODATA, -ERANGE as for the matching syscalls.
 */
#ifndef BV_FS_EXT4_H
#define BV_FS_EXT4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include "blockio/source.h"

struct bv_ext4;

#define BV_EXT4_ROOT_INO 2

struct bv_ext4_opts {
	size_t cache_bytes;   /* metadata cache budget; 0 = default (1 MiB) */
	bool skip_journal;    /* do not replay a journal that needs recovery (like noload) */
	bool skip_csum;       /* do not verify metadata checksums */
};

/* Timestamps as the kernel decodes them: signed 32-bit seconds extended by the two epoch
 * bits of the extra field, nanoseconds from its upper 30 bits. */
struct bv_ext4_time {
	int64_t sec;
	uint32_t nsec;
};

/* A decoded, validated inode: host order, trusted by everything after inode.c. */
struct bv_ext4_inode {
	uint32_t ino;
	uint16_t mode;          /* type and permission bits, as st_mode */
	uint16_t extra_isize;   /* 0 for 128-byte inodes */
	uint32_t uid, gid;      /* low and high halves joined */
	uint32_t links_count;
	uint32_t flags;         /* i_flags: EXT4_EXTENTS_FL, EXT4_INLINE_DATA_FL, ... */
	uint32_t generation;
	uint32_t projid;        /* i_projid with the project feature, else 0 */
	uint64_t size;          /* i_size_lo | i_size_high << 32 where the kernel joins them */
	uint64_t blocks;        /* in 512-byte units, as st_blocks (huge_file applied) */
	uint64_t file_acl;      /* xattr block, 0 for none */
	struct bv_ext4_time atime, mtime, ctime, crtime;
	bool has_crtime;
	uint32_t rdev_major, rdev_minor; /* device nodes only */
	uint8_t i_block[60];    /* extent root, block map, inline data head, or fast symlink */
};

/* What `probe` and statfs show. Strings are NUL-terminated. */
struct bv_ext4_info {
	char type[8];           /* "ext2", "ext3" or "ext4", as blkid would name it */
	uint8_t uuid[16];
	char uuid_str[37];
	char label[17];
	uint32_t block_size;
	uint32_t cluster_size;
	uint32_t inode_size;
	uint64_t blocks_count, free_blocks_count, reserved_blocks_count;
	uint32_t inodes_count, free_inodes_count;
	uint32_t group_count;
	uint32_t feature_compat, feature_incompat, feature_ro_compat;
	const char *journal_state; /* "none", "clean", "replayed", "needs_recovery" (skipped) */
	uint32_t journal_replayed_blocks;
};

/* Opens the filesystem on SRC (borrowed; must outlive the filesystem). Reads and checks
 * the superblock, loads the journal (replaying it in memory if it needs recovery, unless
 * OPTS->skip_journal) and the root inode. OPTS may be NULL. On failure returns -errno and,
 * if ERRBUF is not NULL, a sentence saying why (naming a refused feature, say).
 * The filesystem is freed with bv_ext4_close(). */
int bv_ext4_open(struct bv_source *src, const struct bv_ext4_opts *opts, struct bv_ext4 **out,
		 char *errbuf, size_t errbuf_size);
void bv_ext4_close(struct bv_ext4 *fs);

void bv_ext4_info_get(const struct bv_ext4 *fs, struct bv_ext4_info *out);

/* Writes the names of the feature bits in FS, space separated, as mke2fs names them. */
void bv_ext4_features_str(const struct bv_ext4 *fs, char *buf, size_t size);

/* Reads and validates inode INO. -EUCLEAN when INO is out of range or the inode is
 * corrupt, -ENOENT when it is unused (links_count 0, as the kernel's iget says -ESTALE). */
int bv_ext4_inode_get(struct bv_ext4 *fs, uint32_t ino, struct bv_ext4_inode *out);

/* Reads inode INO as a directory entry may name it (lookup, readdirplus, path walks):
 * like bv_ext4_inode_get, but a reserved inode other than the root (the journal, resize
 * or quota inodes) or an inode holding an xattr value is corruption (-EUCLEAN, reported),
 * as the kernel's lookup says. */
int bv_ext4_inode_get_linked(struct bv_ext4 *fs, uint32_t ino, struct bv_ext4_inode *out);

/* Reads inode INO as a file handle names it (open_by_handle_at, NFS): -ESTALE for a
 * reserved inode other than the root, one out of range, unused, or holding an xattr value
 * (the handle is the caller's, so none of this is reported as corruption); otherwise as
 * bv_ext4_inode_get. */
int bv_ext4_inode_get_handle(struct bv_ext4 *fs, uint32_t ino, struct bv_ext4_inode *out);

/* Fills ST as the kernel's ext4 would for stat(2). st_dev is left 0. */
void bv_ext4_inode_stat(const struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			struct stat *st);

/* Finds NAME (LEN bytes, no '/') in directory DIR. Returns 0 and *INO, -ENOENT, -ENOTDIR. */
int bv_ext4_lookup(struct bv_ext4 *fs, const struct bv_ext4_inode *dir, const char *name,
		   size_t len, uint32_t *ino);

/* Called for each entry of a directory. NAME is not NUL-terminated. NEXT_POS is the
 * position to resume after this entry. Return non-zero to stop the walk (that value is
 * then returned by bv_ext4_dir_iterate). */
typedef int (*bv_ext4_dir_fn)(void *ctx, const char *name, size_t name_len, uint32_t ino,
			      uint8_t file_type, uint64_t next_pos);

/* Walks directory DIR from position POS (0 = the start) in on-disk order, "." and ".."
 * included (made up for inline directories, which do not store them). Deleted entries are
 * skipped. Returns 0 at the end, FN's non-zero value, or -errno. */
int bv_ext4_dir_iterate(struct bv_ext4 *fs, const struct bv_ext4_inode *dir, uint64_t pos,
			bv_ext4_dir_fn fn, void *ctx);

/* Reads up to LEN bytes at OFF of a regular file (or any inode with data) into BUF.
 * Holes and unwritten extents read as zeros; reads stop at i_size. Returns the byte count
 * (0 at or past the end) or -errno. Does no allocation. */
ssize_t bv_ext4_file_read(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, void *buf,
			  size_t len, uint64_t off);

/* Where a stretch of a file's data lives, for callers that move bytes without copying them
 * (splice): LEN bytes from the asked offset read as zeros (ZERO: a hole, an unwritten
 * extent) or are the LEN bytes at offset PHYS of file descriptor FD, exactly as stored. */
struct bv_ext4_run {
	int fd;
	bool zero;
	uint64_t phys;
	size_t len;
};

/* Describes the longest stretch of INODE's data from OFF that is one physically contiguous
 * run (or all zeros), at most LEN bytes and never past i_size (LEN 0 at or past the end).
 * -EOPNOTSUPP when the bytes must go through bv_ext4_file_read instead: inline data, a
 * source without a file descriptor, or blocks whose newest copy is in the replayed
 * journal. Other -errno as bv_ext4_file_read. Does no I/O beyond the block map. */
int bv_ext4_file_run_get(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, uint64_t off,
			 size_t len, struct bv_ext4_run *out);

/* lseek(2)'s SEEK_DATA (DATA true) and SEEK_HOLE (false) over INODE, as the kernel's ext4
 * answers them for a file with nothing in its page cache: holes and unwritten extents are
 * holes, inline data is all data, and i_size is where the last hole starts. *OUT is the
 * first data (or hole) byte at or after OFF. -ENXIO when OFF is at or past i_size, or no
 * data follows OFF; other -errno as bv_ext4_file_read. Bounded: looks at most at 2^16 runs
 * of the map and takes the rest of the file as data past that. No allocation. */
int bv_ext4_file_seek(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, uint64_t off,
		      bool data, uint64_t *out);

/* Copies the target of symlink INODE into BUF (NUL-terminated) and its length into *LEN.
 * -ERANGE if it does not fit, -EINVAL if INODE is not a symlink. */
int bv_ext4_readlink(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, char *buf,
		     size_t size, size_t *len);

/* listxattr(2) semantics: with SIZE 0 returns the bytes needed; otherwise fills BUF with
 * NUL-terminated names ("user.x\0security.selinux\0") or -ERANGE. system.data is hidden. */
ssize_t bv_ext4_xattr_list(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, char *buf,
			   size_t size);

/* The same as seen by a caller the kernel may or may not show trusted.* names to
 * (ext4_xattr_trusted_list: CAP_SYS_ADMIN): with TRUSTED false they are left out, of the
 * count too. bv_ext4_xattr_list is this with TRUSTED true. */
ssize_t bv_ext4_xattr_list_as(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			      char *buf, size_t size, bool trusted);

/* getxattr(2) semantics: value of NAME, -ENODATA when absent, -ERANGE when SIZE is too
 * small (SIZE 0 returns the length). POSIX ACLs come back in the xattr (not on-disk)
 * format, as the kernel returns them. */
ssize_t bv_ext4_xattr_get(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			  const char *name, void *buf, size_t size);

/* statvfs(2) figures as the kernel's ext4_statfs reports them: sizes from the superblock,
 * free counts summed from the group descriptors (on the first call, which reads every
 * descriptor block; later calls reuse the sums). Thread safe. */
void bv_ext4_statfs(struct bv_ext4 *fs, struct statvfs *st);

/* Maps an on-disk dirent file_type (EXT4_FT_*) to a DT_* value. */
unsigned char bv_ext4_ft_to_dt(uint8_t file_type);

#endif
