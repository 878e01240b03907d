/* Lock files in the state directory: the daemon's life lock and the stop lock (see state/state.h). */
#ifndef BV_STATE_LOCK_H
#define BV_STATE_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Opens DIR/NAME (creating it 0600, close-on-exec) and takes an exclusive flock.
 * With WAIT_MS < 0 waits forever, 0 not at all, else up to WAIT_MS milliseconds.
 * Returns the fd holding the lock, -EWOULDBLOCK when it is held elsewhere past the wait,
 * or -errno. */
int bv_lock_take(const char *dir, const char *name, int wait_ms);

/* True when some process holds DIR/NAME (a missing file is not held). */
bool bv_lock_is_held(const char *dir, const char *name);

#endif
