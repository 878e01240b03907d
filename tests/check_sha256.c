/* The test tools' SHA-256 (tests/sha256.c) against FIPS 180-2 appendix vectors and
 * digests of the padding boundary lengths computed independently (Python's hashlib). */
#include <stdlib.h>
#include <string.h>

#include "tests/sha256.h"
#include "tests/testutil.h"

static void digest_hex(const void *msg, size_t len, char hex[65])
{
	struct bv_sha256 ctx;
	uint8_t d[BV_SHA256_LEN];

	bv_sha256_init(&ctx);
	bv_sha256_update(&ctx, msg, len);
	bv_sha256_final(&ctx, d);
	bv_sha256_hex(d, hex);
}

START_TEST(test_sha256_fips_vectors)
{
	static const struct {
		const char *msg;
		const char *hex;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
		  "klmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	char hex[65];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		digest_hex(v[i].msg, strlen(v[i].msg), hex);
		ck_assert_str_eq(hex, v[i].hex);
	}
}
END_TEST

START_TEST(test_sha256_million_a_in_odd_pieces)
{
	static char a[997];
	struct bv_sha256 ctx;
	uint8_t d[BV_SHA256_LEN];
	char hex[65];
	size_t left = 1000000;

	memset(a, 'a', sizeof(a));
	bv_sha256_init(&ctx);
	/* Pieces that are not a multiple of 64 exercise the partial-block path. */
	while (left) {
		size_t n = left < sizeof(a) ? left : sizeof(a);

		bv_sha256_update(&ctx, a, n);
		left -= n;
	}
	bv_sha256_final(&ctx, d);
	bv_sha256_hex(d, hex);
	ck_assert_str_eq(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

/* Lengths either side of the 56-byte padding limit and of one and two blocks. */
START_TEST(test_sha256_padding_boundaries)
{
	static const struct {
		size_t len;
		const char *hex;
	} v[] = {
		{ 55, "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59" },
		{ 56, "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562" },
		{ 63, "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488" },
		{ 64, "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108" },
		{ 65, "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781" },
		{ 119, "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6" },
		{ 120, "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c" },
	};
	uint8_t msg[128];
	char hex[65];
	size_t i;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		digest_hex(msg, v[i].len, hex);
		ck_assert_msg(strcmp(hex, v[i].hex) == 0, "length %zu: %s", v[i].len, hex);
	}
}
END_TEST

/* Every split of a 130-byte message into two updates gives the one-shot digest. */
START_TEST(test_sha256_split_updates_match_one_shot)
{
	uint8_t msg[130];
	char whole[65], hex[65];
	size_t i, cut;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	digest_hex(msg, sizeof(msg), whole);
	for (cut = 0; cut <= sizeof(msg); cut++) {
		struct bv_sha256 ctx;
		uint8_t d[BV_SHA256_LEN];

		bv_sha256_init(&ctx);
		bv_sha256_update(&ctx, msg, cut);
		bv_sha256_update(&ctx, msg + cut, sizeof(msg) - cut);
		bv_sha256_final(&ctx, d);
		bv_sha256_hex(d, hex);
		ck_assert_msg(strcmp(hex, whole) == 0, "split at %zu", cut);
	}
}
END_TEST

static Suite *sha256_suite(void)
{
	Suite *s = suite_create("sha256");
	TCase *tc = tcase_create("digest");

	tcase_add_test(tc, test_sha256_fips_vectors);
	tcase_add_test(tc, test_sha256_million_a_in_odd_pieces);
	tcase_add_test(tc, test_sha256_padding_boundaries);
	tcase_add_test(tc, test_sha256_split_updates_match_one_shot);
	suite_add_tcase(s, tc);
	return s;
}

BV_SUITE(sha256_suite)
