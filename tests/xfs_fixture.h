/* XFS images for check_xfs_dir.c and check_xfs_attr.c: built once per run by
 * scripts/mkxfs-dirattr.sh (kernel loop mount, root only), with the kernel's own view of
 * the image beside it (IMG.kernel), and opened through fs/fs.h. Header-only: both suites
 * include it. */
#ifndef BV_TESTS_XFS_FIXTURE_H
#define BV_TESTS_XFS_FIXTURE_H

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blockio/source.h"
#include "fs/fs.h"
#include "util/crc.h"
#include "util/le.h"
#include "tests/testutil.h"

#define XFX_UNUSED __attribute__((unused))

/* The images (named xda_* in the shared scratch directory: other suites build xfs_*
 * images with other contents there): v5 with 4 KiB blocks; 1 KiB blocks with 64 KiB directory blocks (64 fs blocks
 * per directory block, extents that split them); 1 KiB blocks and directory blocks (deep
 * dabtrees). The kernel here refuses v4 (CONFIG_XFS_SUPPORT_V4 off), so there is no v4
 * oracle. */
static const struct {
	const char *name, *opts;
} xfx_images[] XFX_UNUSED = {
	{ "xda_v5", "" },
	{ "xda_dir64k", "-b size=1024 -n size=65536" },
	{ "xda_1k", "-b size=1024" },
};
#define XFX_NIMAGES 3

/* Builds image I (once per run) and returns its path, or NULL after printing SKIP. */
static XFX_UNUSED const char *xfx_image(int i, const char *test)
{
	static char path[PATH_MAX];
	struct stat st;

	if (!bv_test_is_root()) {
		bv_test_skip(test, "needs root for the kernel's loop mount");
		return NULL;
	}
	if (!bv_test_have("mkfs.xfs") || !bv_test_have("xfs_db") || !bv_test_have("setfacl") ||
	    !bv_test_have("python3")) {
		bv_test_skip(test, "needs mkfs.xfs, xfs_db, setfacl and python3");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s.img", bv_test_tmpdir(), xfx_images[i].name);
	if (stat(path, &st) == 0)
		return path;
	if (bv_test_sh("scripts/mkxfs-dirattr.sh '%s' '%s' >'%s.log' 2>&1", path,
		       xfx_images[i].opts, path) != 0) {
		bv_test_skip(test, "scripts/mkxfs-dirattr.sh failed (see the .log by the image)");
		return NULL;
	}
	return path;
}

/* A copy of IMG to patch, named after the test. */
static XFX_UNUSED const char *xfx_copy(const char *img, const char *test)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s.img", bv_test_tmpdir(), test);
	ck_assert_int_eq(bv_test_sh("cp --sparse=always '%s' '%s'", img, path), 0);
	return path;
}

struct xfx {
	struct bv_source *src;
	struct bv_fs *fs;
};

static XFX_UNUSED void xfx_open(struct xfx *x, const char *img)
{
	char why[256];
	int err;

	ck_assert_int_eq(bv_source_open(img, &x->src), 0);
	err = bv_fs_open(x->src, NULL, &x->fs, why, sizeof(why));
	ck_assert_msg(err == 0, "%s: %s", img, why);
}

static XFX_UNUSED void xfx_close(struct xfx *x)
{
	bv_fs_close(x->fs);
	bv_source_close(x->src);
}

static XFX_UNUSED int xfx_inode(struct xfx *x, const char *path, struct bv_inode *out)
{
	uint64_t ino;
	int err = bv_fs_resolve(x->fs, path, 0, &ino);

	return err ? err : bv_fs_inode_get(x->fs, ino, BV_IGET_ANY, out);
}

/* The lines of IMG.kernel that start with TAG and a space then PATH and a space. Returns a
 * NULL-terminated malloc'd array of malloc'd strings (what follows), or NULL. */
static XFX_UNUSED char **xfx_oracle(const char *img, char tag, const char *path, size_t *n)
{
	char file[PATH_MAX], want[PATH_MAX + 4], *line = NULL;
	size_t cap = 64, cnt = 0, lcap = 0;
	char **out = malloc(cap * sizeof(*out));
	FILE *f;

	snprintf(file, sizeof(file), "%s.kernel", img);
	snprintf(want, sizeof(want), "%c %s ", tag, path);
	f = fopen(file, "r");
	ck_assert_ptr_nonnull(f);
	/* Lines are long: a 60 KiB value is 120 KiB of hex. */
	while (getline(&line, &lcap, f) > 0) {
		if (strncmp(line, want, strlen(want)) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (cnt + 1 >= cap)
			out = realloc(out, (cap *= 2) * sizeof(*out));
		out[cnt++] = strdup(line + strlen(want));
	}
	free(line);
	fclose(f);
	out[cnt] = NULL;
	*n = cnt;
	return out;
}

static XFX_UNUSED void xfx_free_lines(char **l)
{
	for (size_t i = 0; l && l[i]; i++)
		free(l[i]);
	free(l);
}

/* The byte offset in IMG of block FORKBLK of inode INO's WHICH fork ("dblock" or "ablock"),
 * as xfs_db's stack says; -1 when it cannot tell. */
static XFX_UNUSED long long xfx_block_byte(const char *img, uint64_t ino, const char *which,
					   uint64_t forkblk)
{
	char cmd[PATH_MAX + 256], line[512];
	long long off = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "xfs_db -r -c 'inode %llu' -c '%s %llu' -c stack '%s' 2>&1",
		 (unsigned long long)ino, which, (unsigned long long)forkblk, img);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, " byte offset %lld", &off) == 1)
			break;
	pclose(p);
	return off;
}

/* Reads or writes LEN bytes at OFF of the image file. */
static XFX_UNUSED void xfx_pio(const char *img, void *buf, size_t len, long long off, bool write)
{
	FILE *f = fopen(img, "r+b");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseeko(f, off, SEEK_SET), 0);
	if (write)
		ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	else
		ck_assert_uint_eq(fread(buf, 1, len, f), len);
	fclose(f);
}

/* Recomputes the v5 CRC at CRC_OFF of the LEN bytes at BUF, as xfs_update_cksum does, so a
 * test can break one field and still get past the checksum. */
static XFX_UNUSED void xfx_crc_fix(uint8_t *buf, size_t len, size_t crc_off)
{
	uint32_t crc;

	memset(buf + crc_off, 0, 4);
	crc = ~bv_crc32c(~0u, buf, len);
	buf[crc_off] = (uint8_t)crc;
	buf[crc_off + 1] = (uint8_t)(crc >> 8);
	buf[crc_off + 2] = (uint8_t)(crc >> 16);
	buf[crc_off + 3] = (uint8_t)(crc >> 24);
}

/* The kernel's inode number of PATH's entry NAME in IMG.kernel's readdir lines. */
static XFX_UNUSED uint64_t xfx_kernel_ino(const char *img, const char *dir, const char *name)
{
	char hex[600];
	size_t n, i;
	char **l = xfx_oracle(img, 'D', dir, &n);
	uint64_t ino = 0;

	for (i = 0; name[i] && i < 255; i++)
		sprintf(hex + 2 * i, "%02x", (unsigned char)name[i]);
	hex[2 * i] = '\0';
	for (i = 0; i < n; i++) {
		char h[600];
		unsigned long long v;

		if (sscanf(l[i], "%599s %llu", h, &v) == 2 && strcmp(h, hex) == 0)
			ino = v;
	}
	xfx_free_lines(l);
	ck_assert_msg(ino != 0, "%s/%s not in the oracle", dir, name);
	return ino;
}

#endif
