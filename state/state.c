#include "state/state.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* state.json larger than this is not ours: refuse it rather than parse it. */
#define STATE_MAX_BYTES (1024 * 1024)

static const char *const status_names[] = {
	[BV_STATE_STARTING] = "starting", [BV_STATE_READY] = "ready",
	[BV_STATE_STOPPING] = "stopping", [BV_STATE_STOPPED] = "stopped",
	[BV_STATE_FAILED] = "failed",
};

const char *bv_state_status_name(enum bv_state_status s)
{
	return (unsigned)s < sizeof(status_names) / sizeof(status_names[0]) ? status_names[s]
									      : "unknown";
}

void bv_state_init(struct bv_state *st)
{
	memset(st, 0, sizeof(*st));
	st->version = BV_STATE_VERSION;
	st->status = BV_STATE_STARTING;
	st->fuse_conn = -1;
}

/* mkdir -p PATH, each new level 0700: the state dir holds the control FIFO, and only the
 * owner may ask the daemon to stop. */
static int mkdir_parents(char *path)
{
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		int err = mkdir(path, 0700) && errno != EEXIST ? -errno : 0;
		*p = saved;
		if (err)
			return err;
		if (saved == '\0')
			return 0;
	}
}

int bv_state_dir_open(const char *path, bool create, bool allow_root_read, char *errbuf,
		      size_t errbuf_size)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	struct stat st;
	int pfd, fd = -1, err;
	uid_t euid = geteuid();

	if (len == 0 || len >= sizeof(buf)) {
		snprintf(errbuf, errbuf_size, "state directory: bad path");
		return -EINVAL;
	}
	memcpy(buf, path, len + 1);
	/* "DIR/" would follow a symlink named DIR whatever O_NOFOLLOW says. */
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	if (create) {
		err = mkdir_parents(buf);
		if (err) {
			snprintf(errbuf, errbuf_size, "cannot create state directory %s: %s", buf,
				 strerror(-err));
			return err;
		}
	}
	/* O_PATH|O_NOFOLLOW opens a symlink itself, so fstat tells a planted symlink from a
	 * directory; the real descriptor is then opened relative to it, so both name the very
	 * same directory. */
	pfd = open(buf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0) {
		err = -errno;
		snprintf(errbuf, errbuf_size, "state directory %s: %s", buf, strerror(-err));
		return err;
	}
	if (fstat(pfd, &st) != 0) {
		err = -errno;
		snprintf(errbuf, errbuf_size, "state directory %s: %s", buf, strerror(-err));
		goto close_pfd;
	}
	if (S_ISLNK(st.st_mode)) {
		err = -ELOOP;
		snprintf(errbuf, errbuf_size,
			 "state directory %s is a symbolic link: refusing to follow it", buf);
		goto close_pfd;
	}
	if (!S_ISDIR(st.st_mode)) {
		err = -ENOTDIR;
		snprintf(errbuf, errbuf_size, "state directory %s is not a directory", buf);
		goto close_pfd;
	}
	/* Whoever may write the directory may forge everything in it, and `stop` acts on
	 * what it finds there with the caller's privileges. */
	if (st.st_uid != euid && !(allow_root_read && euid == 0)) {
		err = -EPERM;
		snprintf(errbuf, errbuf_size,
			 "state directory %s belongs to uid %u, not to you (uid %u): refusing "
			 "to act on another user's view",
			 buf, (unsigned)st.st_uid, (unsigned)euid);
		goto close_pfd;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		err = -EPERM;
		snprintf(errbuf, errbuf_size,
			 "state directory %s is writable by its group or others (mode %04o): "
			 "refusing to trust it",
			 buf, (unsigned)(st.st_mode & 07777));
		goto close_pfd;
	}
	fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(errbuf, errbuf_size, "state directory %s: %s", buf, strerror(-err));
		goto close_pfd;
	}
	err = fd;
close_pfd:
	close(pfd);
	return err;
}

