/* `bootviewfs [-f] [-d] [-o OPTS] [--ready-fd N] [--require PATH]... SOURCE MOUNTPOINT`:
 * serve the ext2/3/4 filesystem on SOURCE read-only at MOUNTPOINT over FUSE. Also the
 * mount helper: mount(8) runs `mount.fuse.bootviewfs SOURCE MNT -o OPTS`, and mount.fuse3
 * runs `bootviewfs SOURCE MNT -o OPTS`.
 *
 * Everything that can fail because of the command line or the image is checked in the
 * calling process before it forks, so errors come back synchronously with a non-zero exit.
 * The daemon child then mounts, serves, and tells the parent through a pipe once the mount
 * answers; only then does the parent exit 0, so a script may use the mount on its next line.
 */
#include "fs/cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "blockio/source.h"
#include "fs/ext4.h"
#include "fs/fuse_ops.h"
#include "fs/log.h"

#define FUSE_SUPER_MAGIC_VALUE 0x65735546
/* The kernel caps a FUSE mount's readahead at what INIT offered (128 KiB); root can raise
 * the bdi's read_ahead_kb afterwards so sequential reads arrive as 1 MiB requests. */
#define BV_MOUNT_READ_AHEAD_KB 1024
/* Four workers keep a disk busy with the kernel's async readahead READs; each holds a
 * 1 MiB reply buffer, so more cost RSS without reading faster (measured: 2, 4, 8 alike). */
#define BV_MOUNT_THREADS_DEFAULT 4
#define BV_MOUNT_THREADS_MAX 64
#define BV_MOUNT_REQUIRE_MAX 64
/* Bytes of each --require'd file pushed into the page cache (a unikernel is <= 100 MiB). */
#define BV_MOUNT_PREFETCH_MAX (256ull << 20)

/* A growing string for the option list handed to libfuse. */
struct strbuf {
	char *s;
	size_t len, cap;
};

static int sb_add(struct strbuf *sb, const char *s, size_t n)
{
	if (n + 2 > SIZE_MAX - sb->len)
		return -ENOMEM;
	if (sb->len + n + 2 > sb->cap) {
		size_t cap = (sb->len + n + 2) * 2;
		char *p = realloc(sb->s, cap);

		if (!p)
			return -ENOMEM;
		sb->s = p;
		sb->cap = cap;
	}
	if (sb->len)
		sb->s[sb->len++] = ',';
	memcpy(sb->s + sb->len, s, n);
	sb->len += n;
	sb->s[sb->len] = '\0';
	return 0;
}

struct mount_cmd {
	const char *source;
	const char *mountpoint;
	char *mnt;               /* realpath of mountpoint */
	char *src_abs;           /* realpath of source */
	bool foreground;
	bool debug;
	bool helper;             /* invoked as mount.fuse.bootviewfs */
	bool fake;               /* helper -f: check everything, mount nothing */
	bool allow_other;
	bool allow_root;         /* libfuse refuses it together with allow_other */
	unsigned max_read;       /* max_read=, 0 for the kernel's default */
	bool fsname_set, subtype_set;
	unsigned threads;
	int ready_fd;            /* --ready-fd, or -1 */
	const char *require[BV_MOUNT_REQUIRE_MAX];
	struct bv_ext4 *fs;      /* borrowed, for the prefetch after ready */
	unsigned nrequire;
	struct strbuf passthru;  /* options handed to libfuse as given */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bootviewfs [-f] [-d] [-o OPTS] [--ready-fd N] [--require PATH]... SOURCE MOUNTPOINT\n"
		"  Serves the ext2/3/4 filesystem on SOURCE (block device or image) read-only.\n"
		"  -f            stay in the foreground (logs to stderr)\n"
		"  -d            debug: log every request (implies -f)\n"
		"  -o OPTS       mount options: ro nosuid nodev noexec exec allow_other allow_root\n"
		"                default_permissions fsname= subtype= max_read= atime options\n"
		"                context= threads=N; rw is accepted and mounted read-only; dev and suid\n"
		"                are accepted and ignored (the image is untrusted: always nodev,nosuid)\n"
		"  --ready-fd N  write one JSON status line to fd N once serving (or on failure)\n"
		"  --require P   fail unless path P exists in the image before mounting\n"
		"Without -f the command returns once the mount answers, or fails with nothing mounted.\n"
		"Stop it with `fusermount3 -u MOUNTPOINT` or `umount MOUNTPOINT`.\n");
}

