/* The keeper's readiness: the ready thread that looks at the mount through the kernel,
 * and what "ready" then means for state.json, the --ready-fd line and the caller. */
#include "cmd/daemon/keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <syslog.h>
#include <unistd.h>

#include "cmd/daemon/chan.h"
#include "util/log.h"

/* The kernel caps a FUSE mount's readahead at what INIT offered (128 KiB); root can raise
 * the bdi's read_ahead_kb afterwards so sequential reads arrive as 1 MiB requests. */
#define BV_KEEPER_READ_AHEAD_KB 1024

static void readahead_raise(dev_t dev)
{
	char path[64], val[16];
	int fd, n;

	/* The bdi of a FUSE mount is named after its anonymous device, 0:NN. */
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", major(dev),
		 minor(dev));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		bv_debug("%s: %s (readahead left as the kernel set it)", path, strerror(errno));
		return;
	}
	n = snprintf(val, sizeof(val), "%d\n", BV_KEEPER_READ_AHEAD_KB);
	if (write(fd, val, (size_t)n) != n)
		bv_debug("%s: %s", path, strerror(errno));
	close(fd);
}

/* --ready-fd: one JSON line, then the fd is closed. ERR NULL means ready. The fd is made
 * non-blocking first: a caller that never reads it (a full pipe) cannot stall us. */
void bv_keeper_ready_fd_report(struct keeper *k, const char *err)
{
	struct bv_mount_cmd *mc = k->mc;
	json_t *o, *arts;
	char *text;
	int fd = mc->ready_fd;

	if (fd < 0)
		return;
	mc->ready_fd = -1;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (err) {
		o = json_pack("{s:s,s:s}", "status", "error", "error", err);
	} else {
		arts = json_array();
		for (unsigned i = 0; arts && i < k->st->nartifacts; i++)
			json_array_append_new(arts,
					      json_pack("{s:s,s:I,s:I}", "path",
							k->st->artifacts[i].path, "size",
							(json_int_t)k->st->artifacts[i].size, "ino",
							(json_int_t)k->st->artifacts[i].ino));
		o = json_pack("{s:s,s:i,s:s,s:s,s:o}", "status", "ready", "pid", (int)getpid(),
			      "mountpoint", k->mnt ? k->mnt : mc->mountpoint, "fs", k->st->fs.type,
			      "artifacts", arts);
	}
	text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (text) {
		/* One write: a reader sees the whole line or, if we die, none of it. */
		size_t len = strlen(text);
		char *line = malloc(len + 2);

		if (line) {
			memcpy(line, text, len);
			line[len] = '\n';
			if (write(fd, line, len + 1) != (ssize_t)(len + 1))
				bv_warn("--ready-fd: %s", errno == EAGAIN ? "the reader's pipe is full"
									 : strerror(errno));
			free(line);
		}
		free(text);
	}
	close(fd);
}

/* Readiness is a stat(2) of the mount root from this thread: it goes through the kernel
 * like a client's, so it waits until FUSE_INIT has been answered and then for the
 * server's GETATTR reply. When it returns the root inode, a stat from the next line of the
 * caller's script is bound to work. A server that never answers blocks only this thread;
 * the loop still obeys "stop". Then each --require'd file is looked up the same way, and
 * the server is asked to push it into the page cache if the kernel landed on the very
 * inode the image resolved (a symlink in the path is followed by the kernel on the host
 * side of the mount, never trusted). */
void *bv_keeper_ready_main(void *arg)
{
	struct keeper *k = arg;
	struct stat st;

	k->ready_errno = 0;
	if (stat(k->mnt, &k->ready_st) != 0)
		k->ready_errno = errno;
	else if (k->ready_st.st_dev == k->mnt_dev_before || major(k->ready_st.st_dev) != 0 ||
		 k->ready_st.st_ino != k->root_ino)
		k->ready_errno = EPROTO;
	if (write(k->ready_ev[1], "r", 1) != 1 || k->ready_errno)
		return NULL;
	for (unsigned i = 0; i < k->st->nartifacts; i++) {
		char path[PATH_MAX];

		if (snprintf(path, sizeof(path), "%s/%s", k->mnt, k->mc->require[i]) >=
		    (int)sizeof(path))
			continue;
		if (stat(path, &st) != 0 || st.st_dev != k->ready_st.st_dev ||
		    st.st_ino != k->st->artifacts[i].ino || !S_ISREG(st.st_mode))
			continue;
		if (bv_chan_send_text(k->ready_chan, BV_CHAN_PREFETCH, i, NULL, 0))
			break;
	}
	return NULL;
}

/* Points stdin, stdout and stderr at /dev/null. */
static void stdio_detach(void)
{
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (devnull < 0)
		return;
	dup2(devnull, STDIN_FILENO);
	dup2(devnull, STDOUT_FILENO);
	dup2(devnull, STDERR_FILENO);
	if (devnull > STDERR_FILENO)
		close(devnull);
}

void bv_keeper_on_ready(struct keeper *k)
{
	k->ready = true;
	if (k->mnt) {
		/* /sys/fs/fuse/connections/N is named after the superblock's device number;
		 * FUSE superblocks are anonymous devices (major 0), so N is the minor. */
		k->st->fuse_conn = (int)minor(k->ready_st.st_dev);
		readahead_raise(k->ready_st.st_dev);
	}
	bv_info("serving %s at %s", k->src_abs, k->mnt ? k->mnt : k->mc->mountpoint);
	/* state.json first: whoever reads the ready line may look at it at once. */
	bv_keeper_state_set(k, BV_STATE_READY, NULL);
	bv_keeper_ready_fd_report(k, NULL);
	if (k->ready_pipe >= 0) {
		/* Detach before telling the caller, so whoever waits on our stdout or stderr
		 * (a $(...) or a pipe) sees EOF when the caller exits. */
		if (!k->have_state) {
			openlog("bootviewfs", LOG_PID, LOG_DAEMON);
			bv_log_set_sink(bv_logfile_syslog_sink, NULL);
		}
		atomic_store(&k->log.tee_stderr, false);
		stdio_detach();
		if (write(k->ready_pipe, "R", 1) != 1)
			bv_err("cannot tell the caller the mount is ready: %s", strerror(errno));
		close(k->ready_pipe);
		k->ready_pipe = -1;
	}
}

