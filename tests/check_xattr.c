/* Extended attributes: in-inode, in a block, in an ea_inode, POSIX ACLs; compared name by
 * name and byte by byte with the kernel's listxattr/getxattr on a read-only loop mount of
 * the same image. Corrupt areas are made by patching a copy of a good image in memory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/limits.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "blockio/source.h"
#include "fs/ext4/ext4_priv.h"
#include "fs/ext4/inode.h"
#include "util/le.h"
#include "fs/ext4/xattr.h"
#include "tests/testutil.h"

/* mke2fs runs with an empty config (testutil), so name the ext4 defaults of 1.47. */
#define EXT4_OPTS                                                                          \
	"-b 4096 -O has_journal,ext_attr,extent,huge_file,flex_bg,metadata_csum,64bit,"    \
	"dir_nlink,extra_isize"

#define MAX_FILES 16
#define MAX_ATTRS 64

/* What the kernel answered for one file. */
struct k_attr {
	char name[XATTR_NAME_MAX + 1];
	uint8_t *val;
	ssize_t len; /* or -errno */
};
struct k_file {
	const char *path;
	ino_t ino;
	char list[XATTR_LIST_MAX];
	ssize_t list_len;
	struct k_attr attrs[MAX_ATTRS];
	int nattrs;
};

/* The common source tree: small values in the inode, a 3000-byte value and a crowd that
 * overflow to the block, ACLs, a symlink with a trusted xattr, a name of 200 bytes. */
static const char *tree_common(void)
{
	static char dir[512];

	snprintf(dir, sizeof(dir), "%s/xattr_src", bv_test_tmpdir());
	if (access(dir, F_OK) == 0)
		return dir;
	if (bv_test_sh(
		    "set -e; d='%s.tmp'; rm -rf \"$d\"; mkdir -p \"$d\"; cd \"$d\";"
		    "touch small plain big many long emptyval;"
		    "setfattr -n user.a -v hello small; setfattr -n trusted.t -v 0x0102 small;"
		    "setfattr -n security.s -v sec small; setfattr -n gnu.h -v hurd small;"
		    "setfattr -n user.empty emptyval;"
		    "setfattr -n user.big -v \"$(head -c 3000 /dev/zero | tr '\\0' b)\" big;"
		    "for i in $(seq -w 0 29); do setfattr -n user.k$i -v value-$i-abcdefgh many; done;"
		    "setfattr -n user.$(head -c 200 /dev/zero | tr '\\0' n) -v x long;"
		    "mkdir acldir; setfacl -m u:1000:rwx,g:100:r acldir;"
		    "setfacl -d -m u:1001:rx acldir; touch aclfile; setfacl -m u:0:r,g:7:rw aclfile;"
		    "ln -s small link; setfattr -h -n trusted.l -v lnk link;"
		    "cd ..; mv \"$d\" '%s'",
		    dir, dir) != 0)
		return NULL;
	return dir;
}

static const char *common_paths[] = { "small", "plain", "big",  "many",   "long",
				      "emptyval", "acldir", "aclfile", "link", NULL };

/* Mounts IMG read-only and records the kernel's answers for PATHS. */
static int kernel_collect(const char *img, const char *tag, const char **paths,
			  struct k_file *out, int *nout)
{
	char mnt[512], p[1024];
	int i, ret = 0;

	snprintf(mnt, sizeof(mnt), "%s/mnt_%s_%d", bv_test_tmpdir(), tag, (int)getpid());
	if (bv_test_sh("mkdir -p '%s' && mount -o ro,loop '%s' '%s'", mnt, img, mnt) != 0)
		return -1;
	for (i = 0; paths[i]; i++) {
		struct k_file *f = &out[i];
		struct stat st;
		size_t len;
		char *n;

		f->path = paths[i];
		snprintf(p, sizeof(p), "%s/%s", mnt, paths[i]);
		if (lstat(p, &st) != 0) {
			ret = -1;
			break;
		}
		f->ino = st.st_ino;
		f->list_len = llistxattr(p, f->list, sizeof(f->list));
		if (f->list_len < 0)
			f->list_len = -errno;
		f->nattrs = 0;
		for (n = f->list; f->list_len > 0 && n < f->list + f->list_len;
		     n += strlen(n) + 1) {
			struct k_attr *a = &f->attrs[f->nattrs++];

			len = strnlen(n, sizeof(a->name) - 1);
			memcpy(a->name, n, len);
			a->name[len] = '\0';
			a->val = malloc(XATTR_SIZE_MAX);
			a->len = lgetxattr(p, n, a->val, XATTR_SIZE_MAX);
			if (a->len < 0)
				a->len = -errno;
			if (f->nattrs == MAX_ATTRS)
				break;
		}
	}
	*nout = i;
	bv_test_sh("umount '%s'; rmdir '%s'", mnt, mnt);
	return ret;
}

/* Our list and every value must equal the kernel's, byte for byte. */
static void compare_with_kernel(struct bv_ext4 *fs, const struct k_file *files, int n)
{
	static char buf[XATTR_LIST_MAX];
	static uint8_t val[XATTR_SIZE_MAX];
	int i, j;

	for (i = 0; i < n; i++) {
		const struct k_file *f = &files[i];
		struct bv_ext4_inode inode;
		ssize_t len;

		ck_assert_int_eq(bv_ext4_inode_get(fs, (uint32_t)f->ino, &inode), 0);
		len = bv_ext4_xattr_list(fs, &inode, NULL, 0);
		ck_assert_msg(len == f->list_len, "%s: list size %zd, kernel %zd", f->path, len,
			      f->list_len);
		len = bv_ext4_xattr_list(fs, &inode, buf, sizeof(buf));
		ck_assert_msg(len == f->list_len, "%s: list %zd, kernel %zd", f->path, len,
			      f->list_len);
		ck_assert_msg(len <= 0 || memcmp(buf, f->list, (size_t)len) == 0,
			      "%s: names differ", f->path);
		if (len > 1) /* a size of 0 would be a query */
			ck_assert_int_eq(bv_ext4_xattr_list(fs, &inode, buf, (size_t)len - 1),
					 -ERANGE);
		for (j = 0; j < f->nattrs; j++) {
			const struct k_attr *a = &f->attrs[j];

			len = bv_ext4_xattr_get(fs, &inode, a->name, NULL, 0);
			ck_assert_msg(len == a->len, "%s %s: size %zd, kernel %zd", f->path,
				      a->name, len, a->len);
			len = bv_ext4_xattr_get(fs, &inode, a->name, val, sizeof(val));
			ck_assert_msg(len == a->len, "%s %s: %zd, kernel %zd", f->path, a->name,
				      len, a->len);
			ck_assert_msg(len <= 0 || memcmp(val, a->val, (size_t)len) == 0,
				      "%s %s: value differs", f->path, a->name);
			if (len > 1)
				ck_assert_int_eq(bv_ext4_xattr_get(fs, &inode, a->name, val,
								   (size_t)len - 1),
						 -ERANGE);
		}
	}
}

