/* Where the keeper's log goes (the server's lines reach it through the socket): DIR/log in
 * the state directory, rotated to DIR/log.1 past 1 MiB, copied to the caller's stderr
 * until the view is ready; or syslog for a detached daemon without a state directory. */
#ifndef BV_FS_DAEMON_LOGFILE_H
#define BV_FS_DAEMON_LOGFILE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/log.h"

struct bv_logfile {
	int dfd;                     /* the state directory (borrowed) */
	int fd;                      /* DIR/log, or -1 */
	uint64_t size;
	atomic_bool tee_stderr;      /* copy to stderr too (until ready) */
	enum bv_log_level tee_level; /* what is copied: warnings and errors, or all with -d */
};

/* Opens DFD/log for appending (O_NOFOLLOW|O_NONBLOCK, created 0600; anything but a regular
 * file there is refused with -EINVAL, so a FIFO planted as `log` cannot block the daemon).
 * Returns 0 or -errno. */
int bv_logfile_open(struct bv_logfile *lf, int dfd);

/* The sink for bv_log_set_sink(), with CTX a struct bv_logfile. */
void bv_logfile_sink(enum bv_log_level level, const char *msg, void *ctx);

/* The sink that sends to syslog (CTX unused). */
void bv_logfile_syslog_sink(enum bv_log_level level, const char *msg, void *ctx);

void bv_logfile_close(struct bv_logfile *lf);

#endif
