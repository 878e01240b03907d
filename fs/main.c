/* bootviewfs: argument dispatch only. Each command lives in its own fs/cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "fs/cmd.h"

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
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
		"       bootviewfs ls [-l] SOURCE [PATH]          list a directory in the image\n"
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
		"`bootviewfs COMMAND --help` describes each command.\n"
		"\n"
		"Exit status: 0 success, 1 failure (bad source, missing path, corruption),\n"
		"2 bad command line.\n");
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
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	return bv_cmd_mount(argc, argv);
}
