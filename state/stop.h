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
	bool refused_kill;    /* the pid did not match start time and boot id: not signalled */
	bool mountpoint_removed;
};

/* Runs the whole ladder for the view in DIR: "stop" on the control FIFO; wait (up to
 * TIMEOUT_MS) for the lock to be free and the mount gone; lazy unmount; abort the FUSE
 * connection; SIGKILL through a pidfd only when pid, start time and boot id all match;
 * rmdir the mountpoint (never recursive); state "stopped". Idempotent; concurrent runs are
 * serialised by DIR/stop.lock. A missing DIR, or a view already stopped or failed,
 * succeeds. Returns 0 when, on return, no daemon holds the lock and nothing is mounted at
 * the mountpoint; -errno otherwise. Messages go to the log. */
int bv_stop_run(const char *dir, int timeout_ms, struct bv_stop_report *report);

/* True when PATH is a mountpoint in this mount namespace (per /proc/self/mountinfo). */
bool bv_is_mounted(const char *path);


#endif
