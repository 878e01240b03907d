/* Where bytes come from: a read-only source of bytes at offsets.
 *
 * A source is a block device, a regular image file, or a buffer in memory (for tests and
 * fuzzing). It is opened read-only and never written. All functions are thread safe once
 * the source is open: reads use pread(2) and share no cursor.
 */
#ifndef BV_BLOCKIO_SOURCE_H
#define BV_BLOCKIO_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bv_source;

/* Opens PATH (block device or regular file) O_RDONLY|O_CLOEXEC and learns its size
 * (BLKGETSIZE64 for a device, fstat for a file). A directory is -EISDIR, any other
 * file type -EINVAL. Returns 0 and *out, or -errno. The caller frees with bv_source_close(). */
int bv_source_open(const char *path, struct bv_source **out);

/* A source over LEN bytes at BUF, which is borrowed and must outlive the source. */
int bv_source_open_mem(const void *buf, size_t len, struct bv_source **out);

/* Reads exactly LEN bytes at OFF into BUF, retrying short reads and EINTR.
 * A range that does not lie wholly inside the source is -EIO, as is end of file reached
 * early (the file shrank); a failed pread(2) gives its own errno (EIO from a bad disk).
 * Returns 0 or -errno; BUF's contents are unspecified after an error. */
int bv_source_read(struct bv_source *src, void *buf, size_t len, uint64_t off);

/* Size in bytes, fixed at open. */
uint64_t bv_source_size(const struct bv_source *src);

/* The file descriptor, or -1 for a memory source. Borrowed. */
int bv_source_fd(const struct bv_source *src);

/* The path given at open, or "(memory)". Borrowed. */
const char *bv_source_path(const struct bv_source *src);

/* True (1) when the source is a block device; *RDEV (may be NULL) then holds its device
 * number. 0 for a regular file or a memory source, with *RDEV untouched. */
int bv_source_is_blockdev(const struct bv_source *src, dev_t *rdev);

/* Closes the descriptor and frees. Accepts NULL. */
void bv_source_close(struct bv_source *src);

#endif
