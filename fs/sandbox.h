/* Confinement of the serving daemon (DESIGN.md section 7): once the mount is serving, the
 * daemon needs little more than its device fd and /dev/fuse, so it gives up the rest.
 *
 * Debugging: BOOTVIEWFS_NO_SANDBOX=1 in the daemon's environment skips the sandbox (with a
 * warning); BOOTVIEWFS_SANDBOX_LOG=1 makes the seccomp filter log (dmesg, audit type 1326)
 * instead of refusing, to find a system call the list lacks. */
#ifndef BV_FS_SANDBOX_H
#define BV_FS_SANDBOX_H

#include <stdbool.h>

struct bv_sandbox_opts {
	/* Keep CAP_SYS_ADMIN (and only it) so the daemon can unmount itself on "stop"
	 * when it runs as root. Without it, the stop ladder's lazy unmount does the job.
	 * Ignored when the process does not hold CAP_SYS_ADMIN. */
	bool keep_unmount;
	/* The state directory (NULL if none): the only place the daemon may still create,
	 * write or rename files (state.json, log). Enforced with Landlock, where the kernel
	 * has it, and only without keep_unmount: a Landlock domain also forbids umount(2). */
	const char *state_dir;
};

/* Enters the sandbox: PR_SET_NO_NEW_PRIVS; in every thread, capabilities down to those
 * OPTS keep (permitted and effective; inheritable, ambient and, with CAP_SETPCAP, the
 * bounding set emptied); then a seccomp allow-list of the system calls a serving daemon
 * makes, on every thread at once (SECCOMP_FILTER_FLAG_TSYNC): any other call fails with
 * EPERM rather than killing the process (execve, mount, fork, ptrace, non-UNIX sockets,
 * signals to other processes...).
 *
 * Threads: may be called with other threads running (the daemon calls it from its ready
 * thread while libfuse's workers serve). Capabilities and Landlock are per thread, so each
 * other thread is sent a real-time signal (the first of SIGRTMIN+4..SIGRTMAX with the
 * default disposition, which is restored afterwards) whose handler confines that thread;
 * threads must not block it. Threads created afterwards inherit everything. Call once.
 *
 * Returns 0 or -errno (logged here); on failure the caller logs and goes on serving
 * (confinement is defence in depth, not correctness), with whatever steps succeeded. */
int bv_sandbox_enter(const struct bv_sandbox_opts *opts);

#endif
