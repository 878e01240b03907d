/* The per-container state directory: state.json, the control FIFO, the life lock, and the
 * stop ladder that cleans up after a daemon whatever became of it.
 *
 *   DIR             flock'd (LOCK_EX) by the daemon's two processes for their whole life:
 *                   the lock is on the directory itself, so no file in it can be swapped to
 *                   fake a dead daemon
 *   DIR/state.json  written atomically at every transition (O_EXCL temp under a random
 *                   name, fsync, rename, fsync DIR)
 *   DIR/control     FIFO (0600) the daemon holds open; "stop\n" asks it to exit
 *   DIR/log         the daemon's log (DIR/log.1 the previous one)
 *   DIR/stop.lock   serialises concurrent `bootviewfs stop` runs
 *
 * Everything in DIR is untrusted to whoever reads it back (the shim runs `stop` as root):
 * every file is opened relative to the directory's fd with O_NOFOLLOW|O_NONBLOCK and
 * checked with fstat to be what it should be (a FIFO or symlink planted under a state
 * file's name never blocks or redirects us), and DIR itself must be owned by the caller and
 * writable by nobody else. Liveness never rests on a pid: the directory lock says whether
 * the daemon lives, and a pid is signalled only when /proc shows it holding that lock.
 * Functions are not thread safe unless they say so; the daemon calls them from one thread.
 */
#ifndef BV_STATE_STATE_H
#define BV_STATE_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define BV_STATE_VERSION 1
#define BV_STATE_MAX_ARTIFACTS 32

enum bv_state_status {
	BV_STATE_STARTING,
	BV_STATE_READY,
	BV_STATE_STOPPING,
	BV_STATE_STOPPED,
	BV_STATE_FAILED,
};

struct bv_state_artifact {
	char path[4096];
	uint64_t size;
	uint32_t ino;
};

/* What state.json holds. Strings are NUL-terminated; empty means absent. */
struct bv_state {
	int version;
	enum bv_state_status status;
	char error[1024];
	pid_t pid;
	uint64_t start_time;  /* the daemon's start time in clock ticks since boot */
	char boot_id[40];
	char id[256];         /* --id */
	struct {
		char path[4096];
		unsigned major, minor; /* of a block device; 0:0 for an image file */
		uint64_t size;
		char dm_name[128], dm_uuid[160], dm_target[32];
	} source;
	struct {
		char type[8], uuid[40], journal[24];
		uint32_t block_size;
	} fs;
	char mountpoint[4096];  /* canonical path; "" for a pre-mounted /dev/fd/N view */
	bool mountpoint_created; /* the view made it (and stop may rmdir it) */
	uint64_t mountpoint_dev, mountpoint_ino; /* the directory under the mount */
	char fsname[4200];    /* the mount's source in mountinfo: "bootviewfs:NAME" */
	char fstype[64];      /* the mount's type in mountinfo: "fuse.bootviewfs" */
	int fuse_conn;        /* /sys/fs/fuse/connections/N; -1 unknown */
	pid_t server_pid;     /* the confined process that parses and serves; 0 none */
	unsigned uid;         /* effective uid of the daemon when it started */
	unsigned nartifacts;
	struct bv_state_artifact artifacts[BV_STATE_MAX_ARTIFACTS];
	int64_t started_at, updated_at; /* seconds since the epoch */
};

const char *bv_state_status_name(enum bv_state_status s);

/* Fills ST with the defaults of a new state (version, status starting, fuse_conn -1). */
void bv_state_init(struct bv_state *st);

/* Writes state.json in the state directory DFD atomically: a temporary file created with
 * O_EXCL|O_NOFOLLOW (0600) under a random name, fsync, renameat over state.json, fsync of
 * the directory. Stamps updated_at. Returns 0 or -errno. */
int bv_state_write(int dfd, struct bv_state *st);

/* Reads state.json of the state directory DFD: opened once with O_NOFOLLOW|O_NONBLOCK,
 * refused unless fstat shows a regular file (-EBADMSG: a FIFO, device or symlink there is
 * not a state file), at most 1 MiB, read whole, then parsed. Unknown fields are ignored;
 * missing ones keep their defaults. -ENOENT when there is none; -EBADMSG for a corrupt or
 * truncated file, with a sentence in ERRBUF that quotes nothing of the file. With RAW not
 * NULL, *RAW gets a malloc'd NUL-terminated copy of the very bytes parsed (and *RAW_LEN
 * their count) when the call returns 0; the caller frees it. Never blocks or crashes on bad
 * input. */
int bv_state_read(int dfd, struct bv_state *st, char **raw, size_t *raw_len, char *errbuf,
		  size_t errbuf_size);

/* Parses LEN bytes of TEXT (a state.json's contents; need not be NUL-terminated) into ST,
 * as bv_state_read() does after reading the file: 0, or -EBADMSG with a sentence in ERRBUF
 * that quotes nothing of the text. Never crashes on bad input. */
int bv_state_parse(const char *text, size_t len, struct bv_state *st, char *errbuf,
		   size_t errbuf_size);

/* Opens the state directory PATH for the daemon or for stop/status, and returns its fd
 * (O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC) or -errno with a sentence in ERRBUF.
 * With CREATE, a missing PATH is made first (parents as needed, each new level 0700).
 * Refused (-EPERM) unless the directory is owned by the caller's effective uid (with
 * ALLOW_ROOT_READ, root may open anyone's, for status) and writable by no group or other;
 * a symlink as the last component is refused (-ELOOP). */
int bv_state_dir_open(const char *path, bool create, bool allow_root_read, char *errbuf,
		      size_t errbuf_size);

#endif
