/* `bootviewfs stop` and `bootviewfs status`: the shim's view of a running daemon, through
 * its state directory (state/). */
#include "cmd/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state/lock.h"
#include "state/state.h"
#include "state/stop.h"

#define STOP_DEFAULT_TIMEOUT_S 10

static const char stop_help[] =
	"Usage: bootviewfs stop --state-dir DIR [--timeout SEC]\n"
	"Stops the view whose state directory is DIR, whatever became of its daemon:\n"
	"asks it to stop through DIR/control, waits up to SEC seconds (default 10) for it to\n"
	"exit and the mount to go, then lazily unmounts the view's mount (only as\n"
	"/proc/self/mountinfo shows it), aborts its FUSE connection, and as a last resort\n"
	"kills the daemon's processes through a pidfd (only those /proc shows holding the\n"
	"view's lock). Removes the mountpoint directory if the view made it (rmdir, never\n"
	"recursive). DIR must be yours and writable by nobody else.\n"
	"Idempotent; stopping an absent, stopped or failed view succeeds.\n"
	"Exit status: 0 stopped (device closed, nothing mounted), 1 something is still\n"
	"running or mounted, or DIR refused (nothing touched), 2 bad command line.\n";

static const char status_help[] =
	"Usage: bootviewfs status --state-dir DIR [--human]\n"
	"Prints DIR/state.json (or a one-line summary with --human). DIR must be yours (root\n"
	"may read anyone's) and writable by nobody else; a state.json that is not a regular\n"
	"file is refused.\n"
	"Exit status: 0 ready (and the daemon is alive), 1 not ready or refused, 2 no view in\n"
	"DIR, 3 bad command line.\n";

struct state_args {
	const char *dir;
	long timeout_s;
	bool human;
};

/* Parses the options of stop (IS_STOP) or status into A. Returns 0 to go on, 1 when
 * --help or --version was answered, -1 on a bad command line (said on stderr). */
static int parse(int argc, char **argv, const char *help, bool is_stop, struct state_args *a)
{
	static const struct option opts[] = { { "state-dir", required_argument, NULL, 'd' },
					      { "timeout", required_argument, NULL, 't' },
					      { "human", no_argument, NULL, 'H' },
					      { "help", no_argument, NULL, 'h' },
					      { "version", no_argument, NULL, 'V' },
					      { NULL, 0, NULL, 0 } };
	const char *cmd = is_stop ? "stop" : "status";
	char *end;
	int c;

	a->dir = NULL;
	a->timeout_s = STOP_DEFAULT_TIMEOUT_S;
	a->human = false;
	optind = 1;
	opterr = 0;
	for (int at = optind; (c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1;
	     at = optind) {
		switch (c) {
		case 'd':
			a->dir = optarg;
			break;
		case 't':
			if (!is_stop) {
				bv_cmd_usage_error(cmd, "status: --timeout is an option of stop");
				return -1;
			}
			errno = 0;
			a->timeout_s = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || a->timeout_s < 0 ||
			    a->timeout_s > 86400) {
				bv_cmd_usage_error(cmd,
						   "stop: bad --timeout '%s': want whole seconds "
						   "from 0 to 86400",
						   optarg);
				return -1;
			}
			break;
		case 'H':
			if (is_stop) {
				bv_cmd_usage_error(cmd, "stop: --human is an option of status");
				return -1;
			}
			a->human = true;
			break;
		case 'h':
			fputs(help, stdout);
			return 1;
		case 'V':
			printf("bootviewfs %s\n", BV_VERSION);
			return 1;
		default:
			bv_cmd_option_error(cmd, c, argv, at);
			return -1;
		}
	}
	if (optind < argc) {
		bv_cmd_usage_error(cmd, "%s: unexpected argument '%s' (%s takes only options)",
				   cmd, argv[optind], cmd);
		return -1;
	}
	if (!a->dir) {
		bv_cmd_usage_error(cmd, "%s needs --state-dir DIR", cmd);
		return -1;
	}
	return 0;
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
			r.why[0] ? r.why : strerror(-err));
		return BV_EXIT_FAIL;
	}
	return BV_EXIT_OK;
}

/* Replaces control characters in S: strings from state.json must not drive the terminal
 * of whoever runs `status --human` (root may look at any user's view). */
static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* Writes LEN bytes of BUF to stdout; false on a write error. */
static bool print_raw(const char *buf, size_t len)
{
	return fwrite(buf, 1, len, stdout) == len && fflush(stdout) == 0;
}

int bv_cmd_status(int argc, char **argv)
{
	struct bv_state *st = NULL;
	struct state_args a;
	char errbuf[512] = "", *raw = NULL;
	size_t raw_len = 0;
	int rc = parse(argc, argv, status_help, false, &a);
	int dfd, err;

	if (rc)
		return rc > 0 ? BV_EXIT_OK : 3;
	/* Root may look at anyone's view; nobody trusts a directory others may write. */
	dfd = bv_state_dir_open(a.dir, false, true, errbuf, sizeof(errbuf));
	if (dfd == -ENOENT || dfd == -ENOTDIR) {
		if (a.human)
			printf("absent: no view in %s\n", a.dir);
		else
			fprintf(stderr, "bootviewfs: status: no view in %s (%s)\n", a.dir,
				strerror(-dfd));
		return 2;
	}
	if (dfd < 0) {
		fprintf(stderr, "bootviewfs: status: %s\n", errbuf);
		return BV_EXIT_FAIL;
	}
	st = malloc(sizeof(*st));
	if (!st) {
		fprintf(stderr, "bootviewfs: status: out of memory\n");
		rc = BV_EXIT_FAIL;
		goto close_dfd;
	}
	err = bv_state_read(dfd, st, &raw, &raw_len, errbuf, sizeof(errbuf));
	if (err == -ENOENT) {
		if (a.human)
			printf("absent: no view in %s\n", a.dir);
		else
			fprintf(stderr, "bootviewfs: status: no view in %s (no state.json)\n",
				a.dir);
		rc = 2;
		goto free_st;
	}
	if (err) {
		fprintf(stderr, "bootviewfs: status %s: %s\n", a.dir,
			errbuf[0] ? errbuf : strerror(-err));
		rc = BV_EXIT_FAIL;
		goto free_st;
	}
	/* state.json says what the daemon last wrote; the lock says whether it still lives.
	 * A "ready" daemon that died without a word is not ready. */
	bool alive = bv_lock_life_is_held(dfd);
	bool ready = st->status == BV_STATE_READY && alive;
	rc = ready ? BV_EXIT_OK : BV_EXIT_FAIL;
	if (a.human) {
		printable(st->source.path);
		printable(st->mountpoint);
		printable(st->error);
		printf("%s%s: %s on %s (pid %d)%s%s\n", bv_state_status_name(st->status),
		       !alive && (st->status == BV_STATE_READY || st->status == BV_STATE_STARTING)
			       ? " (daemon gone)"
			       : "",
		       st->source.path[0] ? st->source.path : "(no source yet)", st->mountpoint,
		       (int)st->pid, st->error[0] ? ": " : "", st->error);
	} else if (!print_raw(raw, raw_len)) {
		/* The very bytes parsed above: re-opening the file could show other ones. */
		fprintf(stderr, "bootviewfs: status: cannot write to stdout\n");
		rc = BV_EXIT_FAIL;
	}
	free(raw);
free_st:
	free(st);
close_dfd:
	close(dfd);
	return rc;
}
