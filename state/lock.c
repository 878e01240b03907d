#include "state/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

int bv_lock_take(const char *dir, const char *name, int wait_ms)
{
	char path[PATH_MAX];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (wait_ms < 0) {
		while (flock(fd, LOCK_EX) != 0) {
			if (errno != EINTR) {
				int err = -errno;
				close(fd);
				return err;
			}
		}
		return fd;
	}
	/* flock has no timeout: try, and between tries wait in 10 ms steps up to the limit.
	 * A lock holder that exits releases the lock at once, so the wait is short. */
	for (int waited = 0;; waited += 10) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int err = -errno;
			close(fd);
			return err;
		}
		if (waited >= wait_ms) {
			close(fd);
			return -EWOULDBLOCK;
		}
		poll(NULL, 0, 10);
	}
}

bool bv_lock_is_held(const char *dir, const char *name)
{
	char path[PATH_MAX];
	bool held;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return false;
	/* Open without creating: no lock file means nobody ever held it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd); /* releases our shared lock if we got it */
	return held;
}
