#include "state/lock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* A process with more descriptors than this is not a bootviewfs daemon (it holds a dozen):
 * bv_lock_pid_holds gives up rather than walk an arbitrary pid's table without end. */
#define PID_FDS_MAX 65536

int bv_lock_life_take(int dfd)
{
	int fd, err;

	/* A new open file description of the directory, not a dup of DFD: flock belongs to
	 * the description, and the daemon's processes must share exactly this one. */
	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		err = errno == EWOULDBLOCK ? -EWOULDBLOCK : -errno;
		close(fd);
		return err;
	}
	return fd;
}

bool bv_lock_life_is_held(int dfd)
{
	bool held;
	int fd;

	fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	/* Shared: a stranger's shared lock (anyone who may open the directory can take one)
	 * does not pass for the daemon's exclusive one. */
	held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd); /* releases our shared lock if we got it */
	return held;
}

/* True when /proc/PID/fdinfo/FD lists an exclusive flock held through that descriptor.
 * The kernel lists there only the locks whose owner is this very open file description,
 * so a process that merely has the directory open shows none. */
static bool fdinfo_has_flock(int fdinfo_dfd, const char *fd)
{
	char buf[4096], *p;
	ssize_t n;
	int f;

	f = openat(fdinfo_dfd, fd, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (f < 0)
		return false;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* "lock:\t1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" */
	for (p = buf; (p = strstr(p, "lock:")) != NULL; p++) {
		char *eol = strchr(p, '\n'), *flock_at = strstr(p, " FLOCK "),
		     *write_at = strstr(p, " WRITE ");

		if ((p == buf || p[-1] == '\n') && flock_at && write_at &&
		    (!eol || (flock_at < eol && write_at < eol)))
			return true;
	}
	return false;
}

bool bv_lock_pid_holds(pid_t pid, int dfd)
{
	char path[64];
	struct stat dir;
	struct dirent *de;
	unsigned seen = 0;
	bool holds = false;
	int fdinfo_dfd;
	DIR *fds;

	if (pid <= 0 || fstat(dfd, &dir) != 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	fds = opendir(path);
	if (!fds)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)pid);
	fdinfo_dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fdinfo_dfd < 0)
		goto close_fds;
	while (!holds && (de = readdir(fds)) != NULL && seen++ < PID_FDS_MAX) {
		struct statx stx;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		/* The link is followed (it names the open file itself) but with
		 * AT_STATX_DONT_SYNC: a descriptor on a hung FUSE or network mount answers from
		 * the cache instead of blocking us. */
		if (statx(dirfd(fds), de->d_name, AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO,
			  &stx) != 0)
			continue;
		if (!S_ISDIR(stx.stx_mode) || stx.stx_ino != dir.st_ino ||
		    makedev(stx.stx_dev_major, stx.stx_dev_minor) != dir.st_dev)
			continue;
		holds = fdinfo_has_flock(fdinfo_dfd, de->d_name);
	}
	close(fdinfo_dfd);
close_fds:
	closedir(fds);
	return holds;
}

int bv_lock_stop_take(int dfd, int wait_ms)
{
	struct stat st;
	int fd, err;

	/* O_NONBLOCK: a FIFO planted as stop.lock must not hang the open; it is refused
	 * below. O_NOFOLLOW: nor may a symlink lead us to lock (or create) a file elsewhere. */
	fd = openat(dfd, "stop.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
		    0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		err = -errno;
		goto close_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto close_fd;
	}
	if (wait_ms < 0) {
		while (flock(fd, LOCK_EX) != 0) {
			if (errno != EINTR) {
				err = -errno;
				goto close_fd;
			}
		}
		return fd;
	}
	/* flock has no timeout: try, and between tries wait in 10 ms steps up to the limit.
	 * A holder that exits releases the lock at once, so the wait is short. */
	for (int waited = 0;; waited += 10) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			err = -errno;
			goto close_fd;
		}
		if (waited >= wait_ms) {
			err = -EWOULDBLOCK;
			goto close_fd;
		}
		poll(NULL, 0, 10);
	}
close_fd:
	close(fd);
	return err;
}
