/* `bootviewfs stop` and `bootviewfs status`: the shim's view of a running daemon, through
 * its state directory (state/). */
#include "fs/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/lock.h"
#include "state/state.h"
#include "state/stop.h"

#define STOP_DEFAULT_TIMEOUT_S 10

static const char stop_help[] =
	"Usage: bootviewfs stop --state-dir DIR [--timeout SEC]\n"
	"Stops the view whose state directory is DIR, whatever became of its daemon:\n"
	"asks it to stop through DIR/control, waits up to SEC seconds (default 10) for it to\n"
	"exit and the mount to go, then lazily unmounts, aborts the FUSE connection, and as a\n"
	"last resort kills the daemon through a pidfd (only if its pid, start time and boot\n"
	"id all match state.json). Removes the mountpoint directory (rmdir, never recursive).\n"
	"Idempotent; stopping an absent, stopped or failed view succeeds.\n"
	"Exit status: 0 stopped (device closed, nothing mounted), 1 something is still\n"
	"running or mounted, 2 bad command line.\n";

static const char status_help[] =
	"Usage: bootviewfs status --state-dir DIR [--human]\n"
	"Prints DIR/state.json (or a one-line summary with --human).\n"
	"Exit status: 0 ready (and the daemon is alive), 1 not ready, 2 no view in DIR,\n"
	"3 bad command line.\n";

struct state_args {
	const char *dir;
	long timeout_s;
	bool human;
};

static int parse(int argc, char **argv, const char *help, bool is_stop, struct state_args *a)
{
	static const struct option opts[] = { { "state-dir", required_argument, NULL, 'd' },
					      { "timeout", required_argument, NULL, 't' },
					      { "human", no_argument, NULL, 'H' },
					      { "help", no_argument, NULL, 'h' },
					      { "version", no_argument, NULL, 'V' },
					      { NULL, 0, NULL, 0 } };
	char *end;
	int c;

	a->dir = NULL;
	a->timeout_s = STOP_DEFAULT_TIMEOUT_S;
	a->human = false;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			a->dir = optarg;
			break;
		case 't':
			errno = 0;
			a->timeout_s = strtol(optarg, &end, 10);
			if (!is_stop || errno || *end || a->timeout_s < 0 || a->timeout_s > 86400)
				goto usage;
			break;
		case 'H':
			if (is_stop)
				goto usage;
			a->human = true;
			break;
		case 'h':
			fputs(help, stdout);
			return 1;
		case 'V':
			printf("bootviewfs %s\n", BV_VERSION);
			return 1;
		default:
			goto usage;
		}
	}
	if (a->dir && optind == argc)
		return 0;
usage:
	fprintf(stderr, "bootviewfs: %s needs --state-dir DIR%s\n%s", argv[0],
		is_stop ? " [--timeout SEC]" : " [--human]", help);
	return -1;
}

int bv_cmd_stop(int argc, char **argv)
{
	struct bv_stop_report r;
	struct state_args a;
	int rc = parse(argc, argv, stop_help, true, &a);

	if (rc)
		return rc > 0 ? BV_EXIT_OK : BV_EXIT_USAGE;
	int err = bv_stop_run(a.dir, (int)(a.timeout_s * 1000), &r);
	if (err) {
		fprintf(stderr, "bootviewfs: stop %s: %s\n", a.dir,
			err == -EBUSY ? "the daemon or its mount is still there" : strerror(-err));
		return BV_EXIT_FAIL;
	}
	return BV_EXIT_OK;
}

int bv_cmd_status(int argc, char **argv)
{
	struct bv_state st;
	struct state_args a;
	char errbuf[512] = "";
	int rc = parse(argc, argv, status_help, false, &a);

	if (rc)
		return rc > 0 ? BV_EXIT_OK : 3;
	int err = bv_state_read(a.dir, &st, errbuf, sizeof(errbuf));
	if (err == -ENOENT || err == -ENOTDIR) {
		if (a.human)
			printf("absent: no view in %s\n", a.dir);
		return 2;
	}
	if (err) {
		fprintf(stderr, "bootviewfs: %s\n", errbuf[0] ? errbuf : strerror(-err));
		return BV_EXIT_FAIL;
	}
	/* state.json says what the daemon last wrote; the lock says whether it still lives.
	 * A "ready" daemon that died without a word is not ready. */
	bool alive = bv_lock_is_held(a.dir, "lock");
	bool ready = st.status == BV_STATE_READY && alive;
	if (a.human) {
		printf("%s%s: %s on %s (pid %d)%s%s\n", bv_state_status_name(st.status),
		       !alive && (st.status == BV_STATE_READY || st.status == BV_STATE_STARTING)
			       ? " (daemon gone)"
			       : "",
		       st.source.path, st.mountpoint, (int)st.pid, st.error[0] ? ": " : "",
		       st.error);
	} else {
		char path[4096];
		snprintf(path, sizeof(path), "%s/state.json", a.dir);
		FILE *f = fopen(path, "re");
		if (f) {
			char buf[8192];
			size_t n;
			while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
				fwrite(buf, 1, n, stdout);
			fclose(f);
		}
	}
	return ready ? BV_EXIT_OK : BV_EXIT_FAIL;
}
