/* `bootviewfs [-f] [-d] [-o OPTS] [--state-dir DIR] [--ready-fd N] [--id NAME]
 *  [--require PATH]... [--export PATH]... SOURCE MOUNTPOINT` (or `--mounts-json FILE|-
 *  MOUNTPOINT`): serve the ext2/3/4 filesystem on SOURCE read-only at MOUNTPOINT over FUSE.
 * Also the mount helper: mount(8) runs `mount.fuse.bootviewfs SOURCE MNT -o OPTS`, and
 * mount.fuse3 runs `bootviewfs SOURCE MNT -o OPTS`.
 *
 * Without -f the command forks at once: the child becomes the daemon (own session, its
 * inherited descriptors closed) and does everything, while the parent only waits for the
 * child to say "ready" through a pipe, or for its exit, and returns accordingly, so a
 * script may use the mount on its next line and the daemon's pid is the one state.json
 * names. Until ready the daemon's errors also go to the caller's stderr; from ready on it
 * holds none of the caller's descriptors and logs to DIR/log (or syslog).
 *
 * With a state directory (state/state.h) the daemon flocks DIR before writing anything,
 * records every transition in DIR/state.json, and listens on DIR/control. A start that
 * fails leaves state "failed" with the reason, no mount and no FIFO. "stop", SIGTERM and
 * SIGINT end it: state "stopping", unmount, device closed, state "stopped", exit 0.
 */
#include "fs/cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "blockio/dm.h"
#include "blockio/mounts.h"
#include "blockio/source.h"
#include "fs/export.h"
#include "fs/ext4.h"
#include "fs/fuse_ops.h"
#include "fs/log.h"
#include "fs/sandbox.h"
#include "state/control.h"
#include "state/lock.h"
#include "state/mnt.h"
#include "state/proc.h"
#include "state/state.h"

/* The kernel caps a FUSE mount's readahead at what INIT offered (128 KiB); root can raise
 * the bdi's read_ahead_kb afterwards so sequential reads arrive as 1 MiB requests. */
#define BV_MOUNT_READ_AHEAD_KB 1024
/* Four workers keep a disk busy with the kernel's async readahead READs; each holds a
 * 1 MiB reply buffer, so more cost RSS without reading faster (measured: 2, 4, 8 alike). */
#define BV_MOUNT_THREADS_DEFAULT 4
#define BV_MOUNT_THREADS_MAX 64
/* The reader's metadata cache for a mount: the kernel keeps every entry and attribute we
 * send forever, so ours only serves one walk's locality. 256 KiB walks the bench tree as
 * fast as 1 MiB (cold find -ls within noise) with 0.8 MiB less peak RSS. */
#define BV_MOUNT_CACHE_BYTES (256u << 10)
#define BV_MOUNT_REQUIRE_MAX BV_STATE_MAX_ARTIFACTS
/* Bytes of each --require'd file pushed into the page cache (a unikernel is <= 100 MiB). */
#define BV_MOUNT_PREFETCH_MAX (256ull << 20)
/* DIR/log is renamed to DIR/log.1 past this size: a daemon lives as long as a container. */
#define BV_MOUNT_LOG_MAX (1u << 20)
/* After "stop", how long the loop gets to end by itself before the daemon aborts its own
 * connection (a client holding the mount busy cannot keep the device open). */
#define BV_MOUNT_STOP_GRACE_MS 2000

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
	const char *source;      /* positional, or the mounts JSON's source */
	const char *mountpoint;
	char *mnt;               /* realpath of mountpoint */
	char *src_abs;           /* realpath of source */
	const char *state_dir_arg; /* --state-dir as given */
	char *state_dir;         /* its realpath, once made */
	const char *id;          /* --id */
	const char *mounts_json; /* --mounts-json FILE or "-" */
	struct bv_mount_spec *spec; /* what the mounts JSON says */
	const char *exports[BV_EXPORT_PATHS_MAX]; /* --export and -o export= (+ --require) */
	unsigned nexports;
	char *export_lists[BV_EXPORT_PATHS_MAX]; /* owned copies of -o export= values */
	unsigned nexport_lists;
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

static int export_add(struct mount_cmd *mc, const char *path)
{
	if (mc->nexports == BV_EXPORT_PATHS_MAX) {
		fprintf(stderr, "bootviewfs: at most %d export paths\n", BV_EXPORT_PATHS_MAX);
		return -EINVAL;
	}
	if (*path == '\0') {
		fprintf(stderr, "bootviewfs: empty export path\n");
		return -EINVAL;
	}
	mc->exports[mc->nexports++] = path;
	return 0;
}