static void free_kernel(struct k_file *files, int n)
{
	int i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < files[i].nattrs; j++)
			free(files[i].attrs[j].val);
}

/* An image of the common tree, built once per run (static storage) or NULL. */
static const char *img_build(const char *name, const char *opts)
{
	static char img[512];
	const char *src = tree_common(), *made;

	if (!src)
		return NULL;
	made = bv_test_mkfs(name, opts, src, "16M");
	if (!made)
		return NULL;
	snprintf(img, sizeof(img), "%s", made);
	return img;
}

#define I256 EXT4_OPTS " -I 256"
static const char *img_common(void)
{
	return img_build("xattr_i256", I256);
}

/* MIN_ATTRS: how many values the kernel must have shown, so that a tree the source
 * filesystem silently failed to tag cannot pass as a match. */
static void run_kernel_compare(const char *test, const char *img, const char **paths,
			       int min_attrs)
{
	static struct k_file files[MAX_FILES];
	struct bv_source *s = NULL;
	struct bv_ext4 *fs;
	int n = 0, i, total = 0;

	if (!bv_test_is_root()) {
		bv_test_skip(test, "needs root for a loop mount (the kernel is the oracle)");
		return;
	}
	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(kernel_collect(img, "cmp", paths, files, &n), 0);
	for (i = 0; i < n; i++)
		total += files[i].nattrs;
	ck_assert_int_ge(total, min_attrs);
	fs = bv_test_open_file(img, NULL, &s);
	compare_with_kernel(fs, files, n);
	bv_ext4_close(fs);
	bv_source_close(s);
	free_kernel(files, n);
}

START_TEST(test_xattr_matches_kernel_256_byte_inodes)
{
	run_kernel_compare(__func__, img_common(), common_paths, 41);
}
END_TEST

/* Without the right to see them (ext4_xattr_trusted_list), trusted.* names are left out
 * of the list and of its size; everything else is listed as root sees it. "small" has
 * its trusted.t in the inode, "link" its trusted.l. */
START_TEST(test_xattr_list_hides_trusted_from_the_unprivileged)
{
	const char *img = img_common();
	struct bv_source *s = NULL;
	struct bv_ext4 *fs;
	char all[1024], some[1024];

	ck_assert_ptr_nonnull(img);
	fs = bv_test_open_file(img, NULL, &s);
	for (int k = 0; k < 2; k++) {
		const char *path = k ? "/link" : "/small";
		const char *hidden = k ? "trusted.l" : "trusted.t";
		struct bv_ext4_inode inode;
		uint32_t ino;
		ssize_t na, ns;

		ck_assert_int_eq(bv_test_resolve(fs, path, 0, &ino), 0);
		ck_assert_int_eq(bv_ext4_inode_get(fs, ino, &inode), 0);
		na = bv_ext4_xattr_list_as(fs, &inode, all, sizeof(all), true);
		ns = bv_ext4_xattr_list_as(fs, &inode, some, sizeof(some), false);
		ck_assert_int_eq(bv_ext4_xattr_list(fs, &inode, NULL, 0), na);
		ck_assert_int_eq(bv_ext4_xattr_list_as(fs, &inode, NULL, 0, false), ns);
		ck_assert_int_eq(na - ns, (ssize_t)strlen(hidden) + 1);
		/* SOME is ALL with HIDDEN cut out, in the same order. */
		char *at = memmem(all, (size_t)na, hidden, strlen(hidden) + 1);
		ck_assert_ptr_nonnull(at);
		size_t before = (size_t)(at - all), len = strlen(hidden) + 1;
		ck_assert_int_eq(memcmp(some, all, before), 0);
		ck_assert_int_eq(memcmp(some + before, at + len, (size_t)na - before - len), 0);
		ck_assert_ptr_null(memmem(some, (size_t)ns, "trusted.", 8));
		/* The unprivileged list fits a buffer of exactly its own length. */
		ck_assert_int_eq(bv_ext4_xattr_list_as(fs, &inode, some, (size_t)ns, false), ns);
	}
	bv_ext4_close(fs);
	bv_source_close(s);
}
END_TEST

START_TEST(test_xattr_matches_kernel_128_byte_inodes)
{
	run_kernel_compare(__func__, img_build("xattr_i128", EXT4_OPTS " -I 128"),
			   common_paths, 41);
}
END_TEST

START_TEST(test_xattr_matches_kernel_ext2)
{
	run_kernel_compare(__func__, img_build("xattr_ext2", "-t ext2 -b 4096 -O ext_attr -I 256"),
			   common_paths, 41);
}
END_TEST

/* 1 KiB blocks: the common tree but the 3000-byte value and the crowd of 30, which no
 * 1 KiB block holds. */
static const char *img_1k(void)
{
	static char img[512];
	char dir[512];
	const char *src = tree_common(), *made;

	if (!src)
		return NULL;
	snprintf(dir, sizeof(dir), "%s/xattr_src1k", bv_test_tmpdir());
	if (access(dir, F_OK) != 0 &&
	    bv_test_sh("cp -a '%s' '%s.tmp' && rm '%s.tmp/big' '%s.tmp/many' && "
		       "mv '%s.tmp' '%s'", src, dir, dir, dir, dir, dir) != 0)
		return NULL;
	made = bv_test_mkfs("xattr_1k", "-b 1024 -O has_journal,ext_attr,extent,huge_file,"
			    "flex_bg,metadata_csum,64bit,dir_nlink,extra_isize -I 256", dir, "16M");
	if (!made)
		return NULL;
	snprintf(img, sizeof(img), "%s", made);
	return img;
}

