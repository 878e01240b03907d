/* Inline data: files and directories kept in the inode (i_block + system.data), read back
 * and compared with the source files and with the kernel on a read-only loop mount. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockio/source.h"
#include "fs/ext4/ext4_priv.h"
#include "fs/ext4/inode.h"
#include "util/le.h"
#include "fs/ext4/xattr.h"
#include "tests/testutil.h"

/* mke2fs runs with an empty config (testutil), so name the ext4 defaults of 1.47. */
#define INLINE_OPTS                                                                        \
	"-b 4096 -O has_journal,ext_attr,extent,huge_file,flex_bg,metadata_csum,64bit,"    \
	"dir_nlink,extra_isize,inline_data"

/* Sizes around the 60-byte i_block, up to the most a 256-byte inode holds (128), and
 * larger ones for 1 KiB inodes. */
static const size_t sizes_256[] = { 0, 1, 59, 60, 61, 100, 127, 128 };
static const size_t sizes_1k[] = { 200, 500, 800 };

/* The source tree: fNNN holds NNN pseudo-random bytes; d is a small (inline) directory;
 * big is one byte too large to be inline in a 256-byte inode. */
static const char *tree(void)
{
	static char dir[512];

	snprintf(dir, sizeof(dir), "%s/inline_src", bv_test_tmpdir());
	if (access(dir, F_OK) == 0)
		return dir;
	if (bv_test_sh("set -e; d='%s.tmp'; rm -rf \"$d\"; mkdir -p \"$d/d\"; cd \"$d\";"
		       "for n in 0 1 59 60 61 100 127 128 129 200 500 800; do "
		       "head -c $((n * 3 + 17)) /dev/urandom | head -c $n > f$n; done;"
		       "touch d/a d/b; cd ..; mv \"$d\" '%s'",
		       dir, dir) != 0)
		return NULL;
	return dir;
}

static const char *img_make(const char *name, const char *opts)
{
	static char img[512];
	const char *src = tree(), *made;

	if (!src)
		return NULL;
	made = bv_test_mkfs(name, opts, src, "16M");
	if (!made)
		return NULL;
	snprintf(img, sizeof(img), "%s", made);
	return img;
}

static size_t inode_off(const char *img, const char *path)
{
	char req[128];
	long long blk, off;

	snprintf(req, sizeof(req), "imap %s", path);
	blk = bv_test_debugfs_num(img, req, "located at block ");
	off = bv_test_debugfs_num(img, req, ", offset ");
	ck_assert(blk > 0 && off >= 0);
	return (size_t)blk * 4096 + (size_t)off;
}

/* Reads file fN of IMG whole, by pieces of odd sizes, and past its end, through the
 * inline reader (or the file reader when FILE_READ), and compares with the source. */
