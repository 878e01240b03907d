/* What is on a source, according to libblkid: the filesystem type and its identity.
 * Used to refuse, with a message naming what was found, anything that is not ext2/3/4. */
#ifndef BV_BLOCKIO_PROBE_H
#define BV_BLOCKIO_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "blockio/source.h"

struct bv_probe_result {
	char type[32];    /* "ext4", "xfs", "crypto_LUKS", "swap", ... or "" for nothing */
	char usage[32];   /* blkid's USAGE: "filesystem", "crypto", "raid", "other", or "";
			   * BV_PROBE_USAGE_AMBIVALENT when signatures conflict (type "") */
	char uuid[64];
	char label[256];
	uint32_t block_size; /* 0 when blkid does not say */
};

/* usage[] when blkid found several signatures that disagree and safe mode would not pick. */
#define BV_PROBE_USAGE_AMBIVALENT "ambivalent"

/* Probes SRC (a file or device source; a memory source is -EINVAL) with libblkid's
 * superblock chain in safe-probe mode; partition tables are not looked for. Finding
 * nothing is not an error: type is then "". Returns 0 and fills *OUT, or -errno.
 * libblkid seeks the source's shared descriptor: other threads may bv_source_read() the
 * source meanwhile (pread ignores the offset), but do not probe one source from two
 * threads at once. */
int bv_probe_source(struct bv_source *src, struct bv_probe_result *out);

/* True for the types blkid reports for a mountable ext filesystem: "ext2", "ext3", "ext4"
 * and "ext4dev". An external journal device ("jbd") is not one. */
bool bv_probe_is_ext(const struct bv_probe_result *r);

/* True for the filesystems bootviewfs serves: an ext one (above) or "xfs". */
bool bv_probe_is_supported(const struct bv_probe_result *r);

/* Writes into MSG (MSG_SIZE bytes, NUL-terminated, may be cut) a sentence naming what was
 * found and why SRC_NAME cannot be served: "IMG holds btrfs, not an ext2/3/4 or xfs
 * filesystem", "IMG holds crypto_LUKS (encrypted), not ...", "IMG holds swap space, not
 * ...", "IMG holds no filesystem that blkid recognises", "IMG is too small (N bytes) to hold
 * an ext2/3/4 or xfs filesystem" (under 2048 bytes: no room for an ext superblock).
 * Returns 0 if R is a supported filesystem (nothing written), -EMEDIUMTYPE otherwise. */
int bv_probe_check_supported(const struct bv_probe_result *r, const char *src_name,
			     uint64_t src_size, char *msg, size_t msg_size);

#endif
