/* The stop ladder: ends a view whatever became of its daemon (see state/state.h). */
#ifndef BV_STATE_STOP_H
#define BV_STATE_STOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bv_stop_report {
	bool was_running;     /* the daemon held its lock when stop began */
	bool graceful;        /* it exited after "stop" within the timeout */
	bool lazy_unmounted;
	bool aborted;         /* the FUSE connection was aborted */
	bool killed;          /* SIGKILL through a pidfd */
	bool refused_kill;    /* the recorded pid did not hold the lock: not signalled */
	bool mountpoint_removed;
	char why[512];        /* on failure, one sentence for the user */
};

/* Runs the whole ladder for the view in DIR (opened with bv_state_dir_open: owned by the
 * caller, writable by nobody else): "stop" on the control FIFO; wait (up to TIMEOUT_MS) for
 * the life lock to be free and the mount to go; lazy unmount (bv_mnt_detach) of the mount
 * at the recorded mountpoint only when mountinfo shows it with the recorded type and
 * source; abort only the FUSE connection that mount shows; SIGKILL through a pidfd only of
 * recorded pids that hold the life lock (bv_lock_pid_holds); rmdir of the mountpoint only
 * when the view created it and it is still that directory; state "stopped". Idempotent;
 * concurrent runs are serialised by DIR/stop.lock. A missing DIR, or a view already
 * stopped or failed, succeeds. Returns 0 when, on return, no process holds the life lock
 * and nothing of the view is mounted; -EPERM (a directory we may not trust), -EBUSY, or
 * another -errno otherwise, with REPORT->why saying what. */
int bv_stop_run(const char *dir, int timeout_ms, struct bv_stop_report *report);

#endif
