/* STUB: replaced by its owner. */
#include "fs/ext4_priv.h"

#include <errno.h>

uint32_t bv_crc32c(uint32_t crc, const void *buf, size_t len) { (void)buf; (void)len; return crc; }
uint16_t bv_crc16(uint16_t crc, const void *buf, size_t len) { (void)buf; (void)len; return crc; }
