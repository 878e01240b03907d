/* bv_ext4_file_run_get, the splice path's view of a file: stitching the runs it describes
 * (source bytes at PHYS, or zeros) must give exactly what bv_ext4_file_read reads, and the
 * cases that must be copied instead (inline data, memory sources) say -EOPNOTSUPP. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockio/source.h"
#include "fs/ext4/ext4.h"
#include "tests/testutil.h"

#define FR_MIB (1024 * 1024)

/* Zero runs seen by fr_compare: the sparse file must really produce some. */
static unsigned fr_zero_runs;

/* Writes N bytes of a pattern unique per 8-byte word at OFF of FD. */
static int fr_write(int fd, uint64_t off, size_t n)
{
	static uint8_t buf[64 * 1024];

	while (n) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);

		for (size_t i = 0; i < k; i++)
			buf[i] = (uint8_t)(((off + i) / 8 * 0x9E3779B97F4A7C15ull) >> ((off + i) % 8 * 8));
		if (pwrite(fd, buf, k, (off_t)off) != (ssize_t)k)
			return -1;
		off += k;
		n -= k;
	}
	return 0;
}

/* A file of SIZE bytes with data at each [start, start + len) of SPANS (NSPANS pairs). */
static int fr_file(const char *dir, const char *name, uint64_t size, const uint64_t *spans,
		   int nspans)
{
	char path[600];
	int fd, bad = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	for (int i = 0; i < nspans; i++)
		bad |= fr_write(fd, spans[2 * i], (size_t)spans[2 * i + 1]);
	bad |= ftruncate(fd, (off_t)size);
	close(fd);
	return bad ? -1 : 0;
}

static const char *fr_srcdir(void)
{
	static char dir[512];
	static const uint64_t dense[] = { 0, 3 * FR_MIB + 123 };
	static const uint64_t sparse[] = { 0, 5000, FR_MIB + 333, 7000 };
	static const uint64_t tiny[] = { 0, 60 };

	snprintf(dir, sizeof(dir), "%s/filerun-src", bv_test_tmpdir());
	if (bv_test_sh("rm -rf '%s' && mkdir -p '%s'", dir, dir) != 0)
		return NULL;
	if (fr_file(dir, "dense", dense[1], dense, 1) || fr_file(dir, "sparse", 3 * FR_MIB, sparse, 2) ||
	    fr_file(dir, "tiny", 60, tiny, 1))
		return NULL;
	return dir;
}

/* Reads [OFF, OFF + LEN) of INODE both ways and compares; returns the bytes covered. */
static size_t fr_compare(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, uint64_t off,
			 size_t len)
{
	uint8_t *want = malloc(len ? len : 1), *got = malloc(len ? len : 1);
	size_t done = 0;
	ssize_t n;

	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(got);
	n = bv_ext4_file_read(fs, inode, want, len, off);
	ck_assert_int_ge(n, 0);
	while (done < len) {
		struct bv_ext4_run run;

		ck_assert_int_eq(bv_ext4_file_run_get(fs, inode, off + done, len - done, &run), 0);
		if (run.len == 0)
			break;
		ck_assert_uint_le(run.len, len - done);
		if (run.zero) {
			fr_zero_runs++;
			memset(got + done, 0, run.len);
		} else {
			ck_assert_int_ge(run.fd, 0);
			ck_assert_int_eq(pread(run.fd, got + done, run.len, (off_t)run.phys),
					 (ssize_t)run.len);
		}
		done += run.len;
	}
	ck_assert_uint_eq(done, (size_t)n);
	ck_assert_int_eq(memcmp(want, got, done), 0);
	free(want);
	free(got);
	return done;
}

