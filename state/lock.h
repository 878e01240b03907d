/* Lock files in the state directory: the daemon's life lock and the stop lock (see state/state.h). */
#ifndef BV_STATE_LOCK_H
#define BV_STATE_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The life lock: an exclusive flock on a new open file description of the state directory
 * DFD (openat(DFD, ".")). Returns that fd (close-on-exec; the daemon's processes share it
 * for their whole life), -EWOULDBLOCK when another daemon holds it, or -errno. */
int bv_lock_life_take(int dfd);

/* True when some process holds the life lock of the state directory DFD. */
bool bv_lock_life_is_held(int dfd);

/* True when /proc shows PID holding the life lock of DFD: one of its fds names the same
 * directory (device and inode) and its fdinfo lists an flock on it. A pid read from
 * state.json is signalled only when this holds. */
bool bv_lock_pid_holds(pid_t pid, int dfd);

/* DFD/stop.lock (created 0600 with O_NOFOLLOW|O_NONBLOCK; refused unless a regular file),
 * exclusively flock'd; waits up to WAIT_MS (forever if negative). Returns the fd,
 * -EWOULDBLOCK past the wait, or -errno. */
int bv_lock_stop_take(int dfd, int wait_ms);

#endif