static const char *paths_1k[] = { "small", "plain", "long", "emptyval", "acldir",
				  "aclfile", "link", NULL };

START_TEST(test_xattr_matches_kernel_1k_blocks)
{
	run_kernel_compare(__func__, img_1k(), paths_1k, 10);
}
END_TEST

/* A 40 KiB value: only an ea_inode holds it. The source tree is on a tmpfs, since the
 * scratch directory's filesystem may not take such a value; it is unmounted as soon as
 * mke2fs has copied it. Returns the image path (static storage) or NULL. */
#define EA_OPTS EXT4_OPTS ",ea_inode -I 256"
static const char *img_ea(void)
{
	static char img[512];
	char dir[512];
	const char *made;

	snprintf(dir, sizeof(dir), "%s/xattr_ea_src", bv_test_tmpdir());
	snprintf(img, sizeof(img), "%s/xattr_ea.img", bv_test_tmpdir());
	if (access(img, F_OK) == 0)
		return img;
	if (bv_test_sh("set -e; d='%s'; mkdir -p \"$d\"; mount -t tmpfs none \"$d\";"
		       "touch \"$d/ea\" \"$d/two\";"
		       "python3 -c 'import os,sys; os.setxattr(sys.argv[1], \"user.big\","
		       "bytes((i * 7 + 3) & 255 for i in range(40960)));"
		       "os.setxattr(sys.argv[2], \"user.x\", b\"y\" * 9000);"
		       "os.setxattr(sys.argv[2], \"trusted.z\", b\"z\" * 5000)'"
		       " \"$d/ea\" \"$d/two\" || { umount \"$d\"; exit 1; }", dir) != 0)
		return NULL;
	made = bv_test_mkfs("xattr_ea", EA_OPTS, dir, "16M");
	bv_test_sh("umount '%s'; rmdir '%s'", dir, dir);
	return made ? img : NULL;
}


/* An image the kernel wrote: mount rw, set xattrs with the tools, unmount. The kernel
 * sorts block entries, shares identical blocks and ea_inodes between files, and writes
 * its own hashes, which mke2fs -d does not all exercise. Static storage, or NULL. */
static const char *img_kernel_written(void)
{
	static char img[512];
	const char *base;
	char mnt[512];

	snprintf(img, sizeof(img), "%s/xattr_kw.img", bv_test_tmpdir());
	if (access(img, F_OK) == 0)
		return img;
	base = bv_test_mkfs("xattr_kw_base", EA_OPTS, NULL, "32M");
	if (!base)
		return NULL;
	snprintf(mnt, sizeof(mnt), "%s/xattr_kw_mnt", bv_test_tmpdir());
	if (bv_test_sh(
		    "set -e; cp '%s' '%s.tmp'; mkdir -p '%s'; mount -o loop '%s.tmp' '%s'; cd '%s';"
		    "( set -e; touch a b c e f1 f2; setfattr -n user.x -v 1 a;"
		    "setfattr -n trusted.y -v 2 a; setfattr -n security.z -v 3 a;"
		    "v=$(head -c 3000 /dev/zero | tr '\\0' b); setfattr -n user.big -v \"$v\" b;"
		    "setfattr -n user.same -v \"$v\" f1; setfattr -n user.same -v \"$v\" f2;"
		    "for i in $(seq 0 39); do setfattr -n user.m$i -v value$i c; done;"
		    "setfattr -x user.m7 c; mkdir d; setfacl -m u:5:r,g:9:rwx d;"
		    "setfacl -d -m g:6:w d;"
		    "python3 -c 'import os; os.setxattr(\"e\", \"user.huge\","
		    "bytes((i * 13) & 255 for i in range(40000)))' ) || ret=1;"
		    "cd /; umount '%s'; exit ${ret:-0}",
		    base, img, mnt, img, mnt, mnt, mnt) != 0)
		return NULL;
	if (bv_test_sh("mv '%s.tmp' '%s'", img, img) != 0)
		return NULL;
	return img;
}

static const char *kw_paths[] = { "a", "b", "c", "d", "e", "f1", "f2", NULL };

START_TEST(test_xattr_matches_kernel_written_image)
{
	if (!bv_test_is_root()) {
		bv_test_skip(__func__, "needs root for a read-write loop mount");
		return;
	}
	run_kernel_compare(__func__, img_kernel_written(), kw_paths, 48);
}
END_TEST

static const char *ea_paths[] = { "ea", "two", NULL };

START_TEST(test_xattr_matches_kernel_ea_inode)
{
	if (!bv_test_is_root()) {
		bv_test_skip(__func__, "needs root for tmpfs and a loop mount");
		return;
	}
	run_kernel_compare(__func__, img_ea(), ea_paths, 3);
}
END_TEST

/* ---- negative tests: patch a copy of a good image ---- */

/* Byte offset in the image of inode INO (4 KiB blocks). */
static size_t inode_off(const char *img, const char *ino_spec)
{
	char req[128];
	long long blk, off;

	snprintf(req, sizeof(req), "imap %s", ino_spec);
	blk = bv_test_debugfs_num(img, req, "located at block ");
	off = bv_test_debugfs_num(img, req, ", offset ");
	ck_assert(blk > 0 && off >= 0);
	return (size_t)blk * 4096 + (size_t)off;
}

/* Offset of PATH's xattr block in IMG. */
static size_t acl_block_off(const char *img, const char *path)
{
	char req[128];
	long long blk;

	snprintf(req, sizeof(req), "stat %s", path);
	blk = bv_test_debugfs_num(img, req, "File ACL: ");
	ck_assert(blk > 0);
	return (size_t)blk * 4096;
}

