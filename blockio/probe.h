/* What is on a source, according to libblkid: the filesystem type and its identity.
 * Used to refuse, with a message naming what was found, anything that is not ext2/3/4. */
#ifndef BV_BLOCKIO_PROBE_H
#define BV_BLOCKIO_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "blockio/source.h"

struct bv_probe_result {
	char type[32];    /* "ext4", "xfs", "crypto_LUKS", "swap", ... or "" for nothing */
	char usage[32];   /* blkid's USAGE: "filesystem", "crypto", "raid", "other", or "" */
	char uuid[64];
	char label[256];
	uint32_t block_size; /* 0 when blkid does not say */
};

/* Probes SRC (a file or device source; a memory source is -EINVAL) with libblkid in
 * safe-probe mode. Finding nothing is not an error: type is then "". Returns 0 or -errno. */
int bv_probe_source(struct bv_source *src, struct bv_probe_result *out);

/* True for "ext2", "ext3", "ext4" and "jbd"-less variants blkid reports for them. */
bool bv_probe_is_ext(const struct bv_probe_result *r);

/* Writes into MSG a sentence saying why the source cannot be served ("SRC holds xfs, not
 * ext2/3/4", "SRC holds no filesystem that blkid recognises", "SRC is too small ...").
 * Returns 0 if R is an ext filesystem (nothing written), -EMEDIUMTYPE otherwise. */
int bv_probe_check_ext(const struct bv_probe_result *r, const char *src_name,
		       uint64_t src_size, char *msg, size_t msg_size);

#endif
