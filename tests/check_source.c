/* The byte source: files, block devices (through a read-only loop device) and memory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockio/source.h"
#include "tests/testutil.h"

#define PATTERN_LEN 10000u

/* A byte pattern in which no two nearby offsets agree, so a read at the wrong offset
 * cannot pass by luck. */
static uint8_t pattern_byte(uint64_t off)
{
	return (uint8_t)(off * 7 + (off >> 8) * 13 + 1);
}

static void fill_pattern(uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(i);
}

/* Writes LEN pattern bytes into a scratch file named after the test; returns its path. */
static const char *make_pattern_file(const char *name, size_t len)
{
	static char path[PATH_MAX];
	uint8_t *buf = malloc(len ? len : 1);
	FILE *f;

	ck_assert_ptr_nonnull(buf);
	fill_pattern(buf, len);
	snprintf(path, sizeof(path), "%s/%s", bv_test_tmpdir(), name);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	free(buf);
	return path;
}

static void assert_pattern(const uint8_t *buf, size_t len, uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		ck_assert_uint_eq(buf[i], pattern_byte(off + i));
}

START_TEST(test_source_file_reads_exact_bytes_and_size)
{
	const char *path = make_pattern_file("source_file.bin", PATTERN_LEN);
	struct bv_source *src = NULL;
	uint8_t buf[PATTERN_LEN];
	dev_t rdev = 12345;

	ck_assert_int_eq(bv_source_open(path, &src), 0);
	ck_assert_uint_eq(bv_source_size(src), PATTERN_LEN);
	ck_assert_int_ge(bv_source_fd(src), 0);
	ck_assert_str_eq(bv_source_path(src), path);
	ck_assert_int_eq(bv_source_is_blockdev(src, &rdev), 0);
	ck_assert_uint_eq(rdev, 12345);

	ck_assert_int_eq(bv_source_read(src, buf, 100, 1234), 0);
	assert_pattern(buf, 100, 1234);
	ck_assert_int_eq(bv_source_read(src, buf, PATTERN_LEN, 0), 0);
	assert_pattern(buf, PATTERN_LEN, 0);
	/* The last byte, and an empty read at the very end, are inside the source. */
	ck_assert_int_eq(bv_source_read(src, buf, 1, PATTERN_LEN - 1), 0);
	assert_pattern(buf, 1, PATTERN_LEN - 1);
	ck_assert_int_eq(bv_source_read(src, buf, 0, PATTERN_LEN), 0);
	bv_source_close(src);
}
END_TEST

START_TEST(test_source_read_outside_range_is_eio)
{
	const char *path = make_pattern_file("source_range.bin", PATTERN_LEN);
	struct bv_source *src = NULL;
	uint8_t buf[64];

	ck_assert_int_eq(bv_source_open(path, &src), 0);
	/* Straddling the end, starting at the end, starting past it. */
	ck_assert_int_eq(bv_source_read(src, buf, 20, PATTERN_LEN - 10), -EIO);
	ck_assert_int_eq(bv_source_read(src, buf, 1, PATTERN_LEN), -EIO);
	ck_assert_int_eq(bv_source_read(src, buf, 0, PATTERN_LEN + 1), -EIO);
	/* Ranges whose end wraps around 2^64 must not look small. */
	ck_assert_int_eq(bv_source_read(src, buf, 2, UINT64_MAX), -EIO);
	ck_assert_int_eq(bv_source_read(src, buf, SIZE_MAX, 1), -EIO);
	bv_source_close(src);
}
END_TEST

START_TEST(test_source_file_shrunk_after_open_read_is_eio)
{
	const char *path = make_pattern_file("source_shrunk.bin", 8192);
	struct bv_source *src = NULL;
	uint8_t buf[4096];

	ck_assert_int_eq(bv_source_open(path, &src), 0);
	ck_assert_int_eq(truncate(path, 4096), 0);
	/* The size said the bytes were there; pread now hits end of file (returns 0). */
	ck_assert_int_eq(bv_source_read(src, buf, 4096, 4096), -EIO);
	/* A read straddling the new end gets a short read first, then end of file. */
	ck_assert_int_eq(bv_source_read(src, buf, 2048, 3072), -EIO);
	ck_assert_int_eq(bv_source_read(src, buf, 4096, 0), 0);
	assert_pattern(buf, 4096, 0);
	bv_source_close(src);
}
END_TEST

START_TEST(test_source_directory_is_eisdir)
{
	struct bv_source *src = NULL;

	ck_assert_int_eq(bv_source_open(bv_test_tmpdir(), &src), -EISDIR);
	ck_assert_ptr_null(src);
}
END_TEST

START_TEST(test_source_missing_file_is_enoent)
{
	char path[PATH_MAX];
	struct bv_source *src = NULL;

	snprintf(path, sizeof(path), "%s/source_no_such_file", bv_test_tmpdir());
	ck_assert_int_eq(bv_source_open(path, &src), -ENOENT);
	ck_assert_ptr_null(src);
}
END_TEST

START_TEST(test_source_char_device_is_einval)
{
	struct bv_source *src = NULL;

	ck_assert_int_eq(bv_source_open("/dev/null", &src), -EINVAL);
	ck_assert_ptr_null(src);
}
END_TEST