static json_t *state_to_json(const struct bv_state *st)
{
	json_t *o = json_object(), *src, *fs, *arts;

	json_object_set_new(o, "version", json_integer(st->version));
	json_object_set_new(o, "status", json_string(bv_state_status_name(st->status)));
	if (st->error[0])
		json_object_set_new(o, "error", json_string(st->error));
	json_object_set_new(o, "pid", json_integer(st->pid));
	json_object_set_new(o, "start_time", json_integer((json_int_t)st->start_time));
	json_object_set_new(o, "boot_id", json_string(st->boot_id));
	if (st->id[0])
		json_object_set_new(o, "id", json_string(st->id));

	src = json_object();
	json_object_set_new(src, "path", json_string(st->source.path));
	json_object_set_new(src, "major", json_integer(st->source.major));
	json_object_set_new(src, "minor", json_integer(st->source.minor));
	json_object_set_new(src, "size", json_integer((json_int_t)st->source.size));
	if (st->source.dm_name[0]) {
		json_object_set_new(src, "dm_name", json_string(st->source.dm_name));
		json_object_set_new(src, "dm_uuid", json_string(st->source.dm_uuid));
		json_object_set_new(src, "dm_target", json_string(st->source.dm_target));
	}
	json_object_set_new(o, "source", src);

	fs = json_object();
	json_object_set_new(fs, "type", json_string(st->fs.type));
	json_object_set_new(fs, "uuid", json_string(st->fs.uuid));
	json_object_set_new(fs, "block_size", json_integer(st->fs.block_size));
	json_object_set_new(fs, "journal", json_string(st->fs.journal));
	json_object_set_new(o, "fs", fs);

	json_object_set_new(o, "mountpoint", json_string(st->mountpoint));
	json_object_set_new(o, "mountpoint_created", json_boolean(st->mountpoint_created));
	json_object_set_new(o, "mountpoint_dev", json_integer((json_int_t)st->mountpoint_dev));
	json_object_set_new(o, "mountpoint_ino", json_integer((json_int_t)st->mountpoint_ino));
	json_object_set_new(o, "fsname", json_string(st->fsname));
	json_object_set_new(o, "fstype", json_string(st->fstype));
	json_object_set_new(o, "fuse_conn", json_integer(st->fuse_conn));
	json_object_set_new(o, "server_pid", json_integer(st->server_pid));
	json_object_set_new(o, "uid", json_integer(st->uid));
	arts = json_array();
	for (unsigned i = 0; i < st->nartifacts && i < BV_STATE_MAX_ARTIFACTS; i++)
		json_array_append_new(arts, json_pack("{s:s,s:I,s:I}", "path",
						      st->artifacts[i].path, "size",
						      (json_int_t)st->artifacts[i].size, "ino",
						      (json_int_t)st->artifacts[i].ino));
	json_object_set_new(o, "artifacts", arts);
	json_object_set_new(o, "started_at", json_integer(st->started_at));
	json_object_set_new(o, "updated_at", json_integer(st->updated_at));
	return o;
}

/* Writes LEN bytes of BUF to FD, whatever the short writes. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Creates a new file in DFD under a random name (".state.json.<16 hex>") with O_EXCL and
 * returns its fd, the name in NAME. A predictable name (the pid) let whoever could write
 * the directory plant a FIFO that hangs us or a hard link we would write through. */
