/* Confinement of the process that parses the image (DESIGN.md section 7).
 *
 * The daemon is two processes (cmd/daemon/): a keeper that mounts, unmounts and keeps the
 * state directory but never reads a byte of the image, and the server, which parses the
 * image and answers FUSE requests. The server enters this sandbox right after it is forked,
 * while it is still single-threaded and before it has read anything from the image, so
 * that everything it ever does with untrusted bytes (superblock, journal replay,
 * --require and --export resolution, every request) runs confined:
 *
 *   - started as root: the bounding and ambient sets emptied, supplementary groups dropped,
 *     uid and gid set to BV_SANDBOX_UID (nobody); in a user namespace that does not map
 *     that uid (rootless: `unshare --map-root-user`) the uid stays, since it is already
 *     an unprivileged one on the host;
 *   - no capability at all (permitted, effective, inheritable, ambient), not dumpable;
 *   - no_new_privs;
 *   - Landlock, where the kernel has it: every filesystem access refused (the process
 *     opens nothing after this), TCP refused, and no signal or abstract socket outside its
 *     own domain;
 *   - a seccomp allow-list: send/receive only on OPTS's channel, openat only read-only,
 *     threads but no fork or exec, signals only to itself, and none of pwrite, fchmod,
 *     unlink, rename, mount, umount, socket, connect, flock, setuid, ptrace. Anything else
 *     fails with EPERM. write(2) is allowed: with no open for writing and no socket, the
 *     only fds it can reach are those the caller leaves open and the pipes the process
 *     makes itself (libfuse writes the zero runs of a spliced READ reply into one), so the
 *     caller must close every fd it does not want written before entering.
 *
 * It fails closed: if a step that every supported kernel has (ids, capabilities,
 * no_new_privs, seccomp) fails, the call fails and the server must exit. Landlock is the
 * one optional step (Linux 5.13 and later, and only where the LSM is enabled): without it
 * the uid change and seccomp still stand, and the caller is told.
 *
 * Debugging: BOOTVIEWFS_NO_SANDBOX=1 in the environment skips all of it (with a warning);
 * BOOTVIEWFS_SANDBOX_LOG=1 makes the seccomp filter log (dmesg, audit type 1326) instead of
 * refusing, to find a system call the list lacks.
 */
#ifndef BV_FS_SANDBOX_H
#define BV_FS_SANDBOX_H

#include <stdbool.h>

/* The uid and gid a root-started server becomes: the nobody user of Debian and most
 * distributions, which owns no file the server could use. */
#define BV_SANDBOX_UID 65534
#define BV_SANDBOX_GID 65534

struct bv_sandbox_opts {
	/* The socket to the keeper: the only fd sendto/sendmsg/recvmsg may use; -1 none. */
	int chan_fd;
	/* PR_SET_PDEATHSIG, set after the uid change (which clears it); 0 none. */
	int parent_death_signal;
};

/* What bv_sandbox_enter did, for the log. */
struct bv_sandbox_report {
	bool disabled;         /* BOOTVIEWFS_NO_SANDBOX */
	bool uid_changed;      /* now BV_SANDBOX_UID */
	bool uid_unmapped;     /* root of a user namespace that does not map it: uid kept */
	int landlock_abi;      /* 0: this kernel has no Landlock */
};

/* Enters the sandbox described above. The calling process must be single-threaded
 * (-EBUSY otherwise: capabilities and Landlock are per thread, and threads made later
 * inherit everything). Call once. Returns 0, or -errno with the process partly confined:
 * the caller must then exit without touching the image. Logs nothing; REPORT (may be
 * NULL) says what was done, and ERRBUF which step failed. */
int bv_sandbox_enter(const struct bv_sandbox_opts *opts, struct bv_sandbox_report *report,
		     char *errbuf, unsigned errbuf_size);

#endif
