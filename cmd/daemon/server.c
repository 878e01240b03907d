/* The server: the only process that reads the image. It is confined before it reads a
 * byte of it (cmd/daemon/sandbox.h), then opens the filesystem, checks --require, builds the
 * --export tree, tells the keeper, and serves FUSE on the fd the keeper mounted. It exits
 * when the keeper says stop or goes away, or when the connection ends; it is never asked
 * to clean anything up: it holds nothing but memory and read-only fds. */
#include "cmd/daemon/daemon.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockio/probe.h"
#include "blockio/source.h"
#include "cmd/daemon/chan.h"
#include "fs/fs.h"
#include "fs/fuse/fuse_ops.h"
#include "util/log.h"
#include "cmd/daemon/sandbox.h"

/* The reader's metadata cache for a mount: the kernel keeps every entry and attribute we
 * send forever, so ours only serves one walk's locality. 256 KiB walks the bench tree as
 * fast as 1 MiB (cold find -ls within noise) with 0.8 MiB less peak RSS. */
#define BV_SERVER_CACHE_BYTES (256u << 10)
/* Bytes of each --require'd file pushed into the page cache (a unikernel is <= 100 MiB). */
#define BV_SERVER_PREFETCH_MAX (256ull << 20)

struct server {
	struct bv_mount_cmd *mc;
	int chan;
	struct bv_fs *fs;
	struct bv_fuse *bf;
	struct fuse_session *se;
	uint64_t art_ino[BV_MOUNT_REQUIRE_MAX];
};

static int log_chan = -1;

/* Our log lines go to the keeper, which owns the log file. Never blocks a FUSE worker: a
 * keeper too slow to read loses lines, not requests. */
static void chan_sink(enum bv_log_level level, const char *msg, void *ctx)
{
	(void)ctx;
	bv_chan_send_text(log_chan, BV_CHAN_LOG, (uint32_t)level, msg, 1);
}

/* libfuse's own messages join ours. */
static void fuse_log_bridge(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (level <= FUSE_LOG_ERR)
		bv_err("%s", msg);
	else if (level == FUSE_LOG_WARNING)
		bv_warn("%s", msg);
	else if (level <= FUSE_LOG_INFO)
		bv_info("%s", msg);
	else
		bv_debug("%s", msg);
}

static void __attribute__((noreturn, format(printf, 2, 3)))
fail(struct server *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bv_chan_send_text(s->chan, BV_CHAN_FAILED, 0, msg, 0);
	_exit(1);
}

/* Everything but stdio, the socket, the source and the lock is the keeper's business, and
 * what is left open is all that write(2) can ever reach once confined (cmd/daemon/sandbox.h). */
static void fds_keep_only(const int *keep, unsigned n)
{
	for (int fd = 3; fd < 1024; fd++) {
		bool kept = false;

		for (unsigned i = 0; i < n; i++)
			kept = kept || keep[i] == fd;
		if (!kept)
			close(fd);
	}
	close_range(1024, ~0u, 0);
}

static void fs_open(struct server *s, struct bv_source *src)
{
	struct bv_fs_opts opts = { .cache_bytes = BV_SERVER_CACHE_BYTES,
				   .no_recovery = s->mc->no_recovery };
	const char *name = bv_source_path(src);
	char errbuf[512] = "";
	int err;

	err = bv_fs_open(src, &opts, &s->fs, errbuf, sizeof(errbuf));
	if (err) {
		struct bv_probe_result probe;
		char what[512];

		/* Not ext at all: libblkid can say what it is ("holds xfs"), as probe does, where
		 * our superblock check could only name a bad magic number. Confined, the probe
		 * may be refused what it asks of a device; the reader's sentence stands then. */
		if (bv_probe_source(src, &probe) == 0 &&
		    bv_probe_check_supported(&probe, name, bv_source_size(src), what, sizeof(what)))
			fail(s, "%s", what);
		/* The reader's sentence may already name the source. */
		if (errbuf[0] && strstr(errbuf, name))
			fail(s, "%s", errbuf);
		fail(s, "%s: %s", name, errbuf[0] ? errbuf : strerror(-err));
	}
}

/* Each --require'd path must resolve inside the image to a regular file; its size and
 * inode go to the keeper (the ready line and state.json). */
