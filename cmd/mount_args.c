/* The mount form's command line: options, -o lists, mount(8)'s helper conventions, usage.
 * Fills a struct bv_mount_cmd (cmd/daemon/daemon.h) for cmd_mount.c to start the daemon. */
#include "cmd/mount_args.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "fs/export.h"
#include "util/log.h"

int bv_strbuf_add(struct bv_strbuf *sb, const char *s, size_t n)
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

static int export_add(struct bv_mount_cmd *mc, const char *path)
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
static int export_list_add(struct bv_mount_cmd *mc, const char *list)
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

/* After the one line that says what is wrong with a command line. */
void bv_mount_usage_hint(void)
{
	fprintf(stderr, "try 'bootviewfs mount --help'\n");
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bootviewfs [-f] [-d] [-o OPTS] [--state-dir DIR] [--ready-fd N] [--id NAME]\n"
		"                  [--require PATH]... [--export PATH[:PATH...]]... [--export-all]\n"
		"                  [--over-mount]\n"
		"                  SOURCE MOUNTPOINT\n"
		"       bootviewfs --mounts-json FILE|- [options] MOUNTPOINT\n"
		"  Serves the ext2/3/4 or xfs filesystem on SOURCE (block device or image) read-only.\n"
		"  -f, --foreground  stay in the foreground (logs to stderr)\n"
		"  -d, --debug   debug: log every request (implies -f)\n"
		"  -o OPTS       mount options: ro nosuid nodev noexec exec allow_other allow_root\n"
		"                default_permissions fsname= (default bootviewfs:SOURCE) subtype=\n"
		"                max_read= atime options sync async dirsync context= fscontext=\n"
		"                defcontext= rootcontext= threads=N (workers, default 4)\n"
		"                export=PATH[:PATH...]; norecovery (or noload): serve what is on\n"
		"                disk without the ext4 journal's replay, and an xfs image whose\n"
		"                log is dirty; nouuid is accepted and ignored; rw is accepted and mounted\n"
		"                read-only; dev and suid are accepted and ignored (the image is\n"
		"                untrusted: always nodev,nosuid)\n"
		"  --state-dir DIR  per-view state (created 0700): state.json, control FIFO, lock, log\n"
		"  --id NAME     a name for the view (state.json, fsname=bootviewfs:NAME)\n"
		"  --mounts-json FILE|-  SOURCE from a containerd mounts array (one ext2/3/4 or xfs\n"
		"                mount)\n"
		"  --ready-fd N  write one JSON status line to fd N once serving (or on failure)\n"
		"  --require P   fail unless P resolves in the image to a regular file\n"
		"  --export P[:P...]  serve only these paths (and the directories on the way);\n"
		"                repeatable, the same as -o export=; --require'd paths are added\n"
		"  --export-all  with --require: serve the whole image (else only what is required)\n"
		"  --over-mount  mount even where something is mounted already (-o over_mount);\n"
		"                without it a mountpoint that is a mount point is refused\n"
		"Without -f the command returns once the mount answers, or fails with nothing mounted.\n"
		"Stop it with `bootviewfs stop --state-dir DIR`, `fusermount3 -u MOUNTPOINT` or\n"
		"`umount MOUNTPOINT`.\n"
		"mount(8) and fstab lines (type fuse.bootviewfs) run it as /sbin/mount.fuse.bootviewfs,\n"
		"which make install puts there (man bootviewfs: MOUNT(8) AND FSTAB).\n"
		"Exit status: 0 serving (with -f: stopped cleanly), 1 the start failed (nothing is\n"
		"mounted) or the daemon died before it was ready, 2 bad command line.\n");
}

/* Options mount(8), fstab and mount.fuse3 may pass that mean nothing to a FUSE mount. */
static bool opt_is_ignored(const char *o)
{
	static const char *const names[] = { "defaults", "auto", "noauto", "user", "nouser",
					     "users", "owner", "group", "_netdev", "nofail",
					     "ro", "nosuid", "nodev", "nouuid", NULL };

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

static int opt_one(struct bv_mount_cmd *mc, const char *o, size_t raw_len, const char *raw)
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
	if (strcmp(o, "norecovery") == 0 || strcmp(o, "noload") == 0) {
		mc->no_recovery = true;
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
	if (strcmp(o, "over_mount") == 0) {
		mc->over_mount = true;
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
		return bv_strbuf_add(&mc->passthru, raw, raw_len);
	}
	fprintf(stderr, "bootviewfs: unknown mount option '%s'\n", o);
	return -EINVAL;
}

/* Splits LIST at commas not escaped with a backslash (libfuse's own convention). */
static int opts_parse(struct bv_mount_cmd *mc, const char *list)
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
bool bv_mount_allow_other_permitted(void)
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

static int args_parse(struct bv_mount_cmd *mc, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ready-fd", required_argument, NULL, 'R' },
		{ "require", required_argument, NULL, 'P' },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "id", required_argument, NULL, 'I' },
		{ "mounts-json", required_argument, NULL, 'M' },
		{ "export", required_argument, NULL, 'E' },
		{ "export-all", no_argument, NULL, 'A' },
		{ "over-mount", no_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	/* mount(8) calls helpers as `SOURCE DIR [-sfnv] [-N ns] [-o opts] [-t type]`;
	 * there -f means "fake", not foreground. */
	const char *optstring = mc->helper ? ":fnsvo:t:N:h" : ":fdo:h";
	char what[128];
	unsigned npos;
	int c, err;

	optind = 0; /* glibc: full re-initialisation, whatever ran getopt before */
	opterr = 0;
	for (int at = optind ? optind : 1;
	     (c = getopt_long(argc, argv, optstring, mc->helper ? longopts + 7 : longopts,
			      NULL)) != -1;
	     at = optind) {
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
		case 'A':
			mc->export_all = true;
			break;
		case 'O':
			mc->over_mount = true;
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
		default: /* '?' or ':' */
			bv_cmd_option_describe(c, argv, at, what, sizeof(what));
			fprintf(stderr, "bootviewfs: %s\n", what);
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

/* --require'd files are part of what export mode serves, and --require alone means export
 * mode (only those files and the directories on their way are visible) unless
 * --export-all says the whole image. Both count against the export cap. */
static int exports_settle(struct bv_mount_cmd *mc)
{
	if (mc->export_all && mc->nexports) {
		fprintf(stderr, "bootviewfs: --export-all and --export exclude each other\n");
		return -EINVAL;
	}
	if (mc->export_all || (!mc->nexports && !mc->nrequire))
		return 0;
	if (mc->nexports + mc->nrequire > BV_EXPORT_PATHS_MAX) {
		fprintf(stderr,
			"bootviewfs: at most %d paths to export, --require'd ones included "
			"(%u --export, %u --require)\n",
			BV_EXPORT_PATHS_MAX, mc->nexports, mc->nrequire);
		return -EINVAL;
	}
	for (unsigned i = 0; i < mc->nrequire; i++)
		mc->exports[mc->nexports++] = mc->require[i];
	return 0;
}

int bv_mount_args_parse(struct bv_mount_cmd *mc, int argc, char **argv)
{
	int err;

	mc->helper = invoked_as_helper(argv[0]);
	err = args_parse(mc, argc, argv);
	if (!err)
		err = exports_settle(mc);
	return err;
}
