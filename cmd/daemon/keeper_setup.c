/* The keeper's two possessions before anything is mounted: the state directory (its life
 * lock, the log, the control FIFO) and the source (opened read-only, identified in
 * state.json). */
#include "cmd/daemon/keeper.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "blockio/dm.h"
#include "blockio/mounts.h"
#include "blockio/source.h"
#include "state/control.h"
#include "state/lock.h"
#include "state/state.h"
#include "util/log.h"

/* ---- the state directory ---- */

int bv_keeper_state_dir_take(struct keeper *k)
{
	struct bv_mount_cmd *mc = k->mc;
	char errbuf[512] = "";
	int err;

	k->dfd = bv_state_dir_open(mc->state_dir_arg, true, false, errbuf, sizeof(errbuf));
	if (k->dfd < 0) {
		bv_keeper_fail(k, "state directory %s: %s", mc->state_dir_arg,
			 errbuf[0] ? errbuf : strerror(-k->dfd));
		return k->dfd;
	}
	/* The lock first: until it is ours nothing in DIR may be written, since another
	 * daemon may own it. */
	k->lock_fd = bv_lock_life_take(k->dfd);
	if (k->lock_fd < 0) {
		bv_keeper_fail(k, "state directory %s: %s", mc->state_dir_arg,
			 k->lock_fd == -EWOULDBLOCK ? "in use: another bootviewfs holds its lock"
						    : strerror(-k->lock_fd));
		return k->lock_fd;
	}
	k->have_state = true;
	/* A shim's operator reads DIR/log: starts and stops belong there. */
	if (bv_log_get_level() < BV_LOG_INFO)
		bv_log_set_level(BV_LOG_INFO);
	err = bv_logfile_open(&k->log, k->dfd);
	if (err)
		bv_warn("%s/log: %s (logging to stderr only)", mc->state_dir_arg,
			err == -EINVAL ? "not a regular file" : strerror(-err));
	k->log.tee_level = mc->debug ? BV_LOG_DEBUG : BV_LOG_WARN;
	atomic_store(&k->log.tee_stderr, true);
	bv_log_set_sink(bv_logfile_sink, &k->log);
	/* The FIFO exists from the start, so a "stop" sent while we start is obeyed. */
	k->control_fd = bv_control_open(k->dfd);
	bv_keeper_state_set(k, BV_STATE_STARTING, NULL);
	if (k->control_fd < 0) {
		bv_keeper_fail(k, "%s/control: %s", mc->state_dir_arg, strerror(-k->control_fd));
		return k->control_fd;
	}
	return 0;
}

/* ---- the source ---- */

/* The source's identity for state.json: device number, size and, for a device-mapper
 * device, its name, uuid and target type. */
static void state_source_fill(struct bv_state *st, const char *path, struct bv_source *src)
{
	struct bv_dm_info dm;
	dev_t rdev;
	int err;

	snprintf(st->source.path, sizeof(st->source.path), "%s", path);
	st->source.size = bv_source_size(src);
	if (bv_source_is_blockdev(src, &rdev) != 1)
		return;
	st->source.major = major(rdev);
	st->source.minor = minor(rdev);
	err = bv_dm_info_get(major(rdev), minor(rdev), &dm);
	if (err == 0) {
		snprintf(st->source.dm_name, sizeof(st->source.dm_name), "%s", dm.name);
		snprintf(st->source.dm_uuid, sizeof(st->source.dm_uuid), "%s", dm.uuid);
		snprintf(st->source.dm_target, sizeof(st->source.dm_target), "%s", dm.target);
	} else if (err != -ENODEV) {
		bv_warn("device-mapper info of %s: %s", path, strerror(-err));
	}
}

int bv_keeper_source_take(struct keeper *k)
{
	struct bv_mount_cmd *mc = k->mc;
	struct bv_mount_spec *spec;
	char errbuf[512] = "";
	int err;

	if (mc->mounts_json) {
		spec = calloc(1, sizeof(*spec));
		if (!spec)
			return -ENOMEM;
		err = bv_mounts_load(mc->mounts_json, spec, errbuf, sizeof(errbuf));
		if (err) {
			bv_keeper_fail(k, "%s: %s", mc->mounts_json,
				 errbuf[0] ? errbuf : strerror(-err));
			free(spec);
			return err;
		}
		/* Kept until the keeper ends: the command's source points into it. */
		k->spec = spec;
		mc->source = spec->source;
	}
	/* As given, until it is open and canonical: a start that fails still says which. */
	snprintf(k->st->source.path, sizeof(k->st->source.path), "%s", mc->source);
	err = bv_source_open(mc->source, &k->src);
	if (err) {
		bv_keeper_fail(k, "cannot open %s: %s", mc->source, strerror(-err));
		return err;
	}
	k->src_abs = realpath(mc->source, NULL);
	if (!k->src_abs) {
		bv_keeper_fail(k, "%s: %s", mc->source, strerror(errno));
		return -errno;
	}
	state_source_fill(k->st, k->src_abs, k->src);
	return 0;
}