/* -o export=A:B:C. The value is copied (the option string is freed after parsing). */
static int export_list_add(struct mount_cmd *mc, const char *list)
{
	char *copy, *save = NULL;
	int err = 0;

	if (mc->nexport_lists == BV_EXPORT_PATHS_MAX)
		return export_add(mc, ""); /* says why */
	copy = strdup(list);
	if (!copy)
		return -ENOMEM;
	mc->export_lists[mc->nexport_lists++] = copy;
	if (*copy == '\0')
		return export_add(mc, "");
	for (char *p = strtok_r(copy, ":", &save); p && !err; p = strtok_r(NULL, ":", &save))
		err = export_add(mc, p);
	return err;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bootviewfs [-f] [-d] [-o OPTS] [--state-dir DIR] [--ready-fd N] [--id NAME]\n"
		"                  [--require PATH]... [--export PATH]... SOURCE MOUNTPOINT\n"
		"       bootviewfs --mounts-json FILE|- [options] MOUNTPOINT\n"
		"  Serves the ext2/3/4 filesystem on SOURCE (block device or image) read-only.\n"
		"  -f            stay in the foreground (logs to stderr)\n"
		"  -d            debug: log every request (implies -f)\n"
		"  -o OPTS       mount options: ro nosuid nodev noexec exec allow_other allow_root\n"
		"                default_permissions fsname= subtype= max_read= atime options\n"
		"                context= threads=N export=PATH[:PATH...]; rw is accepted and mounted\n"
		"                read-only; dev and suid are accepted and ignored (the image is\n"
		"                untrusted: always nodev,nosuid)\n"
		"  --state-dir DIR  per-view state (created 0700): state.json, control FIFO, lock, log\n"
		"  --id NAME     a name for the view (state.json, fsname=bootviewfs:NAME)\n"
		"  --mounts-json FILE|-  SOURCE from a containerd mounts array (one ext2/3/4 mount)\n"
		"  --ready-fd N  write one JSON status line to fd N once serving (or on failure)\n"
		"  --require P   fail unless P resolves in the image to a regular file\n"
		"  --export P[:P...]  serve only these paths (and the directories on the way);\n"
		"                repeatable, the same as -o export=\n"
		"Without -f the command returns once the mount answers, or fails with nothing mounted.\n"
		"Stop it with `bootviewfs stop --state-dir DIR`, `fusermount3 -u MOUNTPOINT` or\n"
		"`umount MOUNTPOINT`.\n");
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
	if (strncmp(o, "export=", 7) == 0)
		return export_list_add(mc, o + 7);
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
		{ "state-dir", required_argument, NULL, 'S' },
		{ "id", required_argument, NULL, 'I' },
		{ "mounts-json", required_argument, NULL, 'M' },
		{ "export", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	/* mount(8) calls helpers as `SOURCE DIR [-sfnv] [-N ns] [-o opts] [-t type]`;
	 * there -f means "fake", not foreground. */
	const char *optstring = mc->helper ? ":fnsvo:t:N:h" : ":fdo:h";
	unsigned npos;
	int c, err;

	optind = 0; /* glibc: full re-initialisation, whatever ran getopt before */
	opterr = 0;
	while ((c = getopt_long(argc, argv, optstring, mc->helper ? longopts + 6 : longopts,
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
		case 'S':
			mc->state_dir_arg = optarg;
			break;
		case 'I':
			if (!*optarg || strlen(optarg) > 200 || strpbrk(optarg, "\n")) {
				fprintf(stderr, "bootviewfs: --id wants 1 to 200 characters\n");
				return -EINVAL;
			}
			mc->id = optarg;
			break;
		case 'M':
			mc->mounts_json = optarg;
			break;
		case 'E':
			/* Like -o export=: a colon-separated list is accepted too. */
			err = export_list_add(mc, optarg);
			if (err)
				return err;
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
	/* With --mounts-json the JSON names the source: only MOUNTPOINT is left. */
	npos = mc->mounts_json ? 1 : 2;
	if ((unsigned)(argc - optind) != npos) {
		fprintf(stderr, "bootviewfs: want %s\n",
			mc->mounts_json ? "only MOUNTPOINT with --mounts-json"
					: "SOURCE and MOUNTPOINT");
		return -EINVAL;
	}
	mc->source = mc->mounts_json ? NULL : argv[optind];
	mc->mountpoint = argv[optind + npos - 1];
	if (mc->debug)
		mc->foreground = true;
	return 0;
}

/* ---- logging ---- */

/* DIR/log: the daemon's log when it has a state directory. Until ready, messages are also
 * copied to the caller's stderr (a failed start must say why where the caller looks). */
struct log_file {
	int fd;
	uint64_t size;
	atomic_bool tee_stderr;
	enum bv_log_level tee_level; /* what is copied: warnings and errors, or all with -d */
	char path[PATH_MAX], old[PATH_MAX];
};

static void log_file_rotate(struct log_file *lf)
{
	int fd;

	/* One old generation is kept: log.1. */
	if (rename(lf->path, lf->old) != 0)
		return;
	fd = open(lf->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return;
	close(lf->fd);
	lf->fd = fd;
	lf->size = 0;
}

/* Called with the log's lock held (fs/log.c), so rotation needs no lock of its own. */
static void file_sink(enum bv_log_level level, const char *msg, void *ctx)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	struct log_file *lf = ctx;
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
	n = snprintf(line, sizeof(line), "%s.%03ldZ [%d] %s: %s\n", stamp,
		     ts.tv_nsec / 1000000, (int)getpid(), names[level], msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	if (lf->size + (uint64_t)n > BV_MOUNT_LOG_MAX)
		log_file_rotate(lf);
	if (write(lf->fd, line, (size_t)n) > 0)
		lf->size += (uint64_t)n;
}

static int log_file_open(struct log_file *lf, const char *dir)
{
	struct stat st;

	if ((size_t)snprintf(lf->path, sizeof(lf->path), "%s/log", dir) >= sizeof(lf->path) ||
	    (size_t)snprintf(lf->old, sizeof(lf->old), "%s/log.1", dir) >= sizeof(lf->old))
		return -ENAMETOOLONG;
	lf->fd = open(lf->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lf->fd < 0)
		return -errno;
	lf->size = fstat(lf->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

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

/* ---- the daemon ---- */

struct daemon {
	struct mount_cmd *mc;
	pthread_mutex_t state_lock;
	struct bv_state *st;     /* guarded by state_lock once threads run */
	bool have_state;         /* a state directory whose lock we hold */
	int state_dfd;           /* the state directory (bv_state_dir_open), or -1 */
	int lock_fd, control_fd, sig_fd;
	int wake[2];             /* written once the session loop has returned */
	struct log_file log;
	char failure[1024];      /* why the start failed; "" while it has not */
	struct fuse_session *se;
	struct bv_fuse *bf;
	pthread_t main_thread;   /* runs the session loop */
	int ready_pipe;          /* to the waiting parent; -1 in the foreground */
	atomic_bool stopping;    /* main is unmounting: the ready thread must not */
	atomic_bool failed;      /* the mount never answered */
	atomic_bool stop_requested; /* "stop" or a signal arrived */
	atomic_bool loop_done;
	atomic_int fuse_conn;    /* /sys/fs/fuse/connections/N, -1 until ready */
	pthread_mutex_t lock;    /* held across each prefetch store and by main to stop them */
	dev_t mnt_dev_before;    /* st_dev of the mountpoint before our mount */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Records STATUS (and ERR) in DIR/state.json when there is a state directory. "ready" is
 * written only over "starting": a stop that came first wins. */
static void state_set(struct daemon *d, enum bv_state_status status, const char *err)
{
	int e;

	pthread_mutex_lock(&d->state_lock);
	if (status == BV_STATE_READY && d->st->status != BV_STATE_STARTING) {
		pthread_mutex_unlock(&d->state_lock);
		return;
	}
	d->st->status = status;
	if (err)
		snprintf(d->st->error, sizeof(d->st->error), "%s", err);
	e = d->have_state ? bv_state_write(d->state_dfd, d->st) : 0;
	pthread_mutex_unlock(&d->state_lock);
	if (e)
		bv_err("cannot write %s/state.json: %s", d->mc->state_dir, strerror(-e));
}

/* --ready-fd: one JSON line, then the fd is closed. ERR NULL means ready. */
static void ready_fd_report(struct mount_cmd *mc, const struct bv_state *st, const char *err)
{
	json_t *o, *arts;
	char *text;
	int fd;

	if (mc->ready_fd < 0)
		return;
	fd = mc->ready_fd;
	mc->ready_fd = -1;
	if (err) {
		o = json_pack("{s:s,s:s}", "status", "error", "error", err);
	} else {
		arts = json_array();
		for (unsigned i = 0; arts && i < st->nartifacts; i++)
			json_array_append_new(arts, json_pack("{s:s,s:I,s:I}", "path",
							      st->artifacts[i].path, "size",
							      (json_int_t)st->artifacts[i].size,
							      "ino",
							      (json_int_t)st->artifacts[i].ino));
		o = json_pack("{s:s,s:i,s:s,s:s,s:o}", "status", "ready", "pid", (int)getpid(),
			      "mountpoint", mc->mnt ? mc->mnt : "", "fs", st->fs.type,
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
				bv_warn("--ready-fd: %s", strerror(errno));
			free(line);
		}
		free(text);
	}
	close(fd);
}

/* Logs "MSG" (on the caller's stderr too, until ready), keeps it as the reason the start
 * failed, and reports it on --ready-fd. */
static void __attribute__((format(printf, 2, 3))) fail_msg(struct daemon *d, const char *fmt,
							  ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bv_err("%s", msg);
	if (!d->failure[0])
		snprintf(d->failure, sizeof(d->failure), "%s", msg);
	ready_fd_report(d->mc, NULL, msg);
}

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
	/* Not dprintf: it mallocs, and a first malloc on this thread makes a new arena (three
	 * syscalls) while the caller waits for readiness. */
	n = snprintf(val, sizeof(val), "%d\n", BV_MOUNT_READ_AHEAD_KB);
	if (write(fd, val, (size_t)n) != n)
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
		sigset_t none;

		/* The daemon blocks its stop signals; the helper must not inherit that. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execlp("fusermount3", "fusermount3", "-u", "-z", "--", mnt, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* Aborting the connection fails every request in flight and makes the session's reads
 * return ENODEV: the last resort when a client keeps the mount busy. Root only. */
static void connection_abort(int conn)
{
	char path[64];
	int fd;

	if (conn < 0)
		return;
	snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%d/abort", conn);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) != 1)
		bv_warn("%s: %s", path, strerror(errno));
	close(fd);
}

/* Points stdin, stdout and stderr at DEVNULL (opened before confinement) and closes it. */
static void stdio_detach(int devnull)
{
	if (devnull < 0)
		return;
	dup2(devnull, STDIN_FILENO);
	dup2(devnull, STDOUT_FILENO);
	dup2(devnull, STDERR_FILENO);
	if (devnull > STDERR_FILENO)
		close(devnull);
}

static void wake_handler(int sig)
{
	(void)sig;
}

/* Ends the session loop from another thread. libfuse's loop waits on a semaphore that only
 * a worker's exit or a signal wakes; a worker exits by itself only when the connection
 * ends, which a client holding a file or a bind mount of the view can postpone forever.
 * So: mark the session exited and interrupt the loop's thread until it returns, and past
 * the grace period unmount and abort the connection. */
static void loop_end(struct daemon *d)
{
	int64_t deadline = now_ms() + BV_MOUNT_STOP_GRACE_MS;
	struct pollfd pfd = { .fd = d->wake[0], .events = POLLIN };
	bool forced = false;

	fuse_session_exit(d->se);
	while (!atomic_load(&d->loop_done)) {
		pthread_kill(d->main_thread, SIGUSR1);
		if (!forced && now_ms() >= deadline) {
			bv_warn("the session loop did not end in %d ms: unmounting and aborting "
				"the connection", BV_MOUNT_STOP_GRACE_MS);
			if (!atomic_load(&d->stopping))
				lazy_unmount(d->mc->mnt);
			connection_abort(atomic_load(&d->fuse_conn));
			forced = true;
		}
		poll(&pfd, 1, 20);
	}
}

/* Once serving, the --require'd regular files are pushed into the kernel's page cache, so
 * the runtime's first read of the kernel and initrd costs no READ round trip. The kernel
 * must know the inode first: a stat through the mount looks it up, and is used only when
 * it lands on the very inode the image resolved (a symlink in the path is followed by the
 * kernel on the host side of the mount, never trusted). */
static void prefetch_required(struct daemon *d, const struct stat *root)
{
	struct mount_cmd *mc = d->mc;

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
			pthread_mutex_lock(&d->lock);
			n = atomic_load(&d->stopping) ? -ESHUTDOWN :
							 bv_fuse_prefetch(d->bf, d->se, ino,
									  off, 1u << 20);
			pthread_mutex_unlock(&d->lock);
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
	struct daemon *d = arg;
	struct mount_cmd *mc = d->mc;
	struct stat st;
	char msg[512];

	if (stat(mc->mnt, &st) != 0) {
		snprintf(msg, sizeof(msg), "mount on %s does not answer: %s", mc->mnt,
			 strerror(errno));
		goto fail;
	}
	/* A new anonymous device (FUSE's kind) where the directory was, showing the image's
	 * root inode: our mount. This replaced a statfs for the FUSE magic, one FUSE round
	 * trip (two thread wake-ups) less before the caller may go on. */
	if (st.st_dev == d->mnt_dev_before || major(st.st_dev) != 0 ||
	    st.st_ino != BV_EXT4_ROOT_INO) {
		snprintf(msg, sizeof(msg), "%s does not show the image's root after mounting",
			 mc->mnt);
		goto fail;
	}
	/* /sys/fs/fuse/connections/N is named after the superblock's device number; FUSE
	 * superblocks are anonymous devices (major 0), so N is the minor. */
	atomic_store(&d->fuse_conn, (int)minor(st.st_dev));
	struct bv_mnt_entry me;
	bool me_ok = bv_mnt_find(mc->mnt, NULL, NULL, &me) == 0 && me.major == 0 &&
		     me.minor == minor(st.st_dev);
	pthread_mutex_lock(&d->state_lock);
	d->st->fuse_conn = (int)minor(st.st_dev);
	/* `stop` unmounts only what mountinfo shows with this type and source: record them
	 * exactly as the kernel shows them. */
	if (me_ok) {
		snprintf(d->st->fstype, sizeof(d->st->fstype), "%s", me.fstype);
		snprintf(d->st->fsname, sizeof(d->st->fsname), "%s", me.source);
	}
	pthread_mutex_unlock(&d->state_lock);
	readahead_raise(st.st_dev);
	/* DESIGN.md 7: confined before anyone hears "ready", so ready implies confined; root
	 * keeps CAP_SYS_ADMIN to unmount on stop. What the rest of the daemon's life needs
	 * from outside the state dir is opened first: /dev/null for detaching. */
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (bv_sandbox_enter(&(const struct bv_sandbox_opts){ .keep_unmount = geteuid() == 0,
							       .state_dir = mc->state_dir }))
		bv_warn("sandbox incomplete (see above): serving anyway");
	bv_info("serving %s at %s", mc->src_abs, mc->mnt);
	/* state.json first: whoever reads the ready line may look at it at once. */
	state_set(d, BV_STATE_READY, NULL);
	if (atomic_load(&d->stop_requested)) {
		if (devnull >= 0)
			close(devnull);
		snprintf(msg, sizeof(msg), "stopped before the mount was ready");
		goto stopped;
	}
	ready_fd_report(mc, d->st, NULL);
	if (d->ready_pipe >= 0) {
		/* Detach before telling the parent, so whoever waits on our stdout or stderr
		 * (a $(...) or a pipe) sees EOF when the parent exits. */
		if (!d->have_state) {
			openlog("bootviewfs", LOG_PID, LOG_DAEMON);
			bv_log_set_sink(syslog_sink, NULL);
		}
		atomic_store(&d->log.tee_stderr, false);
		stdio_detach(devnull);
		devnull = -1;
		if (write(d->ready_pipe, "R", 1) != 1)
			bv_err("cannot tell the parent the mount is ready: %s", strerror(errno));
		close(d->ready_pipe);
		d->ready_pipe = -1;
	}
	if (devnull >= 0)
		close(devnull);
	prefetch_required(d, &st);
	return NULL;
fail:
	if (atomic_load(&d->stop_requested)) {
		snprintf(msg, sizeof(msg), "stopped before the mount was ready");
		goto stopped;
	}
	fail_msg(d, "%s", msg);
	atomic_store(&d->failed, true);
	/* Unmounting ends the connection, which wakes the loop's blocked reads. */
	if (!atomic_load(&d->stopping))
		lazy_unmount(mc->mnt);
	loop_end(d);
	return NULL;
stopped:
	bv_info("%s", msg);
	ready_fd_report(mc, NULL, msg);
	return NULL;
}

/* Watches DIR/control and the stop signals (through a signalfd: they are blocked in
 * every thread). Returns when the loop is over, after starting the stop if asked. */
static void *control_main(void *arg)
{
	struct daemon *d = arg;
	struct pollfd pfd[3] = {
		{ .fd = d->wake[0], .events = POLLIN },
		{ .fd = d->sig_fd, .events = POLLIN },
		{ .fd = d->control_fd, .events = POLLIN },
	};
	nfds_t nfds = d->control_fd >= 0 ? 3 : 2;
	bool stop = false;

	while (!stop) {
		if (poll(pfd, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			bv_err("control: poll: %s", strerror(errno));
			return NULL;
		}
		if (pfd[0].revents)
			return NULL; /* the loop ended by itself: unmounted from outside */
		if (pfd[1].revents) {
			struct signalfd_siginfo si;

			if (read(d->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				bv_info("signal %u from pid %u: stopping", si.ssi_signo,
					si.ssi_pid);
				stop = true;
			}
		}
		if (nfds == 3 && pfd[2].revents) {
			int err = bv_control_drain(d->control_fd, &stop);

			if (err)
				bv_err("control: %s", strerror(-err));
			if (stop)
				bv_info("\"stop\" on the control FIFO: stopping");
		}
	}
	atomic_store(&d->stop_requested, true);
	state_set(d, BV_STATE_STOPPING, NULL);
	loop_end(d);
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

/* Mounts, serves until unmounted or stopped, unmounts. Returns the exit status. The stop
 * signals are already blocked (daemon_run), so every thread made here inherits that. */
static int serve(struct daemon *d)
{
	struct mount_cmd *mc = d->mc;
	struct fuse_loop_config *cfg = NULL;
	struct sigaction sa = { .sa_handler = wake_handler };
	pthread_t ready, control;
	bool ready_started = false, control_started = false;
	int status = BV_EXIT_FAIL;
	int err;

	/* No SA_RESTART: SIGUSR1 is how loop_end() interrupts the loop's wait. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	d->main_thread = pthread_self();
	if (pipe2(d->wake, O_CLOEXEC) != 0) {
		fail_msg(d, "pipe: %s", strerror(errno));
		return BV_EXIT_FAIL;
	}
	if (fuse_session_mount(d->se, mc->mnt) != 0) {
		/* libfuse has said why in the log. */
		fail_msg(d, "cannot mount %s on %s", mc->src_abs, mc->mnt);
		goto out_wake;
	}
	cfg = fuse_loop_cfg_create();
	if (!cfg) {
		fail_msg(d, "out of memory");
		goto out_unmount;
	}
	/* Idle threads are kept (idle == max), so their read buffers stay allocated. */
	fuse_loop_cfg_set_max_threads(cfg, mc->threads);
	fuse_loop_cfg_set_idle_threads(cfg, mc->threads);
	err = pthread_create(&control, NULL, control_main, d);
	if (err) {
		fail_msg(d, "cannot start a thread: %s", strerror(err));
		goto out_cfg;
	}
	control_started = true;
	err = pthread_create(&ready, NULL, ready_main, d);
	if (err) {
		fail_msg(d, "cannot start a thread: %s", strerror(err));
		goto out_cfg;
	}
	ready_started = true;
	/* 0 after an unmount or a stop. Negative is a real error. */
	err = fuse_session_loop_mt(d->se, cfg);
	status = (err >= 0 && !atomic_load(&d->failed) && !d->failure[0]) ? BV_EXIT_OK
									     : BV_EXIT_FAIL;
	if (err < 0)
		bv_err("session loop: %s", strerror(-err));
out_cfg:
	fuse_loop_cfg_destroy(cfg);
out_unmount:
	atomic_store(&d->loop_done, true);
	if (write(d->wake[1], "x", 1) != 1)
		bv_err("wake pipe: %s", strerror(errno));
	if (status == BV_EXIT_OK)
		state_set(d, BV_STATE_STOPPING, NULL);
	/* Unmount before joining: if the loop stopped while the ready thread's stat was
	 * still waiting, unmounting (which closes the session fd) is what fails that stat. */
	pthread_mutex_lock(&d->lock);
	atomic_store(&d->stopping, true);
	pthread_mutex_unlock(&d->lock);
	fuse_session_unmount(d->se);
	if (ready_started)
		pthread_join(ready, NULL);
	if (control_started)
		pthread_join(control, NULL);
	stats_write(d->bf);
out_wake:
	if (!atomic_load(&d->loop_done) && write(d->wake[1], "x", 1) != 1)
		bv_err("wake pipe: %s", strerror(errno));
	close(d->wake[0]);
	close(d->wake[1]);
	if (d->ready_pipe >= 0)
		close(d->ready_pipe);
	d->ready_pipe = -1;
	return status;
}

/* ---- start-up ---- */

/* fsname=bootviewfs:<name>, with libfuse's escapes for ',' and '\'. */
static int fsname_add(struct strbuf *sb, const char *name)
{
	size_t n = strlen(name);
	char *o = malloc(2 * n + sizeof("fsname=bootviewfs:"));
	char *p;
	int err;

	if (!o)
		return -ENOMEM;
	p = stpcpy(o, "fsname=bootviewfs:");
	for (; *name; name++) {
		if (*name == ',' || *name == '\\')
			*p++ = '\\';
		*p++ = *name;
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
		err = fsname_add(sb, mc->id ? mc->id : mc->src_abs);
	if (!err && !mc->subtype_set)
		err = sb_add(sb, "subtype=bootviewfs", 18);
	if (!err && mc->passthru.len)
		err = sb_add(sb, mc->passthru.s, mc->passthru.len);
	return err;
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

/* The source's identity for state.json: device number, size and, for a device-mapper
 * device, its name, uuid and target type. */
static void state_source_fill(struct bv_state *st, const char *path, struct bv_source *src)
{
	struct bv_dm_info dm;
	dev_t rdev;
	int err;

	snprintf(st->source.path, sizeof(st->source.path), "%s", path);
	st->source.size = bv_source_size(src);
	if (bv_source_is_blockdev(src, &rdev) != 1)
		return;
	st->source.major = major(rdev);
	st->source.minor = minor(rdev);
	err = bv_dm_info_get(major(rdev), minor(rdev), &dm);
	if (err == 0) {
		snprintf(st->source.dm_name, sizeof(st->source.dm_name), "%s", dm.name);
		snprintf(st->source.dm_uuid, sizeof(st->source.dm_uuid), "%s", dm.uuid);
		snprintf(st->source.dm_target, sizeof(st->source.dm_target), "%s", dm.target);
	} else if (err != -ENODEV) {
		bv_warn("device-mapper info of %s: %s", path, strerror(-err));
	}
}

/* Each --require'd path must resolve inside the image to a regular file; its size and
 * inode become an artifact of the ready line and state.json. */
static int requires_check(struct daemon *d, struct bv_ext4 *fs)
{
	struct mount_cmd *mc = d->mc;

	for (unsigned i = 0; i < mc->nrequire; i++) {
		struct bv_state_artifact *art = &d->st->artifacts[i];
		struct bv_ext4_inode inode;
		uint32_t ino;
		int err;

		err = bv_ext4_resolve(fs, mc->require[i], BV_RESOLVE_FOLLOW, &ino);
		if (!err)
			err = bv_ext4_inode_get_linked(fs, ino, &inode);
		if (err) {
			fail_msg(d, "%s: required path %s: %s", mc->src_abs, mc->require[i],
				 strerror(-err));
			return err;
		}
		if (!S_ISREG(inode.mode)) {
			fail_msg(d, "%s: required path %s: %s", mc->src_abs, mc->require[i],
				 S_ISDIR(inode.mode) ? "is a directory, not a regular file"
						     : "not a regular file");
			return -EINVAL;
		}
		snprintf(art->path, sizeof(art->path), "%s", mc->require[i]);
		art->size = inode.size;
		art->ino = ino;
		d->st->nartifacts = i + 1;
	}
	return 0;
}

static void fs_info_fill(struct bv_state *st, struct bv_ext4 *fs)
{
	struct bv_ext4_info info;

	bv_ext4_info_get(fs, &info);
	snprintf(st->fs.type, sizeof(st->fs.type), "%s", info.type);
	snprintf(st->fs.uuid, sizeof(st->fs.uuid), "%s", info.uuid_str);
	snprintf(st->fs.journal, sizeof(st->fs.journal), "%s",
		 info.journal_state ? info.journal_state : "none");
	st->fs.block_size = info.block_size;
}

/* The daemon's life, in the forked child (or in the process itself with -f): state
 * directory and lock, source, filesystem, checks, mount, serve, stop. Returns the exit
 * status. */
static int daemon_run(struct mount_cmd *mc, int ready_pipe)
{
	struct daemon d = { .mc = mc, .state_dfd = -1, .lock_fd = -1, .control_fd = -1,
			    .sig_fd = -1,
			    .ready_pipe = ready_pipe, .wake = { -1, -1 },
			    .state_lock = PTHREAD_MUTEX_INITIALIZER,
			    .lock = PTHREAD_MUTEX_INITIALIZER, .log = { .fd = -1 } };
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct strbuf fopts = { 0 };
	struct bv_source *src = NULL;
	struct bv_ext4 *fs = NULL;
	struct bv_ext4_opts fsopts = { .cache_bytes = BV_MOUNT_CACHE_BYTES };
	struct bv_export *exp = NULL;
	char errbuf[512] = "";
	char cwd[PATH_MAX];
	sigset_t stopsigs, oldmask;
	int keep[2] = { mc->ready_fd, ready_pipe };
	const char *src_path;
	struct stat sb;
	int status = BV_EXIT_FAIL;
	int mnt_errno, err;

	atomic_init(&d.fuse_conn, -1);
	/* A dead reader of the ready fd or of stderr must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	/* SIGTERM, SIGINT and SIGHUP mean "stop"; blocked from here on (in every thread
	 * made later) and read from a signalfd once serving, so one that comes early is
	 * only deferred. */
	sigemptyset(&stopsigs);
	sigaddset(&stopsigs, SIGTERM);
	sigaddset(&stopsigs, SIGINT);
	sigaddset(&stopsigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stopsigs, &oldmask);
	if (!mc->fake)
		fds_close_inherited(keep, 2);
	/* Nothing we exec (fusermount3) may hold the ready fd: EOF on it must mean we died. */
	if (mc->ready_fd >= 0)
		fcntl(mc->ready_fd, F_SETFD, FD_CLOEXEC);

	d.st = calloc(1, sizeof(*d.st));
	if (!d.st) {
		fail_msg(&d, "out of memory");
		goto out;
	}
	bv_state_init(d.st);
	d.st->pid = getpid();
	d.st->uid = (unsigned)geteuid();
	if (bv_proc_start_time(d.st->pid, &d.st->start_time) != 0 ||
	    bv_proc_boot_id(d.st->boot_id) != 0)
		bv_warn("cannot read this process's start time or the boot id: stop will not "
			"be able to kill it as a last resort");
	d.st->started_at = (int64_t)time(NULL);
	if (mc->id)
		snprintf(d.st->id, sizeof(d.st->id), "%s", mc->id);
	/* Canonical before the first state.json: `stop` must find the mountpoint from any
	 * working directory, even if this daemon dies right after writing it. */
	mc->mnt = realpath(mc->mountpoint, NULL);
	mnt_errno = errno;
	if (mc->mnt || mc->mountpoint[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		snprintf(d.st->mountpoint, sizeof(d.st->mountpoint), "%s",
			 mc->mnt ? mc->mnt : mc->mountpoint);
	else if (strlen(cwd) + strlen(mc->mountpoint) + 2 <= sizeof(d.st->mountpoint))
		stpcpy(stpcpy(stpcpy(d.st->mountpoint, cwd), "/"), mc->mountpoint);

	/* The lock first: until it is ours nothing in DIR may be written, since another
	 * daemon may own it. */
	if (mc->state_dir_arg && !mc->fake) {
		d.state_dfd = bv_state_dir_open(mc->state_dir_arg, true, false, errbuf,
						sizeof(errbuf));
		err = d.state_dfd < 0 ? d.state_dfd : 0;
		if (!err) {
			mc->state_dir = realpath(mc->state_dir_arg, NULL);
			if (!mc->state_dir)
				err = -errno;
		}
		if (err && d.state_dfd < 0) {
			fail_msg(&d, "%s", errbuf);
			goto out;
		}
		if (err) {
			fail_msg(&d, "state directory %s: %s", mc->state_dir_arg, strerror(-err));
			goto out;
		}
		d.lock_fd = bv_lock_life_take(d.state_dfd);
		if (d.lock_fd < 0) {
			fail_msg(&d, "state directory %s: %s", mc->state_dir,
				 d.lock_fd == -EWOULDBLOCK
					 ? "in use: another bootviewfs holds its lock"
					 : strerror(-d.lock_fd));
			goto out;
		}
		d.have_state = true;
		/* A shim's operator reads DIR/log: starts and stops belong there. */
		if (bv_log_get_level() < BV_LOG_INFO)
			bv_log_set_level(BV_LOG_INFO);
		err = log_file_open(&d.log, mc->state_dir);
		if (err)
			bv_warn("%s/log: %s (logging to stderr only)", mc->state_dir,
				strerror(-err));
		d.log.tee_level = mc->debug ? BV_LOG_DEBUG : BV_LOG_WARN;
		atomic_store(&d.log.tee_stderr, true);
		bv_log_set_sink(file_sink, &d.log);
		/* The FIFO exists from the start, so a "stop" sent while we start is kept
		 * and obeyed as soon as the mount serves (a failed start removes it). */
		d.control_fd = bv_control_open(d.state_dfd);
		state_set(&d, BV_STATE_STARTING, NULL);
		if (d.control_fd < 0) {
			fail_msg(&d, "%s/control: %s", mc->state_dir, strerror(-d.control_fd));
			goto out;
		}
	}

	if (!mc->mnt || stat(mc->mnt, &sb) != 0) {
		fail_msg(&d, "mountpoint %s: %s", mc->mountpoint,
			 strerror(mc->mnt ? errno : mnt_errno));
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		fail_msg(&d, "mountpoint %s: %s", mc->mountpoint, strerror(ENOTDIR));
		goto out;
	}
	d.mnt_dev_before = sb.st_dev;
	d.st->mountpoint_dev = (uint64_t)sb.st_dev;
	d.st->mountpoint_ino = (uint64_t)sb.st_ino;
	snprintf(d.st->mountpoint, sizeof(d.st->mountpoint), "%s", mc->mnt);

	if (mc->mounts_json) {
		mc->spec = calloc(1, sizeof(*mc->spec));
		if (!mc->spec) {
			fail_msg(&d, "out of memory");
			goto out;
		}
		err = bv_mounts_load(mc->mounts_json, mc->spec, errbuf, sizeof(errbuf));
		if (err) {
			fail_msg(&d, "mounts JSON: %s", errbuf[0] ? errbuf : strerror(-err));
			goto out;
		}
		mc->source = mc->spec->source;
	}
	src_path = mc->source;
	err = bv_source_open(src_path, &src);
	if (err) {
		fail_msg(&d, "cannot open %s: %s", src_path, strerror(-err));
		goto out;
	}
	mc->src_abs = realpath(src_path, NULL);
	if (!mc->src_abs) {
		fail_msg(&d, "%s: %s", src_path, strerror(errno));
		goto out;
	}
	state_source_fill(d.st, mc->src_abs, src);
	errbuf[0] = '\0';
	err = bv_ext4_open(src, &fsopts, &fs, errbuf, sizeof(errbuf));
	if (err) {
		/* The reader's sentence may already name the source. */
		if (errbuf[0] && strstr(errbuf, src_path))
			fail_msg(&d, "%s", errbuf);
		else
			fail_msg(&d, "%s: %s", src_path, errbuf[0] ? errbuf : strerror(-err));
		goto out;
	}
	mc->fs = fs;
	fs_info_fill(d.st, fs);
	if (mc->spec && strcmp(mc->spec->type, d.st->fs.type) != 0)
		bv_info("mounts JSON says %s, the image is %s: serving it as %s",
			mc->spec->type, d.st->fs.type, d.st->fs.type);
	if (requires_check(&d, fs))
		goto out;
	if (mc->nexports) {
		/* The required artifacts are part of what export mode serves. */
		for (unsigned i = 0; i < mc->nrequire && mc->nexports < BV_EXPORT_PATHS_MAX; i++)
			mc->exports[mc->nexports++] = mc->require[i];
		errbuf[0] = '\0';
		err = bv_export_new(fs, mc->exports, mc->nexports, &exp, errbuf, sizeof(errbuf));
		if (err) {
			fail_msg(&d, "%s: %s", mc->src_abs, errbuf[0] ? errbuf : strerror(-err));
			goto out;
		}
	}
	if (mc->fake) {
		status = BV_EXIT_OK;
		goto out;
	}

	/* What mountinfo will show, so that a daemon killed before ready leaves `stop`
	 * enough to unmount it; ready_main records the kernel's own words. */
	if (!mc->subtype_set)
		snprintf(d.st->fstype, sizeof(d.st->fstype), "fuse.bootviewfs");
	if (!mc->fsname_set)
		snprintf(d.st->fsname, sizeof(d.st->fsname), "bootviewfs:%s",
			 mc->id ? mc->id : mc->src_abs);
	if (d.have_state)
		state_set(&d, BV_STATE_STARTING, NULL);
	d.sig_fd = signalfd(-1, &stopsigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d.sig_fd < 0) {
		fail_msg(&d, "signalfd: %s", strerror(errno));
		goto out;
	}

	err = fuse_opts_build(mc, &fopts);
	if (!err)
		err = fuse_opt_add_arg(&args, "bootviewfs") ? -ENOMEM : 0;
	if (!err)
		err = fuse_opt_add_arg(&args, "-o") || fuse_opt_add_arg(&args, fopts.s) ?
			      -ENOMEM : 0;
	if (!err && mc->debug)
		err = fuse_opt_add_arg(&args, "-d") ? -ENOMEM : 0;
	if (!err)
		err = bv_fuse_new(fs, &d.bf);
	if (!err) {
		bv_fuse_max_read_set(d.bf, mc->max_read);
		bv_fuse_export_set(d.bf, exp);
	}
	if (err) {
		fail_msg(&d, "%s", strerror(-err));
		goto out;
	}
	bv_debug("mount options: %s", fopts.s);
	d.se = bv_fuse_session_new(d.bf, &args);
	if (!d.se) {
		fail_msg(&d, "bad mount options: %s", fopts.s);
		goto out;
	}
	if (!mc->foreground && chdir("/") != 0)
		bv_debug("chdir /: %s", strerror(errno));
	status = serve(&d);
	ready_pipe = -1; /* serve closed it */
out:
	if (d.se)
		fuse_session_destroy(d.se);
	bv_fuse_free(d.bf);
	bv_export_free(exp);
	bv_ext4_close(fs);
	mc->fs = NULL;
	/* The device is closed from here: only now may state.json say stopped or failed. */
	bv_source_close(src);
	if (d.sig_fd >= 0)
		close(d.sig_fd);
	if (d.control_fd >= 0) {
		close(d.control_fd);
		unlinkat(d.state_dfd, "control", 0);
	}
	fuse_opt_free_args(&args);
	free(fopts.s);
	if (status == BV_EXIT_OK && mc->src_abs && !mc->fake)
		bv_info("stopped: %s unmounted, %s closed", mc->mnt, mc->src_abs);
	if (d.st && d.have_state) {
		if (status == BV_EXIT_OK)
			state_set(&d, BV_STATE_STOPPED, NULL);
		else
			state_set(&d, BV_STATE_FAILED, d.failure[0] ? d.failure : "failed");
	}
	if (!d.failure[0] && status != BV_EXIT_OK)
		fail_msg(&d, "failed");
	ready_fd_report(mc, d.st, status == BV_EXIT_OK ? "stopped" : "failed");
	if (ready_pipe >= 0)
		close(ready_pipe);
	bv_log_set_sink(NULL, NULL);
	if (d.log.fd >= 0)
		close(d.log.fd);
	/* The lock goes last: once it is free, `stop` may take everything as over. */
	if (d.lock_fd >= 0)
		close(d.lock_fd);
	if (d.state_dfd >= 0)
		close(d.state_dfd);
	free(d.st);
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	return status;
}

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
static void ready_fd_error(struct mount_cmd *mc, const char *msg)
{
	ready_fd_report(mc, NULL, msg);
}

int bv_cmd_mount(int argc, char **argv)
{
	struct mount_cmd mc = { .threads = BV_MOUNT_THREADS_DEFAULT, .ready_fd = -1 };
	int status = BV_EXIT_FAIL;
	int pipefd[2] = { -1, -1 };
	int err;

	fuse_set_log_func(fuse_log_bridge);
	mc.helper = invoked_as_helper(argv[0]);
	err = args_parse(&mc, argc, argv);
	if (err) {
		if (err < 0) {
			usage(stderr);
			ready_fd_error(&mc, "bad command line");
			status = BV_EXIT_USAGE;
		} else {
			status = BV_EXIT_OK; /* --help */
		}
		goto out;
	}
	if (mc.allow_other && mc.allow_root) {
		fprintf(stderr, "bootviewfs: allow_other and allow_root exclude each other\n");
		usage(stderr);
		ready_fd_error(&mc, "allow_other and allow_root exclude each other");
		status = BV_EXIT_USAGE;
		goto out;
	}
	/* allow_other by default where permitted, unless the caller chose allow_root. */
	if (!mc.allow_root)
		mc.allow_other = mc.allow_other || allow_other_permitted();
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
	status = daemon_run(&mc, pipefd[1]);
	pipefd[1] = -1;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	for (unsigned i = 0; i < mc.nexport_lists; i++)
		free(mc.export_lists[i]);
	free(mc.passthru.s);
	free(mc.mnt);
	free(mc.src_abs);
	free(mc.state_dir);
	free(mc.spec);
	return status;
}
