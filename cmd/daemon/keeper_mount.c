/* The keeper's mountpoint and mount: opened once and checked (never a symlink), made when
 * the view owns it, mounted through libfuse (mount(2) or the setuid fusermount3),
 * detached only when mountinfo shows our mount there, removed only if we made it. */
#include "cmd/daemon/keeper.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 314
#endif
#include <fuse_lowlevel.h>

#include "util/log.h"
#include "state/mnt.h"

/* "/dev/fd/N" (or /proc/self/fd/N) names a /dev/fuse fd a privileged helper has already
 * mounted: libfuse's convention for daemons that may not mount. Returns N or -1. */
int bv_keeper_premounted_fd(const char *mnt)
{
	const char *p = NULL;
	char *end;
	long n;

	if (strncmp(mnt, "/dev/fd/", 8) == 0)
		p = mnt + 8;
	else if (strncmp(mnt, "/proc/self/fd/", 14) == 0)
		p = mnt + 14;
	if (!p || !*p)
		return -1;
	n = strtol(p, &end, 10);
	return *end || n < 0 || n > INT_MAX ? -1 : (int)n;
}

/* Makes a missing mountpoint: one level only (its parent must exist), 0755, never through
 * a symlink as the last component (mkdirat does not follow one). */
static int mountpoint_make(struct keeper *k, const char *path)
{
	char *copy = strdup(path), *slash, *name;
	struct stat st;
	int pfd, err = 0;

	if (!copy)
		return -ENOMEM;
	while (strlen(copy) > 1 && copy[strlen(copy) - 1] == '/')
		copy[strlen(copy) - 1] = '\0';
	slash = strrchr(copy, '/');
	name = slash ? slash + 1 : copy;
	if (slash == copy)
		pfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	else if (slash)
		*slash = '\0', pfd = open(copy, O_PATH | O_DIRECTORY | O_CLOEXEC);
	else
		pfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0 || !*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strlen(name) > NAME_MAX) {
		err = pfd < 0 ? -errno : -EINVAL;
		goto out;
	}
	if (mkdirat(pfd, name, 0755) != 0) {
		err = -errno;
		goto out;
	}
	/* mkdir is subject to the umask: the mode is the contract. */
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
		fchmodat(pfd, name, 0755, 0);
	snprintf(k->mnt_name, sizeof(k->mnt_name), "%s", name);
	k->parent_fd = pfd;
	pfd = -1;
	k->st->mountpoint_created = true;
out:
	if (pfd >= 0)
		close(pfd);
	free(copy);
	return err;
}

/* Opens the mountpoint once, refusing a symlink as its last component; everything after
 * (the mount itself, state.json's path and identity) goes through that fd. */
int bv_keeper_mountpoint_take(struct keeper *k)
{
	struct bv_mount_cmd *mc = k->mc;
	char link[64], path[PATH_MAX];
	struct stat st;
	ssize_t n;
	int fd;

	fd = bv_keeper_premounted_fd(mc->mountpoint);
	if (fd >= 0) {
		if (fstat(fd, &st) != 0 || !S_ISCHR(st.st_mode) ||
		    st.st_rdev != makedev(10, 229)) {
			bv_keeper_fail(k, "%s: not an open /dev/fuse fd", mc->mountpoint);
			return -EINVAL;
		}
		k->premounted_fd = fd;
		/* Whoever mounted it knows where; stop has nothing to unmount. */
		k->st->mountpoint[0] = '\0';
		return 0;
	}
	fd = open(mc->mountpoint, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && k->have_state) {
		/* With a state directory the view owns its mountpoint: make it. */
		int err = mountpoint_make(k, mc->mountpoint);

		if (err) {
			bv_keeper_fail(k, "mountpoint %s: cannot create it: %s", mc->mountpoint,
				 strerror(-err));
			return err;
		}
		fd = open(mc->mountpoint, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0) {
		int e = errno;

		/* O_PATH|O_NOFOLLOW opens a symlink itself; O_DIRECTORY then says ENOTDIR. */
		if (e == ENOTDIR && lstat(mc->mountpoint, &st) == 0 && S_ISLNK(st.st_mode))
			bv_keeper_fail(k, "mountpoint %s is a symbolic link: refused (give the directory "
				 "itself)", mc->mountpoint);
		else
			bv_keeper_fail(k, "mountpoint %s: %s", mc->mountpoint, strerror(e));
		return -e;
	}
	k->mnt_fd = fd;
	if (fstat(fd, &st) != 0)
		return -errno;
	k->mnt_dev_before = st.st_dev;
	k->st->mountpoint_dev = st.st_dev;
	k->st->mountpoint_ino = st.st_ino;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0) {
		bv_keeper_fail(k, "mountpoint %s: cannot name it: %s", mc->mountpoint, strerror(errno));
		return -EIO;
	}
	path[n] = '\0';
	k->mnt = strdup(path);
	if (!k->mnt)
		return -ENOMEM;
	snprintf(k->st->mountpoint, sizeof(k->st->mountpoint), "%s", k->mnt);
	/* One view per mountpoint: a second one stacked on the first would hide it, and the
	 * two would end up unmounting each other. */
	if (!mc->over_mount) {
		struct bv_mnt_entry me;

		if (bv_mnt_find(k->mnt, NULL, NULL, &me) == 0) {
			bv_keeper_fail(k, "mountpoint %s: %s (%s) is mounted there already: refused "
				 "(--over-mount to mount over it)", k->mnt, me.source, me.fstype);
			return -EBUSY;
		}
	}
	return 0;
}

