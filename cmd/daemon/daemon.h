/* The daemon behind `bootviewfs SOURCE MOUNTPOINT`: two processes, so that the one that
 * reads untrusted bytes holds no power over the host.
 *
 *   keeper (keeper.c)  forked by the command (or the command itself with -f). Owns the
 *                      state directory, its life lock, log and control FIFO, opens the
 *                      source read-only, mounts, reports ready, and unmounts on "stop", on
 *                      a signal or when the server dies. It never reads the image.
 *   server (server.c)  forked by the keeper with the source fd and one end of a socket
 *                      (chan.c). It enters the sandbox (cmd/daemon/sandbox.h: uid nobody, no
 *                      capability, no_new_privs, Landlock, seccomp) before its first read
 *                      of the image, then opens the filesystem, resolves --require and
 *                      --export, and serves FUSE on the /dev/fuse fd the keeper sends it
 *                      once mounted. It cannot mount, unmount, write a file or signal
 *                      anyone; the keeper kills it when the view ends.
 *
 * Both processes hold the life lock (an flock on the state directory, state/lock.h), so
 * `stop` sees the lock free only once neither can hold the device open.
 */
#ifndef BV_FS_DAEMON_DAEMON_H
#define BV_FS_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fs/export.h"
#include "state/state.h"

#define BV_MOUNT_REQUIRE_MAX BV_STATE_MAX_ARTIFACTS
#define BV_MOUNT_THREADS_DEFAULT 4
#define BV_MOUNT_THREADS_MAX 64

struct bv_mount_spec;
struct bv_source;

/* A growing comma-separated string (the option list handed to libfuse). */
struct bv_strbuf {
	char *s;
	size_t len, cap;
};

int bv_strbuf_add(struct bv_strbuf *sb, const char *s, size_t n);

/* The mount command as parsed (cmd/cmd_mount.c): read by both processes, owned by the
 * command. */
struct bv_mount_cmd {
	const char *source;         /* positional, or the mounts JSON's source */
	const char *mountpoint;     /* as given */
	const char *state_dir_arg;  /* --state-dir as given */
	const char *id;             /* --id */
	const char *mounts_json;    /* --mounts-json FILE or "-" */
	const char *exports[BV_EXPORT_PATHS_MAX]; /* --export and -o export= (+ --require) */
	unsigned nexports;
	bool export_all;            /* --export-all: --require does not imply export mode */
	bool over_mount;            /* --over-mount, -o over_mount: mount over another mount */
	char *export_lists[BV_EXPORT_PATHS_MAX]; /* owned copies of -o export= values */
	unsigned nexport_lists;
	bool foreground;
	bool debug;
	bool helper;                /* invoked as mount.fuse.bootviewfs */
	bool fake;                  /* helper -f: check everything, mount nothing */
	bool no_recovery;           /* -o norecovery / noload: no journal replay, dirty xfs log served */
	bool allow_other;
	bool allow_root;            /* libfuse refuses it together with allow_other */
	unsigned max_read;          /* max_read=, 0 for the kernel's default */
	bool fsname_set, subtype_set;
	unsigned threads;
	int ready_fd;               /* --ready-fd, or -1 */
	const char *require[BV_MOUNT_REQUIRE_MAX];
	unsigned nrequire;
	struct bv_strbuf passthru;  /* options handed to libfuse as given */
};

/* The keeper: runs the view to its end and returns the process exit status. READY_PIPE is
 * written one byte once the mount serves (-1 in the foreground). */
int bv_keeper_run(struct bv_mount_cmd *mc, int ready_pipe);

/* The server, in the keeper's forked child: never returns. SRC is the source opened
 * read-only, CHAN the socket to the keeper, LOCK_FD the life lock (kept, never used). */
void bv_server_main(struct bv_mount_cmd *mc, struct bv_source *src, int chan, int lock_fd)
	__attribute__((noreturn));

#endif
