#include "state/stop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "state/control.h"
#include "state/lock.h"
#include "state/mnt.h"
#include "state/state.h"

/* After an abort or a SIGKILL the kernel releases the daemon's flock as soon as the
 * process is gone; this bounds how long we wait for that before reporting failure. */
#define AFTER_KILL_WAIT_MS 5000

/* One run of the ladder. Everything read from the state directory is a claim to check
 * against the kernel (mountinfo, /proc, the lock), never a fact. */
struct ladder {
	const char *dir;         /* for messages only: all access goes through dfd */
	int dfd;
	struct bv_state st;
	bool have_state;
	struct bv_stop_report *r;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The view's mount as mountinfo shows it: at the recorded mountpoint, with the recorded
 * type and source (and connection, when one was recorded). A state.json that does not say
 * all of that (the old format) names no mount we may touch. */
static bool view_mount_find(const struct bv_state *st, struct bv_mnt_entry *e)
{
	if (!st->mountpoint[0] || !st->fstype[0] || !st->fsname[0])
		return false;
	/* A view is a FUSE mount whatever its subtype: a forged type must not make a tmpfs
	 * or a disk ours to unmount. */
	if (strncmp(st->fstype, "fuse.", 5) != 0 && strcmp(st->fstype, "fuse") != 0)
		return false;
	if (bv_mnt_find(st->mountpoint, st->fstype, st->fsname, e) != 0)
		return false;
	return st->fuse_conn < 0 || (e->major == 0 && e->minor == (unsigned)st->fuse_conn);
}

static bool view_is_mounted(const struct bv_state *st)
{
	struct bv_mnt_entry *e = malloc(sizeof(*e));
	bool found;

	if (!e)
		return true; /* cannot tell: never claim it is gone */
	found = view_mount_find(st, e);
	free(e);
	return found;
}

/* Waits until the life lock is free (and, with MOUNT_TOO, the view's mount is gone),
 * polling every 10 ms until DEADLINE. */
static bool wait_gone(struct ladder *l, bool mount_too, int64_t deadline)
{
	for (;;) {
		if (!bv_lock_life_is_held(l->dfd) && !(mount_too && view_is_mounted(&l->st)))
			return true;
		if (now_ms() >= deadline)
			return false;
		poll(NULL, 0, 10);
	}
}

static bool same_mount(const struct bv_mnt_entry *a, const struct bv_mnt_entry *b)
{
	return a->major == b->major && a->minor == b->minor &&
	       strcmp(a->fstype, b->fstype) == 0 && strcmp(a->source, b->source) == 0;
}

/* Lazily unmounts the view's mount M, unless something else is mounted over it: an
 * unmount by path takes the topmost mount there, which would then not be ours. */
static void view_detach(struct ladder *l, const struct bv_mnt_entry *m)
{
	struct bv_mnt_entry *top = malloc(sizeof(*top));
	int err;

	if (!top)
		return;
	if (bv_mnt_find(m->mountpoint, NULL, NULL, top) != 0 || !same_mount(top, m)) {
		bv_warn("stop: %s: another mount (%s, %s) covers the view's: not unmounting",
			m->mountpoint, top->fstype, top->source);
		goto free_top;
	}
	err = bv_mnt_detach(m->mountpoint);
	if (err == 0)
		l->r->lazy_unmounted = true;
	else
		bv_warn("stop: lazy unmount of %s: %s", m->mountpoint, strerror(-err));
free_top:
	free(top);
}

/* SIGKILL to PID if, and only if, /proc shows it holding the view's life lock. The pidfd
 * is opened before the check: if PID has been reused since, either the check sees the
 * new process (and fails unless it holds the lock) or the old one is gone and the signal
 * through the pidfd fails; it can never land on a process that was not checked.
 * Returns 0, -EPERM when PID does not hold the lock, or -errno. */
static int kill_holder(pid_t pid, int dfd)
{
	int pidfd, err = 0;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -errno;
	if (!bv_lock_pid_holds(pid, dfd))
		err = -EPERM;
	else if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) != 0)
		err = -errno;
	close(pidfd);
	return err;
}

