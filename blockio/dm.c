#include "blockio/dm.h"

#include <errno.h>
#include <libdevmapper.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* libdevmapper prints to stderr by default; the daemon's stderr is not a place for it. */
static void dm_quiet(int level, const char *file, int line, int dm_errno, const char *f, ...)
{
	(void)level;
	(void)file;
	(void)line;
	(void)dm_errno;
	(void)f;
}

static void dm_setup(void)
{
	dm_log_with_errno_init(dm_quiet);
}

int bv_dm_info_get(unsigned major, unsigned minor, struct bv_dm_info *out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct bv_dm_info info = { 0 };
	struct dm_info di;
	struct dm_task *dmt;
	struct stat st;
	uint64_t start, length;
	char *type = NULL, *params = NULL;
	int err = -ENODEV;

	/* Without the control node libdevmapper would try to create it; a kernel without dm
	 * simply has no dm devices. */
	if (stat("/dev/mapper/control", &st) != 0)
		return -ENODEV;
	pthread_once(&once, dm_setup);

	dmt = dm_task_create(DM_DEVICE_TABLE);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_major(dmt, (int)major) || !dm_task_set_minor(dmt, (int)minor) ||
	    !dm_task_run(dmt) || !dm_task_get_info(dmt, &di) || !di.exists)
		goto destroy;

	snprintf(info.name, sizeof(info.name), "%s", dm_task_get_name(dmt) ?: "");
	snprintf(info.uuid, sizeof(info.uuid), "%s", dm_task_get_uuid(dmt) ?: "");
	dm_get_next_target(dmt, NULL, &start, &length, &type, &params);
	snprintf(info.target, sizeof(info.target), "%s", type ?: "");
	*out = info;
	err = 0;
destroy:
	dm_task_destroy(dmt);
	return err;
}
