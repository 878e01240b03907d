/* `bootviewfs [-f] [-d] [-o OPTS] [--state-dir DIR] [--ready-fd N] [--id NAME]
 *  [--require PATH]... [--export PATH[:PATH...]]... SOURCE MOUNTPOINT` (or `--mounts-json FILE|-
 *  MOUNTPOINT`): serve the ext2/3/4 or xfs filesystem on SOURCE read-only at MOUNTPOINT.
 * Also the mount helper: mount(8) runs `mount.fuse.bootviewfs SOURCE MNT -o OPTS`, and
 * mount.fuse3 runs `bootviewfs SOURCE MNT -o OPTS`.
 *
 * This file starts the daemon (cmd/daemon/daemon.h) once cmd/mount_args.c has parsed the
 * command line. Without -f
 * the command forks at once: the child becomes the daemon's keeper (own session) and the
 * parent only waits for it to say "ready" through a pipe, or for its exit, and returns
 * accordingly, so a script may use the mount on its next line and the keeper's pid is the
 * one state.json names. Until ready the daemon's errors also go to the caller's stderr.
 */
#include "cmd/cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/daemon/daemon.h"
#include "cmd/mount_args.h"
#include "util/log.h"

/* ---- the command ---- */

/* The parent's side of the fork: wait for the daemon's "ready" byte. EOF instead means the
 * daemon failed (it has said why on the shared stderr) and left nothing mounted. */
static int parent_wait(pid_t pid, int rfd)
{
	char c;
	ssize_t n;
	int wstatus;

	do
		n = read(rfd, &c, 1);
	while (n < 0 && errno == EINTR);
	close(rfd);
	if (n == 1 && c == 'R')
		return BV_EXIT_OK;
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0)
		return WEXITSTATUS(wstatus);
	fprintf(stderr, "bootviewfs: the daemon ended before the mount was ready\n");
	return BV_EXIT_FAIL;
}

/* For errors found before there is a daemon: a usage error still answers --ready-fd. */
static void ready_fd_error(struct bv_mount_cmd *mc, const char *msg)
{
	json_t *o;
	char *text;

	if (mc->ready_fd < 0)
		return;
	o = json_pack("{s:s,s:s}", "status", "error", "error", msg);
	text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	fcntl(mc->ready_fd, F_SETFL, fcntl(mc->ready_fd, F_GETFL) | O_NONBLOCK);
	if (text && dprintf(mc->ready_fd, "%s\n", text) < 0)
		fprintf(stderr, "bootviewfs: --ready-fd: %s\n", strerror(errno));
	free(text);
	close(mc->ready_fd);
	mc->ready_fd = -1;
}

int bv_cmd_mount(int argc, char **argv)
{
	struct bv_mount_cmd mc = { .threads = BV_MOUNT_THREADS_DEFAULT, .ready_fd = -1 };
	int status = BV_EXIT_FAIL;
	int pipefd[2] = { -1, -1 };
	int err;

	err = bv_mount_args_parse(&mc, argc, argv);
	if (err) {
		if (err < 0) {
			bv_mount_usage_hint();
			ready_fd_error(&mc, "bad command line");
			status = BV_EXIT_USAGE;
		} else {
			status = BV_EXIT_OK; /* --help */
		}
		goto out;
	}
	if (mc.allow_other && mc.allow_root) {
		fprintf(stderr, "bootviewfs: allow_other and allow_root exclude each other\n");
		bv_mount_usage_hint();
		ready_fd_error(&mc, "allow_other and allow_root exclude each other");
		status = BV_EXIT_USAGE;
		goto out;
	}
	/* allow_other by default where permitted, unless the caller chose allow_root. */
	if (!mc.allow_root)
		mc.allow_other = mc.allow_other || bv_mount_allow_other_permitted();
	if (mc.debug)
		bv_log_set_level(BV_LOG_DEBUG);

	if (!mc.foreground && !mc.fake) {
		pid_t pid;

		if (pipe2(pipefd, O_CLOEXEC) != 0) {
			fprintf(stderr, "bootviewfs: pipe: %s\n", strerror(errno));
			ready_fd_error(&mc, "cannot start: pipe failed");
			goto out;
		}
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, "bootviewfs: fork: %s\n", strerror(errno));
			ready_fd_error(&mc, "cannot start: fork failed");
			goto out;
		}
		if (pid > 0) {
			close(pipefd[1]);
			pipefd[1] = -1;
			/* Only the daemon may hold the ready fd: EOF on it means the daemon died. */
			if (mc.ready_fd >= 0)
				close(mc.ready_fd);
			mc.ready_fd = -1;
			status = parent_wait(pid, pipefd[0]);
			pipefd[0] = -1;
			goto out;
		}
		close(pipefd[0]);
		pipefd[0] = -1;
		/* Own session: the daemon outlives whoever spawned it, and its terminal. */
		setsid();
	}
	status = bv_keeper_run(&mc, pipefd[1]);
	pipefd[1] = -1;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	for (unsigned i = 0; i < mc.nexport_lists; i++)
		free(mc.export_lists[i]);
	free(mc.passthru.s);
	return status;
}
