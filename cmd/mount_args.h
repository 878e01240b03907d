/* The mount form's command line (cmd/mount_args.c). */
#ifndef BV_CMD_MOUNT_ARGS_H
#define BV_CMD_MOUNT_ARGS_H

#include <stdbool.h>

#include "cmd/daemon/daemon.h"

/* Parses ARGV into MC (which the caller zeroed and gave its defaults): options, -o lists,
 * SOURCE and MOUNTPOINT or --mounts-json, --require and --export settled into one export
 * list. Returns 0, 1 after --help or --version (printed), or -EINVAL after printing the one
 * line that says what is wrong. */
int bv_mount_args_parse(struct bv_mount_cmd *mc, int argc, char **argv);

/* The line after a usage error: which --help to read. */
void bv_mount_usage_hint(void);

/* allow_other needs root, or user_allow_other in /etc/fuse.conf (fusermount3 checks). */
bool bv_mount_allow_other_permitted(void);

#endif
