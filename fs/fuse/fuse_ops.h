/* The FUSE adapter: libfuse3 low-level operations over the ext2/3/4 reader.
 *
 * It only translates: decode the request, ask the reader, reply once. Node ids are the
 * on-disk inode numbers, except that the root (inode 2) is FUSE_ROOT_ID (1); inode 1 (bad
 * blocks) and the other reserved inodes are never handed to the kernel, so the swap is a
 * bijection on everything the kernel can see. st_ino and the generation are the on-disk
 * ones. The image never changes, so every entry, attribute and negative lookup is cached
 * by the kernel forever, and open/opendir answer ENOSYS so the page cache is kept across
 * opens without a round trip.
 */
#ifndef BV_FS_FUSE_OPS_H
#define BV_FS_FUSE_OPS_H

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>

struct bv_fs;
struct bv_export;
struct bv_fuse;

/* Entry and attribute timeouts, in seconds: "forever" for an image that cannot change. */
#define BV_FUSE_TIMEOUT 1e9

/* Counters of requests that reached the daemon (for the benchmark and -d). */
struct bv_fuse_stats {
	uint64_t reads;        /* READ requests */
	uint64_t read_bytes;   /* bytes answered to READ */
	uint64_t lookups;
	uint64_t getattrs;
	uint64_t readdirs;     /* READDIR and READDIRPLUS */
	uint64_t getxattrs;
};

/* Makes the adapter over FS (borrowed: must outlive the adapter). Returns 0 or -ENOMEM
 * (or another -errno from pthread_key_create). Free with bv_fuse_free(). */
int bv_fuse_new(struct bv_fs *fs, struct bv_fuse **out);

/* Frees the adapter and the calling thread's scratch buffer; worker threads free theirs
 * when they exit. Call after the session loop has returned. Accepts NULL. */
void bv_fuse_free(struct bv_fuse *bf);

/* The max_read= mount option, if any: libfuse 3.14 refuses INIT unless the init callback
 * repeats it in conn->max_read. Call before the session is mounted. */
void bv_fuse_max_read_set(struct bv_fuse *bf, unsigned max_read);

/* Export mode (fs/export.h): serve only the tree EXP describes (borrowed; must outlive the
 * adapter). Lookups and listings come from EXP; other inodes answer ENOENT. NULL (the
 * default) serves the whole image. Call before the session is mounted. */
void bv_fuse_export_set(struct bv_fuse *bf, const struct bv_export *exp);

/* Creates a low-level session serving BF, with the libfuse options in ARGS (borrowed; see
 * fuse_session_new). Returns NULL with a message from libfuse on stderr on bad options. */
struct fuse_session *bv_fuse_session_new(struct bv_fuse *bf, struct fuse_args *args);

/* Allocates the calling worker thread's scratch buffer (1 MiB: the largest any request
 * needs), so that serving requests allocates nothing more. 0 or -ENOMEM. A worker that
 * skips it allocates on its first request instead. */
int bv_fuse_worker_prepare(struct bv_fuse *bf);

/* True once FUSE_INIT has been received (its reply follows right after). Thread safe. */
bool bv_fuse_is_initialized(const struct bv_fuse *bf);

/* Pushes up to LEN bytes at OFF of regular file INO into the kernel's page cache for it
 * (fuse_lowlevel_notify_store), so that later reads of them are page-cache hits with no
 * READ round trip. The kernel must already know the inode (looked up through the mount);
 * if it does not, -ENOENT and nothing is stored. Never stores past i_size. Call only after
 * FUSE_INIT has been answered and while the session's fd is open. Uses the calling
 * thread's scratch buffer (LEN above 1 MiB is clamped). Returns the bytes stored (0 at the
 * end of the file) or -errno. */
ssize_t bv_fuse_prefetch(struct bv_fuse *bf, struct fuse_session *se, uint64_t ino,
			 uint64_t off, size_t len);

/* Snapshot of the request counters. Thread safe. */
void bv_fuse_stats_get(const struct bv_fuse *bf, struct bv_fuse_stats *out);

#endif