static void requires_check(struct server *s)
{
	struct bv_mount_cmd *mc = s->mc;
	const char *name = mc->source;

	for (unsigned i = 0; i < mc->nrequire; i++) {
		struct bv_inode inode;
		struct bv_chan_msg msg;
		uint64_t ino;
		int err;

		err = bv_fs_resolve(s->fs, mc->require[i], BV_RESOLVE_FOLLOW, &ino);
		if (!err)
			err = bv_fs_inode_get(s->fs, ino, BV_IGET_LINKED, &inode);
		if (err)
			fail(s, "%s: required path %s: %s", name, mc->require[i], strerror(-err));
		if (!S_ISREG(inode.mode))
			fail(s, "%s: required path %s: %s", name, mc->require[i],
			     S_ISDIR(inode.mode) ? "is a directory, not a regular file"
						 : "not a regular file");
		s->art_ino[i] = ino;
		memset(&msg, 0, sizeof(msg));
		msg.type = BV_CHAN_ARTIFACT;
		msg.arg = i;
		msg.v[0] = inode.size;
		msg.v[1] = ino;
		if (bv_chan_send(s->chan, &msg, -1, 0))
			_exit(1);
	}
}

static void opened_report(struct server *s)
{
	struct bv_fs_info info;
	struct bv_chan_msg msg;

	bv_fs_info_get(s->fs, &info);
	memset(&msg, 0, sizeof(msg));
	msg.type = BV_CHAN_OPENED;
	snprintf(msg.s1, sizeof(msg.s1), "%s", info.type);
	snprintf(msg.s2, sizeof(msg.s2), "%s", info.uuid_str);
	snprintf(msg.text, sizeof(msg.text), "%s",
		 info.journal_state ? info.journal_state : "none");
	msg.v[0] = info.block_size;
	msg.v[1] = info.root_ino;
	if (bv_chan_send(s->chan, &msg, -1, 0))
		_exit(1);
}

static void stats_send(struct server *s)
{
	struct bv_fuse_stats st;
	struct bv_chan_msg msg;
	struct rusage ru;

	if (!s->bf)
		return;
	bv_fuse_stats_get(s->bf, &st);
	memset(&msg, 0, sizeof(msg));
	msg.type = BV_CHAN_STATS;
	msg.v[0] = st.reads;
	msg.v[1] = st.read_bytes;
	msg.v[2] = st.lookups;
	msg.v[3] = st.getattrs;
	msg.v[4] = st.readdirs;
	msg.v[5] = st.getxattrs;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		msg.v[6] = (uint64_t)ru.ru_maxrss; /* KiB: the server's peak RSS */
	bv_chan_send(s->chan, &msg, -1, 0);
}

/* Once the keeper has seen a --require'd file through the mount (so the kernel knows its
 * inode), its bytes are pushed into the page cache: the runtime's first read of the
 * kernel and initrd costs no READ round trip. */
static void prefetch(struct server *s, uint32_t i)
{
	uint64_t off = 0;
	ssize_t n = 0;

	if (i >= s->mc->nrequire)
		return;
	while (off < BV_SERVER_PREFETCH_MAX) {
		n = bv_fuse_prefetch(s->bf, s->se, s->art_ino[i], off, 1u << 20);
		if (n <= 0)
			break;
		off += (uint64_t)n;
	}
	if (n < 0)
		bv_debug("prefetch %s: %s", s->mc->require[i], strerror((int)-n));
	else
		bv_debug("prefetched %s: %llu bytes", s->mc->require[i], (unsigned long long)off);
}

/* Listens to the keeper while the session loop serves. "stop", or the keeper's end of the
 * socket closing, ends the process at once: there is nothing to flush, and the kernel
 * fails whatever request was in flight when the FUSE fd closes. */
static void *chan_main(void *arg)
{
	struct server *s = arg;
	struct bv_chan_msg msg;

	for (;;) {
		int r = bv_chan_recv(s->chan, &msg, NULL);

		if (r == -EBADMSG)
			continue;
		if (r <= 0 || msg.type == BV_CHAN_STOP) {
			stats_send(s);
			_exit(0);
		}
		if (msg.type == BV_CHAN_PREFETCH)
			prefetch(s, msg.arg);
	}
	return NULL;
}

