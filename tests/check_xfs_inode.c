/* fs/xfs/inode.c and xfs.c's inode_get/stat: every kind of inode against what the kernel's
 * stat says on a read-only mount of the same image, symlinks local and remote, and the
 * inode checks (CRC, magic, range, free inodes, file handles). */
#include <sys/sysmacros.h>

#include "tests/xfs_test.h"
#include "util/le.h"

#define DI_CRC 100

/* Compares our stat of each NAME with the kernel's lstat on a ro mount. */
START_TEST(test_xfs_stat_matches_kernel)
{
	static const char *const names[] = { "small", "dir", "sl", "longsl", "cdev", "bdev",
					     "fifo", "future", "past", "frag", "sparse",
					     "unwr", "big", "" };
	const char *img = xt_populated(__func__);
	struct stat ours[sizeof(names) / sizeof(names[0])], theirs;
	const char *mnt;
	struct xt_fs t;
	size_t n = sizeof(names) / sizeof(names[0]);

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		uint64_t ino = names[i][0] ? xt_db_ino(img, names[i]) : t.fs->sb.rootino;
		struct bv_inode in;

		ck_assert_msg(ino != 0, "xfs_db found no %s", names[i]);
		ck_assert_int_eq(t.ops->inode_get(t.fs, ino, BV_IGET_ANY, &in), 0);
		t.ops->stat(t.fs, &in, &ours[i]);
		ck_assert_uint_eq(in.ino, ino);
		ck_assert_uint_eq(in.mode, ours[i].st_mode);
		ck_assert_uint_eq(in.size, (uint64_t)ours[i].st_size);
	}
	xt_close(&t);
	mnt = xt_mount_ro(img);
	ck_assert_ptr_nonnull(mnt);
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX + 64];
		const struct stat *o = &ours[i];

		snprintf(path, sizeof(path), "%s/%s", mnt, names[i]);
		if (lstat(path, &theirs) != 0) {
			xt_umount(mnt);
			ck_abort_msg("lstat %s failed", path);
		}
#define SAME(f)                                                                            \
	do {                                                                               \
		if ((long long)o->f != (long long)theirs.f) {                              \
			xt_umount(mnt);                                                    \
			ck_abort_msg("%s: " #f " %lld, kernel %lld", names[i], (long long)o->f, \
				     (long long)theirs.f);                                  \
		}                                                                          \
	} while (0)
		SAME(st_ino);
		SAME(st_mode);
		SAME(st_nlink);
		SAME(st_uid);
		SAME(st_gid);
		SAME(st_rdev);
		SAME(st_size);
		SAME(st_blocks);
		SAME(st_blksize);
		SAME(st_atim.tv_sec);
		SAME(st_atim.tv_nsec);
		SAME(st_mtim.tv_sec);
		SAME(st_mtim.tv_nsec);
		SAME(st_ctim.tv_sec);
		SAME(st_ctim.tv_nsec);
#undef SAME
	}
	xt_umount(mnt);
}
END_TEST

START_TEST(test_xfs_inode_values_as_xfs_db_says)
{
	const char *img = xt_populated(__func__);
	struct bv_xfs_inode ip;
	struct bv_inode in;
	struct stat st;
	struct xt_fs t;

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	/* Device numbers: the sysv encoding (major << 18 | minor). */
	ck_assert_int_eq(t.ops->inode_get(t.fs, xt_db_ino(img, "cdev"), BV_IGET_ANY, &in), 0);
	t.ops->stat(t.fs, &in, &st);
	ck_assert_uint_eq(major(st.st_rdev), 240);
	ck_assert_uint_eq(minor(st.st_rdev), 123456);
	memcpy(&ip, in.priv, sizeof(ip));
	ck_assert_uint_eq(ip.rdev, (240u << 18) | 123456u);
	ck_assert_uint_eq(ip.format, BV_XFS_FMT_DEV);
	/* Bigtime: a 2300 and a 1901 timestamp with nanoseconds. */
	ck_assert_int_eq(t.ops->inode_get(t.fs, xt_db_ino(img, "future"), BV_IGET_ANY, &in), 0);
	t.ops->stat(t.fs, &in, &st);
	ck_assert_int_eq(st.st_mtim.tv_sec, 10413889445ll);
	ck_assert_int_eq(st.st_mtim.tv_nsec, 123456789);
	ck_assert_int_eq(t.ops->inode_get(t.fs, xt_db_ino(img, "past"), BV_IGET_ANY, &in), 0);
	t.ops->stat(t.fs, &in, &st);
	ck_assert_int_eq(st.st_mtim.tv_sec, -2146953600ll);
	ck_assert_int_eq(st.st_mtim.tv_nsec, 500000000);
	memcpy(&ip, in.priv, sizeof(ip));
	ck_assert(ip.has_crtime);
	ck_assert_uint_eq(ip.version, 3);
	/* chattr +i: FS_IMMUTABLE_FL and FS_XFLAG_IMMUTABLE, HASATTR as xfs_io stat shows. */
	ck_assert_int_eq(t.ops->inode_get(t.fs, xt_db_ino(img, "small"), BV_IGET_ANY, &in), 0);
	ck_assert_uint_eq(in.flags, 0x10);
	ck_assert_uint_eq(in.xflags, 0x80000008u);
	ck_assert_uint_eq(in.nextents, 1); /* xfs_io stat: fsxattr.nextents = 1 */
	ck_assert(in.has_crtime);
	ck_assert_int_gt(in.crtime.sec, 1600000000);
	/* A local (shortform) directory: the kernel's fsx_nextents is its size over 16. */
	ck_assert_int_eq(t.ops->inode_get(t.fs, t.fs->sb.rootino, BV_IGET_ANY, &in), 0);
	memcpy(&ip, in.priv, sizeof(ip));
	ck_assert_uint_eq(ip.format, BV_XFS_FMT_LOCAL);
	ck_assert_uint_eq(in.nextents, ip.size / 16);
	/* The falloc'd file: FS_XFLAG_PREALLOC. */
	ck_assert_int_eq(t.ops->inode_get(t.fs, xt_db_ino(img, "unwr"), BV_IGET_ANY, &in), 0);
	ck_assert_uint_eq(in.xflags & 0x2, 0x2);
	xt_close(&t);
}
END_TEST

