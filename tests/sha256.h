/* SHA-256 (FIPS 180-4) for the test tools: content hashes that tests/treedump.py's
 * hashlib.sha256 must match. Not for anything security related. */
#ifndef BV_TESTS_SHA256_H
#define BV_TESTS_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define BV_SHA256_LEN 32

struct bv_sha256 {
	uint32_t h[8];
	uint64_t bytes;     /* message length so far */
	uint8_t buf[64];    /* a partial block */
	size_t fill;        /* bytes in buf */
};

/* Starts a hash. */
void bv_sha256_init(struct bv_sha256 *ctx);

/* Adds LEN bytes at DATA (which may be NULL when LEN is 0). */
void bv_sha256_update(struct bv_sha256 *ctx, const void *data, size_t len);

/* Pads, writes the 32-byte digest to OUT. CTX must be initialised again before reuse. */
void bv_sha256_final(struct bv_sha256 *ctx, uint8_t out[BV_SHA256_LEN]);

/* Writes DIGEST as 64 lower-case hex digits and a NUL to HEX. */
void bv_sha256_hex(const uint8_t digest[BV_SHA256_LEN], char hex[2 * BV_SHA256_LEN + 1]);

#endif