/* Offset of the first in-inode entry of the inode at IOFF. */
static size_t ibody_first(const uint8_t *buf, size_t ioff)
{
	size_t hdr = 128 + bv_le16(buf + ioff + EXT4_INODE_I_EXTRA_ISIZE);

	ck_assert_uint_eq(bv_le32(buf + ioff + hdr), EXT4_XATTR_MAGIC);
	return ioff + hdr + 4;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* A loaded copy of the 256-byte-inode image. */
struct patched {
	const char *img;
	uint8_t *buf;
	size_t len;
	struct bv_source *src;
	struct bv_ext4 *fs;
	struct bv_ext4_inode inode;
};

static void patched_load(struct patched *p, const char *img)
{
	ck_assert_ptr_nonnull(img);
	p->img = strdup(img);
	ck_assert_int_eq(bv_test_slurp(p->img, &p->buf, &p->len), 0);
}

/* Opens the patched copy and reads inode PATH. Checksums are not checked unless asked:
 * a patch breaks the inode's own checksum, which is not what these tests are about. */
static void patched_open(struct patched *p, const char *path, bool verify_csum)
{
	p->fs = bv_test_open_mem(p->buf, p->len, &(struct bv_ext4_opts){ .skip_csum = !verify_csum }, &p->src);
	ck_assert_int_eq(bv_ext4_inode_get(p->fs, bv_test_debugfs_ino(p->img, path), &p->inode), 0);
}

static void patched_free(struct patched *p)
{
	bv_ext4_close(p->fs);
	bv_source_close(p->src);
	free(p->buf);
	free((char *)p->img);
}

static void expect(struct patched *p, const char *name, ssize_t err)
{
	uint8_t v[8192];
	char l[8192];

	ck_assert_int_eq(bv_ext4_xattr_get(p->fs, &p->inode, name, v, sizeof(v)), err);
	ck_assert_int_eq(bv_ext4_xattr_list(p->fs, &p->inode, l, sizeof(l)), err);
}

START_TEST(test_xattr_block_rejects_bad_magic)
{
	struct patched p;

	patched_load(&p, img_common());
	p.buf[acl_block_off(p.img, "/big") + EXT4_XATTR_H_MAGIC] ^= 1;
	patched_open(&p, "/big", false);
	expect(&p, "user.big", -EUCLEAN);
	patched_free(&p);
}
END_TEST

START_TEST(test_xattr_block_rejects_h_blocks_not_one)
{
	struct patched p;

	patched_load(&p, img_common());
	put32(p.buf + acl_block_off(p.img, "/big") + EXT4_XATTR_H_BLOCKS, 2);
	patched_open(&p, "/big", false);
	expect(&p, "user.big", -EUCLEAN);
	patched_free(&p);
}
END_TEST

START_TEST(test_xattr_block_rejects_bad_checksum)
{
	struct patched p;
	uint8_t v[4096];

	patched_load(&p, img_common());
	/* The last byte of the block is inside the 3000-byte value. */
	p.buf[acl_block_off(p.img, "/big") + 4095] ^= 0x55;
	patched_open(&p, "/big", true);
	expect(&p, "user.big", -EBADMSG);
	bv_ext4_close(p.fs);
	bv_source_close(p.src);
	/* Without checksum verification the (changed) value is served. */
	patched_open(&p, "/big", false);
	ck_assert_int_eq(bv_ext4_xattr_get(p.fs, &p.inode, "user.big", v, sizeof(v)), 3000);
	ck_assert_int_eq(v[2999], 'b' ^ 0x55);
	patched_free(&p);
}
END_TEST

START_TEST(test_xattr_block_rejects_value_offs_past_end)
{
	struct patched p;
	size_t e;

	patched_load(&p, img_common());
	e = acl_block_off(p.img, "/big") + EXT4_XATTR_HEADER_SIZE;
	ck_assert_uint_eq(p.buf[e + EXT4_XATTR_E_NAME_LEN], 3);
	put16(p.buf + e + EXT4_XATTR_E_VALUE_OFFS, 4096 - 4);
	patched_open(&p, "/big", false);
	expect(&p, "user.big", -EUCLEAN);
	patched_free(&p);
}
END_TEST

START_TEST(test_xattr_block_rejects_value_over_entries)
{
	struct patched p;
	size_t e;

	patched_load(&p, img_common());
	e = acl_block_off(p.img, "/big") + EXT4_XATTR_HEADER_SIZE;
	/* The entry is 20 bytes, then the 4-byte terminator: 56 overlaps nothing, 52 does. */
	put16(p.buf + e + EXT4_XATTR_E_VALUE_OFFS, 52);
	patched_open(&p, "/big", false);
	expect(&p, "user.big", -EUCLEAN);
	patched_free(&p);
}
END_TEST

START_TEST(test_xattr_block_rejects_missing_terminator)
{
	struct patched p;
	size_t blk;

	patched_load(&p, img_common());
	blk = acl_block_off(p.img, "/big");
	/* Fill from the terminator up to the value with non-zero bytes. */
	memset(p.buf + blk + EXT4_XATTR_HEADER_SIZE + 20, 0x41,
	       bv_le16(p.buf + blk + EXT4_XATTR_HEADER_SIZE + EXT4_XATTR_E_VALUE_OFFS) - 52);
	patched_open(&p, "/big", false);
	expect(&p, "user.big", -EUCLEAN);
	patched_free(&p);
}
END_TEST

START_TEST(test_xattr_ibody_rejects_nul_in_name)
{
	struct patched p;
	size_t e;

	patched_load(&p, img_common());
	e = ibody_first(p.buf, inode_off(p.img, "/small"));
	ck_assert_uint_gt(p.buf[e + EXT4_XATTR_E_NAME_LEN], 0);
	p.buf[e + EXT4_XATTR_E_NAME] = 0;
	patched_open(&p, "/small", false);
	expect(&p, "user.a", -EUCLEAN);
	patched_free(&p);
}
END_TEST

START_TEST(test_xattr_ibody_rejects_name_past_end)
{
	struct patched p;
	size_t e;

	patched_load(&p, img_common());
	e = ibody_first(p.buf, inode_off(p.img, "/small"));
	p.buf[e + EXT4_XATTR_E_NAME_LEN] = 250;
	patched_open(&p, "/small", false);
	expect(&p, "user.a", -EUCLEAN);
	patched_free(&p);
}
END_TEST

START_TEST(test_xattr_ibody_rejects_value_offs_past_end)
{
	struct patched p;
	size_t e;

	patched_load(&p, img_common());
	e = ibody_first(p.buf, inode_off(p.img, "/small"));
	put16(p.buf + e + EXT4_XATTR_E_VALUE_OFFS, 0xFFF0);
	patched_open(&p, "/small", false);
	expect(&p, "user.a", -EUCLEAN);
	patched_free(&p);
}
END_TEST

START_TEST(test_xattr_rejects_value_inum_without_ea_inode)
{
	struct patched p;
	size_t e;

	patched_load(&p, img_common());
	e = ibody_first(p.buf, inode_off(p.img, "/small"));
	put32(p.buf + e + EXT4_XATTR_E_VALUE_INUM, 12);
	patched_open(&p, "/small", false);
	expect(&p, "user.a", -EUCLEAN);
	patched_free(&p);
}
END_TEST

/* A wrong in-inode magic is no error for the kernel: the area is ignored. Checked against
 * the kernel on the patched image. */
START_TEST(test_xattr_ibody_bad_magic_hides_the_area)
{
	static struct k_file k[1];
	static char list[4096];
	struct patched p;
	ssize_t ours;
	const char *paths[] = { "small", NULL };
	char path[512];
	size_t ioff;
	FILE *f;
	int n = 0;

	patched_load(&p, img_common());
	ioff = inode_off(p.img, "/small");
	p.buf[ioff + 128 + bv_le16(p.buf + ioff + EXT4_INODE_I_EXTRA_ISIZE)] ^= 1;
	patched_open(&p, "/small", false);
	ck_assert_int_eq(bv_ext4_xattr_get(p.fs, &p.inode, "user.a", NULL, 0), -ENODATA);
	ours = bv_ext4_xattr_list(p.fs, &p.inode, list, sizeof(list));
	ck_assert_int_ge(ours, 0);
	ck_assert_ptr_null(memmem(list, (size_t)ours, "user.a", 7));
	if (bv_test_is_root()) {
		snprintf(path, sizeof(path), "%s/xattr_badmagic_%d.img", bv_test_tmpdir(),
			 (int)getpid());
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		/* The kernel checks inode checksums: rewrite it with debugfs. */
		ck_assert_uint_eq(fwrite(p.buf, 1, p.len, f), p.len);
		fclose(f);
		ck_assert_int_eq(bv_test_sh("debugfs -w -n -R 'set_inode_field /small checksum calc' "
					    "'%s' >/dev/null 2>&1", path), 0);
		ck_assert_int_eq(kernel_collect(path, "badmagic", paths, k, &n), 0);
		ck_assert_int_eq(k[0].list_len, ours);
		ck_assert_int_eq(memcmp(k[0].list, list, (size_t)ours), 0);
		unlink(path);
	}
	patched_free(&p);
}
END_TEST

/* The value of the in-inode entry with NAME_INDEX in the inode at IOFF. */
static uint8_t *ibody_value(uint8_t *buf, size_t ioff, uint8_t name_index, uint32_t *size)
{
	size_t first = ibody_first(buf, ioff), e = first;

	while (bv_le32(buf + e) != 0) {
		if (buf[e + EXT4_XATTR_E_NAME_INDEX] == name_index) {
			*size = bv_le32(buf + e + EXT4_XATTR_E_VALUE_SIZE);
			return buf + first + bv_le16(buf + e + EXT4_XATTR_E_VALUE_OFFS);
		}
		e += EXT4_XATTR_LEN(buf[e + EXT4_XATTR_E_NAME_LEN]);
	}
	ck_abort_msg("no entry of index %u", name_index);
	return NULL;
}

/* ext4_acl_from_disk() refuses a wrong version, an unknown tag and a size that is no
 * whole number of entries: -EINVAL, as getxattr says for them. */
START_TEST(test_xattr_acl_rejects_malformed)
{
	static const struct {
		size_t off;   /* byte of the on-disk ACL to change */
		uint8_t val;
	} cases[] = {
		{ 0, 2 },     /* a_version 2 */
		{ 4, 0x40 },  /* first tag unknown */
	};
	uint8_t v[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct patched p;
		uint32_t size;
		uint8_t *acl;

		patched_load(&p, img_common());
		acl = ibody_value(p.buf, inode_off(p.img, "/acldir"),
				  EXT4_XATTR_INDEX_POSIX_ACL_ACCESS, &size);
		ck_assert_uint_eq(bv_le32(acl), EXT4_ACL_VERSION);
		acl[cases[i].off] = cases[i].val;
		patched_open(&p, "/acldir", false);
		ck_assert_int_eq(bv_ext4_xattr_get(p.fs, &p.inode, "system.posix_acl_access", v,
						   sizeof(v)), -EINVAL);
		ck_assert_int_eq(bv_ext4_xattr_get(p.fs, &p.inode, "system.posix_acl_access",
						   NULL, 0), -EINVAL);
		/* The default ACL beside it is untouched. */
		ck_assert_int_gt(bv_ext4_xattr_get(p.fs, &p.inode, "system.posix_acl_default", v,
						   sizeof(v)), 0);
		patched_free(&p);
	}
}
END_TEST

START_TEST(test_xattr_acl_rejects_partial_entry)
{
	struct patched p;
	uint32_t size;
	uint8_t v[256];
	size_t e, ioff;

	patched_load(&p, img_common());
	ioff = inode_off(p.img, "/acldir");
	ibody_value(p.buf, ioff, EXT4_XATTR_INDEX_POSIX_ACL_ACCESS, &size);
	/* One byte less: no longer a whole number of entries. */
	for (e = ibody_first(p.buf, ioff);
	     p.buf[e + EXT4_XATTR_E_NAME_INDEX] != EXT4_XATTR_INDEX_POSIX_ACL_ACCESS;
	     e += EXT4_XATTR_LEN(p.buf[e + EXT4_XATTR_E_NAME_LEN]))
		;
	put32(p.buf + e + EXT4_XATTR_E_VALUE_SIZE, size - 1);
	patched_open(&p, "/acldir", false);
	ck_assert_int_eq(bv_ext4_xattr_get(p.fs, &p.inode, "system.posix_acl_access", v,
					   sizeof(v)), -EINVAL);
	patched_free(&p);
}
END_TEST

/* The same name in the inode and in the block: the inode's value is returned (the kernel
 * searches the inode first) and both are listed (as the kernel lists). */
START_TEST(test_xattr_inode_wins_over_block)
{
	static struct k_file k[1];
	const char *paths[] = { "dup", NULL };
	struct patched p;
	char src[512], path[512];
	uint8_t v[4096];
	size_t e;
	FILE *f;
	int n = 0;

	snprintf(src, sizeof(src), "%s/xattr_dup_src", bv_test_tmpdir());
	ck_assert_int_eq(bv_test_sh("mkdir -p '%s' && touch '%s/dup' && "
				    "setfattr -n user.aaa -v inode '%s/dup' && "
				    "setfattr -n user.bbb -v \"$(head -c 3000 /dev/zero | tr "
				    "'\\0' b)\" '%s/dup'", src, src, src, src), 0);
	patched_load(&p, bv_test_mkfs("xattr_dup", EXT4_OPTS " -O ^metadata_csum -I 256", src,
				      "16M"));
	e = acl_block_off(p.img, "/dup") + EXT4_XATTR_HEADER_SIZE;
	ck_assert_int_eq(memcmp(p.buf + e + EXT4_XATTR_E_NAME, "bbb", 3), 0);
	memcpy(p.buf + e + EXT4_XATTR_E_NAME, "aaa", 3);
	patched_open(&p, "/dup", true);
	ck_assert_int_eq(bv_ext4_xattr_get(p.fs, &p.inode, "user.aaa", v, sizeof(v)), 5);
	ck_assert_int_eq(memcmp(v, "inode", 5), 0);
	ck_assert_int_eq(bv_ext4_xattr_get(p.fs, &p.inode, "user.bbb", v, sizeof(v)),
			 -ENODATA);
	if (bv_test_is_root()) {
		snprintf(path, sizeof(path), "%s/xattr_dup_%d.img", bv_test_tmpdir(),
			 (int)getpid());
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		ck_assert_uint_eq(fwrite(p.buf, 1, p.len, f), p.len);
		fclose(f);
		ck_assert_int_eq(kernel_collect(path, "dup", paths, k, &n), 0);
		compare_with_kernel(p.fs, k, n);
		free_kernel(k, n);
		unlink(path);
	}
	patched_free(&p);
}
END_TEST

/* Block entries are sorted and the kernel's lookup stops at the first entry that sorts
 * after the name: in an unsorted block, names are listed that getxattr does not find.
 * We answer as the kernel does, checked on the patched image. */
START_TEST(test_xattr_unsorted_block_matches_kernel)
{
	static struct k_file k[1];
	const char *paths[] = { "many", NULL };
	size_t blk, e, first = 0, last = 0;
	struct patched p;
	char path[512];
	uint8_t tmp[8];
	int n = 0;
	FILE *f;

	if (!bv_test_is_root()) {
		bv_test_skip(__func__, "needs root for a loop mount (the kernel is the oracle)");
		return;
	}
	patched_load(&p, img_build("xattr_nocsum", EXT4_OPTS " -O ^metadata_csum -I 256"));
	blk = acl_block_off(p.img, "/many");
	for (e = blk + EXT4_XATTR_HEADER_SIZE; bv_le32(p.buf + e) != 0;
	     e += EXT4_XATTR_LEN(p.buf[e + EXT4_XATTR_E_NAME_LEN])) {
		if (!first)
			first = e;
		last = e;
	}
	ck_assert(first && last > first);
	ck_assert_uint_eq(p.buf[first + EXT4_XATTR_E_NAME_LEN], 3);
	ck_assert_uint_eq(p.buf[last + EXT4_XATTR_E_NAME_LEN], 3);
	/* Swap the names of the first and last entries (same length). */
	memcpy(tmp, p.buf + first + EXT4_XATTR_E_NAME, 3);
	memcpy(p.buf + first + EXT4_XATTR_E_NAME, p.buf + last + EXT4_XATTR_E_NAME, 3);
	memcpy(p.buf + last + EXT4_XATTR_E_NAME, tmp, 3);
	patched_open(&p, "/many", true);
	snprintf(path, sizeof(path), "%s/xattr_unsorted_%d.img", bv_test_tmpdir(), (int)getpid());
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p.buf, 1, p.len, f), p.len);
	fclose(f);
	ck_assert_int_eq(kernel_collect(path, "unsorted", paths, k, &n), 0);
	unlink(path);
	/* Some names listed must be missing for getxattr, or the patch proved nothing. */
	{
		int j, missing = 0;

		for (j = 0; j < k[0].nattrs; j++)
			missing += k[0].attrs[j].len == -ENODATA;
		ck_assert_int_gt(missing, 0);
	}
	compare_with_kernel(p.fs, k, n);
	free_kernel(k, n);
	patched_free(&p);
}
END_TEST

