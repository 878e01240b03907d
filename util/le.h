/* Explicit little-endian decoding from byte pointers. On-disk structures are never cast to
 * C structs: every field is read with these from a (pointer, length) view whose bounds the
 * caller has checked. */
#ifndef BV_FS_LE_H
#define BV_FS_LE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint16_t bv_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t bv_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static inline uint64_t bv_le64(const uint8_t *p)
{
	return (uint64_t)bv_le32(p) | ((uint64_t)bv_le32(p + 4) << 32);
}

static inline uint32_t bv_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
	       (uint32_t)p[3];
}

static inline uint16_t bv_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint64_t bv_be64(const uint8_t *p)
{
	return ((uint64_t)bv_be32(p) << 32) | bv_be32(p + 4);
}

/* True when [off, off + n) lies inside a buffer of LEN bytes; never overflows. */
static inline bool bv_in_bounds(size_t off, size_t n, size_t len)
{
	return off <= len && n <= len - off;
}

#endif
