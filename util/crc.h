/* Checksums of on-disk metadata: crc32c (ext4's metadata_csum, XFS v5) and crc16 (ext4's
 * older gdt_csum). Both are the raw reflected update with no pre- or post-inversion: the
 * callers seed with ~0 or a previous result and invert themselves, as the kernel does. */
#ifndef BV_UTIL_CRC_H
#define BV_UTIL_CRC_H

#include <stddef.h>
#include <stdint.h>

/* crc32c (Castagnoli), seeded by the caller. Thread safe; SSE4.2 when the CPU has it. */
uint32_t bv_crc32c(uint32_t crc, const void *buf, size_t len);

/* crc16 (ANSI, as the uninit_bg group descriptor checksum uses it). */
uint16_t bv_crc16(uint16_t crc, const void *buf, size_t len);

#endif
