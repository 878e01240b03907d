/* csum.c: crc32c and crc16 against published vectors and against checksums mke2fs wrote. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/ext4/ext4_priv.h"
#include "util/le.h"
#include "tests/testutil.h"

uint32_t bv_crc32c_sw(uint32_t crc, const void *buf, size_t len);

#define CSUM_E4                                                                                    \
	"-O has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize,"     \
	"ext_attr -I 256"

static int read_at(const char *path, void *buf, size_t len, long off)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	int ok = fseek(f, off, SEEK_SET) == 0 && fread(buf, 1, len, f) == len;
	fclose(f);
	return ok ? 0 : -1;
}

/* ext4 seeds with ~0 and never inverts; the standard CRC-32C inverts both ends. */
START_TEST(test_crc32c_matches_standard_check_value)
{
	const char *s = "123456789";
	ck_assert_uint_eq(~bv_crc32c(~0u, s, 9), 0xE3069283u);
	ck_assert_uint_eq(~bv_crc32c_sw(~0u, s, 9), 0xE3069283u);
}
END_TEST

/* RFC 3720 (iSCSI) B.4 vectors. */
START_TEST(test_crc32c_matches_iscsi_vectors)
{
	uint8_t buf[32];

	memset(buf, 0, sizeof(buf));
	ck_assert_uint_eq(~bv_crc32c(~0u, buf, 32), 0x8A9136AAu);
	memset(buf, 0xff, sizeof(buf));
	ck_assert_uint_eq(~bv_crc32c(~0u, buf, 32), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	ck_assert_uint_eq(~bv_crc32c(~0u, buf, 32), 0x46DD794Eu);
}
END_TEST

/* The fast path and the table path agree on every length and alignment, and feeding
 * the data in pieces gives the same result as in one go (callers chain seeds). */
START_TEST(test_crc32c_paths_agree_and_chain)
{
	uint8_t buf[1100];

	srand(7);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len + off <= sizeof(buf); len += 37) {
			uint32_t a = bv_crc32c(0x12345678u, buf + off, len);
			ck_assert_uint_eq(a, bv_crc32c_sw(0x12345678u, buf + off, len));
			size_t half = len / 3;
			uint32_t b = bv_crc32c(0x12345678u, buf + off, half);
			b = bv_crc32c(b, buf + off + half, len - half);
			ck_assert_uint_eq(a, b);
		}
}
END_TEST

/* CRC-16/ARC (init 0) and CRC-16/MODBUS (init 0xFFFF) are this raw reflected update. */
START_TEST(test_crc16_matches_arc_and_modbus_vectors)
{
	ck_assert_uint_eq(bv_crc16(0, "123456789", 9), 0xBB3D);
	ck_assert_uint_eq(bv_crc16(0xFFFF, "123456789", 9), 0x4B37);
}
END_TEST

/* The superblock checksum mke2fs wrote: crc32c(~0) over the first 1020 bytes. */
START_TEST(test_crc32c_verifies_mkfs_superblock)
{
	uint8_t sb[1024];
	const char *img = bv_test_mkfs("csum_sb", CSUM_E4, NULL, "8M");

	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(read_at(img, sb, sizeof(sb), 1024), 0);
	ck_assert_uint_eq(bv_crc32c(~0u, sb, 1020), bv_le32(sb + 1020));
}
END_TEST

/* The uninit_bg descriptor checksum mke2fs wrote: crc16(~0) over uuid, group number
 * and the descriptor up to its checksum field. */
START_TEST(test_crc16_verifies_mkfs_group_descriptor)
{
	uint8_t sb[1024], gd[32], le[4] = { 0, 0, 0, 0 };
	const char *img = bv_test_mkfs(
		"csum_gdt", "-t ext4 -O ^metadata_csum,^64bit,uninit_bg -b 4096", NULL, "8M");

	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(read_at(img, sb, sizeof(sb), 1024), 0);
	ck_assert_int_eq(read_at(img, gd, sizeof(gd), 4096), 0); /* group 0, block 1 */
	uint16_t c = bv_crc16(0xFFFF, sb + 0x68, 16);
	c = bv_crc16(c, le, 4);
	c = bv_crc16(c, gd, 0x1E);
	ck_assert_uint_eq(c, bv_le16(gd + 0x1E));
}
END_TEST

static Suite *csum_suite(void)
{
	Suite *s = suite_create("csum");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_crc32c_matches_standard_check_value);
	tcase_add_test(tc, test_crc32c_matches_iscsi_vectors);
	tcase_add_test(tc, test_crc32c_paths_agree_and_chain);
	tcase_add_test(tc, test_crc16_matches_arc_and_modbus_vectors);
	tcase_add_test(tc, test_crc32c_verifies_mkfs_superblock);
	tcase_add_test(tc, test_crc16_verifies_mkfs_group_descriptor);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(csum_suite)