START_TEST(test_xfs_readlink_local_and_remote)
{
	const char *img = xt_populated(__func__);
	char want[1001], buf[1100];
	struct bv_inode in;
	struct xt_fs t;
	size_t len;

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	ck_assert_int_eq(t.ops->inode_get(t.fs, xt_db_ino(img, "sl"), BV_IGET_ANY, &in), 0);
	ck_assert_int_eq(t.ops->readlink(t.fs, &in, buf, sizeof(buf), &len), 0);
	ck_assert_str_eq(buf, "small");
	ck_assert_uint_eq(len, 5);
	ck_assert_int_eq(t.ops->readlink(t.fs, &in, buf, 5, &len), -ERANGE);
	ck_assert_int_eq(t.ops->inode_get(t.fs, xt_db_ino(img, "longsl"), BV_IGET_ANY, &in), 0);
	ck_assert_int_eq(t.ops->readlink(t.fs, &in, buf, sizeof(buf), &len), 0);
	for (int i = 0; i < 499; i++)
		memcpy(want + 2 * i, "a/", 2);
	memcpy(want + 998, "bc", 3);
	ck_assert_uint_eq(len, 1000);
	ck_assert_str_eq(buf, want);
	ck_assert_int_eq(t.ops->inode_get(t.fs, xt_db_ino(img, "small"), BV_IGET_ANY, &in), 0);
	ck_assert_int_eq(t.ops->readlink(t.fs, &in, buf, sizeof(buf), &len), -EINVAL);
	xt_close(&t);
}
END_TEST

START_TEST(test_xfs_inode_numbers_out_of_range_free_and_handles)
{
	const char *img = xt_mkfs(__func__, "def", "");
	struct bv_inode in;
	struct xt_fs t;
	uint64_t past;

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	past = (uint64_t)t.fs->sb.agcount << (t.fs->sb.agblklog + t.fs->sb.inopblog);
	ck_assert_int_eq(t.ops->inode_get(t.fs, past, BV_IGET_ANY, &in), -EUCLEAN);
	ck_assert_int_eq(t.ops->inode_get(t.fs, past, BV_IGET_HANDLE, &in), -ESTALE);
	ck_assert_int_eq(t.ops->inode_get(t.fs, UINT64_MAX, BV_IGET_ANY, &in), -EUCLEAN);
	/* The root's chunk holds 64 inodes, most of them free. */
	ck_assert_int_eq(t.ops->inode_get(t.fs, t.fs->sb.rootino + 10, BV_IGET_ANY, &in),
			 -ENOENT);
	ck_assert_int_eq(t.ops->inode_get(t.fs, t.fs->sb.rootino + 10, BV_IGET_LINKED, &in),
			 -EUCLEAN);
	ck_assert_int_eq(t.ops->inode_get(t.fs, t.fs->sb.rootino + 10, BV_IGET_HANDLE, &in),
			 -ESTALE);
	ck_assert_int_eq(t.ops->inode_get(t.fs, t.fs->sb.rootino, BV_IGET_HANDLE, &in), 0);
	xt_close(&t);
}
END_TEST

