/* Checksums of on-disk metadata: crc32c (ext4 metadata_csum, XFS v5) and crc16 (gdt_csum).
 *
 * Both are the raw reflected CRC update with no pre- or post-inversion: ext4 calls
 * crc32c_le(seed, data) and crc16(seed, data) and does any inversion itself, so the
 * callers here seed with ~0 or a previous result exactly as the kernel does.
 */
#include "util/crc.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "util/le.h"

#define CRC32C_POLY 0x82F63B78u /* Castagnoli, bit-reflected */
#define CRC16_POLY 0xA001u      /* ANSI 0x8005, bit-reflected */

/* Slicing-by-8: table[k][b] is the CRC of byte b followed by k zero bytes. */
static uint32_t crc32c_table[8][256];
static uint16_t crc16_table[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static bool have_sse42;

static void tables_init(void)
{
	for (uint32_t b = 0; b < 256; b++) {
		uint32_t c = b;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1)));
		crc32c_table[0][b] = c;

		uint16_t h = (uint16_t)b;
		for (int k = 0; k < 8; k++)
			h = (uint16_t)((h >> 1) ^ (CRC16_POLY & (0u - (h & 1))));
		crc16_table[b] = h;
	}
	for (uint32_t b = 0; b < 256; b++)
		for (int t = 1; t < 8; t++) {
			uint32_t prev = crc32c_table[t - 1][b];
			crc32c_table[t][b] = (prev >> 8) ^ crc32c_table[0][prev & 0xff];
		}
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	have_sse42 = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
	/* Eight bytes per step, read little-endian so the result does not depend on the
	 * host's byte order. */
	while (len >= 8) {
		uint32_t lo = bv_le32(p) ^ crc;
		uint32_t hi = bv_le32(p + 4);
		crc = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
		      crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
		      crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
		      crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc32c_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if defined(__x86_64__)
/* The SSE4.2 crc32 instruction computes exactly this raw update (Castagnoli polynomial,
 * reflected, no inversion). memcpy keeps unaligned loads defined behaviour. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
							    size_t len)
{
	uint64_t c = crc;

	while (len >= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

uint32_t bv_crc32c(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&tables_once, tables_init);
#if defined(__x86_64__)
	if (have_sse42)
		return crc32c_hw(crc, buf, len);
#endif
	return crc32c_sw(crc, buf, len);
}

/* For the tests: the portable path, whatever the CPU. */
uint32_t bv_crc32c_sw(uint32_t crc, const void *buf, size_t len);
uint32_t bv_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&tables_once, tables_init);
	return crc32c_sw(crc, buf, len);
}

uint16_t bv_crc16(uint16_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_once(&tables_once, tables_init);
	while (len--)
		crc = (uint16_t)((crc >> 8) ^ crc16_table[(crc ^ *p++) & 0xff]);
	return crc;
}
