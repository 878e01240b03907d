#include "state/stop.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fs/log.h"
#include "state/control.h"
#include "state/lock.h"
#include "state/proc.h"
#include "state/state.h"

/* After an abort or a SIGKILL the kernel releases the daemon's flock as soon as the
 * process is gone; this bounds how long we wait for that before reporting failure. */
#define AFTER_KILL_WAIT_MS 5000

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Decodes the octal escapes (\040 for a space, ...) mountinfo uses in paths, in place. */
static void unescape_mountinfo(char *s)
{
	char *out = s;

	for (char *in = s; *in; in++) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' &&
		    in[3] >= '0' && in[3] <= '7') {
			*out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 3;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
}

bool bv_is_mounted(const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (!f)
		return false;
	while (!found && getline(&line, &cap, f) > 0) {
		/* Field 5 is the mount point: "ID PARENT MAJ:MIN ROOT MOUNTPOINT ..." */
		char *save = NULL, *tok = strtok_r(line, " ", &save);
		for (int field = 1; tok && field < 5; field++)
			tok = strtok_r(NULL, " ", &save);
		if (!tok)
			continue;
		unescape_mountinfo(tok);
		found = strcmp(tok, path) == 0;
	}
	free(line);
	fclose(f);
	return found;
}

static bool view_is_gone(const char *dir, const char *mountpoint)
{
	return !bv_lock_is_held(dir, "lock") && !(mountpoint[0] && bv_is_mounted(mountpoint));
}

/* Waits until the daemon's lock is free (and, with MOUNTPOINT, nothing is mounted there),
 * polling every 10 ms until DEADLINE. */
static bool wait_gone(const char *dir, const char *mountpoint, int64_t deadline)
{
	for (;;) {
		if (view_is_gone(dir, mountpoint))
			return true;
		if (now_ms() >= deadline)
			return false;
		poll(NULL, 0, 10);
	}
}

#define FUSE_CONNECTIONS "/sys/fs/fuse/connections"
#define FUSECTL_SUPER_MAGIC 0x65735543

/* The abort files live in the fusectl filesystem, which systemd mounts at boot but a
 * container or a minimal host may not have: mount it (root only; harmless if it fails). */
static void fusectl_ensure(void)
{
	struct statfs sfs;

	if (statfs(FUSE_CONNECTIONS, &sfs) == 0 && sfs.f_type == FUSECTL_SUPER_MAGIC)
		return;
	if (mount("fusectl", FUSE_CONNECTIONS, "fusectl", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) != 0)
		bv_debug("stop: cannot mount fusectl on %s: %s", FUSE_CONNECTIONS,
			 strerror(errno));
}

static bool abort_connection(int conn)
{
	char path[64];
	int fd;
	bool ok;

	if (conn < 0)
		return false;
	fusectl_ensure();
	snprintf(path, sizeof(path), FUSE_CONNECTIONS "/%d/abort", conn);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ok = write(fd, "1", 1) == 1;
	close(fd);
	return ok;
}

/* True when PID is still the process that wrote ST: same start time, same boot. */
static bool pid_matches(const struct bv_state *st)
{
	char boot_id[40];
	uint64_t start;

	if (st->pid <= 1 || !st->boot_id[0] || st->start_time == 0)
		return false;
	if (bv_proc_boot_id(boot_id) || strcmp(boot_id, st->boot_id) != 0)
		return false;
	return bv_proc_start_time(st->pid, &start) == 0 && start == st->start_time;
}

/* SIGKILL through a pidfd. The identity is checked again after pidfd_open: from then on
 * the pidfd names that process even if the pid is reused, so the signal cannot reach an
 * unrelated process. */
static int kill_daemon(const struct bv_state *st, bool *refused)
{
	int pidfd, err = 0;

	*refused = false;
	if (!pid_matches(st)) {
		*refused = true;
		return -ESRCH;
	}
	pidfd = (int)syscall(SYS_pidfd_open, st->pid, 0);
	if (pidfd < 0)
		return -errno;
	if (!pid_matches(st)) {
		*refused = true;
		err = -ESRCH;
	} else if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0)) {
		err = -errno;
	}
	close(pidfd);
	return err;
}

