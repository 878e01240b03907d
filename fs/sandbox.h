/* Confinement of the serving daemon (DESIGN.md section 7): once the mount is serving, the
 * daemon needs little more than its device fd and /dev/fuse, so it gives up the rest. */
#ifndef BV_FS_SANDBOX_H
#define BV_FS_SANDBOX_H

#include <stdbool.h>

struct bv_sandbox_opts {
	/* Keep CAP_SYS_ADMIN (and only it) so the daemon can unmount itself on "stop"
	 * when it runs as root. Without it, the stop ladder's lazy unmount does the job. */
	bool keep_unmount;
	/* The state directory (NULL if none): the only place the daemon may still create
	 * or rename files (state.json), where the kernel offers a way to say so. */
	const char *state_dir;
};

/* Enters the sandbox: PR_SET_NO_NEW_PRIVS, drops every capability but those OPTS keep,
 * and installs a seccomp allow-list of the system calls a serving daemon makes (any other
 * fails with EPERM rather than killing the process). Call once, after ready, from the
 * main thread before any worker threads exist or with all of them created afterwards
 * (seccomp filters and no_new_privs are inherited by threads created later; existing ones
 * are synchronised with SECCOMP_FILTER_FLAG_TSYNC). Returns 0 or -errno; on failure the
 * caller logs and goes on serving (confinement is defence in depth, not correctness). */
int bv_sandbox_enter(const struct bv_sandbox_opts *opts);

#endif
