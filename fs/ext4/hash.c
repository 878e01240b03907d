/* The htree name hashes, written from the on-disk format description (ext4 wiki,
 * "Hash Tree Directories"). The three algorithms differ only in how they mix; the
 * signed/unsigned split is the C char type the original code packed the name with, which
 * made x86 and PowerPC disagree on names with bytes >= 0x80; the superblock's s_flags
 * records which one the filesystem was written with. */
#include "fs/ext4/hash.h"

#include <errno.h>
#include <stdbool.h>

/* MD4's initial state, used when s_hash_seed is all zeros. */
static const uint32_t default_seed[4] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476 };

static inline uint32_t rol32(uint32_t v, unsigned s)
{
	return (v << s) | (v >> (32 - s));
}

/* One byte of the name as the writer's char type saw it: sign-extended or not. */
static inline uint32_t name_char(const char *name, size_t i, bool is_unsigned)
{
	uint8_t c = (uint8_t)name[i];

	if (is_unsigned)
		return c;
	return (uint32_t)(int32_t)(int8_t)c;
}

/* The original ext2 "hack" hash: a running mix of two words, one char at a time. */
static uint32_t legacy_hash(const char *name, size_t len, bool is_unsigned)
{
	uint32_t h0 = 0x12a3fe2d, h1 = 0x37abe8f9;

	for (size_t i = 0; i < len; i++) {
		uint32_t h = h1 + (h0 ^ (name_char(name, i, is_unsigned) * 7152373u));

		/* Keep the value a positive 31-bit number, as the signed original did. */
		if (h & 0x80000000u)
			h -= 0x7fffffff;
		h1 = h0;
		h0 = h;
	}
	return h0 << 1;
}

/* Packs up to NUM*4 bytes of NAME into NUM words, big-endian within each word, padding
 * with a word made of the (full, unclamped) length repeated in every byte. */
static void str2hashbuf(const char *name, size_t len, uint32_t *buf, int num, bool is_unsigned)
{
	uint32_t pad = (uint32_t)len | ((uint32_t)len << 8);
	uint32_t val;

	pad |= pad << 16;
	val = pad;
	if (len > (size_t)num * 4)
		len = (size_t)num * 4;
	for (size_t i = 0; i < len; i++) {
		val = name_char(name, i, is_unsigned) + (val << 8);
		if (i % 4 == 3) {
			*buf++ = val;
			val = pad;
			num--;
		}
	}
	/* A partial last word keeps its bytes; the remaining words are all padding. */
	if (--num >= 0)
		*buf++ = val;
	while (--num >= 0)
		*buf++ = pad;
}

/* 16 rounds of TEA over one 4-word block, accumulated into BUF[0..1]. */
static void tea_transform(uint32_t buf[4], const uint32_t in[4])
{
	uint32_t sum = 0, b0 = buf[0], b1 = buf[1];
	uint32_t a = in[0], b = in[1], c = in[2], d = in[3];

	for (int n = 0; n < 16; n++) {
		sum += 0x9E3779B9u;
		b0 += ((b1 << 4) + a) ^ (b1 + sum) ^ ((b1 >> 5) + b);
		b1 += ((b0 << 4) + c) ^ (b0 + sum) ^ ((b0 >> 5) + d);
	}
	buf[0] += b0;
	buf[1] += b1;
}

#define MD4_F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MD4_G(x, y, z) (((x) & (y)) + (((x) ^ (y)) & (z)))
#define MD4_H(x, y, z) ((x) ^ (y) ^ (z))
#define MD4_ROUND(f, a, b, c, d, x, s) ((a) = rol32((a) + f((b), (c), (d)) + (x), (s)))
#define MD4_K2 0x5A827999u
#define MD4_K3 0x6ED9EBA1u

