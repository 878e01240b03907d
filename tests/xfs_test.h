/* Shared by the tests/check_xfs_*.c suites: XFS images made with mkfs.xfs (and, as root,
 * populated through a kernel loop mount), opening them with the XFS reader, and patching
 * bytes of a copy. Header-only (static functions) so the Makefile's test list stays as is. */
#ifndef BV_TESTS_XFS_TEST_H
#define BV_TESTS_XFS_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockio/source.h"
#include "fs/fs_ops.h"
#include "fs/xfs/xfs_priv.h"
#include "tests/testutil.h"
#include "util/crc.h"

#define XT_UNUSED __attribute__((unused))

/* A path in the scratch directory (static storage, one per call site's use: copy it). */
static XT_UNUSED const char *xt_path(const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", bv_test_tmpdir(), name);
	return path;
}

static XT_UNUSED bool xt_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* NAME.img made by `mkfs.xfs -q -f OPTS` on a 512 MiB sparse file (mkfs.xfs 6.1 wants 300
 * MiB at least), once per run. NULL (and a SKIP line for TEST) without mkfs.xfs. */
static XT_UNUSED const char *xt_mkfs(const char *test, const char *name, const char *opts)
{
	static char img[PATH_MAX];

	if (!bv_test_have("mkfs.xfs")) {
		bv_test_skip(test, "mkfs.xfs is not installed");
		return NULL;
	}
	snprintf(img, sizeof(img), "%s/xfs_%s.img", bv_test_tmpdir(), name);
	if (xt_exists(img))
		return img;
	if (bv_test_sh("set -e; rm -f '%s.tmp'; truncate -s 512M '%s.tmp'; "
		       "mkfs.xfs -q -f %s '%s.tmp' >/dev/null 2>&1; mv '%s.tmp' '%s'",
		       img, img, opts, img, img, img) != 0)
		return NULL;
	return img;
}

/* The populated image (root only: written through the kernel on a loop mount):
 *   small (6 bytes, immutable), dir/, sl -> small (local), longsl (1000-byte remote
 *   target), cdev (240, 123456), bdev (8, 3), fifo, future (2300) and past (1901)
 *   mtimes with nanoseconds, frag (every other 4 KiB block of 64 MiB: a depth-2 bmbt),
 *   sparse (1 TiB, four islands), unwr (falloc 1 MiB, 4 KiB written at 256 KiB, 2 MiB),
 *   big (8 MiB of random bytes).
 * NULL and a SKIP line when not root or without mkfs.xfs/xfs_io/python3. */
static XT_UNUSED const char *xt_populated(const char *test)
{
	static char img[PATH_MAX];
	const char *base;

	if (!bv_test_is_root()) {
		bv_test_skip(test, "needs root for a loop mount of the XFS image");
		return NULL;
	}
	if (!bv_test_have("mkfs.xfs") || !bv_test_have("xfs_io") || !bv_test_have("python3")) {
		bv_test_skip(test, "needs mkfs.xfs, xfs_io and python3");
		return NULL;
	}
	snprintf(img, sizeof(img), "%s/xfs_pop.img", bv_test_tmpdir());
	if (xt_exists(img))
		return img;
	base = bv_test_tmpdir();
	if (bv_test_sh(
		    "set -e; I='%s/xfs_pop.tmp'; M='%s/xfs_pop.mnt'; rm -f \"$I\"; mkdir -p \"$M\"; "
		    "truncate -s 512M \"$I\"; mkfs.xfs -q -f \"$I\"; mount -o loop \"$I\" \"$M\"; "
		    "cd \"$M\"; printf 'hello\\n' > small; mkdir dir; ln -s small sl; "
		    "ln -s \"$(python3 -c \"print('a/'*499+'bc')\")\" longsl; "
		    "mknod cdev c 240 123456; mknod bdev b 8 3; mkfifo fifo; "
		    "touch -d '2300-01-02 03:04:05.123456789' future; "
		    "touch -d '1901-12-20 00:00:00.5' past; "
		    "python3 -c \"import os\n"
		    "fd=os.open('frag',os.O_CREAT|os.O_WRONLY,0o644)\n"
		    "for i in range(0,16384,2): os.pwrite(fd, os.urandom(64)+bytes([i%%256])*4032, i*4096)\n"
		    "os.close(fd)\n"
		    "fd=os.open('sparse',os.O_CREAT|os.O_WRONLY,0o644)\n"
		    "for off in [0, 1<<30, 123456789012, (1<<40)-10]: os.pwrite(fd, b'data at %%d' %% off, off)\n"
		    "os.close(fd)\"; "
		    "xfs_io -f -c 'falloc 0 1m' -c 'pwrite 256k 4k' -c 'truncate 2m' unwr >/dev/null; "
		    "head -c 8388608 /dev/urandom > big; chattr +i small; cd /; umount \"$M\"; "
		    "mv \"$I\" '%s'",
		    base, base, img) != 0) {
		bv_test_sh("umount '%s/xfs_pop.mnt' 2>/dev/null", base);
		return NULL;
	}
	return img;
}

