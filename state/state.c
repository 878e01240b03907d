#include "state/state.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int bv_state_dir_make(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path))
		return -EINVAL;
	memcpy(path, dir, len + 1);
	/* mkdir -p, each new level 0700: the state dir holds the control FIFO, and only the
	 * owner may ask the daemon to stop. */
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return -errno;
		*p = saved;
		if (saved == '\0')
			break;
	}
	if (stat(dir, &st))
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
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
	json_object_set_new(o, "fuse_conn", json_integer(st->fuse_conn));
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

int bv_state_write(const char *dir, struct bv_state *st)
{
	char tmp[PATH_MAX], final[PATH_MAX];
	json_t *o;
	char *text;
	int fd, dfd, err = 0;

	if ((size_t)snprintf(final, sizeof(final), "%s/state.json", dir) >= sizeof(final) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.state.json.%d", dir, (int)getpid()) >=
		    sizeof(tmp))
		return -ENAMETOOLONG;
	st->updated_at = (int64_t)time(NULL);
	o = state_to_json(st);
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		return -ENOMEM;

	/* temp, fsync, rename, fsync the directory: a reader sees the old file or the new
	 * one, never half of one, even across a crash. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err = -errno;
		goto free_text;
	}
	size_t len = strlen(text), done = 0;
	while (done < len) {
		ssize_t n = write(fd, text + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		done += (size_t)n;
	}
	if (!err && (write(fd, "\n", 1) != 1 || fsync(fd)))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, final))
		err = -errno;
	if (err) {
		unlink(tmp);
		goto free_text;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
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

static json_int_t get_int(json_t *o, const char *key, json_int_t dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

int bv_state_read(const char *dir, struct bv_state *st, char *errbuf, size_t errbuf_size)
{
	char path[PATH_MAX], status[32] = "";
	json_error_t jerr;
	struct stat sb;
	json_t *o, *v;

	bv_state_init(st);
	if ((size_t)snprintf(path, sizeof(path), "%s/state.json", dir) >= sizeof(path))
		return -ENAMETOOLONG;
	if (stat(path, &sb))
		return -errno;
	if (sb.st_size > STATE_MAX_BYTES) {
		snprintf(errbuf, errbuf_size, "%s is %lld bytes: not a state file", path,
			 (long long)sb.st_size);
		return -EBADMSG;
	}
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!o || !json_is_object(o)) {
		snprintf(errbuf, errbuf_size, "%s is corrupt: %s (line %d)", path,
			 o ? "not a JSON object" : jerr.text, jerr.line);
		json_decref(o);
		return -EBADMSG;
	}
	st->version = (int)get_int(o, "version", 0);
	get_str(o, "status", status, sizeof(status));
	st->status = BV_STATE_FAILED;
	for (unsigned i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(status, status_names[i]) == 0)
			st->status = (enum bv_state_status)i;
	get_str(o, "error", st->error, sizeof(st->error));
	st->pid = (pid_t)get_int(o, "pid", 0);
	st->start_time = (uint64_t)get_int(o, "start_time", 0);
	get_str(o, "boot_id", st->boot_id, sizeof(st->boot_id));
	get_str(o, "id", st->id, sizeof(st->id));
	v = json_object_get(o, "source");
	if (json_is_object(v)) {
		get_str(v, "path", st->source.path, sizeof(st->source.path));
		st->source.major = (unsigned)get_int(v, "major", 0);
		st->source.minor = (unsigned)get_int(v, "minor", 0);
		st->source.size = (uint64_t)get_int(v, "size", 0);
		get_str(v, "dm_name", st->source.dm_name, sizeof(st->source.dm_name));
		get_str(v, "dm_uuid", st->source.dm_uuid, sizeof(st->source.dm_uuid));
		get_str(v, "dm_target", st->source.dm_target, sizeof(st->source.dm_target));
	}
	v = json_object_get(o, "fs");
	if (json_is_object(v)) {
		get_str(v, "type", st->fs.type, sizeof(st->fs.type));
		get_str(v, "uuid", st->fs.uuid, sizeof(st->fs.uuid));
		get_str(v, "journal", st->fs.journal, sizeof(st->fs.journal));
		st->fs.block_size = (uint32_t)get_int(v, "block_size", 0);
	}
	get_str(o, "mountpoint", st->mountpoint, sizeof(st->mountpoint));
	st->fuse_conn = (int)get_int(o, "fuse_conn", -1);
	v = json_object_get(o, "artifacts");
	if (json_is_array(v)) {
		size_t i;
		json_t *a;
		json_array_foreach(v, i, a) {
			if (st->nartifacts == BV_STATE_MAX_ARTIFACTS || !json_is_object(a))
				break;
			struct bv_state_artifact *art = &st->artifacts[st->nartifacts++];
			get_str(a, "path", art->path, sizeof(art->path));
			art->size = (uint64_t)get_int(a, "size", 0);
			art->ino = (uint32_t)get_int(a, "ino", 0);
		}
	}
	st->started_at = get_int(o, "started_at", 0);
	st->updated_at = get_int(o, "updated_at", 0);
	json_decref(o);
	return 0;
}
