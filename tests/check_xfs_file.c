/* fs/xfs/bmap.c and file.c: files in extents and btree format read byte-identical to the
 * kernel's read of the same image, holes and unwritten extents as zeros, SEEK_DATA and
 * SEEK_HOLE as the kernel's lseek answers, runs for splice, and the mapping checks (an
 * extent past the filesystem, a bmbt block with a bad CRC, a bmbt pointer to itself). */
#include "tests/xfs_test.h"
#include "util/le.h"

#define DI_CRC 100
#define BB_CRC 64

static uint64_t get_ino(struct xt_fs *t, const char *img, const char *name,
			struct bv_inode *in)
{
	uint64_t ino = xt_db_ino(img, name);

	ck_assert_msg(ino != 0, "xfs_db found no %s", name);
	ck_assert_int_eq(t->ops->inode_get(t->fs, ino, BV_IGET_ANY, in), 0);
	return ino;
}

/* Reads all of NAME with ours in CHUNK-byte pieces and compares with the kernel's. */
static void compare_file(struct xt_fs *t, const char *img, const char *mnt, const char *name,
			 size_t chunk)
{
	char path[PATH_MAX + 64];
	uint8_t *a = malloc(chunk), *b = malloc(chunk);
	struct bv_inode in;
	uint64_t off = 0;
	int fd;

	ck_assert(a && b);
	get_ino(t, img, name, &in);
	snprintf(path, sizeof(path), "%s/%s", mnt, name);
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	for (;;) {
		ssize_t n = t->ops->read(t->fs, &in, a, chunk, off);
		ssize_t m = pread(fd, b, chunk, (off_t)off);

		ck_assert_msg(n == m, "%s at %llu: we read %zd, the kernel %zd", name,
			      (unsigned long long)off, n, m);
		if (n <= 0)
			break;
		ck_assert_msg(memcmp(a, b, (size_t)n) == 0, "%s differs at %llu", name,
			      (unsigned long long)off);
		off += (uint64_t)n;
	}
	close(fd);
	free(a);
	free(b);
}

START_TEST(test_xfs_files_read_as_the_kernel_reads_them)
{
	const char *img = xt_populated(__func__);
	struct bv_xfs_inode ip;
	struct bv_inode in;
	const char *mnt;
	struct xt_fs t;

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	get_ino(&t, img, "frag", &in);
	memcpy(&ip, in.priv, sizeof(ip));
	ck_assert_uint_eq(ip.format, BV_XFS_FMT_BTREE); /* xfs_db: core.format = 3 */
	ck_assert_uint_gt(ip.nextents, 8000);
	mnt = xt_mount_ro(img);
	ck_assert_ptr_nonnull(mnt);
	compare_file(&t, img, mnt, "frag", 131072);
	compare_file(&t, img, mnt, "frag", 12345); /* unaligned pieces */
	compare_file(&t, img, mnt, "big", 1 << 20);
	compare_file(&t, img, mnt, "unwr", 65536);
	compare_file(&t, img, mnt, "small", 4096);
	xt_umount(mnt);
	xt_close(&t);
}
END_TEST

START_TEST(test_xfs_sparse_and_unwritten_read_as_zeros)
{
	static const uint64_t islands[] = { 0, 1ull << 30, 123456789012ull, (1ull << 40) - 10 };
	const char *img = xt_populated(__func__);
	uint8_t buf[8192], zero[8192] = { 0 };
	struct bv_inode in;
	struct xt_fs t;
	char want[64];

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	get_ino(&t, img, "sparse", &in);
	ck_assert_uint_eq(in.size, (1ull << 40) + 11);
	for (size_t i = 0; i < 4; i++) {
		int n = snprintf(want, sizeof(want), "data at %llu",
				 (unsigned long long)islands[i]);

		ck_assert_int_eq(t.ops->read(t.fs, &in, buf, (size_t)n, islands[i]), n);
		ck_assert(memcmp(buf, want, (size_t)n) == 0);
	}
	ck_assert_int_eq(t.ops->read(t.fs, &in, buf, sizeof(buf), 1ull << 35), sizeof(buf));
	ck_assert(memcmp(buf, zero, sizeof(buf)) == 0);
	/* Reads stop at the size. */
	ck_assert_int_eq(t.ops->read(t.fs, &in, buf, sizeof(buf), (1ull << 40) - 10), 21);
	ck_assert_int_eq(t.ops->read(t.fs, &in, buf, sizeof(buf), (1ull << 40) + 11), 0);
	/* unwr: falloc 0..1 MiB (unwritten), 4 KiB written at 256 KiB, size 2 MiB. */
	get_ino(&t, img, "unwr", &in);
	ck_assert_int_eq(t.ops->read(t.fs, &in, buf, 4096, 0), 4096);
	ck_assert(memcmp(buf, zero, 4096) == 0);
	ck_assert_int_eq(t.ops->read(t.fs, &in, buf, 4096, 256 << 10), 4096);
	ck_assert(memcmp(buf, zero, 4096) != 0);
	xt_close(&t);
}
END_TEST