static int temp_create(int dfd, char name[32])
{
	for (int tries = 0; tries < 8; tries++) {
		uint64_t r;
		int fd;

		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return -(errno ? errno : EIO);
		snprintf(name, 32, ".state.json.%016llx", (unsigned long long)r);
		fd = openat(dfd, name,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

int bv_state_write(int dfd, struct bv_state *st)
{
	char tmp[32];
	json_t *o;
	char *text;
	int fd, err;

	st->updated_at = (int64_t)time(NULL);
	o = state_to_json(st);
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		return -ENOMEM;

	/* temp, fsync, rename, fsync the directory: a reader sees the old file or the new
	 * one, never half of one, even across a crash. */
	fd = temp_create(dfd, tmp);
	if (fd < 0) {
		err = fd;
		goto free_text;
	}
	err = write_all(fd, text, strlen(text));
	if (!err)
		err = write_all(fd, "\n", 1);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && renameat(dfd, tmp, dfd, "state.json"))
		err = -errno;
	if (err) {
		unlinkat(dfd, tmp, 0);
		goto free_text;
	}
	fsync(dfd);
free_text:
	free(text);
	return err;
}

/* Copies string field KEY of O into DST (SIZE bytes) if present and a string. */
static void get_str(json_t *o, const char *key, char *dst, size_t size)
{
	json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		snprintf(dst, size, "%s", json_string_value(v));
}

/* Integer field KEY of O when present and within [MIN, MAX], else DFLT: a value that
 * would wrap on the cast to a narrower field (a pid of 2^32 + 1 becoming 1) is refused. */
static json_int_t get_int(json_t *o, const char *key, json_int_t min, json_int_t max,
			  json_int_t dflt)
{
	json_t *v = json_object_get(o, key);
	json_int_t i;

	if (!json_is_integer(v))
		return dflt;
	i = json_integer_value(v);
	return i >= min && i <= max ? i : dflt;
}

/* What went wrong in a parse, in words of our own: jansson's text quotes the token it
 * stopped at, which is file content (the review leaked the first word of /etc/shadow). */
static const char *parse_problem(const json_error_t *jerr)
{
	switch (json_error_code(jerr)) {
	case json_error_premature_end_of_input:
		return "truncated";
	case json_error_end_of_input_expected:
		return "trailing bytes after the JSON value";
	case json_error_invalid_utf8:
		return "not UTF-8";
	case json_error_null_character:
		return "a NUL byte";
	case json_error_duplicate_key:
		return "a duplicate key";
	case json_error_stack_overflow:
		return "nested too deeply";
	case json_error_numeric_overflow:
		return "a number out of range";
	case json_error_out_of_memory:
		return "out of memory";
	default:
		return "not valid JSON";
	}
}

/* Opens state.json of DFD and reads it whole into *BUF (NUL-terminated, LEN bytes).
 * Anything but a regular file of the directory's owner with one link is -EBADMSG. */
static int state_slurp(int dfd, char **buf, size_t *len, char *errbuf, size_t errbuf_size)
{
	struct stat st, dir;
	char *b = NULL;
	size_t n = 0;
	int fd, err = 0;

	/* Refuse a FIFO or device by name before opening it (opening some devices does
	 * something); the fstat below settles it for whatever the open found. */
	if (fstatat(dfd, "state.json", &st, AT_SYMLINK_NOFOLLOW) != 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		goto not_regular;
	fd = openat(dfd, "state.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ELOOP)
			return -errno;
		st.st_mode = S_IFLNK; /* swapped for a symlink since the fstatat */
		goto not_regular;
	}
	if (fstat(fd, &st) != 0 || fstat(dfd, &dir) != 0) {
		err = -errno;
		goto close_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		goto not_regular;
	}
	/* The daemon writes state.json as the directory's owner and renames it into place:
	 * one link, that owner. A hard link to someone else's file is not a state file, and
	 * root's `status` of a user's view must not print it. */
	if (st.st_uid != dir.st_uid || st.st_nlink != 1) {
		snprintf(errbuf, errbuf_size,
			 "state.json is not the daemon's (owner uid %u, %u links): not a state "
			 "file",
			 (unsigned)st.st_uid, (unsigned)st.st_nlink);
		err = -EBADMSG;
		goto close_fd;
	}
	if (st.st_size > STATE_MAX_BYTES)
		goto too_big;
	b = malloc(STATE_MAX_BYTES + 2);
	if (!b) {
		err = -ENOMEM;
		goto close_fd;
	}
	/* Read to EOF rather than st_size bytes: the file may have changed since, and what
	 * we parse must be exactly what we hand back. */
	while (n <= STATE_MAX_BYTES) {
		ssize_t r = read(fd, b + n, STATE_MAX_BYTES + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto free_b;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > STATE_MAX_BYTES)
		goto too_big;
	b[n] = '\0';
	*buf = b;
	*len = n;
	close(fd);
	return 0;

too_big:
	snprintf(errbuf, errbuf_size, "state.json is over %d bytes: not a state file",
		 STATE_MAX_BYTES);
	err = -EBADMSG;
free_b:
	free(b);
close_fd:
	close(fd);
	return err;
not_regular:
	snprintf(errbuf, errbuf_size, "state.json is not a regular file (%s): not a state file",
		 S_ISLNK(st.st_mode) ? "a symbolic link" :
		 S_ISFIFO(st.st_mode) ? "a FIFO" :
		 S_ISDIR(st.st_mode) ? "a directory" : "a device or socket");
	return -EBADMSG;
}

int bv_state_parse(const char *text, size_t len, struct bv_state *st, char *errbuf,
		   size_t errbuf_size)
{
	char status[32] = "";
	json_error_t jerr;
	json_t *o, *v;

	bv_state_init(st);
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o || !json_is_object(o)) {
		if (o)
			snprintf(errbuf, errbuf_size, "state.json is corrupt: not a JSON object");
		else
			snprintf(errbuf, errbuf_size,
				 "state.json is corrupt: %s (line %d, column %d)",
				 parse_problem(&jerr), jerr.line, jerr.column);
		json_decref(o);
		return -EBADMSG;
	}
	st->version = (int)get_int(o, "version", 0, INT_MAX, 0);
	get_str(o, "status", status, sizeof(status));
	st->status = BV_STATE_FAILED;
	for (unsigned i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(status, status_names[i]) == 0)
			st->status = (enum bv_state_status)i;
	get_str(o, "error", st->error, sizeof(st->error));
	st->pid = (pid_t)get_int(o, "pid", 0, INT_MAX, 0);
	st->start_time = (uint64_t)get_int(o, "start_time", 0, INT64_MAX, 0);
	get_str(o, "boot_id", st->boot_id, sizeof(st->boot_id));
	get_str(o, "id", st->id, sizeof(st->id));
	v = json_object_get(o, "source");
	if (json_is_object(v)) {
		get_str(v, "path", st->source.path, sizeof(st->source.path));
		st->source.major = (unsigned)get_int(v, "major", 0, UINT_MAX, 0);
		st->source.minor = (unsigned)get_int(v, "minor", 0, UINT_MAX, 0);
		st->source.size = (uint64_t)get_int(v, "size", 0, INT64_MAX, 0);
		get_str(v, "dm_name", st->source.dm_name, sizeof(st->source.dm_name));
		get_str(v, "dm_uuid", st->source.dm_uuid, sizeof(st->source.dm_uuid));
		get_str(v, "dm_target", st->source.dm_target, sizeof(st->source.dm_target));
	}
	v = json_object_get(o, "fs");
	if (json_is_object(v)) {
		get_str(v, "type", st->fs.type, sizeof(st->fs.type));
		get_str(v, "uuid", st->fs.uuid, sizeof(st->fs.uuid));
		get_str(v, "journal", st->fs.journal, sizeof(st->fs.journal));
		st->fs.block_size = (uint32_t)get_int(v, "block_size", 0, UINT32_MAX, 0);
	}
	get_str(o, "mountpoint", st->mountpoint, sizeof(st->mountpoint));
	st->mountpoint_created = json_is_true(json_object_get(o, "mountpoint_created"));
	st->mountpoint_dev = (uint64_t)get_int(o, "mountpoint_dev", 0, INT64_MAX, 0);
	st->mountpoint_ino = (uint64_t)get_int(o, "mountpoint_ino", 0, INT64_MAX, 0);
	get_str(o, "fsname", st->fsname, sizeof(st->fsname));
	get_str(o, "fstype", st->fstype, sizeof(st->fstype));
	st->fuse_conn = (int)get_int(o, "fuse_conn", -1, INT_MAX, -1);
	st->server_pid = (pid_t)get_int(o, "server_pid", 0, INT_MAX, 0);
	st->uid = (unsigned)get_int(o, "uid", 0, UINT_MAX, 0);
	v = json_object_get(o, "artifacts");
	if (json_is_array(v)) {
		size_t i;
		json_t *a;
		json_array_foreach(v, i, a) {
			if (st->nartifacts == BV_STATE_MAX_ARTIFACTS || !json_is_object(a))
				break;
			struct bv_state_artifact *art = &st->artifacts[st->nartifacts++];
			get_str(a, "path", art->path, sizeof(art->path));
			art->size = (uint64_t)get_int(a, "size", 0, INT64_MAX, 0);
			art->ino = (uint32_t)get_int(a, "ino", 0, UINT32_MAX, 0);
		}
	}
	st->started_at = get_int(o, "started_at", INT64_MIN, INT64_MAX, 0);
	st->updated_at = get_int(o, "updated_at", INT64_MIN, INT64_MAX, 0);
	json_decref(o);
	return 0;
}

int bv_state_read(int dfd, struct bv_state *st, char **raw, size_t *raw_len, char *errbuf,
		  size_t errbuf_size)
{
	char *buf = NULL;
	size_t len = 0;
	int err;

	bv_state_init(st);
	err = state_slurp(dfd, &buf, &len, errbuf, errbuf_size);
	if (!err)
		err = bv_state_parse(buf, len, st, errbuf, errbuf_size);
	if (err) {
		free(buf);
		return err;
	}
	if (raw) {
		*raw = buf;
		*raw_len = len;
	} else {
		free(buf);
	}
	return 0;
}
