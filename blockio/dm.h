/* Device-mapper identity of a block device (libdevmapper): name, uuid and the target type
 * of its table (thin for a devmapper snapshot), recorded in state.json so an operator can
 * tell which snapshot a view holds open. */
#ifndef BV_BLOCKIO_DM_H
#define BV_BLOCKIO_DM_H

struct bv_dm_info {
	char name[128];
	char uuid[160];
	char target[32];  /* type of the first target in the live table: "thin", "linear", ... */
};

/* Asks device-mapper about device MAJOR:MINOR. -ENODEV when it is not a dm device or
 * device-mapper is not available (the kernel has no dm, or /dev/mapper/control is absent).
 * Returns 0 or -errno. libdevmapper's own logging is silenced. */
int bv_dm_info_get(unsigned major, unsigned minor, struct bv_dm_info *out);

#endif
