/* The keeper: the half of the daemon that never reads the image (cmd/daemon/daemon.h).
 *
 * It takes the state directory and its life lock, opens the log, the control FIFO and the
 * source, forks the server and then runs one poll loop over: the server's socket (its log
 * lines and its reports), the server's stderr, its pidfd, the control FIFO, the stop
 * signals, and the ready thread. The life of a view, as the loop sees it:
 *
 *   server says OPENED (image good, --require found)  -> mount, send it the FUSE fd
 *   server says SERVING                               -> ready thread stats the mount
 *   ready thread says the root answered               -> state ready, --ready-fd line,
 *                                                        the caller is released
 *   "stop", SIGTERM/SIGINT/SIGHUP                     -> unmount, server stopped (killed
 *                                                        past a grace period), stopped
 *   the server exits by itself (unmounted from outside, or died) -> unmount what is left,
 *                                                        stopped or failed
 *
 * What the server sends is untrusted (chan.h): it only fills state.json fields and log
 * lines, bounded, and picks which --require'd index to report on. */
#include "cmd/daemon/keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blockio/dm.h"
#include "blockio/mounts.h"
#include "blockio/source.h"
#include "cmd/cmd.h"
#include "cmd/daemon/chan.h"
#include "cmd/daemon/logfile.h"
#include "util/log.h"
#include "state/control.h"
#include "state/lock.h"
#include "state/mnt.h"
#include "state/proc.h"
#include "state/state.h"

/* After "stop", how long the server gets to exit before it is killed (it only has to
 * _exit: it holds nothing that needs flushing). */
#define BV_KEEPER_STOP_GRACE_MS 2000

/* Copies an untrusted string into a field, cut at the field's size. */
static void field_set(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Records STATUS (and ERR) in state.json when there is a state directory. "ready" is
 * written only over "starting": a stop that came first wins. */
void bv_keeper_state_set(struct keeper *k, enum bv_state_status status, const char *err)
{
	int e;

	if (status == BV_STATE_READY && k->st->status != BV_STATE_STARTING)
		return;
	k->st->status = status;
	if (err)
		snprintf(k->st->error, sizeof(k->st->error), "%s", err);
	e = k->have_state ? bv_state_write(k->dfd, k->st) : 0;
	if (e)
		bv_err("cannot write %s/state.json: %s", k->mc->state_dir_arg, strerror(-e));
}

/* Logs MSG (on the caller's stderr too, until ready), keeps it as the reason the start
 * failed, and reports it on --ready-fd. */
void bv_keeper_fail(struct keeper *k, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bv_err("%s", msg);
	if (!k->failure[0])
		snprintf(k->failure, sizeof(k->failure), "%s", msg);
	bv_keeper_ready_fd_report(k, msg);
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Closes every descriptor inherited from whoever started us but stdio and KEEP: a shim's
 * pipes and sockets must not be held open by a daemon that outlives its call. */
static void fds_close_inherited(int *keep, unsigned n)
{
	unsigned lo = 3;

	qsort(keep, n, sizeof(*keep), int_cmp);
	for (unsigned i = 0; i < n; i++) {
		if (keep[i] < (int)lo)
			continue;
		if ((unsigned)keep[i] > lo)
			close_range(lo, (unsigned)keep[i] - 1, 0);
		lo = (unsigned)keep[i] + 1;
	}
	close_range(lo, ~0u, 0);
}

/* Whatever the starter did to signals (ignored, blocked, handled: a shim's runtime may
 * leave any of these) must not reach the daemon: every disposition back to the default,
 * nothing blocked, then SIGPIPE ignored and the stop signals blocked for the signalfd. */
static void signals_reset(sigset_t *stopsigs)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	pthread_sigmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(stopsigs);
	sigaddset(stopsigs, SIGTERM);
	sigaddset(stopsigs, SIGINT);
	sigaddset(stopsigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, stopsigs, NULL);
}

/* ---- the server ---- */

static int server_start(struct keeper *k)
{
	int sv[2], ep[2], devnull;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -errno;
	if (pipe2(ep, O_CLOEXEC) != 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(sv[0]), close(sv[1]), close(ep[0]), close(ep[1]);
		if (devnull >= 0)
			close(devnull);
		return err;
	}
	if (pid == 0) {
		/* stdin and stdout on /dev/null, stderr to the keeper: the server holds none of
		 * the caller's descriptors. */
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
		}
		dup2(ep[1], STDERR_FILENO);
		bv_server_main(k->mc, k->src, sv[1], k->lock_fd);
	}
	close(sv[1]);
	close(ep[1]);
	if (devnull >= 0)
		close(devnull);
	k->server = pid;
	k->chan = sv[0];
	k->errpipe = ep[0];
	fcntl(k->errpipe, F_SETFL, O_NONBLOCK);
	k->st->server_pid = pid;
	k->server_pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (k->server_pidfd < 0)
		return -errno;
	/* The keeper never reads the image: the server has the only use for the source. */
	bv_source_close(k->src);
	k->src = NULL;
	return 0;
}