int bv_stop_run(const char *dir, int timeout_ms, struct bv_stop_report *report)
{
	struct bv_state st;
	char errbuf[256] = "";
	struct stat sb;
	int stop_lock, err;
	bool have_state;
	int64_t deadline;

	memset(report, 0, sizeof(*report));
	if (stat(dir, &sb) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;

	/* One stop at a time: a second one waits, then finds the work done. */
	stop_lock = bv_lock_take(dir, "stop.lock", timeout_ms + AFTER_KILL_WAIT_MS * 2);
	if (stop_lock < 0)
		return stop_lock;
	deadline = now_ms() + timeout_ms;

	err = bv_state_read(dir, &st, errbuf, sizeof(errbuf));
	have_state = err == 0;
	if (err && err != -ENOENT)
		bv_warn("stop: %s; going on with what the lock and mounts say", errbuf);
	if (!have_state)
		bv_state_init(&st);

	report->was_running = bv_lock_is_held(dir, "lock");
	if (report->was_running) {
		err = bv_control_send(dir, "stop");
		if (err && err != -ENXIO && err != -ENOENT)
			bv_warn("stop: cannot write to %s/control: %s", dir, strerror(-err));
		report->graceful = wait_gone(dir, st.mountpoint, deadline);
		/* A daemon that stopped by itself rewrote state.json: a corrupt one read
		 * above is whole again, and names the mountpoint to remove. */
		if (!have_state && report->graceful &&
		    bv_state_read(dir, &st, errbuf, sizeof(errbuf)) == 0)
			have_state = true;
		if (!have_state)
			bv_state_init(&st);
	}

	/* The rungs below run only for what is still there. */
	if (st.mountpoint[0] && bv_is_mounted(st.mountpoint)) {
		if (umount2(st.mountpoint, MNT_DETACH) == 0)
			report->lazy_unmounted = true;
		else
			bv_warn("stop: lazy unmount of %s: %s", st.mountpoint, strerror(errno));
	}
	if (bv_lock_is_held(dir, "lock")) {
		/* A daemon stuck in a request: aborting the connection fails every request in
		 * flight, so it can see the unmount and exit by itself. */
		report->aborted = abort_connection(st.fuse_conn);
		if (report->aborted)
			wait_gone(dir, "", now_ms() + AFTER_KILL_WAIT_MS / 5);
	}
	if (bv_lock_is_held(dir, "lock")) {
		err = kill_daemon(&st, &report->refused_kill);
		if (err == 0) {
			report->killed = true;
			wait_gone(dir, "", now_ms() + AFTER_KILL_WAIT_MS);
		} else if (report->refused_kill) {
			bv_warn("stop: pid %d is not the daemon that wrote %s/state.json "
				"(start time or boot id differ): not signalled",
				(int)st.pid, dir);
		}
	}

	bool alive = bv_lock_is_held(dir, "lock");
	bool mounted = st.mountpoint[0] && bv_is_mounted(st.mountpoint);
	if (!mounted && st.mountpoint[0]) {
		/* rmdir only: never recursive, so a mountpoint that somehow holds files is left
		 * for a person to look at rather than emptied. */
		if (rmdir(st.mountpoint) == 0)
			report->mountpoint_removed = true;
		else if (errno != ENOENT)
			bv_warn("stop: cannot remove %s: %s", st.mountpoint, strerror(errno));
	}
	if (have_state && !alive && st.status != BV_STATE_STOPPED) {
		/* A failed view keeps its status and reason; everything else is now stopped. */
		if (st.status != BV_STATE_FAILED)
			st.status = BV_STATE_STOPPED;
		bv_state_write(dir, &st);
	}
	close(stop_lock);
	if (alive || mounted)
		return -EBUSY;
	return 0;
}
