/* The view's mount as the kernel shows it, and the unprivileged-or-not ways to end it.
 * Used by the daemon's keeper (which mounts and unmounts; it never parses the image) and by
 * `bootviewfs stop`. Nothing here trusts a path or number read from the state directory:
 * a mount is acted on only when /proc/self/mountinfo shows it at that path with the view's
 * type and source. */
#ifndef BV_STATE_MNT_H
#define BV_STATE_MNT_H

#include <stdbool.h>
#include <stddef.h>

/* One line of /proc/self/mountinfo, octal escapes decoded. */
struct bv_mnt_entry {
	char mountpoint[4096];
	char fstype[64];
	char source[4200];
	unsigned major, minor; /* the superblock's device; a FUSE connection is 0:N */
};

/* Finds the topmost mount at MOUNTPOINT whose type is FSTYPE and source is SOURCE (either
 * may be NULL: any). Returns 0 and fills *OUT, -ENOENT when there is none, or -errno. */
int bv_mnt_find(const char *mountpoint, const char *fstype, const char *source,
		struct bv_mnt_entry *out);

/* True when anything is mounted at PATH in this mount namespace. */
bool bv_mnt_is_mountpoint(const char *path);

/* Detaches the mount at MOUNTPOINT (lazily: MNT_DETACH, never following a symlink as the
 * last component): umount2 where the caller may (root, or root of a user namespace that
 * owns the mount), else `fusermount3 -u -z` (the unprivileged user's way, for a mount that
 * user made). Returns 0 or -errno (-EPERM: neither way was allowed). */
int bv_mnt_detach(const char *mountpoint);

/* Aborts FUSE connection CONN (/sys/fs/fuse/connections/CONN/abort; the kernel makes it
 * writable by the mount's owner). Mounts fusectl there first when root and it is missing.
 * Returns 0 or -errno. */
int bv_mnt_conn_abort(unsigned conn);

/* The directory of FUSE connection CONN in fusectl (an O_PATH fd), for
 * bv_mnt_conn_dir_abort: unlike the number, it never names a later connection (a new
 * connection is a new directory; the files of a removed one abort nothing). Returns the
 * fd or -errno. */
int bv_mnt_conn_dir_open(unsigned conn);

/* Aborts the connection whose fusectl directory is DIRFD. Returns 0 or -errno. */
int bv_mnt_conn_dir_abort(int dirfd);

/* A handle on FUSE connection CONN itself, not on its number: an fd of its fusectl
 * "waiting" file (mounting fusectl first when root and it is missing). Connection numbers
 * are the superblocks' device minors, which the kernel hands out again, lowest first, as
 * soon as a superblock dies; the handle tells the connection from a later one that took
 * its number. Returns the fd or -errno. */
int bv_mnt_conn_open(unsigned conn);

/* True while the connection FD (from bv_mnt_conn_open) is registered, that is while its
 * superblock lives and keeps its number; false once the kernel has removed it. An fd
 * answers once: fusectl files cannot be seeked back to be read again. */
bool bv_mnt_conn_alive(int fd);

#endif