/* The ea_inode of FILE's in-inode entry 0, and that entry's offset. */
static uint32_t ea_bv_test_debugfs_ino(struct patched *p, const char *path, size_t *entry)
{
	size_t e = ibody_first(p->buf, inode_off(p->img, path));
	uint32_t ino = bv_le32(p->buf + e + EXT4_XATTR_E_VALUE_INUM);

	ck_assert_uint_ne(ino, 0);
	*entry = e;
	return ino;
}

START_TEST(test_xattr_ea_inode_requires_ea_inode_flag)
{
	struct patched p;
	char spec[32];
	size_t e, ioff;
	uint32_t flags;

	if (!bv_test_is_root()) {
		bv_test_skip(__func__, "needs root for the tmpfs source tree");
		return;
	}
	patched_load(&p, img_ea());
	snprintf(spec, sizeof(spec), "<%u>", ea_bv_test_debugfs_ino(&p, "/ea", &e));
	ioff = inode_off(p.img, spec);
	flags = bv_le32(p.buf + ioff + EXT4_INODE_I_FLAGS);
	ck_assert(flags & EXT4_EA_INODE_FL);
	put32(p.buf + ioff + EXT4_INODE_I_FLAGS, flags & ~(uint32_t)EXT4_EA_INODE_FL);
	patched_open(&p, "/ea", false);
	ck_assert_int_eq(bv_ext4_xattr_get(p.fs, &p.inode, "user.big", NULL, 0), 40960);
	{
		static uint8_t v[65536];

		ck_assert_int_eq(bv_ext4_xattr_get(p.fs, &p.inode, "user.big", v, sizeof(v)),
				 -EUCLEAN);
	}
	patched_free(&p);
}
END_TEST

