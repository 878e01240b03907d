/* What libblkid says is on a source, and the sentence we print when it is not ext2/3/4 or
 * xfs.
 *
 * libblkid returns 0/1/-1/-2 from its probe calls and sets errno only sometimes; those
 * conventions stop in this file, and callers see 0 or -errno like everywhere else.
 */
#include "blockio/probe.h"

#include <blkid/blkid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The primary ext superblock sits at bytes 1024..2047: a source shorter than that cannot
 * hold one whatever blkid says. */
#define BV_PROBE_EXT_MIN_BYTES 2048u

/* Copies blkid's value NAME into DST, or leaves DST empty when blkid has none. A value too
 * long for DST is cut; only the label can be, and it is for display. */
static void copy_value(blkid_probe pr, const char *name, char *dst, size_t dst_size)
{
	const char *val = NULL;
	size_t len = 0;

	dst[0] = '\0';
	if (blkid_probe_lookup_value(pr, name, &val, &len) != 0 || !val)
		return;
	snprintf(dst, dst_size, "%s", val);
}

int bv_probe_source(struct bv_source *src, struct bv_probe_result *out)
{
	struct bv_probe_result r;
	blkid_probe pr;
	char bs[16];
	int fd = bv_source_fd(src), rc, err = 0;

	/* libblkid reads through a descriptor; a buffer in memory has none. */
	if (fd < 0)
		return -EINVAL;
	memset(&r, 0, sizeof(r));
	pr = blkid_new_probe();
	if (!pr)
		return -ENOMEM;
	/* Size 0 means "to the end": the whole file or device. blkid borrows FD. */
	errno = 0;
	if (blkid_probe_set_device(pr, fd, 0, 0) != 0) {
		err = errno ? -errno : -EIO;
		goto out_free;
	}
	if (blkid_probe_enable_superblocks(pr, 1) != 0 ||
	    blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_UUID |
							  BLKID_SUBLKS_LABEL | BLKID_SUBLKS_USAGE) != 0) {
		err = -EINVAL;
		goto out_free;
	}
	errno = 0;
	rc = blkid_do_safeprobe(pr);
	switch (rc) {
	case 0:
		copy_value(pr, "TYPE", r.type, sizeof(r.type));
		copy_value(pr, "USAGE", r.usage, sizeof(r.usage));
		copy_value(pr, "UUID", r.uuid, sizeof(r.uuid));
		copy_value(pr, "LABEL", r.label, sizeof(r.label));
		/* BLOCK_SIZE comes without a flag from the probers that know it (ext, xfs...). */
		copy_value(pr, "BLOCK_SIZE", bs, sizeof(bs));
		if (bs[0]) {
			char *end;
			unsigned long v = strtoul(bs, &end, 10);

			if (*end == '\0' && v <= UINT32_MAX)
				r.block_size = (uint32_t)v;
		}
		break;
	case 1:
		/* Nothing recognised: not an error, the caller words the refusal. */
		break;
	case -2:
		/* Two or more signatures that disagree (say ext4 over an old xfs): safe mode
		 * will not guess, and neither will we. */
		snprintf(r.usage, sizeof(r.usage), "%s", BV_PROBE_USAGE_AMBIVALENT);
		break;
	default:
		err = errno ? -errno : -EIO;
		goto out_free;
	}
	*out = r;

out_free:
	blkid_free_probe(pr);
	return err;
}

bool bv_probe_is_ext(const struct bv_probe_result *r)
{
	/* "jbd" is an external journal device, not a filesystem one can serve. */
	return strcmp(r->type, "ext2") == 0 || strcmp(r->type, "ext3") == 0 ||
	       strcmp(r->type, "ext4") == 0 || strcmp(r->type, "ext4dev") == 0;
}

bool bv_probe_is_supported(const struct bv_probe_result *r)
{
	return bv_probe_is_ext(r) || strcmp(r->type, "xfs") == 0;
}

int bv_probe_check_supported(const struct bv_probe_result *r, const char *src_name,
			     uint64_t src_size, char *msg, size_t msg_size)
{
	const char *what = "";

	if (bv_probe_is_supported(r))
		return 0;
	if (!msg || msg_size == 0)
		return -EMEDIUMTYPE;
	if (!src_name)
		src_name = "source";
	/* Size first: a too-short source is the likeliest reason blkid found nothing. */
	if (src_size < BV_PROBE_EXT_MIN_BYTES) {
		snprintf(msg, msg_size,
			 "%s is too small (%llu bytes) to hold an ext2/3/4 or xfs filesystem", src_name,
			 (unsigned long long)src_size);
		return -EMEDIUMTYPE;
	}
	if (strcmp(r->usage, BV_PROBE_USAGE_AMBIVALENT) == 0) {
		snprintf(msg, msg_size,
			 "%s holds several conflicting signatures (blkid will not choose one), "
			 "not a clear ext2/3/4 or xfs filesystem",
			 src_name);
		return -EMEDIUMTYPE;
	}
	if (r->type[0] == '\0') {
		snprintf(msg, msg_size, "%s holds no filesystem that blkid recognises", src_name);
		return -EMEDIUMTYPE;
	}
	/* A word on what the thing is when its name alone may not say it. */
	if (strcmp(r->type, "swap") == 0)
		what = " space";
	else if (strcmp(r->type, "jbd") == 0)
		what = " (an external ext3/4 journal)";
	else if (strcmp(r->usage, "crypto") == 0)
		what = " (encrypted)";
	else if (strcmp(r->usage, "raid") == 0)
		what = " (a RAID or volume-manager member)";
	snprintf(msg, msg_size, "%s holds %s%s, not an ext2/3/4 or xfs filesystem", src_name, r->type,
		 what);
	return -EMEDIUMTYPE;
}