/* Removes the mountpoint the view made, if it is still the directory we made and nothing
 * is mounted there. */
void bv_keeper_mountpoint_remove(struct keeper *k)
{
	struct stat st;

	if (k->parent_fd < 0 || k->mounted || (k->mnt && bv_mnt_is_mountpoint(k->mnt)))
		return;
	if (fstatat(k->parent_fd, k->mnt_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISDIR(st.st_mode) || st.st_dev != k->st->mountpoint_dev ||
	    st.st_ino != k->st->mountpoint_ino)
		return;
	/* mountpoint_created stays true in state.json: it says who made it, and a later
	 * `stop` finds it gone. */
	if (unlinkat(k->parent_fd, k->mnt_name, AT_REMOVEDIR) != 0)
		bv_warn("cannot remove the mountpoint %s: %s", k->mnt, strerror(errno));
}

/* fsname=bootviewfs:<name>, with libfuse's escapes for ',' and '\'. */
static int fsname_add(struct bv_strbuf *sb, const char *name)
{
	size_t n = strlen(name);
	char *o = malloc(2 * n + sizeof("fsname=bootviewfs:"));
	char *p;
	int err;

	if (!o)
		return -ENOMEM;
	p = stpcpy(o, "fsname=bootviewfs:");
	for (; *name; name++) {
		if (*name == ',' || *name == '\\')
			*p++ = '\\';
		*p++ = *name;
	}
	*p = '\0';
	err = bv_strbuf_add(sb, o, strlen(o));
	free(o);
	return err;
}

static int fuse_opts_build(struct keeper *k, struct bv_strbuf *sb)
{
	static const char defaults[] = "ro,nosuid,nodev,default_permissions";
	struct bv_mount_cmd *mc = k->mc;
	int err;

	err = bv_strbuf_add(sb, defaults, strlen(defaults));
	if (!err && mc->allow_other)
		err = bv_strbuf_add(sb, "allow_other", 11);
	if (!err && !mc->fsname_set)
		err = fsname_add(sb, mc->id ? mc->id : k->src_abs);
	if (!err && !mc->subtype_set)
		err = bv_strbuf_add(sb, "subtype=bootviewfs", 18);
	if (!err && mc->passthru.len)
		err = bv_strbuf_add(sb, mc->passthru.s, mc->passthru.len);
	return err;
}

/* True when this process may call mount(2) itself: CAP_SYS_ADMIN in its user namespace
 * (root, or root of a user namespace that owns our mount namespace: rootless). */
static bool can_mount(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data) != 0)
		return false;
	return data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN);
}

/* Mounts with libfuse, which calls mount(2) where allowed and the setuid fusermount3
 * otherwise, and returns the connection's fd (or -errno). Where we mount ourselves, the
 * path is /proc/self/fd/N: the directory we opened and checked, whatever happens to the
 * path meanwhile. fusermount3 refuses that form (it lstat()s the magic link), and makes its
 * own checks instead: it enters the directory, and mounts only where the user may write. */
/* Where mount(2) is not ours to call, FUSE needs two things from the system: a /dev/fuse
 * we may open and the setuid fusermount3. Say which is missing, in one sentence, before
 * libfuse says it in two. */
static int fuse_usable(struct keeper *k)
{
	static const char *const dirs[] = { "/usr/bin/", "/bin/", "/usr/local/bin/", NULL };
	bool helper = false;

	if (access("/dev/fuse", R_OK | W_OK) != 0) {
		bv_keeper_fail(k, "cannot use FUSE: /dev/fuse: %s (uid %u may not open it; ask for "
			       "access to /dev/fuse, 0666 on a stock system, or run as root)",
			       strerror(errno), (unsigned)geteuid());
		return -EACCES;
	}
	if (can_mount())
		return 0;
	for (unsigned i = 0; dirs[i] && !helper; i++) {
		char path[64];

		snprintf(path, sizeof(path), "%sfusermount3", dirs[i]);
		helper = access(path, X_OK) == 0;
	}
	if (!helper) {
		bv_keeper_fail(k, "cannot mount as uid %u: fusermount3 is not installed (Debian: "
			       "apt-get install fuse3), or run as root",
			       (unsigned)geteuid());
		return -ENOENT;
	}
	return 0;
}