/* Waits up to TIMEOUT_MS for the server to exit, then kills it; reaps it. */
static void server_end(struct keeper *k, int timeout_ms)
{
	struct pollfd p = { .fd = k->server_pidfd, .events = POLLIN };

	if (k->server <= 0 || k->server_exited)
		return;
	while (poll(&p, 1, timeout_ms) < 0 && errno == EINTR)
		;
	if (!(p.revents & POLLIN)) {
		bv_warn("the server did not exit in %d ms: killing it", timeout_ms);
		syscall(SYS_pidfd_send_signal, k->server_pidfd, SIGKILL, NULL, 0);
	}
	while (waitpid(k->server, &k->server_status, 0) < 0 && errno == EINTR)
		;
	k->server_exited = true;
}

/* ---- the loop ---- */

/* A BOOTVIEWFS_STATS_FILE line for the benchmark: the server's counters and peak RSS, and
 * the keeper's. */
static void stats_write(const struct bv_chan_msg *m)
{
	const char *path = getenv("BOOTVIEWFS_STATS_FILE");
	char line[256];
	FILE *f;
	unsigned long long keeper_kb = 0;

	bv_info("requests: %llu reads (%llu bytes), %llu lookups, %llu getattrs, %llu readdirs, "
		"%llu getxattrs", (unsigned long long)m->v[0], (unsigned long long)m->v[1],
		(unsigned long long)m->v[2], (unsigned long long)m->v[3],
		(unsigned long long)m->v[4], (unsigned long long)m->v[5]);
	if (!path || !*path)
		return;
	f = fopen("/proc/self/status", "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %llu", &keeper_kb) == 1)
			break;
	if (f)
		fclose(f);
	f = fopen(path, "ae");
	if (!f)
		return;
	fprintf(f,
		"reads=%llu read_bytes=%llu lookups=%llu getattrs=%llu readdirs=%llu "
		"getxattrs=%llu vmhwm_kb=%llu keeper_vmhwm_kb=%llu\n",
		(unsigned long long)m->v[0], (unsigned long long)m->v[1],
		(unsigned long long)m->v[2], (unsigned long long)m->v[3],
		(unsigned long long)m->v[4], (unsigned long long)m->v[5],
		(unsigned long long)m->v[6], keeper_kb);
	fclose(f);
}

static void on_opened(struct keeper *k, const struct bv_chan_msg *m)
{
	int fd;

	field_set(k->st->fs.type, sizeof(k->st->fs.type), m->s1);
	field_set(k->st->fs.uuid, sizeof(k->st->fs.uuid), m->s2);
	field_set(k->st->fs.journal, sizeof(k->st->fs.journal), m->text);
	k->st->fs.block_size = (uint32_t)m->v[0];
	k->root_ino = m->v[1];
	k->opened = true;
	if (k->mc->nrequire != k->st->nartifacts) {
		bv_keeper_fail(k, "the server reported %u of %u required paths", k->st->nartifacts,
			 k->mc->nrequire);
		return;
	}
	if (k->mc->fake) {
		/* mount(8)'s -f: everything checked, nothing mounted. */
		bv_chan_send_text(k->chan, BV_CHAN_STOP, 0, NULL, 0);
		k->stopping = true;
		k->stop_deadline = now_ms() + BV_KEEPER_STOP_GRACE_MS;
		return;
	}
	if (k->premounted_fd >= 0)
		fd = dup(k->premounted_fd);
	else
		fd = bv_keeper_mount(k);
	if (fd < 0) {
		if (!k->failure[0])
			bv_keeper_fail(k, "cannot mount: %s", strerror(-fd));
		return;
	}
	bv_keeper_state_set(k, BV_STATE_STARTING, NULL);
	if (bv_chan_send(k->chan, &(struct bv_chan_msg){ .type = BV_CHAN_FUSE_FD }, fd, 0))
		bv_keeper_fail(k, "cannot hand the FUSE fd to the server: %s", strerror(errno));
	/* Ours closed: when the server dies, so does the connection. */
	close(fd);
	if (k->premounted_fd >= 0) {
		close(k->premounted_fd);
		k->premounted_fd = -1;
	}
}