/* Kills the recorded processes (keeper and server) that hold the life lock. */
static void kill_holders(struct ladder *l)
{
	pid_t pids[2] = { l->st.pid, l->st.server_pid };

	for (int i = 0; i < 2; i++) {
		int err;

		if (pids[i] <= 0 || (i == 1 && pids[1] == pids[0]))
			continue;
		err = kill_holder(pids[i], l->dfd);
		if (err == 0) {
			l->r->killed = true;
		} else if (err == -EPERM) {
			l->r->refused_kill = true;
			bv_warn("stop: pid %d named in %s/state.json does not hold the view's "
				"lock: not signalled",
				(int)pids[i], l->dir);
		} else if (err != -ESRCH) {
			bv_warn("stop: cannot kill pid %d: %s", (int)pids[i], strerror(-err));
		}
	}
}

/* rmdir of the mountpoint, only when the view made it and it is still that directory
 * (same device and inode as before the mount) with nothing mounted on it. Relative to
 * the parent's fd, so the checked name is the removed one. Never recursive: a mountpoint
 * that somehow holds files is left for a person to look at. */
static void mountpoint_remove(struct ladder *l)
{
	const struct bv_state *st = &l->st;
	char parent[PATH_MAX], *base;
	struct stat sb;
	int pfd;

	if (!st->mountpoint_created || st->mountpoint[0] != '/' || st->mountpoint_ino == 0 ||
	    bv_mnt_is_mountpoint(st->mountpoint))
		return;
	if (snprintf(parent, sizeof(parent), "%s", st->mountpoint) >= (int)sizeof(parent))
		return;
	base = strrchr(parent, '/');
	if (base == parent) {
		/* "/x": the parent is the root itself */
		memmove(parent + 1, parent, strlen(parent) + 1);
		base = parent + 1;
	}
	*base++ = '\0';
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return;
	pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return;
	if (fstatat(pfd, base, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode) &&
	    (uint64_t)sb.st_dev == st->mountpoint_dev && (uint64_t)sb.st_ino == st->mountpoint_ino) {
		if (unlinkat(pfd, base, AT_REMOVEDIR) == 0)
			l->r->mountpoint_removed = true;
		else
			bv_warn("stop: cannot remove %s: %s", st->mountpoint, strerror(errno));
	}
	close(pfd);
}

/* Aborts the FUSE connection of the view's mount M, found in mountinfo a moment ago. It
 * is aborted while the mount still shows there: a mounted superblock keeps its device
 * number, so the number cannot have passed to another mount in between. A daemon stuck
 * in a request then sees every request fail and can exit by itself. */
static void view_abort(struct ladder *l, struct bv_mnt_entry *m)
{
	int err;

	if (m->major != 0 || !view_mount_find(&l->st, m))
		return;
	err = bv_mnt_conn_abort(m->minor);
	l->r->aborted = err == 0;
	if (err && err != -ENOENT)
		bv_warn("stop: abort of FUSE connection %u: %s", m->minor, strerror(-err));
}

/* The rungs after "stop": abort, unmount, kill, each only for what is still there and
 * proven to be the view's. */
static void ladder_force(struct ladder *l)
{
	struct bv_mnt_entry *m = malloc(sizeof(*m));
	bool found;

	if (!m)
		return;
	found = view_mount_find(&l->st, m);
	/* A daemon still alive past the timeout is stuck: abort before the unmount, which
	 * (with no client holding the mount) destroys the superblock and the connection
	 * number with it. A dead daemon's connection ended with it. */
	if (found && bv_lock_life_is_held(l->dfd))
		view_abort(l, m);
	if (found)
		view_detach(l, m);
	if (l->r->aborted)
		wait_gone(l, false, now_ms() + AFTER_KILL_WAIT_MS / 5);
	if (bv_lock_life_is_held(l->dfd)) {
		kill_holders(l);
		if (l->r->killed)
			wait_gone(l, false, now_ms() + AFTER_KILL_WAIT_MS);
	}
	/* An unmount refused while the daemon lived may go through now. */
	if (!l->r->lazy_unmounted && view_mount_find(&l->st, m))
		view_detach(l, m);
	free(m);
}