/* The session that mounted (see bv_keeper_mount); volatile so that the store is kept
 * though nothing reads it: it is what keeps the session reachable for the leak checker. */
static struct fuse_session *volatile mount_session;

int bv_keeper_mount(struct keeper *k)
{
	static const struct fuse_lowlevel_ops no_ops;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct bv_strbuf opts = { 0 };
	struct fuse_session *se = NULL;
	struct bv_mnt_entry me;
	char path[64];
	int fd = -EIO, err;


	err = fuse_usable(k);
	if (err)
		return err;
	err = fuse_opts_build(k, &opts);
	if (!err && (fuse_opt_add_arg(&args, "bootviewfs") || fuse_opt_add_arg(&args, "-o") ||
		     fuse_opt_add_arg(&args, opts.s)))
		err = -ENOMEM;
	if (err) {
		bv_keeper_fail(k, "%s", strerror(-err));
		goto out;
	}
	bv_debug("mount options: %s", opts.s);
	se = fuse_session_new(&args, &no_ops, sizeof(no_ops), NULL);
	if (!se) {
		bv_keeper_fail(k, "bad mount options: %s", opts.s);
		goto out;
	}
	if (can_mount()) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", k->mnt_fd);
		err = fuse_session_mount(se, path);
	} else {
		err = fuse_session_mount(se, k->mnt);
	}
	if (err != 0) {
		/* libfuse has said why in the log. */
		bv_keeper_fail(k, "cannot mount %s on %s", k->src_abs, k->mnt);
		goto out;
	}
	k->mounted = true;
	/* The fd is the caller's to send and close. The session itself is kept, never
	 * destroyed: libfuse 3.14 frees the copy of the mountpoint that fuse_session_mount
	 * made only in fuse_session_unmount, which would unmount (its destroy leaks it), and
	 * the keeper mounts once. */
	fd = fuse_session_fd(se);
	mount_session = se;
	se = NULL;
	/* What stop will look for: the type and source mountinfo shows for this mount. */
	if (bv_mnt_find(k->mnt, NULL, NULL, &me) == 0) {
		snprintf(k->st->fsname, sizeof(k->st->fsname), "%s", me.source);
		snprintf(k->st->fstype, sizeof(k->st->fstype), "%s", me.fstype);
		/* Held for the view's life: it tells our mount from a later one that reuses
		 * our path, source and, once our superblock is gone, its device number. */
		k->conn = me.minor;
		k->conn_fd = bv_mnt_conn_open(me.minor);
		if (k->conn_fd < 0)
			bv_debug("no handle on FUSE connection %u: %s", me.minor,
				 strerror(-k->conn_fd));
	}
out:
	if (se)
		fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	free(opts.s);
	return fd;
}

bool bv_keeper_mount_present(struct keeper *k)
{
	struct bv_mnt_entry me;

	if (!k->mnt || bv_mnt_find(k->mnt, k->st->fstype[0] ? k->st->fstype : NULL,
				   k->st->fsname[0] ? k->st->fsname : NULL, &me) != 0)
		return false;
	if (k->conn_fd >= 0 && !k->conn_asked) {
		/* Asked when the view ends (the server gone, or a stop), not before: no later
		 * mount can take our number while our superblock lives. */
		k->conn_asked = true;
		k->conn_gone = !bv_mnt_conn_alive(k->conn_fd);
	}
	if (k->conn_asked)
		return !k->conn_gone && me.minor == k->conn;
	/* No handle (no fusectl): the number alone, which a later mount may have reused. */
	return k->st->fuse_conn < 0 || me.minor == (unsigned)k->st->fuse_conn;
}

/* Detaches our mount, and only ours (bv_keeper_mount_present). A view unmounted from
 * outside and started again at once on the same path, from the same source, is another
 * view: its mount must survive this keeper's end. */
void bv_keeper_unmount(struct keeper *k)
{
	int err;

	if (!k->mounted)
		return;
	k->mounted = false;
	if (!bv_keeper_mount_present(k))
		return; /* unmounted from outside already, or another mount now sits there */
	err = bv_mnt_detach(k->mnt);
	if (err)
		bv_err("unmount %s: %s", k->mnt, strerror(-err));
}
