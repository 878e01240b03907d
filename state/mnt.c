#include "state/mnt.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define FUSE_CONNECTIONS "/sys/fs/fuse/connections"
#define FUSECTL_SUPER_MAGIC 0x65735543

/* Decodes the octal escapes (\040 for a space, \134 for a backslash...) that mountinfo
 * uses in paths and sources, in place. */
static void unescape(char *s)
{
	char *out = s;

	for (char *in = s; *in; in++) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' &&
		    in[3] >= '0' && in[3] <= '7') {
			*out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 3;
		} else {
			*out++ = *in;
		}
	}
	*out = '\0';
}

/* Copies S into DST (SIZE bytes); false when it does not fit: a truncated name must never
 * compare equal to a shorter one. */
static bool copy_field(char *dst, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (n >= size)
		return false;
	memcpy(dst, s, n + 1);
	return true;
}

/* Parses one mountinfo line (modified in place):
 *   ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS
 * Returns false for a line that does not have that shape. */
static bool parse_line(char *line, unsigned *id, unsigned *parent, struct bv_mnt_entry *e)
{
	char *save = NULL, *f[5], *tok, *type, *source;

	for (int i = 0; i < 5; i++) {
		f[i] = strtok_r(i ? NULL : line, " \n", &save);
		if (!f[i])
			return false;
	}
	/* Optional fields (shared:N, master:N...) run up to a lone "-". */
	do
		tok = strtok_r(NULL, " \n", &save);
	while (tok && strcmp(tok, "-") != 0);
	type = tok ? strtok_r(NULL, " \n", &save) : NULL;
	source = type ? strtok_r(NULL, " \n", &save) : NULL;
	if (!source)
		return false;
	if (sscanf(f[0], "%u", id) != 1 || sscanf(f[1], "%u", parent) != 1 ||
	    sscanf(f[2], "%u:%u", &e->major, &e->minor) != 2)
		return false;
	unescape(f[4]);
	unescape(type);
	unescape(source);
	return copy_field(e->mountpoint, sizeof(e->mountpoint), f[4]) &&
	       copy_field(e->fstype, sizeof(e->fstype), type) &&
	       copy_field(e->source, sizeof(e->source), source);
}

/* A mount at the path being looked for, with where it sits in the tree. */
struct cand {
	unsigned id, parent;
	struct bv_mnt_entry e;
};

int bv_mnt_find(const char *mountpoint, const char *fstype, const char *source,
		struct bv_mnt_entry *out)
{
	struct cand *c = NULL, cur;
	unsigned n = 0, cap = 0;
	char *line = NULL;
	size_t linecap = 0;
	int err = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	/* Every mount at MOUNTPOINT that matches, with its id and parent: mounts stacked on
	 * one path are each the parent of the next, and the topmost is the parent of none. */
	while (getline(&line, &linecap, f) > 0) {
		if (!parse_line(line, &cur.id, &cur.parent, &cur.e) ||
		    strcmp(cur.e.mountpoint, mountpoint) != 0 ||
		    (fstype && strcmp(cur.e.fstype, fstype) != 0) ||
		    (source && strcmp(cur.e.source, source) != 0))
			continue;
		if (n == cap) {
			unsigned ncap = cap ? cap * 2 : 2;
			struct cand *nc = realloc(c, ncap * sizeof(*c));

			if (!nc) {
				err = -ENOMEM;
				goto free_all;
			}
			c = nc;
			cap = ncap;
		}
		c[n++] = cur;
	}
	for (unsigned i = n; i-- > 0;) {
		bool covered = false;

		for (unsigned j = 0; j < n && !covered; j++)
			covered = j != i && c[j].parent == c[i].id;
		if (!covered) {
			*out = c[i].e;
			err = 0;
			break;
		}
	}
free_all:
	free(line);
	free(c);
	fclose(f);
	return err;
}

bool bv_mnt_is_mountpoint(const char *path)
{
	struct bv_mnt_entry *e = malloc(sizeof(*e));
	bool found;

	/* On failure to read mountinfo, say "mounted": callers use a false answer to rmdir. */
	if (!e)
		return true;
	found = bv_mnt_find(path, NULL, NULL, e) != -ENOENT;
	free(e);
	return found;
}

/* `fusermount3 -u -z -- MOUNTPOINT`: the setuid helper checks that the caller owns the
 * mount, which is how an unprivileged user unmounts a FUSE mount of its own. */
static int fusermount_detach(const char *mountpoint)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t none;

		/* A caller that blocks its stop signals must not pass that on to the helper. */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execlp("fusermount3", "fusermount3", "-u", "-z", "--", mountpoint, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPERM;
}

int bv_mnt_detach(const char *mountpoint)
{
	/* UMOUNT_NOFOLLOW: a symlink planted at the path must not lead the unmount elsewhere. */
	if (umount2(mountpoint, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		return 0;
	if (errno != EPERM)
		return -errno;
	return fusermount_detach(mountpoint);
}

/* The abort files live in the fusectl filesystem, which systemd mounts at boot but a
 * container or a minimal host may not have. Only root may mount it; nobody else tries. */
static void fusectl_ensure(void)
{
	struct statfs sfs;

	if (statfs(FUSE_CONNECTIONS, &sfs) == 0 && sfs.f_type == FUSECTL_SUPER_MAGIC)
		return;
	if (geteuid() != 0)
		return;
	mount("fusectl", FUSE_CONNECTIONS, "fusectl", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

int bv_mnt_conn_abort(unsigned conn)
{
	char path[64];
	int fd, err = 0;

	fusectl_ensure();
	snprintf(path, sizeof(path), FUSE_CONNECTIONS "/%u/abort", conn);
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (write(fd, "1", 1) != 1)
		err = -errno;
	close(fd);
	return err;
}

int bv_mnt_conn_dir_open(unsigned conn)
{
	char path[64];
	int fd;

	fusectl_ensure();
	snprintf(path, sizeof(path), FUSE_CONNECTIONS "/%u", conn);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

int bv_mnt_conn_dir_abort(int dirfd)
{
	int fd, err = 0;

	fd = openat(dirfd, "abort", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (write(fd, "1", 1) != 1)
		err = -errno;
	close(fd);
	return err;
}

int bv_mnt_conn_open(unsigned conn)
{
	char path[64];
	int fd;

	fusectl_ensure();
	snprintf(path, sizeof(path), FUSE_CONNECTIONS "/%u/waiting", conn);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

bool bv_mnt_conn_alive(int fd)
{
	char buf[32];

	/* The kernel clears a removed connection's files, and reading one then gives 0
	 * bytes; a live one gives the number of requests waiting. */
	return read(fd, buf, sizeof(buf)) > 0;
}
