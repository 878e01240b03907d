#include "cmd/daemon/logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

/* DIR/log is renamed to DIR/log.1 past this size: a daemon lives as long as a container. */
#define BV_LOGFILE_MAX (1u << 20)

static int log_open(int dfd)
{
	struct stat st;
	int fd;

	/* O_NONBLOCK: a FIFO with a reader would otherwise take our lines, one without would
	 * block the open; both are refused below. */
	fd = openat(dfd, "log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
		    0600);
	if (fd < 0)
		return errno == ENXIO ? -EINVAL : -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

int bv_logfile_open(struct bv_logfile *lf, int dfd)
{
	struct stat st;
	int fd = log_open(dfd);

	if (fd < 0)
		return fd;
	lf->dfd = dfd;
	lf->fd = fd;
	lf->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

static void rotate(struct bv_logfile *lf)
{
	int fd;

	/* One old generation is kept: log.1. */
	if (renameat(lf->dfd, "log", lf->dfd, "log.1") != 0)
		return;
	fd = log_open(lf->dfd);
	if (fd < 0)
		return;
	close(lf->fd);
	lf->fd = fd;
	lf->size = 0;
}

/* Called with the log's lock held (fs/log.c), so rotation needs no lock of its own. */
void bv_logfile_sink(enum bv_log_level level, const char *msg, void *ctx)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	struct bv_logfile *lf = ctx;
	char line[1200], stamp[32];
	struct timespec ts;
	struct tm tm;
	int n;

	if (atomic_load(&lf->tee_stderr) && level <= lf->tee_level)
		fprintf(stderr, "bootviewfs: %s\n", msg);
	if (lf->fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line, sizeof(line), "%s.%03ldZ [%d] %s: %s\n", stamp, ts.tv_nsec / 1000000,
		     (int)getpid(), names[level], msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	if (lf->size + (uint64_t)n > BV_LOGFILE_MAX)
		rotate(lf);
	if (write(lf->fd, line, (size_t)n) > 0)
		lf->size += (uint64_t)n;
}

void bv_logfile_syslog_sink(enum bv_log_level level, const char *msg, void *ctx)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

	(void)ctx;
	syslog(prio[level], "%s", msg);
}

void bv_logfile_close(struct bv_logfile *lf)
{
	if (lf->fd >= 0)
		close(lf->fd);
	lf->fd = -1;
}
