/* Sources of bytes: a block device or image file read with pread(2), or a borrowed buffer.
 *
 * Nothing here keeps a file position, so one source serves every FUSE worker thread at
 * once without a lock. The size is learnt once at open: the image never changes under a
 * read-only mount, and a fixed size lets every bounds check be made without a syscall.
 */
#include "blockio/source.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

struct bv_source {
	int fd;             /* -1 for a memory source */
	const uint8_t *mem; /* borrowed; NULL for a file or device */
	uint64_t size;
	bool blockdev;
	dev_t rdev;
	char *path; /* owned; NULL for a memory source */
};

int bv_source_open(const char *path, struct bv_source **out)
{
	struct bv_source *src;
	struct stat st;
	int err;

	if (!path || !out)
		return -EINVAL;
	src = calloc(1, sizeof(*src));
	if (!src)
		return -ENOMEM;
	src->fd = -1;
	src->path = strdup(path);
	if (!src->path) {
		err = -ENOMEM;
		goto err_free;
	}
	/* O_RDONLY is the whole promise of a read-only server: nothing below can write. */
	src->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (src->fd < 0) {
		err = -errno;
		goto err_free;
	}
	if (fstat(src->fd, &st) < 0) {
		err = -errno;
		goto err_free;
	}
	if (S_ISBLK(st.st_mode)) {
		uint64_t bytes;

		/* st_size is 0 for a block device; only the driver knows its length. */
		if (ioctl(src->fd, BLKGETSIZE64, &bytes) < 0) {
			err = -errno;
			goto err_free;
		}
		src->size = bytes;
		src->blockdev = true;
		src->rdev = st.st_rdev;
	} else if (S_ISREG(st.st_mode)) {
		src->size = (uint64_t)st.st_size;
	} else if (S_ISDIR(st.st_mode)) {
		err = -EISDIR;
		goto err_free;
	} else {
		/* Character devices, FIFOs and sockets have no stable size or offsets. */
		err = -EINVAL;
		goto err_free;
	}
	*out = src;
	return 0;

err_free:
	bv_source_close(src);
	return err;
}

int bv_source_open_mem(const void *buf, size_t len, struct bv_source **out)
{
	struct bv_source *src;

	if (!out || (!buf && len))
		return -EINVAL;
	src = calloc(1, sizeof(*src));
	if (!src)
		return -ENOMEM;
	src->fd = -1;
	src->mem = buf;
	src->size = len;
	*out = src;
	return 0;
}

int bv_source_read(struct bv_source *src, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;
	size_t done = 0;

	/* Written so neither OFF + LEN nor anything else can wrap around. */
	if (off > src->size || len > src->size - off)
		return -EIO;
	if (len == 0)
		return 0;
	if (src->mem) {
		memcpy(p, src->mem + off, len);
		return 0;
	}
	while (done < len) {
		ssize_t n = pread(src->fd, p + done, len - done, (off_t)(off + done));

		if (n < 0) {
			/* A signal before any byte moved: nothing was read, try again. */
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* End of file inside a range the size said was there: the file shrank or the
		 * device went away. Either way the bytes do not exist. */
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

uint64_t bv_source_size(const struct bv_source *src)
{
	return src->size;
}

int bv_source_fd(const struct bv_source *src)
{
	return src->fd;
}

const char *bv_source_path(const struct bv_source *src)
{
	return src->path ? src->path : "(memory)";
}

int bv_source_is_blockdev(const struct bv_source *src, dev_t *rdev)
{
	if (!src->blockdev)
		return 0;
	if (rdev)
		*rdev = src->rdev;
	return 1;
}

void bv_source_close(struct bv_source *src)
{
	if (!src)
		return;
	if (src->fd >= 0)
		close(src->fd);
	free(src->path);
	free(src);
}
