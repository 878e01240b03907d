/* The keeper and the server talk over one AF_UNIX SOCK_SEQPACKET socket pair, one
 * fixed-size record per datagram. The keeper treats everything the server sends as
 * untrusted (the server parses hostile images): a record of the wrong size or type is
 * dropped, every string is cut at its field's end, and numbers are only ever stored or
 * compared, never used as sizes or indexes without a check.
 */
#ifndef BV_FS_DAEMON_CHAN_H
#define BV_FS_DAEMON_CHAN_H

#include <stdint.h>
#include <sys/types.h>

enum bv_chan_type {
	/* server -> keeper */
	BV_CHAN_LOG = 1,     /* arg: level (enum bv_log_level); text */
	BV_CHAN_ARTIFACT,    /* arg: index of the --require path; v[0] size, v[1] inode */
	BV_CHAN_OPENED,      /* s1 fs type, s2 uuid, text journal state; v[0] block size,
			      * v[1] the root's st_ino through FUSE */
	BV_CHAN_FAILED,      /* text: why the start failed */
	BV_CHAN_SERVING,     /* the session loop runs on the FUSE fd */
	BV_CHAN_STATS,       /* v[0..5]: reads, read bytes, lookups, getattrs, readdirs,
			      * getxattrs; v[6] its peak RSS in KiB */
	/* keeper -> server */
	BV_CHAN_FUSE_FD,     /* carries the mounted /dev/fuse fd (SCM_RIGHTS) */
	BV_CHAN_PREFETCH,    /* arg: index of the --require path the kernel now knows */
	BV_CHAN_STOP,        /* exit now */
};

struct bv_chan_msg {
	uint32_t type;
	uint32_t arg;
	uint64_t v[8];
	char s1[64];
	char s2[64];
	char text[1024];
};

/* Sends MSG, and FD (if >= 0) with it. Never blocks when NONBLOCK; never raises SIGPIPE.
 * Returns 0 or -errno. */
int bv_chan_send(int sock, const struct bv_chan_msg *msg, int fd, int nonblock);

/* Sends a record of TYPE with ARG and TEXT (may be NULL). */
int bv_chan_send_text(int sock, enum bv_chan_type type, uint32_t arg, const char *text,
		      int nonblock);

/* Receives one record into MSG (strings NUL-terminated whatever was sent) and, if FD is
 * not NULL, the fd that came with it (else -1; an fd that was not asked for is closed).
 * Returns 1 for a record, 0 at end of stream, -EBADMSG for a record of the wrong size or
 * unknown type (dropped), or -errno. */
int bv_chan_recv(int sock, struct bv_chan_msg *msg, int *fd);

#endif
