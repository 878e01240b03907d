/* The control FIFO of a state directory: how `stop` reaches a live daemon (see state/state.h). */
#ifndef BV_STATE_CONTROL_H
#define BV_STATE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>

/* Makes DFD/control (0600; a stale FIFO is replaced, anything else there is -EEXIST) and
 * opens it read-write and non-blocking with O_NOFOLLOW for the daemon: with its own writer
 * end open, the daemon never sees EOF. Returns the fd or -errno. */
int bv_control_open(int dfd);

/* Drains what is waiting on the daemon's control fd. Sets *STOP when a line reads "stop";
 * other lines are logged and ignored. Writers send whole lines in one write (shorter than
 * PIPE_BUF, so the kernel never splits them). Returns 0, or -errno from read(2). */
int bv_control_drain(int fd, bool *stop);

/* Writes "LINE\n" to DFD/control without blocking (O_NOFOLLOW|O_NONBLOCK, and only to a
 * FIFO: fstat after open). -ENXIO means no daemon is reading (it is gone); -ENOENT no FIFO.
 * Returns 0 or -errno. */
int bv_control_send(int dfd, const char *line);

#endif
