/* What the VFS asks of every filesystem's xattrs, and the POSIX ACL form it returns: shared
 * by the readers, which each convert their own on-disk ACL format into this one. */
#ifndef BV_FS_XATTR_VFS_H
#define BV_FS_XATTR_VFS_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* XATTR_SIZE_MAX, XATTR_LIST_MAX and XATTR_NAME_MAX of linux/limits.h. */
#define BV_XATTR_SIZE_MAX 65536u
#define BV_XATTR_LIST_MAX 65536u
#define BV_XATTR_NAME_MAX 255u

/* The Linux xattr form of a POSIX ACL (posix_acl_xattr.h): a little-endian version word,
 * then {tag u16, perm u16, id u32} per entry; the id only for USER and GROUP. */
#define POSIX_ACL_XATTR_VERSION 0x0002
#define ACL_USER_OBJ 0x01
#define ACL_USER 0x02
#define ACL_GROUP_OBJ 0x04
#define ACL_GROUP 0x08
#define ACL_MASK 0x10
#define ACL_OTHER 0x20
#define ACL_UNDEFINED_ID 0xFFFFFFFFu

/* Writes entry I of a Linux xattr ACL at BUF (after its 4-byte version word): tag, perm and
 * id, little-endian, 8 bytes. */
static inline void bv_acl_xattr_entry_put(uint8_t *buf, size_t i, uint32_t tag, uint32_t perm,
					  uint32_t id)
{
	uint8_t *o = buf + 4 + 8 * i;

	o[0] = (uint8_t)tag;
	o[1] = (uint8_t)(tag >> 8);
	o[2] = (uint8_t)perm;
	o[3] = (uint8_t)(perm >> 8);
	o[4] = (uint8_t)id;
	o[5] = (uint8_t)(id >> 8);
	o[6] = (uint8_t)(id >> 16);
	o[7] = (uint8_t)(id >> 24);
}

/* getxattr(2)'s own rules before a filesystem sees NAME: an empty name or one past
 * XATTR_NAME_MAX is -ERANGE; *SIZE past XATTR_SIZE_MAX is used as that much (the VFS never
 * allocates more). 0 and *LEN, the name's length. */
static inline int bv_xattr_get_begin(const char *name, size_t *size, size_t *len)
{
	*len = strnlen(name, BV_XATTR_NAME_MAX + 1);
	if (*len == 0 || *len > BV_XATTR_NAME_MAX)
		return -ERANGE;
	if (*size > BV_XATTR_SIZE_MAX)
		*size = BV_XATTR_SIZE_MAX;
	return 0;
}

/* ... and after: a value that does not fit even XATTR_SIZE_MAX is E2BIG, as the VFS says. */
static inline ssize_t bv_xattr_get_end(ssize_t ret, size_t size)
{
	return ret == -ERANGE && size == BV_XATTR_SIZE_MAX ? -E2BIG : ret;
}

#endif