/* A copy of the default image with the root inode patched by PATCH, then opened. */
static int open_patched_root(const char *test, const char *name, bool fix_crc,
			     void (*patch)(uint8_t *ino), struct xt_fs *t)
{
	const char *img = xt_mkfs(test, "def", "");
	uint8_t ino[512];
	const char *bad;
	uint64_t off;
	int err;

	if (!img)
		return 1;
	ck_assert_int_eq(xt_open(t, img, NULL), 0);
	off = xt_ino_byte(t, t->fs->sb.rootino);
	xt_close(t);
	bad = xt_copy(img, name);
	xt_pread(bad, ino, sizeof(ino), off);
	patch(ino);
	if (fix_crc)
		xt_fix_crc(ino, sizeof(ino), DI_CRC);
	xt_pwrite(bad, ino, sizeof(ino), off);
	err = xt_open(t, bad, NULL);
	if (!err)
		xt_close(t);
	return err;
}

static void flip_mtime(uint8_t *ino)
{
	ino[44] ^= 1;
}

static void bad_magic(uint8_t *ino)
{
	ino[0] = 'X';
}

static void bad_forkoff(uint8_t *ino)
{
	ino[82] = 60; /* di_forkoff * 8 past the 336-byte literal area */
}

static void bad_format(uint8_t *ino)
{
	ino[5] = 7; /* di_format */
}

static void bad_ino(uint8_t *ino)
{
	ino[159] ^= 1; /* di_ino */
}

static void bad_mode(uint8_t *ino)
{
	xt_put_be16(ino + 2, 0xF1ED); /* file type 0xF000 */
}

static void many_extents(uint8_t *ino)
{
	ino[5] = BV_XFS_FMT_EXTENTS;
	xt_put_be32(ino + 76, 22); /* 22 records of 16 bytes > 336 */
	xt_put_be64(ino + 64, 100); /* enough blocks for them */
}

START_TEST(test_xfs_inode_checks)
{
	struct xt_fs t;
	int err;

	err = open_patched_root(__func__, "xfs_ino_crc", false, flip_mtime, &t);
	if (err == 1)
		return;
	ck_assert_int_eq(err, -EBADMSG);
	ck_assert_int_eq(open_patched_root(__func__, "xfs_ino_magic", true, bad_magic, &t),
			 -EUCLEAN);
	ck_assert_ptr_nonnull(strstr(t.why, "magic"));
	ck_assert_int_eq(open_patched_root(__func__, "xfs_ino_forkoff", true, bad_forkoff, &t),
			 -EUCLEAN);
	ck_assert_int_eq(open_patched_root(__func__, "xfs_ino_format", true, bad_format, &t),
			 -EUCLEAN);
	ck_assert_int_eq(open_patched_root(__func__, "xfs_ino_ino", true, bad_ino, &t),
			 -EUCLEAN);
	ck_assert_int_eq(open_patched_root(__func__, "xfs_ino_mode", true, bad_mode, &t),
			 -EUCLEAN);
	ck_assert_int_eq(open_patched_root(__func__, "xfs_ino_next", true, many_extents, &t),
			 -EUCLEAN);
	/* And with the CRC fixed the flipped mtime is a valid inode again. */
	ck_assert_int_eq(open_patched_root(__func__, "xfs_ino_ok", true, flip_mtime, &t), 0);
}
END_TEST

START_TEST(test_xfs_v4_inodes_read)
{
	const char *img = xt_mkfs(__func__, "v4", "-m crc=0");
	struct bv_xfs_inode ip;
	struct bv_inode in;
	struct xt_fs t;

	if (!img)
		return;
	ck_assert_int_eq(xt_open(&t, img, NULL), 0);
	ck_assert_int_eq(t.ops->inode_get(t.fs, t.fs->sb.rootino, BV_IGET_ANY, &in), 0);
	memcpy(&ip, in.priv, sizeof(ip));
	ck_assert_uint_eq(ip.version, 2);
	ck_assert(!ip.has_crtime);
	ck_assert_uint_eq(ip.dfork_off, 100);
	ck_assert_uint_eq(in.mode & S_IFMT, S_IFDIR);
	xt_close(&t);
}
END_TEST

static Suite *xfs_inode_suite(void)
{
	Suite *s = suite_create("xfs_inode");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_xfs_stat_matches_kernel);
	tcase_add_test(tc, test_xfs_inode_values_as_xfs_db_says);
	tcase_add_test(tc, test_xfs_readlink_local_and_remote);
	tcase_add_test(tc, test_xfs_inode_numbers_out_of_range_free_and_handles);
	tcase_add_test(tc, test_xfs_inode_checks);
	tcase_add_test(tc, test_xfs_v4_inodes_read);
	suite_add_tcase(s, tc);
	return s;
}

BV_SUITE(xfs_inode_suite)
