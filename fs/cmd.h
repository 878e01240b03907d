/* The commands of the bootviewfs program. Each takes the arguments after its name
 * (argv[0] is the command name) and returns the process exit status. */
#ifndef BV_FS_CMD_H
#define BV_FS_CMD_H

/* Exit statuses shared by the commands (documented in --help). */
#define BV_EXIT_OK 0
#define BV_EXIT_FAIL 1     /* the operation failed: bad source, missing path, corruption */
#define BV_EXIT_USAGE 2    /* bad command line */

/* fs/cmd_mount.c: `bootviewfs [options] SOURCE MOUNTPOINT` (also as mount helper). */
int bv_cmd_mount(int argc, char **argv);

/* fs/cmd_read.c: commands that read an image without any mount. */
int bv_cmd_probe(int argc, char **argv);
int bv_cmd_ls(int argc, char **argv);
int bv_cmd_cat(int argc, char **argv);
int bv_cmd_stat(int argc, char **argv);
int bv_cmd_extract(int argc, char **argv);

#endif