static void check_sizes(const char *img, const size_t *sizes, size_t n, bool file_read)
{
	struct bv_source *s = NULL;
	struct bv_ext4 *fs;
	uint8_t want[1024], got[1100];
	size_t i;

	ck_assert_ptr_nonnull(img);
	fs = bv_test_open_file(img, NULL, &s);
	for (i = 0; i < n; i++) {
		struct bv_ext4_inode inode;
		char path[600];
		size_t off;
		ssize_t r;
		FILE *f;

		snprintf(path, sizeof(path), "%s/f%zu", tree(), sizes[i]);
		f = fopen(path, "rb");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fread(want, 1, sizeof(want), f), sizes[i]);
		fclose(f);
		snprintf(path, sizeof(path), "/f%zu", sizes[i]);
		ck_assert_int_eq(bv_ext4_inode_get(fs, bv_test_debugfs_ino(img, path), &inode), 0);
		ck_assert_msg(inode.flags & EXT4_INLINE_DATA_FL, "%s is not inline", path);
		ck_assert_uint_eq(inode.size, sizes[i]);
		ck_assert_int_eq(bv_ext4_inline_size(fs, &inode),
				 sizes[i] < 60 ? 60 : (ssize_t)sizes[i]);
		memset(got, 0xAA, sizeof(got));
		r = file_read ? bv_ext4_file_read(fs, &inode, got, sizeof(got), 0)
			      : bv_ext4_inline_read(fs, &inode, got, sizeof(got), 0);
		ck_assert_int_eq(r, (ssize_t)sizes[i]);
		ck_assert_int_eq(memcmp(got, want, sizes[i]), 0);
		ck_assert_uint_eq(got[sizes[i]], 0xAA); /* nothing written past the count */
		/* Pieces of 7 bytes cross the 60-byte boundary at an odd offset. */
		memset(got, 0, sizeof(got));
		for (off = 0; off < sizes[i]; off += 7) {
			size_t want_n = sizes[i] - off < 7 ? sizes[i] - off : 7;

			r = file_read ? bv_ext4_file_read(fs, &inode, got + off, 7, off)
				      : bv_ext4_inline_read(fs, &inode, got + off, 7, off);
			ck_assert_int_eq(r, (ssize_t)want_n);
		}
		ck_assert_int_eq(memcmp(got, want, sizes[i]), 0);
		r = file_read ? bv_ext4_file_read(fs, &inode, got, 10, sizes[i])
			      : bv_ext4_inline_read(fs, &inode, got, 10, sizes[i]);
		ck_assert_int_eq(r, 0);
	}
	bv_ext4_close(fs);
	bv_source_close(s);
}

START_TEST(test_inline_read_matches_source_256)
{
	check_sizes(img_make("inline_i256", INLINE_OPTS " -I 256"), sizes_256,
		    sizeof(sizes_256) / sizeof(sizes_256[0]), false);
}
END_TEST

START_TEST(test_inline_read_matches_source_1k_inodes)
{
	check_sizes(img_make("inline_i1k", INLINE_OPTS " -I 1024"), sizes_1k,
		    sizeof(sizes_1k) / sizeof(sizes_1k[0]), false);
}
END_TEST

START_TEST(test_inline_file_read_matches_source)
{
	check_sizes(img_make("inline_i256", INLINE_OPTS " -I 256"), sizes_256,
		    sizeof(sizes_256) / sizeof(sizes_256[0]), true);
}
END_TEST

START_TEST(test_inline_refuses_inode_without_inline_flag)
{
	const char *img = img_make("inline_i256", INLINE_OPTS " -I 256");
	struct bv_source *s = NULL;
	struct bv_ext4_inode inode;
	struct bv_ext4 *fs;
	uint8_t b[16];

	ck_assert_ptr_nonnull(img);
	fs = bv_test_open_file(img, NULL, &s);
	ck_assert_int_eq(bv_ext4_inode_get(fs, bv_test_debugfs_ino(img, "/f129"), &inode), 0);
	ck_assert(!(inode.flags & EXT4_INLINE_DATA_FL));
	ck_assert_int_eq(bv_ext4_inline_size(fs, &inode), -EINVAL);
	ck_assert_int_eq(bv_ext4_inline_read(fs, &inode, b, sizeof(b), 0), -EINVAL);
	bv_ext4_close(fs);
	bv_source_close(s);
}
END_TEST

/* An inline directory is read whole; its first 4 bytes are the parent's inode number. */
START_TEST(test_inline_dir_reads_whole_inline_area)
{
	const char *img = img_make("inline_i256", INLINE_OPTS " -I 256");
	struct bv_source *s = NULL;
	struct bv_ext4_inode inode;
	struct bv_ext4 *fs;
	uint8_t b[256];
	ssize_t n;

	ck_assert_ptr_nonnull(img);
	fs = bv_test_open_file(img, NULL, &s);
	ck_assert_int_eq(bv_ext4_inode_get(fs, bv_test_debugfs_ino(img, "/d"), &inode), 0);
	ck_assert(inode.flags & EXT4_INLINE_DATA_FL);
	n = bv_ext4_inline_size(fs, &inode);
	ck_assert_int_ge(n, 60);
	ck_assert_int_eq(bv_ext4_inline_read(fs, &inode, b, sizeof(b), 0), n);
	ck_assert_uint_eq(bv_le32(b), BV_EXT4_ROOT_INO);
	bv_ext4_close(fs);
	bv_source_close(s);
}
END_TEST

