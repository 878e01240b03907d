/* The ext4 directory-index (htree) name hashes: legacy, half_md4 and tea, each in its
 * signed and unsigned flavour. Pure code, no I/O; used by dir.c and its tests. */
#ifndef BV_FS_HASH_H
#define BV_FS_HASH_H

#include <stddef.h>
#include <stdint.h>

/* dx_root_info.hash_version values (kernel names). The _UNSIGNED variants are never on
 * disk: a reader adds 3 when the superblock has EXT2_FLAGS_UNSIGNED_HASH. */
#define DX_HASH_LEGACY 0
#define DX_HASH_HALF_MD4 1
#define DX_HASH_TEA 2
#define DX_HASH_LEGACY_UNSIGNED 3
#define DX_HASH_HALF_MD4_UNSIGNED 4
#define DX_HASH_TEA_UNSIGNED 5
#define DX_HASH_SIPHASH 6

/* The "end of directory" hash value of 32-bit htree cookies; a name never hashes to it. */
#define EXT4_HTREE_EOF_32BIT 0x7fffffffU

/* Hashes NAME (LEN bytes) with hash VERSION (DX_HASH_*, unsigned variants included) and
 * SEED (s_hash_seed; all zeros or NULL selects the default seed). Writes the major hash
 * (low bit cleared, never EXT4_HTREE_EOF_32BIT << 1) to *MAJOR and the minor hash (0 for
 * legacy) to *MINOR when MINOR is not NULL. Returns 0, or -EOPNOTSUPP for siphash (casefold
 * directories) and unknown versions. Thread safe. */
int bv_ext4_hash_compute(unsigned version, const uint32_t seed[4], const char *name,
			 size_t len, uint32_t *major, uint32_t *minor);

#endif