START_TEST(test_source_fifo_is_einval)
{
	char path[PATH_MAX];
	struct bv_source *src = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s/source_fifo", bv_test_tmpdir());
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	/* Keep a writer-less FIFO from blocking the open: hold it open for reading. */
	fd = open(path, O_RDWR | O_NONBLOCK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bv_source_open(path, &src), -EINVAL);
	ck_assert_ptr_null(src);
	close(fd);
}
END_TEST

START_TEST(test_source_opens_read_only)
{
	const char *path = make_pattern_file("source_ro.bin", 4096);
	struct bv_source *src = NULL;
	int flags;

	ck_assert_int_eq(bv_source_open(path, &src), 0);
	flags = fcntl(bv_source_fd(src), F_GETFL);
	ck_assert_int_eq(flags & O_ACCMODE, O_RDONLY);
	ck_assert_int_ne(fcntl(bv_source_fd(src), F_GETFD) & FD_CLOEXEC, 0);
	bv_source_close(src);
}
END_TEST

START_TEST(test_source_mem_reads_and_bounds)
{
	static uint8_t mem[PATTERN_LEN];
	struct bv_source *src = NULL;
	uint8_t buf[256];

	fill_pattern(mem, sizeof(mem));
	ck_assert_int_eq(bv_source_open_mem(mem, sizeof(mem), &src), 0);
	ck_assert_uint_eq(bv_source_size(src), PATTERN_LEN);
	ck_assert_int_eq(bv_source_fd(src), -1);
	ck_assert_str_eq(bv_source_path(src), "(memory)");
	ck_assert_int_eq(bv_source_is_blockdev(src, NULL), 0);
	ck_assert_int_eq(bv_source_read(src, buf, sizeof(buf), 5000), 0);
	assert_pattern(buf, sizeof(buf), 5000);
	ck_assert_int_eq(bv_source_read(src, buf, 2, PATTERN_LEN - 1), -EIO);
	ck_assert_int_eq(bv_source_read(src, buf, 1, UINT64_MAX), -EIO);
	bv_source_close(src);
}
END_TEST

START_TEST(test_source_mem_null_buffer_needs_zero_length)
{
	struct bv_source *src = NULL;
	uint8_t b;

	ck_assert_int_eq(bv_source_open_mem(NULL, 5, &src), -EINVAL);
	ck_assert_ptr_null(src);
	ck_assert_int_eq(bv_source_open_mem(NULL, 0, &src), 0);
	ck_assert_uint_eq(bv_source_size(src), 0);
	ck_assert_int_eq(bv_source_read(src, &b, 1, 0), -EIO);
	bv_source_close(src);
	bv_source_close(NULL);
}
END_TEST

START_TEST(test_source_blockdev_through_readonly_loop)
{
	const char *path;
	char dev[PATH_MAX] = "";
	struct bv_source *src = NULL;
	static uint8_t buf[1 << 20];
	struct stat st;
	dev_t rdev = 0;
	int open_rc, read_rc = -1, isblk = 0, st_rc;
	uint64_t size = 0;

	if (!bv_test_is_root() || !bv_test_have("losetup")) {
		bv_test_skip(__func__, "needs root and losetup for a loop device");
		return;
	}
	path = make_pattern_file("source_loop.bin", sizeof(buf));
	if (bv_test_loop_attach(path, dev, sizeof(dev)) != 0) {
		bv_test_skip(__func__, "losetup could not attach a loop device");
		return;
	}
	/* Gather everything, detach, then assert: a failed assertion ends this process and
	 * must not leave the loop device behind. */
	st_rc = stat(dev, &st);
	open_rc = bv_source_open(dev, &src);
	if (open_rc == 0) {
		size = bv_source_size(src);
		isblk = bv_source_is_blockdev(src, &rdev);
		read_rc = bv_source_read(src, buf, sizeof(buf), 0);
		bv_source_close(src);
	}
	bv_test_loop_detach(dev);

	ck_assert_int_eq(st_rc, 0);
	ck_assert_int_eq(open_rc, 0);
	ck_assert_uint_eq(size, sizeof(buf));
	ck_assert_int_eq(isblk, 1);
	ck_assert_uint_eq(rdev, st.st_rdev);
	ck_assert_int_eq(read_rc, 0);
	assert_pattern(buf, sizeof(buf), 0);
}
END_TEST

static Suite *source_suite(void)
{
	Suite *s = suite_create("source");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_source_file_reads_exact_bytes_and_size);
	tcase_add_test(tc, test_source_read_outside_range_is_eio);
	tcase_add_test(tc, test_source_file_shrunk_after_open_read_is_eio);
	tcase_add_test(tc, test_source_directory_is_eisdir);
	tcase_add_test(tc, test_source_missing_file_is_enoent);
	tcase_add_test(tc, test_source_char_device_is_einval);
	tcase_add_test(tc, test_source_fifo_is_einval);
	tcase_add_test(tc, test_source_opens_read_only);
	tcase_add_test(tc, test_source_mem_reads_and_bounds);
	tcase_add_test(tc, test_source_mem_null_buffer_needs_zero_length);
	tcase_add_test(tc, test_source_blockdev_through_readonly_loop);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(source_suite)