/* i_size past the inline data reads zeros; i_size below it cuts the data: what the
 * kernel reads from the same image (i_size changed by debugfs, checksum and all). */
START_TEST(test_inline_read_follows_i_size_like_kernel)
{
	const char *img = img_make("inline_i256", INLINE_OPTS " -I 256");
	char copy[512], mnt[512], path[600];
	uint8_t *buf, ours[200], kern[200];
	struct bv_source *s = NULL;
	struct bv_ext4_inode inode;
	struct bv_ext4 *fs;
	size_t len;
	ssize_t n;
	FILE *f;

	ck_assert_ptr_nonnull(img);
	snprintf(copy, sizeof(copy), "%s/inline_isize_%d.img", bv_test_tmpdir(), (int)getpid());
	ck_assert_int_eq(bv_test_sh("cp '%s' '%s' && debugfs -w -R 'sif /f61 size 100' '%s' "
				    ">/dev/null 2>&1 && debugfs -w -R 'sif /f100 size 50' '%s' "
				    ">/dev/null 2>&1", img, copy, copy, copy), 0);
	ck_assert_int_eq(bv_test_slurp(copy, &buf, &len), 0);
	fs = bv_test_open_mem(buf, len, &(struct bv_ext4_opts){ .skip_csum = false }, &s);

	ck_assert_int_eq(bv_ext4_inode_get(fs, bv_test_debugfs_ino(copy, "/f61"), &inode), 0);
	n = bv_ext4_inline_read(fs, &inode, ours, sizeof(ours), 0);
	ck_assert_int_eq(n, 100);
	ck_assert_int_eq(ours[61], 0);
	ck_assert_int_eq(ours[99], 0);
	if (bv_test_is_root()) {
		snprintf(mnt, sizeof(mnt), "%s/inline_mnt_%d", bv_test_tmpdir(), (int)getpid());
		ck_assert_int_eq(bv_test_sh("mkdir -p '%s' && mount -o ro,loop '%s' '%s'", mnt,
					    copy, mnt), 0);
		snprintf(path, sizeof(path), "%s/f61", mnt);
		f = fopen(path, "rb");
		len = f ? fread(kern, 1, sizeof(kern), f) : 0;
		if (f)
			fclose(f);
		bv_test_sh("umount '%s'", mnt);
		ck_assert_uint_eq(len, 100);
		ck_assert_int_eq(memcmp(ours, kern, 100), 0);
	}

	ck_assert_int_eq(bv_ext4_inode_get(fs, bv_test_debugfs_ino(copy, "/f100"), &inode), 0);
	ck_assert_int_eq(bv_ext4_inline_size(fs, &inode), 100);
	ck_assert_int_eq(bv_ext4_inline_read(fs, &inode, ours, sizeof(ours), 0), 50);
	bv_ext4_close(fs);
	bv_source_close(s);
	free(buf);
	unlink(copy);
}
END_TEST

/* The system.data entry of the inode at IOFF (it is the first mke2fs writes). */
static size_t data_entry(const uint8_t *buf, size_t ioff)
{
	size_t e = ioff + 128 + bv_le16(buf + ioff + EXT4_INODE_I_EXTRA_ISIZE);

	ck_assert_uint_eq(bv_le32(buf + e), EXT4_XATTR_MAGIC);
	e += 4;
	ck_assert_uint_eq(buf[e + EXT4_XATTR_E_NAME_INDEX], EXT4_XATTR_INDEX_SYSTEM);
	ck_assert_int_eq(memcmp(buf + e + EXT4_XATTR_E_NAME, "data", 4), 0);
	return e;
}