/* Options mount(8), fstab and mount.fuse3 may pass that mean nothing to a FUSE mount. */
static bool opt_is_ignored(const char *o)
{
	static const char *const names[] = { "defaults", "auto", "noauto", "user", "nouser",
					     "users", "owner", "group", "_netdev", "nofail",
					     "ro", "nosuid", "nodev", NULL };

	for (unsigned i = 0; names[i]; i++)
		if (strcmp(o, names[i]) == 0)
			return true;
	return strncmp(o, "x-", 2) == 0 || strncmp(o, "comment=", 8) == 0;
}

/* Options libfuse or the kernel understand and that make sense for a read-only view. */
static bool opt_is_passthru(const char *o)
{
	static const char *const names[] = { "exec", "noexec", "atime", "noatime", "diratime",
					     "nodiratime", "relatime", "norelatime", "strictatime",
					     "nostrictatime", "lazytime", "nolazytime", "sync",
					     "async", "dirsync", "allow_root", "default_permissions",
					     NULL };
	static const char *const prefixes[] = { "fsname=", "subtype=", "max_read=", "context=",
						"fscontext=", "defcontext=", "rootcontext=",
						NULL };

	for (unsigned i = 0; names[i]; i++)
		if (strcmp(o, names[i]) == 0)
			return true;
	for (unsigned i = 0; prefixes[i]; i++)
		if (strncmp(o, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

static int opt_one(struct mount_cmd *mc, const char *o, size_t raw_len, const char *raw)
{
	if (*o == '\0' || opt_is_ignored(o))
		return 0;
	if (strcmp(o, "rw") == 0) {
		/* mount(8) passes rw unless told ro; a read-only view mounts ro like the
		 * kernel does for a write-protected device. */
		bv_info("option rw: mounting read-only");
		return 0;
	}
	if (strcmp(o, "dev") == 0 || strcmp(o, "suid") == 0)
		return 0; /* mount.fuse3 adds both for root; see usage() */
	if (strcmp(o, "debug") == 0) {
		mc->debug = true;
		return 0;
	}
	if (strcmp(o, "allow_other") == 0) {
		mc->allow_other = true;
		return 0;
	}
	if (strncmp(o, "threads=", 8) == 0) {
		char *end;
		unsigned long n = strtoul(o + 8, &end, 10);

		if (*end || end == o + 8 || n < 1 || n > BV_MOUNT_THREADS_MAX) {
			fprintf(stderr, "bootviewfs: option %s: want 1 to %d\n", o,
				BV_MOUNT_THREADS_MAX);
			return -EINVAL;
		}
		mc->threads = (unsigned)n;
		return 0;
	}
	if (strcmp(o, "allow_root") == 0)
		mc->allow_root = true;
	if (strncmp(o, "max_read=", 9) == 0) {
		char *end;
		unsigned long n = strtoul(o + 9, &end, 10);

		if (*end || end == o + 9 || n < 4096 || n > UINT_MAX) {
			fprintf(stderr, "bootviewfs: option %s: want a size of 4096 or more\n", o);
			return -EINVAL;
		}
		mc->max_read = (unsigned)n;
	}
	if (opt_is_passthru(o)) {
		if (strncmp(o, "fsname=", 7) == 0)
			mc->fsname_set = true;
		if (strncmp(o, "subtype=", 8) == 0)
			mc->subtype_set = true;
		/* Hand libfuse the option as written, escapes included. */
		return sb_add(&mc->passthru, raw, raw_len);
	}
	fprintf(stderr, "bootviewfs: unknown mount option '%s'\n", o);
	return -EINVAL;
}

/* Splits LIST at commas not escaped with a backslash (libfuse's own convention). */
static int opts_parse(struct mount_cmd *mc, const char *list)
{
	const char *p = list;

	while (*p) {
		const char *start = p;
		char *o;
		size_t n = 0;
		int err;

		o = malloc(strlen(p) + 1);
		if (!o)
			return -ENOMEM;
		while (*p && *p != ',') {
			if (*p == '\\' && p[1])
				p++;
			o[n++] = *p++;
		}
		o[n] = '\0';
		err = opt_one(mc, o, (size_t)(p - start), start);
		free(o);
		if (err)
			return err;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* allow_other needs root, or user_allow_other in /etc/fuse.conf (fusermount3 checks). */
static bool allow_other_permitted(void)
{
	char line[256];
	bool ok = false;
	FILE *f;

	if (geteuid() == 0)
		return true;
	f = fopen("/etc/fuse.conf", "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "user_allow_other", 16) == 0)
			ok = true;
	fclose(f);
	return ok;
}

static bool invoked_as_helper(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	if (strncmp(base, "mount.", 6) == 0)
		return true;
	/* main.c may hand us "bootviewfs" as argv[0]; the real name is still known. */
	return strncmp(program_invocation_short_name, "mount.", 6) == 0;
}

static int args_parse(struct mount_cmd *mc, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "require", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	/* mount(8) calls helpers as `SOURCE DIR [-sfnv] [-N ns] [-o opts] [-t type]`;
	 * there -f means "fake", not foreground. */
	const char *optstring = mc->helper ? ":fnsvo:t:N:h" : ":fdo:h";
	int c, err;

	optind = 0; /* glibc: full re-initialisation, whatever ran getopt before */
	opterr = 0;
	while ((c = getopt_long(argc, argv, optstring, mc->helper ? longopts + 2 : longopts,
				NULL)) != -1) {
		switch (c) {
		case 'f':
			if (mc->helper)
				mc->fake = true;
			else
				mc->foreground = true;
			break;
		case 'd':
			mc->debug = true;
			break;
		case 'n':
		case 's':
		case 'v':
		case 't':
			break;
		case 'N':
			fprintf(stderr, "bootviewfs: -N (mount namespace) is not supported\n");
			return -EINVAL;
		case 'o':
			err = opts_parse(mc, optarg);
			if (err)
				return err;
			break;
		case 'R': {
			char *end;
			long fd = strtol(optarg, &end, 10);

			if (*end || end == optarg || fd < 0 || fd > INT_MAX ||
			    fcntl((int)fd, F_GETFD) < 0) {
				fprintf(stderr, "bootviewfs: --ready-fd %s: not an open fd\n",
					optarg);
				return -EINVAL;
			}
			mc->ready_fd = (int)fd;
			break;
		}
		case 'P':
			if (mc->nrequire == BV_MOUNT_REQUIRE_MAX) {
				fprintf(stderr, "bootviewfs: at most %d --require\n",
					BV_MOUNT_REQUIRE_MAX);
				return -EINVAL;
			}
			mc->require[mc->nrequire++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, "bootviewfs: option %s needs an argument\n",
				argv[optind - 1]);
			return -EINVAL;
		default:
			fprintf(stderr, "bootviewfs: unknown option '%s'\n", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "bootviewfs: want SOURCE and MOUNTPOINT\n");
		return -EINVAL;
	}
	mc->source = argv[optind];
	mc->mountpoint = argv[optind + 1];
	if (mc->debug)
		mc->foreground = true;
	return 0;
}

/* ---- reporting readiness ---- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* --ready-fd: one JSON line, then the fd is closed. ERR NULL means ready. */
static void ready_fd_report(struct mount_cmd *mc, const char *err)
{
	FILE *f;
	int fd;

	if (mc->ready_fd < 0)
		return;
	fd = mc->ready_fd;
	mc->ready_fd = -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return;
	}
	if (err) {
		fputs("{\"status\":\"error\",\"error\":", f);
		json_str(f, err);
	} else {
		fprintf(f, "{\"status\":\"ready\",\"pid\":%ld,\"mountpoint\":", (long)getpid());
		json_str(f, mc->mnt);
	}
	fputs("}\n", f);
	fclose(f);
}

/* Prints "bootviewfs: MSG" on stderr and reports it on --ready-fd. */
static void __attribute__((format(printf, 2, 3))) fail_msg(struct mount_cmd *mc,
							  const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "bootviewfs: %s\n", msg);
	ready_fd_report(mc, msg);
}

/* ---- the daemon ---- */

static void syslog_sink(enum bv_log_level level, const char *msg, void *ctx)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

	syslog(prio[level], "%s", msg);
}

/* libfuse's own messages join ours, wherever ours go. */
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

struct serve {
	struct mount_cmd *mc;
	struct fuse_session *se;
	struct bv_fuse *bf;
	int ready_pipe;          /* to the waiting parent; -1 in the foreground */
	atomic_bool stopping;    /* main is unmounting: the ready thread must not */
	atomic_bool failed;      /* the mount never answered */
	pthread_mutex_t lock;    /* held across each prefetch store and by main to stop them */
};

static void readahead_raise(dev_t dev)
{
	char path[64];
	int fd, n;

	/* The bdi of a FUSE mount is named after its anonymous device, 0:NN. */
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb", major(dev),
		 minor(dev));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		bv_debug("%s: %s (readahead left as the kernel set it)", path, strerror(errno));
		return;
	}
	n = dprintf(fd, "%d\n", BV_MOUNT_READ_AHEAD_KB);
	if (n < 0)
		bv_debug("%s: %s", path, strerror(errno));
	close(fd);
}

static void lazy_unmount(const char *mnt)
{
	pid_t pid;

	if (geteuid() == 0) {
		if (umount2(mnt, MNT_DETACH) != 0)
			bv_err("umount %s: %s", mnt, strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-z", "--", mnt, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void stdio_detach(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

/* Once serving, the --require'd regular files are pushed into the kernel's page cache, so
 * the runtime's first read of the kernel and initrd costs no READ round trip. The kernel
 * must know the inode first: a stat through the mount looks it up, and is used only when
 * it lands on the very inode the image resolved (a symlink in the path is followed by the
 * kernel on the host side of the mount, never trusted). */
static void prefetch_required(struct serve *sv, const struct stat *root)
{
	struct mount_cmd *mc = sv->mc;

	for (unsigned i = 0; i < mc->nrequire; i++) {
		char path[PATH_MAX];
		struct stat st;
		uint64_t off = 0;
		uint32_t ino;
		ssize_t n = 0;

		if (bv_ext4_resolve(mc->fs, mc->require[i], BV_RESOLVE_FOLLOW, &ino) != 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", mc->mnt, mc->require[i]) >=
		    (int)sizeof(path))
			continue;
		if (stat(path, &st) != 0 || st.st_dev != root->st_dev || st.st_ino != ino ||
		    !S_ISREG(st.st_mode))
			continue;
		while (off < BV_MOUNT_PREFETCH_MAX) {
			/* The lock keeps main from closing the session fd mid-store. */
			pthread_mutex_lock(&sv->lock);
			n = atomic_load(&sv->stopping) ? -ESHUTDOWN :
							  bv_fuse_prefetch(sv->bf, sv->se, ino,
									   off, 1u << 20);
			pthread_mutex_unlock(&sv->lock);
			if (n <= 0)
				break;
			off += (uint64_t)n;
		}
		if (n < 0)
			bv_debug("prefetch %s: %s", mc->require[i], strerror((int)-n));
		else
			bv_debug("prefetched %s: %" PRIu64 " bytes", mc->require[i], off);
		if (n == -ESHUTDOWN)
			return;
	}
}

/* Runs beside the session loop. Readiness is a stat(2) of the mount root from here: it
 * goes through the kernel like a client's, so it waits until FUSE_INIT has been answered
 * and then for our GETATTR reply. When it returns the root inode, a stat from the next line
 * of the caller's script is bound to work. Signalling from the INIT callback would run
 * before libfuse sends the INIT reply, and after fuse_session_mount() the loop has not
 * answered anything yet. */
static void *ready_main(void *arg)
{
	struct serve *sv = arg;
	struct mount_cmd *mc = sv->mc;
	struct statfs sfs;
	struct stat st;
	char msg[512];

	if (stat(mc->mnt, &st) != 0) {
		snprintf(msg, sizeof(msg), "mount on %s does not answer: %s", mc->mnt,
			 strerror(errno));
		goto fail;
	}
	if (statfs(mc->mnt, &sfs) != 0 || sfs.f_type != FUSE_SUPER_MAGIC_VALUE ||
	    st.st_ino != BV_EXT4_ROOT_INO) {
		snprintf(msg, sizeof(msg), "%s does not show the image's root after mounting",
			 mc->mnt);
		goto fail;
	}
	readahead_raise(st.st_dev);
	bv_info("serving %s at %s", mc->source, mc->mnt);
	ready_fd_report(mc, NULL);
	if (sv->ready_pipe >= 0) {
		/* Detach before telling the parent, so whoever waits on our stdout or stderr
		 * (a $(...) or a pipe) sees EOF when the parent exits. */
		openlog("bootviewfs", LOG_PID, LOG_DAEMON);
		bv_log_set_sink(syslog_sink, NULL);
		stdio_detach();
		if (write(sv->ready_pipe, "R", 1) != 1)
			bv_err("cannot tell the parent the mount is ready: %s", strerror(errno));
		close(sv->ready_pipe);
		sv->ready_pipe = -1;
	}
	prefetch_required(sv, &st);
	return NULL;
fail:
	bv_err("%s", msg);
	ready_fd_report(mc, msg);
	atomic_store(&sv->failed, true);
	fuse_session_exit(sv->se);
	/* Unmounting ends the connection, which wakes the loop's blocked reads. */
	if (!atomic_load(&sv->stopping))
		lazy_unmount(mc->mnt);
	return NULL;
}

static uint64_t vmhwm_kb(void)
{
	char line[256];
	uint64_t kb = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %" SCNu64, &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* A benchmarking aid: with BOOTVIEWFS_STATS_FILE set, the daemon appends its request
 * counters and peak RSS there when it exits. */
static void stats_write(struct bv_fuse *bf)
{
	const char *path = getenv("BOOTVIEWFS_STATS_FILE");
	struct bv_fuse_stats s;
	FILE *f;

	bv_fuse_stats_get(bf, &s);
	bv_info("requests: %" PRIu64 " reads (%" PRIu64 " bytes), %" PRIu64 " lookups, %" PRIu64
		" getattrs, %" PRIu64 " readdirs, %" PRIu64 " getxattrs",
		s.reads, s.read_bytes, s.lookups, s.getattrs, s.readdirs, s.getxattrs);
	if (!path || !*path)
		return;
	f = fopen(path, "ae");
	if (!f)
		return;
	fprintf(f,
		"reads=%" PRIu64 " read_bytes=%" PRIu64 " lookups=%" PRIu64 " getattrs=%" PRIu64
		" readdirs=%" PRIu64 " getxattrs=%" PRIu64 " vmhwm_kb=%" PRIu64 "\n",
		s.reads, s.read_bytes, s.lookups, s.getattrs, s.readdirs, s.getxattrs,
		vmhwm_kb());
	fclose(f);
}

/* Mounts, serves until unmounted or signalled, unmounts. Returns the exit status. */
static int serve(struct mount_cmd *mc, struct fuse_session *se, struct bv_fuse *bf,
		 int ready_pipe)
{
	struct fuse_loop_config *cfg = NULL;
	struct serve sv = { .mc = mc, .se = se, .bf = bf, .ready_pipe = ready_pipe,
			    .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t ready;
	bool ready_started = false;
	int status = BV_EXIT_FAIL;
	int err;

	if (fuse_set_signal_handlers(se) != 0) {
		fail_msg(mc, "cannot set signal handlers");
		return BV_EXIT_FAIL;
	}
	if (fuse_session_mount(se, mc->mnt) != 0) {
		/* libfuse has said why on stderr. */
		fail_msg(mc, "cannot mount %s on %s", mc->source, mc->mnt);
		goto out_signals;
	}
	cfg = fuse_loop_cfg_create();
	if (!cfg) {
		fail_msg(mc, "out of memory");
		goto out_unmount;
	}
	/* Idle threads are kept (idle == max), so their read buffers stay allocated. */
	fuse_loop_cfg_set_max_threads(cfg, mc->threads);
	fuse_loop_cfg_set_idle_threads(cfg, mc->threads);
	err = pthread_create(&ready, NULL, ready_main, &sv);
	if (err) {
		fail_msg(mc, "cannot start a thread: %s", strerror(err));
		goto out_cfg;
	}
	ready_started = true;
	/* 0 after an unmount; libfuse returns the signal number after SIGTERM, SIGINT or
	 * SIGHUP, which mean "stop" here: also a clean exit. Negative is a real error. */
	err = fuse_session_loop_mt(se, cfg);
	status = (err >= 0 && !atomic_load(&sv.failed)) ? BV_EXIT_OK : BV_EXIT_FAIL;
	if (err < 0)
		bv_err("session loop: %s", strerror(-err));
out_cfg:
	fuse_loop_cfg_destroy(cfg);
out_unmount:
	/* Unmount before joining: if the loop stopped (a signal) while the ready thread's
	 * stat was still waiting, unmounting is what fails that stat. */
	pthread_mutex_lock(&sv.lock);
	atomic_store(&sv.stopping, true);
	pthread_mutex_unlock(&sv.lock);
	fuse_session_unmount(se);
	if (ready_started)
		pthread_join(ready, NULL);
out_signals:
	fuse_remove_signal_handlers(se);
	stats_write(bf);
	if (sv.ready_pipe >= 0)
		close(sv.ready_pipe);
	return status;
}

/* ---- the command ---- */

/* fsname=bootviewfs:<source>, with libfuse's escapes for ',' and '\'. */
static int fsname_add(struct strbuf *sb, const char *src)
{
	size_t n = strlen(src);
	char *o = malloc(2 * n + sizeof("fsname=bootviewfs:"));
	char *p;
	int err;

	if (!o)
		return -ENOMEM;
	p = stpcpy(o, "fsname=bootviewfs:");
	for (; *src; src++) {
		if (*src == ',' || *src == '\\')
			*p++ = '\\';
		*p++ = *src;
	}
	*p = '\0';
	err = sb_add(sb, o, strlen(o));
	free(o);
	return err;
}

static int fuse_opts_build(struct mount_cmd *mc, struct strbuf *sb)
{
	static const char defaults[] = "ro,nosuid,nodev,default_permissions";
	int err;

	err = sb_add(sb, defaults, strlen(defaults));
	if (!err && mc->allow_other)
		err = sb_add(sb, "allow_other", 11);
	if (!err && !mc->fsname_set)
		err = fsname_add(sb, mc->src_abs);
	if (!err && !mc->subtype_set)
		err = sb_add(sb, "subtype=bootviewfs", 18);
	if (!err && mc->passthru.len)
		err = sb_add(sb, mc->passthru.s, mc->passthru.len);
	return err;
}

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
	if (!(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) != 0))
		fprintf(stderr, "bootviewfs: the daemon ended before the mount was ready\n");
	return BV_EXIT_FAIL;
}

int bv_cmd_mount(int argc, char **argv)
{
	struct mount_cmd mc = { .threads = BV_MOUNT_THREADS_DEFAULT, .ready_fd = -1 };
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct strbuf fopts = { 0 };
	struct bv_source *src = NULL;
	struct bv_ext4 *fs = NULL;
	struct bv_fuse *bf = NULL;
	struct fuse_session *se = NULL;
	char errbuf[256] = "";
	struct stat st;
	int status = BV_EXIT_FAIL;
	int pipefd[2] = { -1, -1 };
	int err;

	fuse_set_log_func(fuse_log_bridge);
	mc.helper = invoked_as_helper(argv[0]);
	err = args_parse(&mc, argc, argv);
	if (err) {
		if (err < 0) {
			usage(stderr);
			status = BV_EXIT_USAGE;
		} else {
			status = BV_EXIT_OK; /* --help */
		}
		goto out;
	}
	if (mc.allow_other && mc.allow_root) {
		fprintf(stderr, "bootviewfs: allow_other and allow_root exclude each other\n");
		usage(stderr);
		status = BV_EXIT_USAGE;
		goto out;
	}
	/* allow_other by default where permitted, unless the caller chose allow_root. */
	if (!mc.allow_root)
		mc.allow_other = mc.allow_other || allow_other_permitted();
	if (mc.debug)
		bv_log_set_level(BV_LOG_DEBUG);

	/* Everything the image or the command line can get wrong fails here, in the caller's
	 * process, before any fork or mount. */
	mc.mnt = realpath(mc.mountpoint, NULL);
	if (!mc.mnt || stat(mc.mnt, &st) != 0) {
		fail_msg(&mc, "mountpoint %s: %s", mc.mountpoint, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		fail_msg(&mc, "mountpoint %s: %s", mc.mountpoint, strerror(ENOTDIR));
		goto out;
	}
	err = bv_source_open(mc.source, &src);
	if (err) {
		fail_msg(&mc, "cannot open %s: %s", mc.source, strerror(-err));
		goto out;
	}
	mc.src_abs = realpath(mc.source, NULL);
	if (!mc.src_abs) {
		fail_msg(&mc, "%s: %s", mc.source, strerror(errno));
		goto out;
	}
	err = bv_ext4_open(src, NULL, &fs, errbuf, sizeof(errbuf));
	if (err) {
		/* The reader's sentence may already name the source. */
		if (errbuf[0] && strstr(errbuf, mc.source))
			fail_msg(&mc, "%s", errbuf);
		else
			fail_msg(&mc, "%s: %s", mc.source, errbuf[0] ? errbuf : strerror(-err));
		goto out;
	}
	mc.fs = fs;
	for (unsigned i = 0; i < mc.nrequire; i++) {
		uint32_t ino;

		err = bv_ext4_resolve(fs, mc.require[i], BV_RESOLVE_FOLLOW, &ino);
		if (err) {
			fail_msg(&mc, "%s: required path %s: %s", mc.source, mc.require[i],
				 strerror(-err));
			goto out;
		}
	}
	if (mc.fake) {
		status = BV_EXIT_OK;
		goto out;
	}

	err = fuse_opts_build(&mc, &fopts);
	if (!err)
		err = fuse_opt_add_arg(&args, "bootviewfs") ? -ENOMEM : 0;
	if (!err)
		err = fuse_opt_add_arg(&args, "-o") || fuse_opt_add_arg(&args, fopts.s) ?
			      -ENOMEM : 0;
	if (!err && mc.debug)
		err = fuse_opt_add_arg(&args, "-d") ? -ENOMEM : 0;
	if (!err)
		err = bv_fuse_new(fs, &bf);
	if (!err)
		bv_fuse_max_read_set(bf, mc.max_read);
	if (err) {
		fail_msg(&mc, "%s", strerror(-err));
		goto out;
	}
	bv_debug("mount options: %s", fopts.s);
	/* The session only parses options and allocates; libfuse rejects what it does not
	 * know here, still before the fork. */
	se = bv_fuse_session_new(bf, &args);
	if (!se) {
		fail_msg(&mc, "bad mount options: %s", fopts.s);
		goto out;
	}

	if (!mc.foreground) {
		pid_t pid;

		if (pipe2(pipefd, O_CLOEXEC) != 0) {
			fail_msg(&mc, "pipe: %s", strerror(errno));
			goto out;
		}
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			fail_msg(&mc, "fork: %s", strerror(errno));
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
			/* The daemon owns the source and session now; free only our copies of
			 * memory, never unmount or close anything shared. */
			fuse_session_destroy(se);
			se = NULL;
			goto out;
		}
		close(pipefd[0]);
		pipefd[0] = -1;
		/* Own session: the daemon outlives whoever spawned it, and its terminal. */
		setsid();
		if (chdir("/") != 0)
			bv_debug("chdir /: %s", strerror(errno));
	}
	status = serve(&mc, se, bf, pipefd[1]);
	pipefd[1] = -1;
out:
	if (se)
		fuse_session_destroy(se);
	bv_fuse_free(bf);
	bv_ext4_close(fs);
	bv_source_close(src);
	fuse_opt_free_args(&args);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	free(fopts.s);
	free(mc.passthru.s);
	free(mc.mnt);
	free(mc.src_abs);
	ready_fd_report(&mc, status == BV_EXIT_OK ? NULL : "failed");
	return status;
}
