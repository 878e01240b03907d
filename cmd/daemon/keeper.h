/* The keeper's parts (cmd/daemon/keeper*.c), for those files only: the keeper itself is
 * described in cmd/daemon/keeper.c. Everything here runs in the keeper's main thread unless
 * it says otherwise. */
#ifndef BV_FS_DAEMON_KEEPER_H
#define BV_FS_DAEMON_KEEPER_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "cmd/daemon/daemon.h"
#include "cmd/daemon/logfile.h"
#include "state/state.h"

struct keeper {
	struct bv_mount_cmd *mc;
	struct bv_state *st;
	bool have_state;         /* a state directory whose life lock we hold */
	int dfd, lock_fd, control_fd, sig_fd;
	struct bv_logfile log;
	char failure[1024];      /* why the start failed; "" while it has not */
	int ready_pipe;          /* to the waiting caller; -1 in the foreground or once told */

	/* the mountpoint */
	char *mnt;               /* canonical path; NULL for a pre-mounted /dev/fd/N */
	int mnt_fd;              /* O_PATH of the directory we mount on, or -1 */
	int premounted_fd;       /* the /dev/fd/N we were given, or -1 */
	int parent_fd;           /* the directory holding a mountpoint we made, or -1 */
	char mnt_name[NAME_MAX + 1];
	dev_t mnt_dev_before;
	bool mounted;            /* by us, and not yet detached */
	int conn_fd;             /* our FUSE connection's handle (bv_mnt_conn_open), or -1 */
	unsigned conn;           /* its number, the minor of our superblock's device */
	bool conn_asked, conn_gone; /* the handle answers once: its answer */

	/* the source */
	struct bv_mount_spec *spec; /* what --mounts-json said; mc->source points into it */
	struct bv_source *src;
	char *src_abs;

	/* the server */
	pid_t server;
	int server_pidfd, chan, errpipe;
	bool server_exited, opened, serving, ready, stopping;
	int64_t stop_deadline;   /* when a server told to stop is killed */
	int server_status;
	uint64_t root_ino;
	char errline[1024];      /* the server's stderr, up to a newline */
	size_t errlen;

	/* the ready thread: stats the mount through the kernel, then asks for prefetches */
	pthread_t ready_thread;
	bool ready_started;
	int ready_chan;          /* the thread's own copy of the socket */
	int ready_ev[2];
	int ready_errno;         /* 0: the root answered; else why not */
	struct stat ready_st;
};

/* keeper.c */
/* Records STATUS (and ERR) in state.json when there is a state directory. "ready" is
 * written only over "starting": a stop that came first wins. */
void bv_keeper_state_set(struct keeper *k, enum bv_state_status status, const char *err);
/* Logs the sentence (on the caller's stderr too, until ready), keeps it as the reason the
 * start failed, and reports it on --ready-fd. */
void bv_keeper_fail(struct keeper *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* keeper_setup.c: the state directory and the source */
/* Opens --state-dir, takes its life lock, opens the log and the control FIFO, writes state
 * "starting". 0 or -errno (said with bv_keeper_fail). */
int bv_keeper_state_dir_take(struct keeper *k);
/* Reads --mounts-json if given, opens the source read-only, records what it is in state.json.
 * 0 or -errno (said). */
int bv_keeper_source_take(struct keeper *k);

/* keeper_mount.c: the mountpoint and the mount */
/* N for a mountpoint "/dev/fd/N" or "/proc/self/fd/N" (a pre-mounted /dev/fuse fd), or -1. */
int bv_keeper_premounted_fd(const char *mnt);
/* Opens the mountpoint (making it with a state directory), refusing a symlink; fills
 * k->mnt, k->mnt_fd and state.json's identity of it. 0 or -errno (said with bv_keeper_fail). */
int bv_keeper_mountpoint_take(struct keeper *k);
/* True when the mount at k->mnt is ours: our type and source, and our connection, which
 * is still alive (so that no later mount can have taken its number). */
bool bv_keeper_mount_present(struct keeper *k);
/* rmdir of a mountpoint the view made, if it is still that directory and unmounted. */
void bv_keeper_mountpoint_remove(struct keeper *k);
/* Mounts; returns the connection's fd or -errno (said). */
int bv_keeper_mount(struct keeper *k);
/* Detaches our mount, and only ours. */
void bv_keeper_unmount(struct keeper *k);

/* keeper_ready.c: readiness */
/* The ready thread (pthread start routine): stats the mount, says so on k->ready_ev, then
 * asks the server to prefetch what it can. */
void *bv_keeper_ready_main(void *arg);
/* The mount answered: state ready, the --ready-fd line, the caller released. */
void bv_keeper_on_ready(struct keeper *k);
/* --ready-fd: one JSON line (ERR NULL: ready), then the fd is closed. */
void bv_keeper_ready_fd_report(struct keeper *k, const char *err);

#endif