START_TEST(test_xattr_ea_inode_rejects_size_mismatch)
{
	static uint8_t v[65536];
	struct patched p;
	size_t e;

	if (!bv_test_is_root()) {
		bv_test_skip(__func__, "needs root for the tmpfs source tree");
		return;
	}
	patched_load(&p, img_ea());
	ea_bv_test_debugfs_ino(&p, "/ea", &e);
	put32(p.buf + e + EXT4_XATTR_E_VALUE_SIZE, 40000);
	patched_open(&p, "/ea", false);
	ck_assert_int_eq(bv_ext4_xattr_get(p.fs, &p.inode, "user.big", v, sizeof(v)),
			 -EUCLEAN);
	patched_free(&p);
}
END_TEST

START_TEST(test_xattr_ea_inode_rejects_bad_value_hash)
{
	static uint8_t v[65536];
	struct patched p;
	char req[64];
	long long blk;
	size_t e;

	if (!bv_test_is_root()) {
		bv_test_skip(__func__, "needs root for the tmpfs source tree");
		return;
	}
	patched_load(&p, img_ea());
	snprintf(req, sizeof(req), "blocks <%u>", ea_bv_test_debugfs_ino(&p, "/ea", &e));
	blk = bv_test_debugfs_num(p.img, req, "");
	ck_assert(blk > 0);
	p.buf[(size_t)blk * 4096 + 10] ^= 1;
	patched_open(&p, "/ea", false);
	ck_assert_int_eq(bv_ext4_xattr_get(p.fs, &p.inode, "user.big", v, sizeof(v)),
			 -EUCLEAN);
	patched_free(&p);
}
END_TEST

