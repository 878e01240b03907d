/* bootviewfs: argument dispatch only. Each command lives in its own cmd/cmd_*.c (the mount
 * form: cmd_mount.c and mount_args.c). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd/cmd.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "mount", bv_cmd_mount }, /* the mount form, named: `bootviewfs mount --help` */
	{ "probe", bv_cmd_probe },
	{ "ls", bv_cmd_ls },
	{ "cat", bv_cmd_cat },
	{ "stat", bv_cmd_stat },
	{ "extract", bv_cmd_extract },
	{ "stop", bv_cmd_stop },
	{ "status", bv_cmd_status },
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: bootviewfs [-f] [-d] [-o OPTS] SOURCE MOUNTPOINT   serve SOURCE read-only\n"
		"         [--state-dir DIR] [--ready-fd N] [--id NAME] [--require PATH]...\n"
		"         [--export PATH[:PATH...]]... (or -o export=...)  options of the mount form\n"
		"       bootviewfs --mounts-json FILE|- [options] MOUNTPOINT  SOURCE from containerd\n"
		"       bootviewfs probe SOURCE                   filesystem facts as JSON\n"
		"       bootviewfs ls [-l] [-a] SOURCE [PATH]     list a directory in the image\n"
		"       bootviewfs cat SOURCE PATH...             write files to stdout\n"
		"       bootviewfs stat [-L] [--json] SOURCE PATH  show an inode\n"
		"       bootviewfs extract SOURCE DESTDIR PATH... copy files out of the image\n"
		"       bootviewfs stop --state-dir DIR [--timeout SEC]   end a view, whatever its state\n"
		"       bootviewfs status --state-dir DIR [--human]       a view's state.json\n"
		"       bootviewfs --help | --version\n"
		"\n"
		"SOURCE is a block device or an image file holding ext2, ext3 or ext4. It is opened\n"
		"read-only and never written; a journal that needs recovery is replayed in memory.\n"
		"Paths are resolved inside the image: symlinks never lead out of it.\n"
		"`bootviewfs COMMAND --help` describes each command; `bootviewfs mount --help`\n"
		"the mount form and its options (`bootviewfs mount SOURCE MOUNTPOINT` is the same\n"
		"as the form without the word).\n"
		"\n"
		"Exit status: 0 success, 1 failure (bad source, missing path, corruption),\n"
		"2 bad command line; except status: 0 ready, 1 not ready, 2 no view,\n"
		"3 bad command line (`bootviewfs status --help`).\n");
}

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Edit distance of A and B (insertions, deletions, substitutions), for names of a few
 * letters; anything longer than 31 counts as far. */
static unsigned distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[32];

	if (la > 31 || lb > 31)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* True for a first word that reads as a mistyped command rather than a SOURCE: a plain
 * lower-case word, no path by that name. */
static bool looks_like_command(const char *w)
{
	struct stat st;

	if (!*w || strlen(w) > 31)
		return false;
	for (const char *c = w; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || *c == '-'))
			return false;
	return w[0] != '-' && lstat(w, &st) != 0 && errno == ENOENT;
}

static int unknown_command(const char *w)
{
	const char *near = NULL;

	for (size_t i = 0; i < NCOMMANDS; i++)
		if (distance(w, commands[i].name) <= 2 && !near)
			near = commands[i].name;
	fprintf(stderr, "bootviewfs: unknown command '%s'", w);
	if (near)
		fprintf(stderr, " (did you mean '%s'?)", near);
	fprintf(stderr, "; the commands are");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(stderr, " %s", commands[i].name);
	fprintf(stderr, ", and SOURCE MOUNTPOINT serves SOURCE (no file '%s' here)\n"
		"try 'bootviewfs --help'\n", w);
	return BV_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	/* Called by mount(8) as mount.fuse.bootviewfs: always the mount form. */
	if (strncmp(self, "mount.", 6) == 0)
		return bv_cmd_mount(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return BV_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return BV_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("bootviewfs %s\n", BV_VERSION);
		return BV_EXIT_OK;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	if (looks_like_command(argv[1]))
		return unknown_command(argv[1]);
	return bv_cmd_mount(argc, argv);
}