START_TEST(test_xfs_seek_matches_kernel)
{
	static const char *const names[] = { "frag", "sparse", "unwr", "big", "small" };
	static const uint64_t offs[] = { 0, 1, 4095, 4096, 8191, 8192, 65536, 262144, 266240,
					 1048576, 1048577, 1ull << 30, (1ull << 30) + 4096,
					 123456789012ull, (1ull << 40) - 4096, (1ull << 40) + 11,
					 67104767 };
	const char *img = xt_populated(__func__);
	uint64_t ours[5][17][2];
	int64_t theirs;
	const char *mnt;
	struct xt_fs t;

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	for (size_t f = 0; f < 5; f++) {
		struct bv_inode in;

		get_ino(&t, img, names[f], &in);
		for (size_t i = 0; i < 17; i++)
			for (int d = 0; d < 2; d++) {
				uint64_t out = 0;
				int err = t.ops->seek(t.fs, &in, offs[i], d == 0, &out);

				ours[f][i][d] = err ? (uint64_t)(int64_t)err : out;
			}
	}
	xt_close(&t);
	mnt = xt_mount_ro(img);
	ck_assert_ptr_nonnull(mnt);
	for (size_t f = 0; f < 5; f++) {
		char path[PATH_MAX + 64];
		int fd;

		snprintf(path, sizeof(path), "%s/%s", mnt, names[f]);
		fd = open(path, O_RDONLY);
		ck_assert_int_ge(fd, 0);
		for (size_t i = 0; i < 17; i++)
			for (int d = 0; d < 2; d++) {
				theirs = lseek(fd, (off_t)offs[i], d == 0 ? SEEK_DATA : SEEK_HOLE);
				if (theirs < 0)
					theirs = -errno;
				if ((int64_t)ours[f][i][d] != theirs) {
					close(fd);
					xt_umount(mnt);
					ck_abort_msg("%s: %s from %llu: ours %lld, kernel %lld",
						     names[f], d == 0 ? "SEEK_DATA" : "SEEK_HOLE",
						     (unsigned long long)offs[i],
						     (long long)ours[f][i][d], (long long)theirs);
				}
			}
		close(fd);
	}
	xt_umount(mnt);
}
END_TEST

START_TEST(test_xfs_run_get_points_at_the_bytes)
{
	const char *img = xt_populated(__func__);
	uint8_t a[4096], b[4096];
	struct bv_fs_run run;
	struct bv_inode in;
	struct xt_fs t;

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	get_ino(&t, img, "frag", &in);
	/* Block 0 is data, block 1 a hole: one block of data, then one of zeros. */
	ck_assert_int_eq(t.ops->run_get(t.fs, &in, 100, 1 << 20, &run), 0);
	ck_assert(!run.zero);
	ck_assert_uint_eq(run.len, 4096 - 100);
	ck_assert_int_ge(run.fd, 0);
	ck_assert_int_eq(pread(run.fd, a, run.len, (off_t)run.phys), (ssize_t)run.len);
	ck_assert_int_eq(t.ops->read(t.fs, &in, b, run.len, 100), (ssize_t)run.len);
	ck_assert(memcmp(a, b, run.len) == 0);
	ck_assert_int_eq(t.ops->run_get(t.fs, &in, 4096, 1 << 20, &run), 0);
	ck_assert(run.zero);
	ck_assert_uint_eq(run.len, 4096);
	ck_assert_int_eq(t.ops->run_get(t.fs, &in, in.size, 10, &run), 0);
	ck_assert_uint_eq(run.len, 0);
	xt_close(&t);
}
END_TEST

/* ---- mapping checks on patched copies ---- */

START_TEST(test_xfs_extent_past_the_filesystem_is_corruption)
{
	const char *img = xt_populated(__func__);
	uint8_t ino[512], buf[16];
	struct bv_inode in;
	struct xt_fs t;
	const char *bad;
	uint64_t off, fsb, l0, l1;

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	off = xt_ino_byte(&t, get_ino(&t, img, "big", &in));
	fsb = (uint64_t)t.fs->sb.agcount << t.fs->sb.agblklog; /* first block past the AGs */
	xt_close(&t);
	bad = xt_copy(img, "xfs_ext_past");
	xt_pread(bad, ino, sizeof(ino), off);
	ck_assert_uint_eq(ino[5], BV_XFS_FMT_EXTENTS);
	/* Record 0 at the data fork (176): keep startoff and count, move startblock. */
	l0 = bv_be64(ino + 176), l1 = bv_be64(ino + 184);
	l0 = (l0 & ~0x1ffull) | (fsb >> 43);
	l1 = (l1 & ((1ull << 21) - 1)) | ((fsb & ((1ull << 43) - 1)) << 21);
	xt_put_be64(ino + 176, l0);
	xt_put_be64(ino + 184, l1);
	xt_fix_crc(ino, sizeof(ino), DI_CRC);
	xt_pwrite(bad, ino, sizeof(ino), off);
	ck_assert_int_eq(xt_open(&t, bad, NULL), 0);
	get_ino(&t, img, "big", &in);
	ck_assert_int_eq(t.ops->read(t.fs, &in, buf, sizeof(buf), 0), -EUCLEAN);
	xt_close(&t);
}
END_TEST