/* Names the kernel would not route to ext4, or refuses before looking. */
START_TEST(test_xattr_get_name_rules)
{
	struct bv_source *s = NULL;
	struct bv_ext4_inode inode;
	struct bv_ext4 *fs;
	const char *img;
	char longname[300];
	uint8_t v[64];

	img = img_common();
	ck_assert_ptr_nonnull(img);
	fs = bv_test_open_file(img, NULL, &s);
	ck_assert_int_eq(bv_ext4_inode_get(fs, bv_test_debugfs_ino(img, "/small"), &inode), 0);
	ck_assert_int_eq(bv_ext4_xattr_get(fs, &inode, "user.a", v, sizeof(v)), 5);
	ck_assert_int_eq(bv_ext4_xattr_get(fs, &inode, "user.a", v, 4), -ERANGE);
	ck_assert_int_eq(bv_ext4_xattr_get(fs, &inode, "user.b", v, sizeof(v)), -ENODATA);
	ck_assert_int_eq(bv_ext4_xattr_get(fs, &inode, "user.", v, sizeof(v)), -EINVAL);
	ck_assert_int_eq(bv_ext4_xattr_get(fs, &inode, "system.data", v, sizeof(v)),
			 -EOPNOTSUPP);
	ck_assert_int_eq(bv_ext4_xattr_get(fs, &inode, "foo.a", v, sizeof(v)), -EOPNOTSUPP);
	ck_assert_int_eq(bv_ext4_xattr_get(fs, &inode, "", v, sizeof(v)), -ERANGE);
	memset(longname, 'n', sizeof(longname) - 1);
	memcpy(longname, "user.", 5);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert_int_eq(bv_ext4_xattr_get(fs, &inode, longname, v, sizeof(v)), -ERANGE);
	ck_assert_int_eq(bv_ext4_xattr_get(fs, &inode, "system.posix_acl_access", v,
					   sizeof(v)), -ENODATA);
	bv_ext4_close(fs);
	bv_source_close(s);
}
END_TEST


/* Every image of the e2fsprogs corpus (mostly corrupt): listing and reading the xattrs
 * and inline data of the first inodes must answer or refuse, never crash or overread
 * (run it under ASan). */
START_TEST(test_xattr_corpus_answers_or_refuses)
{
	static char names[XATTR_LIST_MAX];
	static uint8_t val[XATTR_SIZE_MAX];
	const char *dir = bv_test_corpus_dir();
	char cmd[600], path[1024];
	int images = 0, listed = 0;
	FILE *ls;

	if (!dir) {
		bv_test_skip(__func__, bv_test_corpus_missing());
		return;
	}
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep image", dir);
	ls = popen(cmd, "r");
	ck_assert_ptr_nonnull(ls);
	while (fgets(cmd, sizeof(cmd), ls)) {
		struct bv_source *src = NULL;
		struct bv_ext4 *fs = NULL;
		struct bv_ext4_info info;
		uint8_t *buf;
		size_t len;
		uint32_t ino, last;

		cmd[strcspn(cmd, "\n")] = '\0';
		snprintf(path, sizeof(path), "%s/%s", dir, cmd);
		if (bv_test_slurp(path, &buf, &len) != 0)
			continue;
		if (bv_source_open_mem(buf, len, &src) != 0 ||
		    bv_ext4_open(src, NULL, &fs, NULL, 0) != 0) {
			bv_source_close(src);
			free(buf);
			continue;
		}
		images++;
		bv_ext4_info_get(fs, &info);
		last = info.inodes_count < 64 ? info.inodes_count : 64;
		for (ino = 1; ino <= last; ino++) {
			struct bv_ext4_inode inode;
			ssize_t n;
			char *nm;

			if (bv_ext4_inode_get(fs, ino, &inode) != 0)
				continue;
			if (inode.flags & EXT4_INLINE_DATA_FL) {
				bv_ext4_inline_size(fs, &inode);
				bv_ext4_inline_read(fs, &inode, val, 4096, 0);
			}
			n = bv_ext4_xattr_list(fs, &inode, names, sizeof(names));
			if (n < 0)
				continue;
			ck_assert_int_le(n, (ssize_t)sizeof(names));
			listed++;
			for (nm = names; nm < names + n; nm += strlen(nm) + 1) {
				ssize_t v = bv_ext4_xattr_get(fs, &inode, nm, val, sizeof(val));

				ck_assert_int_le(v, (ssize_t)sizeof(val));
			}
		}
		bv_ext4_close(fs);
		bv_source_close(src);
		free(buf);
	}
	pclose(ls);
	ck_assert_int_gt(images, 0);
	ck_assert_int_gt(listed, 0);
}
END_TEST