int bv_stop_run(const char *dir, int timeout_ms, struct bv_stop_report *report)
{
	struct ladder *l;
	char errbuf[256] = "";
	int stop_lock, dfd, err;
	bool alive, mounted;
	int64_t deadline;

	memset(report, 0, sizeof(*report));
	dfd = bv_state_dir_open(dir, false, false, report->why, sizeof(report->why));
	if (dfd == -ENOENT) {
		report->why[0] = '\0';
		return 0;
	}
	if (dfd < 0)
		return dfd;
	/* One stop at a time: a second one waits, then finds the work done. */
	stop_lock = bv_lock_stop_take(dfd, timeout_ms + AFTER_KILL_WAIT_MS * 2);
	if (stop_lock < 0) {
		err = stop_lock;
		snprintf(report->why, sizeof(report->why), "%s/stop.lock: %s", dir,
			 err == -EINVAL ? "not a regular file: refusing to use it" :
			 err == -EWOULDBLOCK ? "another stop of this view is still running" :
					       strerror(-err));
		goto close_dfd;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		err = -ENOMEM;
		goto close_stop_lock;
	}
	l->dir = dir;
	l->dfd = dfd;
	l->r = report;
	deadline = now_ms() + timeout_ms;

	err = bv_state_read(dfd, &l->st, NULL, NULL, errbuf, sizeof(errbuf));
	l->have_state = err == 0;
	if (err && err != -ENOENT)
		bv_warn("stop: %s/%s; going on with what the lock says", dir, errbuf);

	report->was_running = bv_lock_life_is_held(dfd);
	if (report->was_running) {
		err = bv_control_send(dfd, "stop");
		if (err && err != -ENXIO && err != -ENOENT)
			bv_warn("stop: cannot write to %s/control: %s", dir, strerror(-err));
		report->graceful = wait_gone(l, true, deadline);
	}
	ladder_force(l);

	alive = bv_lock_life_is_held(dfd);
	/* A daemon that ended rewrote state.json as it went: a corrupt one read above is whole
	 * again, and its last word (stopped, or failed and why) is worth keeping. */
	if (!alive && report->was_running &&
	    bv_state_read(dfd, &l->st, NULL, NULL, errbuf, sizeof(errbuf)) == 0)
		l->have_state = true;
	mounted = view_is_mounted(&l->st);
	if (!mounted)
		mountpoint_remove(l);
	if (l->have_state && !alive && l->st.status != BV_STATE_STOPPED &&
	    l->st.status != BV_STATE_FAILED) {
		/* A failed view keeps its status and reason; everything else is now stopped. */
		l->st.status = BV_STATE_STOPPED;
		err = bv_state_write(dfd, &l->st);
		if (err)
			bv_warn("stop: cannot write %s/state.json: %s", dir, strerror(-err));
	}
	err = 0;
	if (alive) {
		err = -EBUSY;
		snprintf(report->why, sizeof(report->why), "%s",
			 report->refused_kill
				 ? "the view's lock is still held, and the pid state.json names does "
				   "not hold it: nothing was signalled"
				 : "the view's daemon still holds its lock");
	} else if (mounted) {
		err = -EBUSY;
		snprintf(report->why, sizeof(report->why), "the view is still mounted at %.400s",
			 l->st.mountpoint);
	}
	free(l);
close_stop_lock:
	close(stop_lock);
close_dfd:
	close(dfd);
	return err;
}