static void fr_image_test(const char *name, const char *opts)
{
	const char *srcdir = fr_srcdir();
	static const size_t lens[] = { 1, 4095, 4096, 65536, 512 * 1024, 1 << 20, 5 << 20 };
	static const char *const files[] = { "/dense", "/sparse" };
	struct bv_source *src;
	struct bv_ext4 *fs;
	const char *img;

	ck_assert_ptr_nonnull(srcdir);
	img = bv_test_mkfs(name, opts, srcdir, "32M");
	ck_assert_msg(img != NULL, "mkfs %s failed", name);
	fs = bv_test_open_file(img, NULL, &src);
	for (unsigned f = 0; f < 2; f++) {
		struct bv_ext4_inode inode;
		uint32_t ino;

		ck_assert_int_eq(bv_test_resolve(fs, files[f], 0, &ino), 0);
		ck_assert_int_eq(bv_ext4_inode_get(fs, ino, &inode), 0);
		for (unsigned l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
			uint64_t off = 0;

			/* Steps that are not block multiples, so runs start mid-block; small
			 * reads sample the file rather than walk all of it. */
			while (off < inode.size)
				off += fr_compare(fs, &inode, off, lens[l]) +
				       (lens[l] < 65536 ? 40000 + 333 * l : (l % 2) * 333);
			ck_assert_uint_eq(fr_compare(fs, &inode, inode.size, 4096), 0);
		}
		if (f == 0)
			fr_zero_runs = 0;
		else
			ck_assert_uint_gt(fr_zero_runs, 0);
	}
	bv_ext4_close(fs);
	bv_source_close(src);
}

START_TEST(test_filerun_ext4_4k_matches_read) { fr_image_test("filerun-4k", "-b 4096"); }
END_TEST
START_TEST(test_filerun_ext4_1k_matches_read) { fr_image_test("filerun-1k", "-b 1024"); }
END_TEST
START_TEST(test_filerun_ext2_indirect_matches_read) { fr_image_test("filerun-ext2", "-t ext2 -b 1024"); }
END_TEST

/* Inline data lives in the inode: no source range to splice. */
START_TEST(test_filerun_inline_data_refused)
{
	const char *srcdir = fr_srcdir();
	struct bv_ext4_inode inode;
	struct bv_ext4_run run;
	struct bv_source *src;
	struct bv_ext4 *fs;
	const char *img;
	uint32_t ino;

	ck_assert_ptr_nonnull(srcdir);
	img = bv_test_mkfs("filerun-inline", "-b 4096 -I 256 -O inline_data", srcdir, "32M");
	ck_assert_ptr_nonnull(img);
	fs = bv_test_open_file(img, NULL, &src);
	ck_assert_int_eq(bv_test_resolve(fs, "/tiny", 0, &ino), 0);
	ck_assert_int_eq(bv_ext4_inode_get(fs, ino, &inode), 0);
	ck_assert_int_eq(bv_ext4_file_run_get(fs, &inode, 0, 4096, &run), -EOPNOTSUPP);
	/* Past the end is still just the end. */
	ck_assert_int_eq(bv_ext4_file_run_get(fs, &inode, 60, 4096, &run), 0);
	ck_assert_uint_eq(run.len, 0);
	bv_ext4_close(fs);
	bv_source_close(src);
}
END_TEST

/* A memory source has no descriptor to splice from. */
START_TEST(test_filerun_memory_source_refused)
{
	const char *srcdir = fr_srcdir();
	struct bv_ext4_inode inode;
	struct bv_ext4_run run;
	struct bv_source *src;
	struct bv_ext4 *fs;
	const char *img;
	uint8_t *buf;
	size_t len;
	uint32_t ino;

	ck_assert_ptr_nonnull(srcdir);
	img = bv_test_mkfs("filerun-mem", "-b 4096", srcdir, "32M");
	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(bv_test_slurp(img, &buf, &len), 0);
	fs = bv_test_open_mem(buf, len, NULL, &src);
	ck_assert_int_eq(bv_test_resolve(fs, "/dense", 0, &ino), 0);
	ck_assert_int_eq(bv_ext4_inode_get(fs, ino, &inode), 0);
	ck_assert_int_eq(bv_ext4_file_run_get(fs, &inode, 0, 4096, &run), -EOPNOTSUPP);
	bv_ext4_close(fs);
	bv_source_close(src);
	free(buf);
}
END_TEST

static Suite *filerun_suite(void)
{
	Suite *s = suite_create("filerun");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_filerun_ext4_4k_matches_read);
	tcase_add_test(tc, test_filerun_ext4_1k_matches_read);
	tcase_add_test(tc, test_filerun_ext2_indirect_matches_read);
	tcase_add_test(tc, test_filerun_inline_data_refused);
	tcase_add_test(tc, test_filerun_memory_source_refused);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(filerun_suite)