/* Waits for the keeper's FUSE fd (or stop) and returns it. */
static int fuse_fd_wait(struct server *s)
{
	struct bv_chan_msg msg;
	int fd, r;

	for (;;) {
		r = bv_chan_recv(s->chan, &msg, &fd);
		if (r == -EBADMSG)
			continue;
		if (r <= 0 || msg.type == BV_CHAN_STOP)
			_exit(0);
		if (msg.type == BV_CHAN_FUSE_FD && fd >= 0)
			return fd;
		if (fd >= 0)
			close(fd);
	}
}

/* The FUSE workers. libfuse's own loop (fuse_session_loop_mt) starts one worker and adds
 * more as requests pile up, and ends the whole session when a new one cannot allocate its
 * read buffer: under a memory limit a view served for a while, then died. Here all of
 * them start before the keeper hears "serving", each with its scratch buffer allocated
 * (bv_fuse_worker_prepare) and libfuse's read buffer allocated at its first receive, and
 * nothing in the loop allocates after that. A worker that cannot start logs why; the view
 * serves with the others, or refuses to start when none could. A worker whose receive
 * fails ends alone; the session ends with the last one. */
#define THREAD_STACK (1u << 20)

struct workers {
	struct server *s;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned ready, failed;
	int error; /* the first receive error, -errno */
};

static void *worker_main(void *arg)
{
	struct workers *w = arg;
	struct fuse_session *se = w->s->se;
	struct fuse_buf buf = { 0 };
	int err = bv_fuse_worker_prepare(w->s->bf);

	pthread_mutex_lock(&w->lock);
	if (err)
		w->failed++;
	else
		w->ready++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (err) {
		bv_err("a FUSE worker cannot start: %s", strerror(-err));
		return NULL;
	}
	while (!fuse_session_exited(se)) {
		int res = fuse_session_receive_buf(se, &buf);

		if (res == -EINTR || res == -EAGAIN)
			continue;
		if (res <= 0) {
			/* 0: unmounted or aborted (libfuse marks the session exited). */
			if (res < 0) {
				pthread_mutex_lock(&w->lock);
				if (!w->error)
					w->error = res;
				pthread_mutex_unlock(&w->lock);
				bv_err("a FUSE worker ends: %s", strerror(-res));
			}
			break;
		}
		fuse_session_process_buf(se, &buf);
	}
	free(buf.mem);
	return NULL;
}

/* Starts N workers and waits until each has allocated its buffers or failed to. Returns
 * how many serve; *THREADS gets their ids. */
static unsigned workers_start(struct workers *w, const pthread_attr_t *attr, pthread_t *threads,
			      unsigned n)
{
	unsigned started = 0;

	for (unsigned i = 0; i < n; i++) {
		int err = pthread_create(&threads[started], attr, worker_main, w);

		if (err)
			bv_err("a FUSE worker cannot start: %s", strerror(err));
		else
			started++;
	}
	pthread_mutex_lock(&w->lock);
	while (w->ready + w->failed < started)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	if (w->ready && w->ready < n)
		bv_warn("serving with %u FUSE workers of the %u asked for", w->ready, n);
	return started;
}

