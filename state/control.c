#include "state/control.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"

int bv_control_open(int dfd)
{
	struct stat st;
	int fd, err;

	/* A FIFO left by a dead daemon is replaced; anything else there is not ours. */
	if (fstatat(dfd, "control", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISFIFO(st.st_mode))
			return -EEXIST;
		if (unlinkat(dfd, "control", 0))
			return -errno;
	} else if (errno != ENOENT) {
		return -errno;
	}
	if (mkfifoat(dfd, "control", 0600))
		return -errno;
	/* Read-write: the daemon is its own writer, so the FIFO never reports EOF when a
	 * client closes, and a client's non-blocking open for writing succeeds only while
	 * the daemon holds this fd. */
	fd = openat(dfd, "control", O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	/* Between mkfifoat and openat the name could have been replaced. */
	err = fstat(fd, &st) != 0 ? -errno : !S_ISFIFO(st.st_mode) ? -EEXIST : 0;
	if (err) {
		close(fd);
		return err;
	}
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

int bv_control_send(int dfd, const char *line)
{
	char msg[128];
	struct stat st;
	int fd, err, len;

	len = snprintf(msg, sizeof(msg), "%s\n", line);
	if (len < 0 || (size_t)len >= sizeof(msg))
		return -EINVAL;
	/* Never open something that is not a FIFO: a regular file would take the write and
	 * opening a device may have effects of its own. The fstat after the open closes the
	 * race with a swap in between. */
	if (fstatat(dfd, "control", &st, AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (!S_ISFIFO(st.st_mode))
		return -EINVAL;
	/* Non-blocking open for writing fails with ENXIO when nobody has it open for
	 * reading: the daemon is gone. */
	fd = openat(dfd, "control", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ELOOP ? -EINVAL : -errno;
	if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	err = write(fd, msg, (size_t)len) == len ? 0 : -(errno ? errno : EIO);
	close(fd);
	return err;
}