START_TEST(test_inline_rejects_missing_system_data)
{
	const char *img = img_make("inline_i256", INLINE_OPTS " -I 256");
	struct bv_source *s = NULL;
	struct bv_ext4_inode inode;
	struct bv_ext4 *fs;
	uint8_t *buf, b[200];
	size_t len, e;

	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(bv_test_slurp(img, &buf, &len), 0);
	e = data_entry(buf, inode_off(img, "/f100"));
	buf[e + EXT4_XATTR_E_NAME + 3] = 'b'; /* "datb" */
	fs = bv_test_open_mem(buf, len, &(struct bv_ext4_opts){ .skip_csum = true }, &s);
	ck_assert_int_eq(bv_ext4_inode_get(fs, bv_test_debugfs_ino(img, "/f100"), &inode), 0);
	ck_assert_int_eq(bv_ext4_inline_size(fs, &inode), -EUCLEAN);
	ck_assert_int_eq(bv_ext4_inline_read(fs, &inode, b, sizeof(b), 0), -EUCLEAN);
	bv_ext4_close(fs);
	bv_source_close(s);
	free(buf);
}
END_TEST

START_TEST(test_inline_rejects_value_past_inode)
{
	const char *img = img_make("inline_i256", INLINE_OPTS " -I 256");
	struct bv_source *s = NULL;
	struct bv_ext4_inode inode;
	struct bv_ext4 *fs;
	uint8_t *buf, b[200];
	size_t len, e;

	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(bv_test_slurp(img, &buf, &len), 0);
	e = data_entry(buf, inode_off(img, "/f100"));
	buf[e + EXT4_XATTR_E_VALUE_SIZE] = 200; /* 40 bytes stored, 200 claimed */
	fs = bv_test_open_mem(buf, len, &(struct bv_ext4_opts){ .skip_csum = true }, &s);
	ck_assert_int_eq(bv_ext4_inode_get(fs, bv_test_debugfs_ino(img, "/f100"), &inode), 0);
	ck_assert_int_eq(bv_ext4_inline_size(fs, &inode), -EUCLEAN);
	ck_assert_int_eq(bv_ext4_inline_read(fs, &inode, b, sizeof(b), 0), -EUCLEAN);
	bv_ext4_close(fs);
	bv_source_close(s);
	free(buf);
}
END_TEST

/* The kernel never follows system.data into an ea_inode. */
START_TEST(test_inline_rejects_value_in_ea_inode)
{
	const char *img = img_make("inline_ea", INLINE_OPTS ",ea_inode -I 256");
	struct bv_source *s = NULL;
	struct bv_ext4_inode inode;
	struct bv_ext4 *fs;
	uint8_t *buf;
	size_t len, e;

	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(bv_test_slurp(img, &buf, &len), 0);
	e = data_entry(buf, inode_off(img, "/f100"));
	buf[e + EXT4_XATTR_E_VALUE_INUM] = 12;
	fs = bv_test_open_mem(buf, len, &(struct bv_ext4_opts){ .skip_csum = true }, &s);
	ck_assert_int_eq(bv_ext4_inode_get(fs, bv_test_debugfs_ino(img, "/f100"), &inode), 0);
	ck_assert_int_eq(bv_ext4_inline_size(fs, &inode), -EUCLEAN);
	bv_ext4_close(fs);
	bv_source_close(s);
	free(buf);
}
END_TEST

/* Files and a directory the kernel wrote inline (mount rw, write, unmount), read back
 * through both readers and compared with what the kernel reads from the same image. */