/* The first node below frag's bmbt root: its byte offset and fs block. */
static void frag_node(struct xt_fs *t, const char *img, uint64_t *byte, uint64_t *fsb)
{
	struct bv_cache_ref ref = { 0 };
	struct bv_xfs_inode ip;
	const uint8_t *fork;
	struct bv_inode in;
	size_t len, slots;

	get_ino(t, img, "frag", &in);
	memcpy(&ip, in.priv, sizeof(ip));
	ck_assert_int_eq(bv_xfs_fork_bytes(t->fs, &ip, BV_XFS_DATA_FORK, &ref, &fork, &len), 0);
	ck_assert_uint_eq(bv_be16(fork), 2); /* root level 2: the node below is level 1 */
	slots = (len - 4) / 16;
	*fsb = bv_be64(fork + 4 + slots * 8);
	bv_cache_put(t->fs->cache, &ref);
	ck_assert_int_eq(bv_xfs_fsb_to_byte(t->fs, *fsb, 1, byte), 0);
}

START_TEST(test_xfs_bmbt_bad_crc_and_self_pointer)
{
	const char *img = xt_populated(__func__);
	uint8_t blk[4096], buf[16];
	struct bv_inode in;
	struct xt_fs t;
	const char *bad;
	uint64_t byte, fsb;

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	ck_assert_uint_eq(t.fs->sb.blocksize, sizeof(blk));
	frag_node(&t, img, &byte, &fsb);
	xt_close(&t);

	/* A flipped byte in the node: its CRC no longer matches. */
	bad = xt_copy(img, "xfs_bmbt_crc");
	xt_pread(bad, blk, sizeof(blk), byte);
	ck_assert_uint_eq(bv_be32(blk), 0x424d4133u); /* BMA3 */
	ck_assert_uint_eq(bv_be16(blk + 4), 1);
	blk[100] ^= 0x55;
	xt_pwrite(bad, blk, sizeof(blk), byte);
	ck_assert_int_eq(xt_open(&t, bad, NULL), 0);
	get_ino(&t, img, "frag", &in);
	ck_assert_int_eq(t.ops->read(t.fs, &in, buf, sizeof(buf), 0), -EBADMSG);
	xt_close(&t);

	/* Pointer 0 of the node made to point at the node itself, CRC fixed: a loop, caught
	 * because the level does not go down. */
	bad = xt_copy(img, "xfs_bmbt_loop");
	xt_pread(bad, blk, sizeof(blk), byte);
	{
		size_t slots = (sizeof(blk) - 72) / 16;

		xt_put_be64(blk + 72 + slots * 8, fsb);
	}
	xt_fix_crc(blk, sizeof(blk), BB_CRC);
	xt_pwrite(bad, blk, sizeof(blk), byte);
	ck_assert_int_eq(xt_open(&t, bad, NULL), 0);
	get_ino(&t, img, "frag", &in);
	ck_assert_int_eq(t.ops->read(t.fs, &in, buf, sizeof(buf), 0), -EUCLEAN);
	xt_close(&t);
}
END_TEST

START_TEST(test_xfs_bmbt_keys_out_of_order_are_corruption)
{
	const char *img = xt_populated(__func__);
	uint8_t blk[4096], buf[16];
	struct bv_inode in;
	struct xt_fs t;
	const char *bad;
	uint64_t byte, fsb;

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	frag_node(&t, img, &byte, &fsb);
	xt_close(&t);
	bad = xt_copy(img, "xfs_bmbt_keys");
	xt_pread(bad, blk, sizeof(blk), byte);
	ck_assert_uint_ge(bv_be16(blk + 6), 2);
	xt_put_be64(blk + 72 + 8, 0); /* key 1 = key 0 = 0 */
	xt_fix_crc(blk, sizeof(blk), BB_CRC);
	xt_pwrite(bad, blk, sizeof(blk), byte);
	ck_assert_int_eq(xt_open(&t, bad, NULL), 0);
	get_ino(&t, img, "frag", &in);
	ck_assert_int_eq(t.ops->read(t.fs, &in, buf, sizeof(buf), 0), -EUCLEAN);
	xt_close(&t);
}
END_TEST

static Suite *xfs_file_suite(void)
{
	Suite *s = suite_create("xfs_file");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_xfs_files_read_as_the_kernel_reads_them);
	tcase_add_test(tc, test_xfs_sparse_and_unwritten_read_as_zeros);
	tcase_add_test(tc, test_xfs_seek_matches_kernel);
	tcase_add_test(tc, test_xfs_run_get_points_at_the_bytes);
	tcase_add_test(tc, test_xfs_extent_past_the_filesystem_is_corruption);
	tcase_add_test(tc, test_xfs_bmbt_bad_crc_and_self_pointer);
	tcase_add_test(tc, test_xfs_bmbt_keys_out_of_order_are_corruption);
	suite_add_tcase(s, tc);
	return s;
}

BV_SUITE(xfs_file_suite)