static void on_serving(struct keeper *k)
{
	int err;

	k->serving = true;
	if (!k->mnt) {
		/* Pre-mounted: no path to look at. INIT is queued on the fd already and the
		 * server answers it first; a request sent now only waits for that. */
		bv_keeper_on_ready(k);
		return;
	}
	k->ready_chan = fcntl(k->chan, F_DUPFD_CLOEXEC, 0);
	err = k->ready_chan < 0 ? errno : pthread_create(&k->ready_thread, NULL, bv_keeper_ready_main, k);
	if (err) {
		bv_keeper_fail(k, "cannot start a thread: %s", strerror(err));
		return;
	}
	k->ready_started = true;
}

/* One record from the server. Returns 1, or 0 once the server's end is closed (our end
 * is then closed too), or -errno. */
static int on_chan(struct keeper *k)
{
	struct bv_chan_msg m;
	int r = k->chan >= 0 ? bv_chan_recv(k->chan, &m, NULL) : 0;

	if (r == 0 && k->chan >= 0) {
		close(k->chan);
		k->chan = -1;
	}
	if (r <= 0) {
		if (r == -EBADMSG)
			bv_warn("the server sent a malformed record: dropped");
		return r;
	}
	switch (m.type) {
	case BV_CHAN_LOG:
		/* One line each: a newline from the server must not forge a line of ours. */
		for (char *c = m.text; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
		bv_log(m.arg <= BV_LOG_DEBUG ? (enum bv_log_level)m.arg : BV_LOG_DEBUG, "%s",
		       m.text);
		break;
	case BV_CHAN_ARTIFACT:
		if (k->opened || m.arg != k->st->nartifacts || m.arg >= k->mc->nrequire)
			break; /* in order, once each, before OPENED */
		snprintf(k->st->artifacts[m.arg].path, sizeof(k->st->artifacts[m.arg].path), "%s",
			 k->mc->require[m.arg]);
		k->st->artifacts[m.arg].size = m.v[0];
		k->st->artifacts[m.arg].ino = (uint32_t)m.v[1];
		k->st->nartifacts = m.arg + 1;
		break;
	case BV_CHAN_OPENED:
		if (!k->opened && !k->stopping)
			on_opened(k, &m);
		break;
	case BV_CHAN_FAILED:
		bv_keeper_fail(k, "%s", m.text);
		break;
	case BV_CHAN_SERVING:
		if (k->opened && !k->serving && !k->stopping && !k->failure[0])
			on_serving(k);
		break;
	case BV_CHAN_STATS:
		stats_write(&m);
		break;
	default:
		break;
	}
	return 1;
}

/* The server's stderr (a sanitizer report, a libc abort message): logged line by line. */
static void on_errpipe(struct keeper *k)
{
	char buf[512];
	ssize_t n;

	while ((n = read(k->errpipe, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			bool full = k->errlen == sizeof(k->errline) - 1;

			if (buf[i] != '\n' && !full) {
				k->errline[k->errlen++] = buf[i];
				continue;
			}
			k->errline[k->errlen] = '\0';
			for (size_t j = 0; j < k->errlen; j++)
				if ((unsigned char)k->errline[j] < 0x20 || k->errline[j] == 0x7f)
					k->errline[j] = '?';
			bv_warn("server: %s", k->errline);
			k->errlen = 0;
			if (full && buf[i] != '\n')
				k->errline[k->errlen++] = buf[i];
		}
	}
	if (n == 0) {
		close(k->errpipe);
		k->errpipe = -1;
	}
}

static void on_server_exit(struct keeper *k)
{
	while (waitpid(k->server, &k->server_status, 0) < 0 && errno == EINTR)
		;
	k->server_exited = true;
	if (k->stopping)
		return;
	if (WIFSIGNALED(k->server_status) &&
	    (WTERMSIG(k->server_status) == SIGTERM || WTERMSIG(k->server_status) == SIGINT ||
	     WTERMSIG(k->server_status) == SIGHUP)) {
		/* Whoever found the process holding the device and asked it to end meant the
		 * view to end: a stop, not a failure. */
		bv_info("the server was ended by signal %d: stopping", WTERMSIG(k->server_status));
		k->stopping = true;
	} else if (WIFSIGNALED(k->server_status)) {
		bv_keeper_fail(k, "the server process died of signal %d (%s)", WTERMSIG(k->server_status),
			 strsignal(WTERMSIG(k->server_status)));
	} else if (!k->ready && !k->failure[0]) {
		bv_keeper_fail(k, "the server process exited (status %d) before the mount was ready",
			 WEXITSTATUS(k->server_status));
	} else if (WEXITSTATUS(k->server_status) != 0 && !k->failure[0]) {
		bv_keeper_fail(k, "the server process exited with status %d",
			 WEXITSTATUS(k->server_status));
	} else if (k->mounted && bv_keeper_mount_present(k)) {
		/* The server's loop ends when the connection does: aborted through fusectl,
		 * the mount itself is still there, dead; unmounted below. */
		bv_info("the FUSE connection was aborted: unmounting");
	} else {
		bv_info("the connection ended (unmounted from outside)");
		k->mounted = false;
	}
}

static void stop_begin(struct keeper *k, const char *why)
{
	if (k->stopping)
		return;
	bv_info("%s: stopping", why);
	k->stopping = true;
	if (k->ready)
		bv_keeper_state_set(k, BV_STATE_STOPPING, NULL);
	/* Unmount first: the server's requests in flight then fail rather than a client
	 * seeing a dead connection at a mountpoint. */
	bv_keeper_unmount(k);
	if (!k->server_exited)
		bv_chan_send_text(k->chan, BV_CHAN_STOP, 0, NULL, 1);
	k->stop_deadline = now_ms() + BV_KEEPER_STOP_GRACE_MS;
}

/* Serves until the view ends. */
static void loop(struct keeper *k)
{
	for (;;) {
		struct pollfd p[6] = {
			{ .fd = k->chan, .events = POLLIN },
			{ .fd = k->errpipe, .events = POLLIN },
			{ .fd = k->server_exited ? -1 : k->server_pidfd, .events = POLLIN },
			{ .fd = k->sig_fd, .events = POLLIN },
			{ .fd = k->control_fd, .events = POLLIN },
			{ .fd = k->ready_ev[0], .events = POLLIN },
		};
		int timeout = -1;

		if (k->server_exited || (k->failure[0] && !k->stopping)) {
			if (!k->server_exited) {
				/* A failed start: the server has nothing more to say. */
				k->stopping = true;
				bv_keeper_unmount(k);
				bv_chan_send_text(k->chan, BV_CHAN_STOP, 0, NULL, 1);
				server_end(k, BV_KEEPER_STOP_GRACE_MS);
			}
			break;
		}
		if (k->stopping) {
			/* The server was told to stop: it gets the grace period, no more. */
			int64_t left = k->stop_deadline - now_ms();

			if (left <= 0) {
				server_end(k, 0);
				break;
			}
			timeout = (int)left;
		}
		if (poll(p, 6, timeout) < 0) {
			if (errno == EINTR)
				continue;
			bv_err("poll: %s", strerror(errno));
			break;
		}
		if (p[0].revents)
			on_chan(k);
		if (p[1].revents)
			on_errpipe(k);
		if (p[3].revents) {
			struct signalfd_siginfo si;

			if (read(k->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				char why[64];

				snprintf(why, sizeof(why), "signal %u from pid %u", si.ssi_signo,
					 si.ssi_pid);
				stop_begin(k, why);
			}
		}
		if (p[4].revents) {
			bool stop = false;
			int err = bv_control_drain(k->control_fd, &stop);

			if (err)
				bv_err("control: %s", strerror(-err));
			if (stop)
				stop_begin(k, "\"stop\" on the control FIFO");
		}
		if (p[5].revents) {
			char c;

			if (read(k->ready_ev[0], &c, 1) == 1 && !k->stopping && !k->failure[0]) {
				if (k->ready_errno == EPROTO)
					bv_keeper_fail(k, "%s does not show the image's root after mounting",
						 k->mnt);
				else if (k->ready_errno)
					bv_keeper_fail(k, "mount on %s does not answer: %s", k->mnt,
						 strerror(k->ready_errno));
				else
					bv_keeper_on_ready(k);
			}
		}
		if (p[2].revents & POLLIN) {
			/* Drain what it said last (its failure sentence, its stats) first. */
			while (on_chan(k) > 0)
				;
			if (k->errpipe >= 0)
				on_errpipe(k);
			on_server_exit(k);
		}
	}
}

/* Once the server is forked (it needed CAP_SETUID and CAP_SETGID to become nobody), the
 * keeper keeps of its capabilities only what its own work takes: CAP_SYS_ADMIN to mount
 * and unmount, CAP_KILL to end the server (another uid), CAP_DAC_READ_SEARCH to look up the
 * required files through the mount whatever the image's modes. Files it writes are its
 * own; the bounding set is left alone, so that the setuid fusermount3 still works. A
 * keeper without capabilities (a user) has nothing to trim. Defence in depth: the keeper
 * reads no byte of the image. */
static void caps_trim(void)
{
	static const unsigned keep[] = { CAP_SYS_ADMIN, CAP_KILL, CAP_DAC_READ_SEARCH };
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct cur[_LINUX_CAPABILITY_U32S_3], want[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, cur) != 0)
		return;
	memset(want, 0, sizeof(want));
	for (unsigned i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		unsigned w = CAP_TO_INDEX(keep[i]), bit = CAP_TO_MASK(keep[i]);

		want[w].permitted |= cur[w].permitted & bit;
		want[w].effective |= cur[w].permitted & bit;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		bv_debug("clearing the ambient set: %s", strerror(errno));
	if (syscall(SYS_capset, &hdr, want) != 0)
		bv_warn("cannot drop the keeper's capabilities: %s", strerror(errno));
}

/* ---- the whole life ---- */

int bv_keeper_run(struct bv_mount_cmd *mc, int ready_pipe)
{
	struct keeper k = { .mc = mc, .dfd = -1, .lock_fd = -1, .control_fd = -1, .sig_fd = -1,
			    .ready_pipe = ready_pipe, .log = { .fd = -1, .dfd = -1 },
			    .mnt_fd = -1, .premounted_fd = -1, .parent_fd = -1, .conn_fd = -1,
			    .server_pidfd = -1, .chan = -1, .errpipe = -1, .ready_chan = -1,
			    .ready_ev = { -1, -1 } };
	int keep[3] = { mc->ready_fd, ready_pipe, bv_keeper_premounted_fd(mc->mountpoint) };
	sigset_t stopsigs;
	int status = BV_EXIT_FAIL;

	signals_reset(&stopsigs);
	if (!mc->fake)
		fds_close_inherited(keep, 3);
	/* Nothing we exec (fusermount3) may hold the ready fd: EOF on it must mean we died. */
	if (mc->ready_fd >= 0)
		fcntl(mc->ready_fd, F_SETFD, FD_CLOEXEC);
	k.st = calloc(1, sizeof(*k.st));
	if (!k.st) {
		bv_keeper_fail(&k, "out of memory");
		goto out;
	}
	bv_state_init(k.st);
	k.st->pid = getpid();
	k.st->uid = geteuid();
	if (bv_proc_start_time(k.st->pid, &k.st->start_time) != 0 ||
	    bv_proc_boot_id(k.st->boot_id) != 0)
		bv_debug("cannot read this process's start time or the boot id");
	k.st->started_at = (int64_t)time(NULL);
	if (mc->id)
		snprintf(k.st->id, sizeof(k.st->id), "%s", mc->id);
	snprintf(k.st->mountpoint, sizeof(k.st->mountpoint), "%s", mc->mountpoint);

	if (mc->state_dir_arg && !mc->fake && bv_keeper_state_dir_take(&k))
		goto out;
	if (bv_keeper_mountpoint_take(&k) || bv_keeper_source_take(&k))
		goto out;
	bv_keeper_state_set(&k, BV_STATE_STARTING, NULL);
	k.sig_fd = signalfd(-1, &stopsigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (k.sig_fd < 0 || pipe2(k.ready_ev, O_CLOEXEC) != 0) {
		bv_keeper_fail(&k, "signalfd: %s", strerror(errno));
		goto out;
	}
	if (!mc->foreground && chdir("/") != 0)
		bv_debug("chdir /: %s", strerror(errno));
	{
		int err = server_start(&k);

		if (err) {
			bv_keeper_fail(&k, "cannot start the server process: %s", strerror(-err));
			goto out;
		}
	}
	caps_trim();
	loop(&k);
	/* Stopped on request (even if the server had to be killed), or ended cleanly by an
	 * unmount from outside. */
	if (k.server_exited && !k.failure[0] &&
	    (k.stopping ||
	     (WIFEXITED(k.server_status) && WEXITSTATUS(k.server_status) == 0)))
		status = BV_EXIT_OK;
out:
	if (k.server > 0 && !k.server_exited) {
		bv_chan_send_text(k.chan, BV_CHAN_STOP, 0, NULL, 1);
		server_end(&k, BV_KEEPER_STOP_GRACE_MS);
	}
	bv_keeper_unmount(&k);
	if (k.ready_started)
		pthread_join(k.ready_thread, NULL);
	if (k.ready_chan >= 0)
		close(k.ready_chan);
	bv_keeper_mountpoint_remove(&k);
	bv_source_close(k.src);
	if (k.control_fd >= 0) {
		close(k.control_fd);
		unlinkat(k.dfd, "control", 0);
	}
	if (status == BV_EXIT_OK && k.src_abs && !mc->fake) {
		if (k.st->fstype[0] || k.serving)
			bv_info("stopped: %s unmounted, %s closed", k.mnt ? k.mnt : mc->mountpoint,
				k.src_abs);
		else
			bv_info("stopped: %s closed; nothing was mounted (stopped while starting)",
				k.src_abs);
	}
	if (k.st && k.have_state) {
		/* The device is closed (the server is gone): only now may state.json say so. */
		if (status == BV_EXIT_OK)
			bv_keeper_state_set(&k, BV_STATE_STOPPED, NULL);
		else
			bv_keeper_state_set(&k, BV_STATE_FAILED, k.failure[0] ? k.failure : "failed");
	}
	if (!k.failure[0] && status != BV_EXIT_OK)
		bv_keeper_fail(&k, "failed");
	bv_keeper_ready_fd_report(&k, status == BV_EXIT_OK ? "stopped" : "failed");
	if (k.ready_pipe >= 0)
		close(k.ready_pipe);
	bv_log_set_sink(NULL, NULL);
	bv_logfile_close(&k.log);
	for (int *fd = (int[]){ k.sig_fd, k.chan, k.errpipe, k.server_pidfd, k.mnt_fd,
				k.parent_fd, k.ready_ev[0], k.ready_ev[1], k.premounted_fd, k.conn_fd, -2 };
	     *fd != -2; fd++)
		if (*fd >= 0)
			close(*fd);
	/* The lock goes last: once it is free, `stop` may take everything as over. */
	if (k.lock_fd >= 0)
		close(k.lock_fd);
	if (k.dfd >= 0)
		close(k.dfd);
	free(k.st);
	free(k.mnt);
	free(k.src_abs);
	if (k.spec) {
		mc->source = NULL;
		free(k.spec);
	}
	return status;
}