/* MD4 cut to 3 rounds of 8 steps over an 8-word block ("half" MD4). */
static void half_md4_transform(uint32_t buf[4], const uint32_t in[8])
{
	uint32_t a = buf[0], b = buf[1], c = buf[2], d = buf[3];

	MD4_ROUND(MD4_F, a, b, c, d, in[0], 3);
	MD4_ROUND(MD4_F, d, a, b, c, in[1], 7);
	MD4_ROUND(MD4_F, c, d, a, b, in[2], 11);
	MD4_ROUND(MD4_F, b, c, d, a, in[3], 19);
	MD4_ROUND(MD4_F, a, b, c, d, in[4], 3);
	MD4_ROUND(MD4_F, d, a, b, c, in[5], 7);
	MD4_ROUND(MD4_F, c, d, a, b, in[6], 11);
	MD4_ROUND(MD4_F, b, c, d, a, in[7], 19);

	MD4_ROUND(MD4_G, a, b, c, d, in[1] + MD4_K2, 3);
	MD4_ROUND(MD4_G, d, a, b, c, in[3] + MD4_K2, 5);
	MD4_ROUND(MD4_G, c, d, a, b, in[5] + MD4_K2, 9);
	MD4_ROUND(MD4_G, b, c, d, a, in[7] + MD4_K2, 13);
	MD4_ROUND(MD4_G, a, b, c, d, in[0] + MD4_K2, 3);
	MD4_ROUND(MD4_G, d, a, b, c, in[2] + MD4_K2, 5);
	MD4_ROUND(MD4_G, c, d, a, b, in[4] + MD4_K2, 9);
	MD4_ROUND(MD4_G, b, c, d, a, in[6] + MD4_K2, 13);

	MD4_ROUND(MD4_H, a, b, c, d, in[3] + MD4_K3, 3);
	MD4_ROUND(MD4_H, d, a, b, c, in[7] + MD4_K3, 9);
	MD4_ROUND(MD4_H, c, d, a, b, in[2] + MD4_K3, 11);
	MD4_ROUND(MD4_H, b, c, d, a, in[6] + MD4_K3, 15);
	MD4_ROUND(MD4_H, a, b, c, d, in[1] + MD4_K3, 3);
	MD4_ROUND(MD4_H, d, a, b, c, in[5] + MD4_K3, 9);
	MD4_ROUND(MD4_H, c, d, a, b, in[0] + MD4_K3, 11);
	MD4_ROUND(MD4_H, b, c, d, a, in[4] + MD4_K3, 15);

	buf[0] += a;
	buf[1] += b;
	buf[2] += c;
	buf[3] += d;
}

int bv_ext4_hash_compute(unsigned version, const uint32_t seed[4], const char *name,
			 size_t len, uint32_t *major, uint32_t *minor)
{
	uint32_t buf[4], in[8];
	uint32_t hash, minor_hash = 0;
	bool is_unsigned = false;
	const char *p = name;
	size_t left = len;

	for (int i = 0; i < 4; i++)
		buf[i] = default_seed[i];
	/* A seed of all zeros means "none set": mke2fs of old left it so. */
	if (seed && (seed[0] | seed[1] | seed[2] | seed[3])) {
		for (int i = 0; i < 4; i++)
			buf[i] = seed[i];
	}

	switch (version) {
	case DX_HASH_LEGACY_UNSIGNED:
		is_unsigned = true;
		/* fall through */
	case DX_HASH_LEGACY:
		hash = legacy_hash(name, len, is_unsigned);
		break;
	case DX_HASH_HALF_MD4_UNSIGNED:
		is_unsigned = true;
		/* fall through */
	case DX_HASH_HALF_MD4:
		/* 32 bytes per block; the pad word encodes what is left, so every block sees it. */
		while (left > 0) {
			str2hashbuf(p, left, in, 8, is_unsigned);
			half_md4_transform(buf, in);
			p += left > 32 ? 32 : left;
			left = left > 32 ? left - 32 : 0;
		}
		hash = buf[1];
		minor_hash = buf[2];
		break;
	case DX_HASH_TEA_UNSIGNED:
		is_unsigned = true;
		/* fall through */
	case DX_HASH_TEA:
		while (left > 0) {
			str2hashbuf(p, left, in, 4, is_unsigned);
			tea_transform(buf, in);
			p += left > 16 ? 16 : left;
			left = left > 16 ? left - 16 : 0;
		}
		hash = buf[0];
		minor_hash = buf[1];
		break;
	default:
		return -EOPNOTSUPP;
	}

	/* The low bit is the htree's collision flag, and the top value means end-of-dir. */
	hash &= ~1u;
	if (hash == (EXT4_HTREE_EOF_32BIT << 1))
		hash = (EXT4_HTREE_EOF_32BIT - 1) << 1;
	*major = hash;
	if (minor)
		*minor = minor_hash;
	return 0;
}
