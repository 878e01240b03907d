/* Extended attributes on disk: constants (kernel names) and the in-inode lookup that
 * inline.c shares with xattr.c. Internal to fs/; the public calls are in fs/ext4.h and
 * fs/ext4_priv.h. */
#ifndef BV_FS_XATTR_H
#define BV_FS_XATTR_H

#include <stddef.h>
#include <stdint.h>

#include "blockio/cache.h"
#include "fs/xattr_vfs.h"

struct bv_ext4;
struct bv_ext4_inode;

#define EXT4_XATTR_MAGIC 0xEA020000u

/* e_name_index values */
#define EXT4_XATTR_INDEX_USER 1
#define EXT4_XATTR_INDEX_POSIX_ACL_ACCESS 2
#define EXT4_XATTR_INDEX_POSIX_ACL_DEFAULT 3
#define EXT4_XATTR_INDEX_TRUSTED 4
#define EXT4_XATTR_INDEX_LUSTRE 5
#define EXT4_XATTR_INDEX_SECURITY 6
#define EXT4_XATTR_INDEX_SYSTEM 7
#define EXT4_XATTR_INDEX_RICHACL 8
#define EXT4_XATTR_INDEX_ENCRYPTION 9
#define EXT4_XATTR_INDEX_HURD 10

/* struct ext4_xattr_header (block): byte offsets, 32 bytes in all */
#define EXT4_XATTR_H_MAGIC 0
#define EXT4_XATTR_H_REFCOUNT 4
#define EXT4_XATTR_H_BLOCKS 8
#define EXT4_XATTR_H_HASH 12
#define EXT4_XATTR_H_CHECKSUM 16
#define EXT4_XATTR_HEADER_SIZE 32

/* struct ext4_xattr_ibody_header: just the magic */
#define EXT4_XATTR_IBODY_HEADER_SIZE 4

/* struct ext4_xattr_entry: byte offsets; the name follows, padded to 4 bytes */
#define EXT4_XATTR_E_NAME_LEN 0
#define EXT4_XATTR_E_NAME_INDEX 1
#define EXT4_XATTR_E_VALUE_OFFS 2
#define EXT4_XATTR_E_VALUE_INUM 4
#define EXT4_XATTR_E_VALUE_SIZE 8
#define EXT4_XATTR_E_HASH 12
#define EXT4_XATTR_E_NAME 16
#define EXT4_XATTR_PAD 4
#define EXT4_XATTR_LEN(name_len) (((name_len) + EXT4_XATTR_E_NAME + 3) & ~(size_t)3)
#define EXT4_XATTR_SIZE(size) (((size) + (uint64_t)3) & ~(uint64_t)3)

/* The kernel's bound on any value (ea_inode values included): larger is corruption. */
#define EXT4_XATTR_SIZE_MAX (1u << 24)
/* The on-disk (ext4) POSIX ACL format; the xattr form the kernel returns, and the VFS's
 * bounds on what getxattr/listxattr hand out, are in fs/xattr_vfs.h. */
#define EXT4_ACL_VERSION 0x0001
/* Ours: the kernel caps an ACL at 32 entries on write (EXT4_ACL_MAX_ENTRIES); the read
 * side has no cap but the value size, so this only bounds the loop. */
#define BV_ACL_MAX_ENTRIES 8192

/* Where one in-inode xattr value is, for inline.c: VALUE points into REF's block. */
struct bv_ext4_xattr_ibody_val {
	const uint8_t *value;  /* NULL for an ea_inode value */
	uint32_t value_size;
	uint32_t value_inum;
};

/* Looks NAME_INDEX/NAME (NAME_LEN bytes) up in INODE's in-inode xattr area only, after
 * checking the whole area as the kernel does at iget. Returns 0 with the inode table block
 * pinned in *REF (release with bv_ext4_brelse) and *OUT filled, -ENODATA when absent (REF
 * then holds nothing), or -EUCLEAN / -errno. */
int bv_ext4_xattr_ibody_find(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			     uint8_t name_index, const char *name, size_t name_len,
			     struct bv_cache_ref *ref, struct bv_ext4_xattr_ibody_val *out);

#endif
