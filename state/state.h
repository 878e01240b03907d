/* The per-container state directory: state.json, the control FIFO, the lock, and the stop
 * ladder that cleans up after a daemon whatever became of it.
 *
 *   DIR/state.json  written atomically at every transition (temp, fsync, rename, fsync DIR)
 *   DIR/control     FIFO (0600) the daemon holds open; "stop\n" asks it to exit
 *   DIR/lock        flock'd by the daemon for its whole life (close-on-exec)
 *   DIR/stop.lock   serialises concurrent `bootviewfs stop` runs
 *
 * Liveness never rests on a pid alone: the lock says whether the daemon lives, and a pid is
 * signalled only when its start time and the boot id match what the daemon recorded.
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
	char mountpoint[4096];
	int fuse_conn;        /* /sys/fs/fuse/connections/N; -1 unknown */
	unsigned nartifacts;
	struct bv_state_artifact artifacts[BV_STATE_MAX_ARTIFACTS];
	int64_t started_at, updated_at; /* seconds since the epoch */
};

const char *bv_state_status_name(enum bv_state_status s);

/* Fills ST with the defaults of a new state (version, status starting, fuse_conn -1). */
void bv_state_init(struct bv_state *st);

/* Writes DIR/state.json atomically (temp file 0600, fsync, rename, fsync DIR), stamping
 * updated_at. Returns 0 or -errno. */
int bv_state_write(const char *dir, struct bv_state *st);

/* Reads DIR/state.json. Unknown fields are ignored; missing ones keep their defaults.
 * -ENOENT when there is none; -EBADMSG for a corrupt or truncated file, with a sentence in
 * ERRBUF. Never crashes on bad input. */
int bv_state_read(const char *dir, struct bv_state *st, char *errbuf, size_t errbuf_size);

/* Creates DIR (0700, parents as needed) if missing; refuses a DIR that is not a directory.
 * Returns 0 or -errno. */
int bv_state_dir_make(const char *dir);

#endif