/* Mounts IMG read-only without log recovery on the scratch mount point (returned) as the
 * reference; xt_umount undoes it. NULL when the mount failed. */
static XT_UNUSED const char *xt_mount_ro(const char *img)
{
	static char mnt[PATH_MAX];

	snprintf(mnt, sizeof(mnt), "%s/xfs_ref.mnt", bv_test_tmpdir());
	if (bv_test_sh("mkdir -p '%s' && mount -o ro,norecovery,loop '%s' '%s'", mnt, img, mnt))
		return NULL;
	return mnt;
}

static XT_UNUSED void xt_umount(const char *mnt)
{
	bv_test_sh("umount '%s'", mnt);
}

/* An open XFS filesystem for a test. */
struct xt_fs {
	struct bv_source *src;
	struct bv_xfs *fs;
	const struct bv_fs_ops *ops;
	char why[512];
};

/* Opens IMG; returns 0 or the reader's -errno (with its sentence in T->why). */
static XT_UNUSED int xt_open(struct xt_fs *t, const char *img, const struct bv_fs_opts *opts)
{
	void *impl = NULL;
	int err;

	memset(t, 0, sizeof(*t));
	err = bv_source_open(img, &t->src);
	if (err)
		return err;
	err = bv_xfs_fs_open(t->src, opts, &impl, &t->ops, t->why, sizeof(t->why));
	if (err) {
		bv_source_close(t->src);
		t->src = NULL;
		return err;
	}
	t->fs = impl;
	return 0;
}

static XT_UNUSED void xt_close(struct xt_fs *t)
{
	if (t->fs)
		t->ops->close(t->fs);
	bv_source_close(t->src);
	memset(t, 0, sizeof(*t));
}

/* Copies IMG (sparse) to a scratch file named after the test; returns its path. */
static XT_UNUSED const char *xt_copy(const char *img, const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.img", bv_test_tmpdir(), name);
	ck_assert_int_eq(bv_test_sh("cp --sparse=always '%s' '%s'", img, path), 0);
	return path;
}

static XT_UNUSED void xt_pread(const char *path, void *buf, size_t len, uint64_t off)
{
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static XT_UNUSED void xt_pwrite(const char *path, const void *buf, size_t len, uint64_t off)
{
	int fd = open(path, O_WRONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static XT_UNUSED void xt_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static XT_UNUSED void xt_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
	p[3] = (uint8_t)v;
}

static XT_UNUSED void xt_put_be64(uint8_t *p, uint64_t v)
{
	xt_put_be32(p, (uint32_t)(v >> 32));
	xt_put_be32(p + 4, (uint32_t)v);
}

/* Recomputes an XFS CRC (crc32c seeded ~0, field as zero, stored inverted little-endian). */
static XT_UNUSED void xt_fix_crc(uint8_t *buf, size_t len, size_t off)
{
	uint32_t crc;

	memset(buf + off, 0, 4);
	crc = ~bv_crc32c(~0u, buf, len);
	buf[off] = (uint8_t)crc, buf[off + 1] = (uint8_t)(crc >> 8);
	buf[off + 2] = (uint8_t)(crc >> 16), buf[off + 3] = (uint8_t)(crc >> 24);
}

/* The byte offset of inode INO in an image opened as T. */
static XT_UNUSED uint64_t xt_ino_byte(struct xt_fs *t, uint64_t ino)
{
	uint64_t fsb, byte;
	uint32_t ioff;

	ck_assert_int_eq(bv_xfs_ino_locate(t->fs, ino, &fsb, &ioff), 0);
	ck_assert_int_eq(bv_xfs_fsb_to_byte(t->fs, fsb, 1, &byte), 0);
	return byte + ioff;
}

/* The inode number of PATH (from the root, by xfs_db) in IMG; 0 when not found. */
static XT_UNUSED uint64_t xt_db_ino(const char *img, const char *path)
{
	char cmd[PATH_MAX + 256], line[256];
	unsigned long long ino = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "xfs_db -r -c 'path /%s' -c 'inode' '%s' 2>/dev/null", path, img);
	p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "current inode number is %llu", &ino) == 1)
			break;
	pclose(p);
	return ino;
}

#endif
