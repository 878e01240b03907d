/* The containerd `mounts` array as a source: what the devmapper and blockfile snapshotters
 * return for a View, e.g. [{"type":"ext4","source":"/dev/mapper/pool-snap-7","options":["ro"]}].
 * Only exactly one mount of type ext2, ext3, ext4 or xfs with options among ro, loop and nouuid
 * is understood; anything else is refused with a sentence naming what was not understood,
 * because a mount we half-understand could serve the wrong thing. */
#ifndef BV_BLOCKIO_MOUNTS_H
#define BV_BLOCKIO_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

struct bv_mount_spec {
	char type[8];        /* "ext2", "ext3", "ext4" or "xfs" */
	char source[4096];   /* block device or image file */
	bool loop;           /* "loop": the source is a file (we read files directly) */
};

/* Parses TEXT (LEN bytes): a JSON array of mounts, or an object whose "mounts" member is
 * one. Keys match case-insensitively, as Go's encoding/json does (containerd writes
 * "Type" or "type" depending on the struct). Returns 0 and fills *OUT, or -EINVAL with a
 * sentence in ERRBUF. */
int bv_mounts_parse(const char *text, size_t len, struct bv_mount_spec *out, char *errbuf,
		    size_t errbuf_size);

/* Reads FILE ("-" for standard input; at most 1 MiB) and parses it as above. */
int bv_mounts_load(const char *file, struct bv_mount_spec *out, char *errbuf,
		   size_t errbuf_size);

#endif