static void __attribute__((noreturn)) serve(struct server *s)
{
	struct bv_mount_cmd *mc = s->mc;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct workers w = { .s = s, .lock = PTHREAD_MUTEX_INITIALIZER,
			     .cond = PTHREAD_COND_INITIALIZER };
	pthread_attr_t attr;
	pthread_t *threads;
	unsigned started;
	bool lost;
	struct bv_export *exp = NULL;
	char devfd[32], errbuf[512] = "";
	pthread_t t;
	int err;

	if (mc->nexports) {
		err = bv_export_new(s->fs, mc->exports, mc->nexports, &exp, errbuf, sizeof(errbuf));
		if (err)
			fail(s, "%s: %s", mc->source, errbuf[0] ? errbuf : strerror(-err));
	}
	err = bv_fuse_new(s->fs, &s->bf);
	if (err)
		fail(s, "%s", strerror(-err));
	bv_fuse_max_read_set(s->bf, mc->max_read);
	bv_fuse_export_set(s->bf, exp);
	if (fuse_opt_add_arg(&args, "bootviewfs") || (mc->debug && fuse_opt_add_arg(&args, "-d")))
		fail(s, "out of memory");
	/* The keeper mounted with max_read=; libfuse wants this session to say the same. */
	if (mc->max_read) {
		char opt[32];

		snprintf(opt, sizeof(opt), "-omax_read=%u", mc->max_read);
		if (fuse_opt_add_arg(&args, opt))
			fail(s, "out of memory");
	}
	s->se = bv_fuse_session_new(s->bf, &args);
	if (!s->se)
		fail(s, "cannot create the FUSE session");
	/* The image must be good before the keeper mounts anything. */
	opened_report(s);
	snprintf(devfd, sizeof(devfd), "/dev/fd/%d", fuse_fd_wait(s));
	if (fuse_session_mount(s->se, devfd) != 0)
		fail(s, "cannot serve on %s", devfd);
	threads = calloc(mc->threads, sizeof(*threads));
	if (!threads)
		fail(s, "out of memory");
	/* Nothing recurses and no frame holds more than a few KiB (design.md section 8): 1 MiB
	 * of stack instead of the 8 MiB default keeps the address space a view needs small,
	 * which is what a memory limit counts. */
	if (pthread_attr_init(&attr) || pthread_attr_setstacksize(&attr, THREAD_STACK))
		fail(s, "cannot set up threads");
	started = workers_start(&w, &attr, threads, mc->threads);
	if (w.ready == 0)
		fail(s, "no FUSE worker could start (out of memory?)");
	err = pthread_create(&t, &attr, chan_main, s);
	if (err)
		fail(s, "cannot start a thread: %s", strerror(err));
	bv_chan_send_text(s->chan, BV_CHAN_SERVING, 0, NULL, 0);
	/* The workers end when the connection does (unmounted, or aborted), or each on an
	 * error of its own. */
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	/* Every worker ended on its own error while the connection still stood. */
	lost = w.error && !fuse_session_exited(s->se);
	if (lost)
		bv_err("no FUSE worker left: %s", strerror(-w.error));
	stats_send(s);
	_exit(lost ? 1 : 0);
}

void bv_server_main(struct bv_mount_cmd *mc, struct bv_source *src, int chan, int lock_fd)
{
	struct server s = { .mc = mc, .chan = chan };
	struct bv_sandbox_report rep;
	char errbuf[256] = "";
	int keep[3] = { chan, bv_source_fd(src), lock_fd };
	sigset_t none;

	/* The keeper blocks its stop signals for its signalfd; here they must do what they
	 * do by default, so that whoever finds this process holding the device and sends it
	 * SIGTERM ends it (the keeper takes that as a stop). */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	log_chan = chan;
	bv_log_set_sink(chan_sink, NULL);
	fuse_set_log_func(fuse_log_bridge);
	fds_keep_only(keep, 3);
	/* If the keeper dies, so do we (the socket's end of stream says the same, later). */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* libfuse ends its workers with pthread_cancel, for which glibc loads libgcc_s on first
	 * use; confined, it could not open it and would abort. Loaded now, it is found by
	 * name later. */
	if (!dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_NODELETE))
		bv_debug("libgcc_s.so.1: %s", dlerror());
	if (bv_sandbox_enter(&(struct bv_sandbox_opts){ .chan_fd = chan,
							 .parent_death_signal = SIGKILL },
			     &rep, errbuf, sizeof(errbuf)))
		fail(&s, "cannot confine the server: %s", errbuf);
	if (rep.disabled)
		bv_warn("sandbox disabled by BOOTVIEWFS_NO_SANDBOX");
	else
		bv_debug("server confined: %s, no capability, no_new_privs, %s, seccomp",
			 rep.uid_changed ? "uid nobody" :
			 rep.uid_unmapped ? "uid kept (nobody is not mapped here)" : "own uid",
			 rep.landlock_abi ? "Landlock" : "no Landlock on this kernel");
	if (!rep.disabled && !rep.landlock_abi)
		bv_warn("no Landlock on this kernel: the server is confined by uid and seccomp only");
	fs_open(&s, src);
	requires_check(&s);
	serve(&s);
}
