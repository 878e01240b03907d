#include "state/control.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/log.h"

static int control_path(const char *dir, char *path, size_t size)
{
	if ((size_t)snprintf(path, size, "%s/control", dir) >= size)
		return -ENAMETOOLONG;
	return 0;
}

int bv_control_open(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, err;

	err = control_path(dir, path, sizeof(path));
	if (err)
		return err;
	/* A FIFO left by a dead daemon is replaced; anything else there is not ours. */
	if (lstat(path, &st) == 0) {
		if (!S_ISFIFO(st.st_mode))
			return -EEXIST;
		if (unlink(path))
			return -errno;
	}
	if (mkfifo(path, 0600))
		return -errno;
	/* Read-write: the daemon is its own writer, so the FIFO never reports EOF when a
	 * client closes, and a client's non-blocking open for writing succeeds only while
	 * the daemon holds this fd. */
	fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	return fd;
}

int bv_control_drain(int fd, bool *stop)
{
	char buf[PIPE_BUF + 1];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : -errno;
		}
		if (n == 0)
			return 0;
		buf[n] = '\0';
		for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			if (strcmp(line, "stop") == 0)
				*stop = true;
			else
				bv_warn("control: ignoring unknown command \"%.64s\"", line);
		}
	}
}

int bv_control_send(const char *dir, const char *line)
{
	char path[PATH_MAX], msg[128];
	struct stat st;
	int fd, err, len;

	err = control_path(dir, path, sizeof(path));
	if (err)
		return err;
	len = snprintf(msg, sizeof(msg), "%s\n", line);
	if (len < 0 || (size_t)len >= sizeof(msg))
		return -EINVAL;
	/* Never open something that is not a FIFO: a regular file would take the write
	 * and a device could block. */
	if (lstat(path, &st))
		return -errno;
	if (!S_ISFIFO(st.st_mode))
		return -EINVAL;
	/* Non-blocking open for writing fails with ENXIO when nobody has it open for
	 * reading: the daemon is gone. */
	fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	err = write(fd, msg, (size_t)len) == len ? 0 : -(errno ? errno : EIO);
	close(fd);
	return err;
}
