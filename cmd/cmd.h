/* The commands of the bootviewfs program. Each takes the arguments after its name
 * (argv[0] is the command name) and returns the process exit status. */
#ifndef BV_FS_CMD_H
#define BV_FS_CMD_H

#include <stddef.h>

/* Exit statuses shared by the commands (documented in --help). */
#define BV_EXIT_OK 0
#define BV_EXIT_FAIL 1     /* the operation failed: bad source, missing path, corruption */
#define BV_EXIT_USAGE 2    /* bad command line */

struct bv_source;
struct bv_fs;
struct bv_fs_opts;

/* cmd/cmd_open.c: opens PATH as a source, checks with libblkid that it holds ext2/3/4,
 * and opens the filesystem. On failure prints one sentence naming PATH and the reason to
 * stderr and returns -errno. On success the caller closes *FS then *SRC. OPTS may be NULL. */
int bv_cmd_open_image(const char *path, const struct bv_fs_opts *opts, struct bv_source **src,
		      struct bv_fs **fs);

/* cmd/cmd_usage.c: a bad command line of command CMD. Prints "bootviewfs: " and the
 * printf-style message as one line, then "try 'bootviewfs CMD --help'", to stderr; the
 * caller returns the exit status its --help gives for a bad command line. */
void bv_cmd_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Writes to BUF (LEN bytes, always terminated) what is wrong when getopt_long, run with
 * opterr = 0 over ARGV, returned C ('?' or ':'): "unknown option '-z'", "option --x needs
 * an argument", "option --x takes no argument". AT is optind before that call. */
void bv_cmd_option_describe(int c, char **argv, int at, char *buf, size_t len);

/* bv_cmd_option_describe, said as bv_cmd_usage_error of CMD. */
void bv_cmd_option_error(const char *cmd, int c, char **argv, int at);

/* cmd/cmd_mount.c: `bootviewfs [options] SOURCE MOUNTPOINT` (also as mount helper). */
int bv_cmd_mount(int argc, char **argv);

/* cmd/cmd_read.c: commands that read an image without any mount. */
int bv_cmd_probe(int argc, char **argv);
int bv_cmd_ls(int argc, char **argv);
int bv_cmd_cat(int argc, char **argv);
int bv_cmd_stat(int argc, char **argv);
int bv_cmd_extract(int argc, char **argv);

/* cmd/cmd_state.c: the lifecycle commands over a state directory. */
int bv_cmd_stop(int argc, char **argv);
int bv_cmd_status(int argc, char **argv);

#endif