/* Random bytes changed in an xattr block and an in-inode area, a few at a time: every
 * answer is a length or a known error, never a crash or an overread (ASan build). */
static bool known_result(ssize_t r)
{
	return r >= 0 || r == -EUCLEAN || r == -EBADMSG || r == -ENODATA || r == -EINVAL ||
	       r == -ERANGE || r == -E2BIG || r == -EOPNOTSUPP;
}

START_TEST(test_xattr_mutated_areas_answer_or_refuse)
{
	static char names[XATTR_LIST_MAX];
	static uint8_t val[XATTR_SIZE_MAX];
	const char *files[] = { "/many", "/small", "/acldir" };
	struct patched p;
	unsigned seed = 1;
	int f, iter;

	patched_load(&p, img_common());
	for (f = 0; f < 3; f++) {
		size_t ioff = inode_off(p.img, files[f]);
		uint32_t ino = bv_test_debugfs_ino(p.img, files[f]);
		size_t blk = f == 0 ? acl_block_off(p.img, files[f]) : 0;
		uint8_t *orig = malloc(p.len);

		ck_assert_ptr_nonnull(orig);
		memcpy(orig, p.buf, p.len);
		for (iter = 0; iter < 300; iter++) {
			struct bv_ext4_inode inode;
			int k, nmut = 1 + rand_r(&seed) % 4;
			ssize_t n;
			char *nm;

			memcpy(p.buf, orig, p.len);
			for (k = 0; k < nmut; k++) {
				/* Past the first 128 bytes of the inode, or anywhere in the block. */
				size_t at = blk ? blk + (size_t)rand_r(&seed) % 4096
						: ioff + 128 + (size_t)rand_r(&seed) % 128;

				p.buf[at] = (uint8_t)rand_r(&seed);
			}
			p.fs = bv_test_open_mem(p.buf, p.len, &(struct bv_ext4_opts){ .skip_csum = true }, &p.src);
			if (bv_ext4_inode_get(p.fs, ino, &inode) == 0) {
				n = bv_ext4_xattr_list(p.fs, &inode, names, sizeof(names));
				ck_assert_msg(known_result(n), "list: %zd", n);
				for (nm = names; n > 0 && nm < names + n; nm += strlen(nm) + 1) {
					ssize_t r = bv_ext4_xattr_get(p.fs, &inode, nm, val,
								      sizeof(val));

					ck_assert_msg(known_result(r), "get %s: %zd", nm, r);
				}
			}
			bv_ext4_close(p.fs);
			bv_source_close(p.src);
		}
		memcpy(p.buf, orig, p.len);
		free(orig);
	}
	free(p.buf);
	free((char *)p.img);
}
END_TEST

static Suite *xattr_suite(void)
{
	Suite *s = suite_create("xattr");
	TCase *tc = tcase_create("kernel");
	TCase *neg = tcase_create("corrupt");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_xattr_matches_kernel_256_byte_inodes);
	tcase_add_test(tc, test_xattr_list_hides_trusted_from_the_unprivileged);
	tcase_add_test(tc, test_xattr_matches_kernel_128_byte_inodes);
	tcase_add_test(tc, test_xattr_matches_kernel_ext2);
	tcase_add_test(tc, test_xattr_matches_kernel_1k_blocks);
	tcase_add_test(tc, test_xattr_matches_kernel_ea_inode);
	tcase_add_test(tc, test_xattr_get_name_rules);
	tcase_add_test(tc, test_xattr_matches_kernel_written_image);
	suite_add_tcase(s, tc);
	tcase_set_timeout(neg, 60);
	tcase_add_test(neg, test_xattr_block_rejects_bad_magic);
	tcase_add_test(neg, test_xattr_block_rejects_h_blocks_not_one);
	tcase_add_test(neg, test_xattr_block_rejects_bad_checksum);
	tcase_add_test(neg, test_xattr_block_rejects_value_offs_past_end);
	tcase_add_test(neg, test_xattr_block_rejects_value_over_entries);
	tcase_add_test(neg, test_xattr_block_rejects_missing_terminator);
	tcase_add_test(neg, test_xattr_ibody_rejects_nul_in_name);
	tcase_add_test(neg, test_xattr_ibody_rejects_name_past_end);
	tcase_add_test(neg, test_xattr_ibody_rejects_value_offs_past_end);
	tcase_add_test(neg, test_xattr_rejects_value_inum_without_ea_inode);
	tcase_add_test(neg, test_xattr_ibody_bad_magic_hides_the_area);
	tcase_add_test(neg, test_xattr_inode_wins_over_block);
	tcase_add_test(neg, test_xattr_unsorted_block_matches_kernel);
	tcase_add_test(neg, test_xattr_acl_rejects_malformed);
	tcase_add_test(neg, test_xattr_acl_rejects_partial_entry);
	tcase_add_test(neg, test_xattr_ea_inode_requires_ea_inode_flag);
	tcase_add_test(neg, test_xattr_ea_inode_rejects_size_mismatch);
	tcase_add_test(neg, test_xattr_ea_inode_rejects_bad_value_hash);
	tcase_add_test(neg, test_xattr_corpus_answers_or_refuses);
	tcase_add_test(neg, test_xattr_mutated_areas_answer_or_refuse);
	suite_add_tcase(s, neg);
	return s;
}
BV_SUITE(xattr_suite)