START_TEST(test_inline_kernel_written_matches_kernel)
{
	static const char *names[] = { "k0", "k1", "k59", "k60", "k61", "k100", "k128", "grow" };
	static uint8_t kern[8][256];
	size_t klen[8], i, n = sizeof(names) / sizeof(names[0]);
	char img[512], mnt[512], path[700];
	struct bv_source *s = NULL;
	struct bv_ext4 *fs;
	const char *base;

	if (!bv_test_is_root()) {
		bv_test_skip(__func__, "needs root for a read-write loop mount");
		return;
	}
	base = bv_test_mkfs("inline_kw_base", INLINE_OPTS " -I 256", NULL, "16M");
	ck_assert_ptr_nonnull(base);
	snprintf(img, sizeof(img), "%s/inline_kw_%d.img", bv_test_tmpdir(), (int)getpid());
	snprintf(mnt, sizeof(mnt), "%s/inline_kw_mnt_%d", bv_test_tmpdir(), (int)getpid());
	ck_assert_int_eq(bv_test_sh(
		"set -e; cp '%s' '%s'; mkdir -p '%s'; mount -o loop '%s' '%s'; cd '%s';"
		"for n in 0 1 59 60 61 100 128; do head -c $((n * 5 + 3)) /dev/urandom |"
		" head -c $n > k$n; done; head -c 30 /dev/urandom > grow;"
		"head -c 50 /dev/urandom >> grow; mkdir kd; touch kd/x kd/y;"
		"cd /; umount '%s'", base, img, mnt, img, mnt, mnt, mnt), 0);
	ck_assert_int_eq(bv_test_sh("mount -o ro,loop '%s' '%s'", img, mnt), 0);
	for (i = 0; i < n; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", mnt, names[i]);
		f = fopen(path, "rb");
		klen[i] = f ? fread(kern[i], 1, sizeof(kern[i]), f) : (size_t)-1;
		if (f)
			fclose(f);
	}
	bv_test_sh("umount '%s'", mnt);
	fs = bv_test_open_file(img, NULL, &s);
	for (i = 0; i < n; i++) {
		struct bv_ext4_inode inode;
		uint8_t got[300];

		snprintf(path, sizeof(path), "/%s", names[i]);
		ck_assert_int_eq(bv_ext4_inode_get(fs, bv_test_debugfs_ino(img, path), &inode), 0);
		/* The kernel turns a file inline at its first write: an empty one is not. */
		if (klen[i] == 0) {
			ck_assert_int_eq(bv_ext4_file_read(fs, &inode, got, sizeof(got), 0), 0);
			continue;
		}
		ck_assert_msg(inode.flags & EXT4_INLINE_DATA_FL, "%s is not inline", path);
		ck_assert_int_eq(bv_ext4_inline_read(fs, &inode, got, sizeof(got), 0),
				 (ssize_t)klen[i]);
		ck_assert_int_eq(memcmp(got, kern[i], klen[i]), 0);
		ck_assert_int_eq(bv_ext4_file_read(fs, &inode, got, sizeof(got), 0),
				 (ssize_t)klen[i]);
		ck_assert_int_eq(memcmp(got, kern[i], klen[i]), 0);
	}
	{
		struct bv_ext4_inode dir;
		uint8_t b[300];

		ck_assert_int_eq(bv_ext4_inode_get(fs, bv_test_debugfs_ino(img, "/kd"), &dir), 0);
		ck_assert(dir.flags & EXT4_INLINE_DATA_FL);
		ck_assert_int_eq(bv_ext4_inline_read(fs, &dir, b, sizeof(b), 0),
				 bv_ext4_inline_size(fs, &dir));
		ck_assert_uint_eq(bv_le32(b), BV_EXT4_ROOT_INO);
	}
	bv_ext4_close(fs);
	bv_source_close(s);
	unlink(img);
}
END_TEST

static Suite *inline_suite(void)
{
	Suite *s = suite_create("inline");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_inline_read_matches_source_256);
	tcase_add_test(tc, test_inline_read_matches_source_1k_inodes);
	tcase_add_test(tc, test_inline_file_read_matches_source);
	tcase_add_test(tc, test_inline_refuses_inode_without_inline_flag);
	tcase_add_test(tc, test_inline_dir_reads_whole_inline_area);
	tcase_add_test(tc, test_inline_read_follows_i_size_like_kernel);
	tcase_add_test(tc, test_inline_rejects_missing_system_data);
	tcase_add_test(tc, test_inline_rejects_value_past_inode);
	tcase_add_test(tc, test_inline_rejects_value_in_ea_inode);
	tcase_add_test(tc, test_inline_kernel_written_matches_kernel);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(inline_suite)
