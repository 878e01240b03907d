/* File contents: every byte read back through bv_ext4_file_read must equal the source
 * file mkfs -d copied in (or, for images the kernel wrote, what the kernel reads). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/ext4/ext4_priv.h"
#include "fs/ext4/inode.h"
#include "tests/testutil.h"

#define FILE_EXT4_OPTS                                                                     \
	"-I 256 -O has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,"   \
	"extra_isize,ext_attr"

#define MIB (1024 * 1024)

/* Sizes around every boundary that matters for 1 KiB, 4 KiB and 16 KiB (bigalloc)
 * blocks: the block itself, the 12 direct pointers, the single indirect range. */
static const uint64_t file_sizes[] = {
	0, 1, 1023, 1024, 1025, 2047, 2049, 4095, 4096, 4097, 8191, 8193, 12 * 1024 - 1,
	12 * 1024, 12 * 1024 + 1, 16383, 16384, 16385, 12 * 4096 - 1, 12 * 4096, 12 * 4096 + 1,
	268 * 1024 - 1, 268 * 1024, 268 * 1024 + 1, 1036 * 4096 - 1, 1036 * 4096 + 1, MIB,
	3 * MIB + 123, 5 * MIB + 7,
};

/* Deterministic content: no two blocks alike, so a misplaced block cannot compare equal. */
static void fill(uint8_t *p, size_t n, uint64_t off, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t x = (off + i) / 8 * 0x9E3779B97F4A7C15ull + seed;
		p[i] = (uint8_t)((x ^ (x >> 29)) >> ((off + i) % 8 * 8));
	}
}

static int write_at(int fd, uint64_t off, size_t n, uint32_t seed)
{
	static uint8_t buf[64 * 1024];

	while (n) {
		size_t k = n < sizeof(buf) ? n : sizeof(buf);

		fill(buf, k, off, seed);
		if (pwrite(fd, buf, k, (off_t)off) != (ssize_t)k)
			return -1;
		off += k;
		n -= k;
	}
	return 0;
}

/* The source tree for the mkfs -d images. */
static const char *file_srcdir(void)
{
	static char dir[512];
	char path[600];
	int fd, bad = 0;

	snprintf(dir, sizeof(dir), "%s/file-src", bv_test_tmpdir());
	if (access(dir, F_OK) == 0)
		return dir;
	if (bv_test_sh("mkdir -p '%s.tmp'", dir) != 0)
		return NULL;
	for (size_t i = 0; i < sizeof(file_sizes) / sizeof(file_sizes[0]); i++) {
		snprintf(path, sizeof(path), "%s.tmp/size_%llu", dir,
			 (unsigned long long)file_sizes[i]);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write_at(fd, 0, file_sizes[i], (uint32_t)i) != 0)
			bad = 1;
		if (fd >= 0)
			close(fd);
	}
	/* Sparse: data, a hole, data at an unaligned offset, a trailing hole. */
	snprintf(path, sizeof(path), "%s.tmp/sparse_mid", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write_at(fd, 0, 5000, 101) || write_at(fd, MIB + 333, 7000, 102) ||
	    ftruncate(fd, 3 * MIB) != 0)
		bad = 1;
	if (fd >= 0)
		close(fd);
	/* 1 GiB with 8 KiB of data in the middle: triple indirect with 1 KiB blocks. */
	snprintf(path, sizeof(path), "%s.tmp/sparse_1g", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write_at(fd, 0, 100, 103) || write_at(fd, 512 * MIB + 100, 8192, 104) ||
	    ftruncate(fd, 1024 * MIB) != 0)
		bad = 1;
	if (fd >= 0)
		close(fd);
	/* A data block at every other 4 KiB: one extent each, a depth-2 tree at 1 KiB and
	 * depth 1 at 4 KiB; many separate runs for the indirect maps. */
	snprintf(path, sizeof(path), "%s.tmp/stride", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	for (int b = 0; fd >= 0 && b < 1500; b++)
		if (write_at(fd, (uint64_t)b * 8192, 4096, 200 + (uint32_t)b))
			bad = 1;
	if (fd < 0)
		bad = 1;
	else
		close(fd);
	if (bad || bv_test_sh("mv '%s.tmp' '%s'", dir, dir) != 0)
		return NULL;
	return dir;
}

/* Small files around the inline-data limits (60 bytes of i_block, then the system.data
 * xattr in the inode body) and just past them. No sparse files: mke2fs 1.47.0 -d with
 * inline_data stores a sparse file's size rounded to its last data block. */
static const uint64_t small_sizes[] = { 0, 1, 59, 60, 61, 100, 150, 200, 1023, 4095, 4096,
					4097, 16385 };

static const char *file_srcdir_small(void)
{
	static char dir[512];
	char path[600];
	int fd, bad = 0;

	snprintf(dir, sizeof(dir), "%s/file-src-small", bv_test_tmpdir());
	if (access(dir, F_OK) == 0)
		return dir;
	if (bv_test_sh("mkdir -p '%s.tmp'", dir) != 0)
		return NULL;
	for (size_t i = 0; i < sizeof(small_sizes) / sizeof(small_sizes[0]); i++) {
		snprintf(path, sizeof(path), "%s.tmp/small_%llu", dir,
			 (unsigned long long)small_sizes[i]);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write_at(fd, 0, small_sizes[i], 300 + (uint32_t)i) != 0)
			bad = 1;
		if (fd >= 0)
			close(fd);
	}
	if (bad || bv_test_sh("mv '%s.tmp' '%s'", dir, dir) != 0)
		return NULL;
	return dir;
}

/* The names and inode numbers in the image's root, from debugfs. */
struct file_ent {
	char name[64];
	uint32_t ino;
};

static int file_list(const char *img, struct file_ent *ents, int max)
{
	char cmd[1024], line[512];
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "debugfs -R 'ls -p /' '%s' 2>/dev/null", img);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (n < max && fgets(line, sizeof(line), p)) {
		unsigned ino, mode;
		char name[64];

		if (sscanf(line, "/%u/%o/%*u/%*u/%63[^/]/", &ino, &mode, name) == 3 &&
		    (mode & 0170000) == 0100000) {
			snprintf(ents[n].name, sizeof(ents[n].name), "%s", name);
			ents[n++].ino = ino;
		}
	}
	pclose(p);
	return n;
}

static struct bv_ext4 *file_open(const char *img, struct bv_source **src)
{
	struct bv_ext4 *fs = NULL;
	char why[256] = "";

	ck_assert_int_eq(bv_source_open(img, src), 0);
	int err = bv_ext4_open(*src, NULL, &fs, why, sizeof(why));
	ck_assert_msg(err == 0, "open %s: %d %s", img, err, why);
	return fs;
}

/* Reads [OFF, OFF+LEN) through the reader and from the source file and compares. */
static void cmp_range(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, int sfd,
		      uint64_t off, size_t len, uint8_t *a, uint8_t *b, const char *name)
{
	uint64_t size = inode->size;
	size_t want = off >= size ? 0 : (len < size - off ? len : (size_t)(size - off));
	ssize_t got;

	memset(a, 0xA5, len);
	got = bv_ext4_file_read(fs, inode, a, len, off);
	ck_assert_msg(got == (ssize_t)want, "%s: read %zu at %llu: got %zd want %zu", name, len,
		      (unsigned long long)off, got, want);
	if (want == 0)
		return;
	ck_assert_int_eq(pread(sfd, b, want, (off_t)off), (ssize_t)want);
	ck_assert_msg(memcmp(a, b, want) == 0, "%s: bytes differ in %zu at %llu", name, want,
		      (unsigned long long)off);
	/* Nothing written past what was returned. */
	for (size_t i = want; i < len && i < want + 64; i++)
		ck_assert_uint_eq(a[i], 0xA5);
}

/* Every file of IMG (built from SRCDIR) equals its source: whole, in 1 MiB requests,
 * in odd-sized requests crossing block boundaries, and at pseudo-random offsets. */
/* EXTENTS: 1 when every file must be extent-mapped, 0 when none may be, -1 either. */
static void file_compare_all(const char *img, const char *srcdir, int min_files, int extents)
{
	struct file_ent ents[64];
	struct bv_source *src;
	struct bv_ext4 *fs = file_open(img, &src);
	size_t cap = 6 * MIB;
	uint8_t *a = malloc(cap), *b = malloc(cap);
	int n = file_list(img, ents, 64);
	uint64_t rnd = 88172645463325252ull;

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_ge(n, min_files);
	for (int i = 0; i < n; i++) {
		struct bv_ext4_inode inode;
		char path[8192];
		int sfd;

		snprintf(path, sizeof(path), "%s/%s", srcdir, ents[i].name);
		sfd = open(path, O_RDONLY);
		ck_assert_int_ge(sfd, 0);
		ck_assert_int_eq(bv_ext4_inode_get(fs, ents[i].ino, &inode), 0);
		ck_assert_uint_eq(inode.size, (uint64_t)lseek(sfd, 0, SEEK_END));
		if (extents >= 0 && !(inode.flags & EXT4_INLINE_DATA_FL))
			ck_assert_msg(!!(inode.flags & EXT4_EXTENTS_FL) == extents,
				      "%s: %s is not %s-mapped as the image should be", img,
				      ents[i].name, extents ? "extent" : "block");

		if (inode.size + 1 <= cap)
			cmp_range(fs, &inode, sfd, 0, (size_t)inode.size + 1, a, b, ents[i].name);
		for (uint64_t off = 0; off < inode.size; off += MIB)
			cmp_range(fs, &inode, sfd, off, MIB, a, b, ents[i].name);
		if (inode.size <= 8 * MIB)
			for (uint64_t off = 0; off < inode.size; off += 12289)
				cmp_range(fs, &inode, sfd, off, 12289, a, b, ents[i].name);
		for (int k = 0; k < 64 && inode.size; k++) {
			rnd ^= rnd << 13;
			rnd ^= rnd >> 7;
			rnd ^= rnd << 17;
			uint64_t off = rnd % (inode.size + 100);
			size_t len = (size_t)(rnd >> 40) % (300 * 1024) + 1;

			cmp_range(fs, &inode, sfd, off, len, a, b, ents[i].name);
		}
		close(sfd);
	}
	free(a);
	free(b);
	bv_ext4_close(fs);
	bv_source_close(src);
}

static void file_image_test(const char *name, const char *opts, int extents)
{
	const char *srcdir = file_srcdir();
	const char *img;

	ck_assert_ptr_nonnull(srcdir);
	img = bv_test_mkfs(name, opts, srcdir, "96M");
	ck_assert_msg(img != NULL, "mkfs %s failed", name);
	file_compare_all(img, srcdir, (int)(sizeof(file_sizes) / sizeof(file_sizes[0])) + 3,
			 extents);
}

START_TEST(test_file_read_ext4_4k_matches_source) { file_image_test("file-ext4-4k", "-b 4096 " FILE_EXT4_OPTS, 1); }
END_TEST
START_TEST(test_file_read_ext4_1k_matches_source) { file_image_test("file-ext4-1k", "-b 1024 " FILE_EXT4_OPTS, 1); }
END_TEST
START_TEST(test_file_read_ext2_1k_matches_source) { file_image_test("file-ext2-1k", "-t ext2 -b 1024", 0); }
END_TEST
START_TEST(test_file_read_ext3_4k_matches_source) { file_image_test("file-ext3-4k", "-t ext3 -b 4096", 0); }
END_TEST
START_TEST(test_file_read_ext4_no_extents_matches_source) { file_image_test("file-ext4-noext", "-b 4096 -O ^extent,^64bit", 0); }
END_TEST
START_TEST(test_file_read_inline_data_matches_source)
{
	const char *srcdir = file_srcdir_small();
	const char *img;
	struct file_ent ents[32];
	int n, inl = 0;

	ck_assert_ptr_nonnull(srcdir);
	img = bv_test_mkfs("file-inline", "-b 4096 " FILE_EXT4_OPTS ",inline_data", srcdir, "16M");
	ck_assert_ptr_nonnull(img);
	file_compare_all(img, srcdir, (int)(sizeof(small_sizes) / sizeof(small_sizes[0])), 1);

	/* The fixture really has inline files (else this tested block maps only). */
	struct bv_source *src;
	struct bv_ext4 *fs = file_open(img, &src);
	n = file_list(img, ents, 32);
	for (int i = 0; i < n; i++) {
		struct bv_ext4_inode inode;

		ck_assert_int_eq(bv_ext4_inode_get(fs, ents[i].ino, &inode), 0);
		inl += (inode.flags & EXT4_INLINE_DATA_FL) != 0;
	}
	ck_assert_int_ge(inl, 5);
	bv_ext4_close(fs);
	bv_source_close(src);
}
END_TEST
START_TEST(test_file_read_bigalloc_matches_source) { file_image_test("file-bigalloc", "-b 4096 -C 16384 " FILE_EXT4_OPTS ",bigalloc", 1); }
END_TEST
/* Bigalloc with 1 KiB blocks: 16 blocks per cluster, 8192 clusters (131072 blocks) per group. */
START_TEST(test_file_read_bigalloc_1k_matches_source) { file_image_test("file-bigalloc-1k", "-b 1024 -C 16384 -g 8192 " FILE_EXT4_OPTS ",bigalloc", 1); }
END_TEST

/* Triple indirect with 4 KiB blocks starts past 4 GiB: a sparse file with data there. */
START_TEST(test_file_read_ext3_triple_indirect)
{
	char dir[512], path[600];
	const uint64_t at = 4608ull * MIB + 1000; /* block 1179898: triple indirect */
	struct bv_source *src;
	struct bv_ext4 *fs;
	struct bv_ext4_inode inode;
	struct file_ent ents[4];
	uint8_t *a = malloc(2 * MIB), *b = malloc(2 * MIB);
	const char *img;
	int fd;

	snprintf(dir, sizeof(dir), "%s/file-src-5g", bv_test_tmpdir());
	snprintf(path, sizeof(path), "%s/big", dir);
	ck_assert_int_eq(bv_test_sh("mkdir -p '%s'", dir), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_at(fd, at, 10000, 7), 0);
	ck_assert_int_eq(ftruncate(fd, 5120ll * MIB), 0);
	close(fd);
	img = bv_test_mkfs("file-ext3-5g", "-t ext3 -b 4096", dir, "32M");
	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(file_list(img, ents, 4), 1);
	fs = file_open(img, &src);
	ck_assert_int_eq(bv_ext4_inode_get(fs, ents[0].ino, &inode), 0);
	ck_assert(!(inode.flags & EXT4_EXTENTS_FL));
	fd = open(path, O_RDONLY);
	cmp_range(fs, &inode, fd, at - MIB, 2 * MIB, a, b, "big");
	cmp_range(fs, &inode, fd, at + 5000, 2 * MIB, a, b, "big");
	cmp_range(fs, &inode, fd, 5120ull * MIB - 100, 2 * MIB, a, b, "big");
	cmp_range(fs, &inode, fd, 0, 2 * MIB, a, b, "big");
	close(fd);
	bv_ext4_close(fs);
	bv_source_close(src);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_file_read_clamps_to_isize)
{
	const char *srcdir = file_srcdir();
	const char *img;
	struct file_ent ents[64];
	struct bv_source *src;
	struct bv_ext4 *fs;
	struct bv_ext4_inode inode;
	uint8_t buf[64];
	int n, i;

	ck_assert_ptr_nonnull(srcdir);
	img = bv_test_mkfs("file-ext4-4k", "-b 4096 " FILE_EXT4_OPTS, srcdir, "96M");
	ck_assert_ptr_nonnull(img);
	n = file_list(img, ents, 64);
	for (i = 0; i < n && strcmp(ents[i].name, "size_4097") != 0; i++)
		;
	ck_assert_int_lt(i, n);
	fs = file_open(img, &src);
	ck_assert_int_eq(bv_ext4_inode_get(fs, ents[i].ino, &inode), 0);
	ck_assert_uint_eq(inode.size, 4097);
	/* At and past the end: 0. */
	ck_assert_int_eq(bv_ext4_file_read(fs, &inode, buf, sizeof(buf), 4097), 0);
	ck_assert_int_eq(bv_ext4_file_read(fs, &inode, buf, sizeof(buf), UINT64_MAX), 0);
	ck_assert_int_eq(bv_ext4_file_read(fs, &inode, buf, 0, 0), 0);
	/* Straddling: short. A huge LEN is fine when i_size bounds it (no overflow). */
	ck_assert_int_eq(bv_ext4_file_read(fs, &inode, buf, sizeof(buf), 4090), 7);
	ck_assert_int_eq(bv_ext4_file_read(fs, &inode, buf, SIZE_MAX, 4096), 1);
	uint8_t want;
	fill(&want, 1, 4096, 9); /* size_4097 is index 9 in file_sizes */
	ck_assert_uint_eq(buf[0], want);
	bv_ext4_close(fs);
	bv_source_close(src);
}
END_TEST

/* A 64 MiB contiguous file answers each 1 MiB request with one mapped run. The reads
 * between the two marker syscalls (access() of paths that do not exist) are what the
 * pread count below measures, when this tcase is run again under strace. */
START_TEST(test_file_read_contiguous_one_run_per_request)
{
	char dir[512], path[600];
	struct file_ent ents[4];
	struct bv_source *src;
	struct bv_ext4 *fs;
	struct bv_ext4_inode inode;
	const char *img;
	uint8_t *a = malloc(MIB), *b = malloc(MIB);
	int fd;

	snprintf(dir, sizeof(dir), "%s/file-src-64m", bv_test_tmpdir());
	snprintf(path, sizeof(path), "%s/kernel", dir);
	ck_assert_int_eq(bv_test_sh("mkdir -p '%s'", dir), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_at(fd, 0, 64 * MIB, 64), 0);
	close(fd);
	img = bv_test_mkfs("file-64m", "-b 4096 " FILE_EXT4_OPTS, dir, "128M");
	ck_assert_ptr_nonnull(img);
	ck_assert_int_eq(file_list(img, ents, 4), 1);
	fs = file_open(img, &src);
	ck_assert_int_eq(bv_ext4_inode_get(fs, ents[0].ino, &inode), 0);
	for (uint64_t off = 0; off < 64 * MIB; off += MIB) {
		struct bv_ext4_map m;

		ck_assert_int_eq(bv_ext4_map_blocks(fs, &inode, off / 4096, 256, &m), 0);
		ck_assert(!m.hole && !m.unwritten);
		ck_assert_uint_eq(m.len, 256);
	}
	(void)access("/BV-PREAD-START", F_OK);
	for (uint64_t off = 0; off < 64 * MIB; off += MIB)
		ck_assert_int_eq(bv_ext4_file_read(fs, &inode, a, MIB, off), MIB);
	(void)access("/BV-PREAD-END", F_OK);
	fd = open(path, O_RDONLY);
	for (uint64_t off = 0; off < 64 * MIB; off += MIB)
		cmp_range(fs, &inode, fd, off, MIB, a, b, "kernel");
	close(fd);
	bv_ext4_close(fs);
	bv_source_close(src);
	free(a);
	free(b);
}
END_TEST

/* The test above, run again under strace: exactly one pread per 1 MiB request. (LSan
 * cannot run under ptrace, hence detect_leaks=0 for the sanitizer build.) */
START_TEST(test_file_read_contiguous_one_pread_per_request)
{
	char log[600], line[1024];
	int started = 0, ended = 0, preads = 0;
	FILE *f;

	if (!bv_test_have("strace")) {
		bv_test_skip("test_file_read_contiguous_one_pread_per_request", "no strace");
		return;
	}
	snprintf(log, sizeof(log), "%s/file-pread.strace", bv_test_tmpdir());
	ck_assert_int_eq(bv_test_sh("ASAN_OPTIONS=detect_leaks=0 CK_RUN_SUITE=file CK_RUN_CASE=pread strace -f -qq "
				    "-e trace=pread64,access,faccessat,faccessat2 -o '%s' "
				    "/proc/%d/exe file >/dev/null 2>&1",
				    log, (int)getpid()),
			 0);
	f = fopen(log, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "BV-PREAD-START"))
			started = 1;
		else if (strstr(line, "BV-PREAD-END"))
			ended = started;
		else if (started && !ended && strstr(line, "pread64("))
			preads++;
	}
	fclose(f);
	ck_assert(started && ended);
	ck_assert_int_eq(preads, 64);
}
END_TEST

/* An image the kernel wrote: fallocate'd (unwritten) extents partly written, unwritten
 * extents past i_size, holes after them, and two files written a block at a time in turn
 * (nodelalloc, fsync each) so their extents interleave on disk. The kernel's own read, through a read-only loop
 * mount, is what we must return: it is copied to fk-expect/ as the reference. */
static const char *file_kernel_img(void)
{
	static char img[512];
	const char *fresh;

	snprintf(img, sizeof(img), "%s/file-kernel-rw.img", bv_test_tmpdir());
	if (access(img, F_OK) == 0)
		return img;
	fresh = bv_test_mkfs("file-kernel", "-b 4096 " FILE_EXT4_OPTS, NULL, "32M");
	if (!fresh)
		return NULL;
	if (bv_test_sh(
		    "f='%s'; i='%s'; d='%s'; m=$d/fk-mnt;"
		    "cp \"$f\" \"$i.tmp\" && mkdir -p $m $d/fk-expect || exit 1;"
		    "dev=$(losetup -f --show \"$i.tmp\") || exit 1;"
		    "if mount -t ext4 -o nodelalloc $dev $m; then"
		    " ( fallocate -l 1M $m/prealloc &&"
		    "   dd if=/dev/urandom of=$m/prealloc bs=4096 seek=10 count=3 conv=notrunc &&"
		    "   dd if=/dev/urandom of=$m/prealloc bs=1 seek=200000 count=77 conv=notrunc &&"
		    "   printf hello > $m/keep && fallocate -n -l 2M $m/keep &&"
		    "   fallocate -l 300K $m/mixed &&"
		    "   dd if=/dev/urandom of=$m/mixed bs=1 seek=100000 count=5000 conv=notrunc &&"
		    "   truncate -s 1M $m/mixed &&"
		    "   dd if=/dev/urandom of=$m/plain bs=4096 count=300 &&"
		    "   for n in $(seq 0 149); do"
		    "    for x in inter_a inter_b; do"
		    "     dd if=/dev/urandom of=$m/$x bs=4096 seek=$n count=1 conv=notrunc,fsync"
		    "        status=none || exit 1;"
		    "   done; done && sync ) >/dev/null 2>&1;"
		    " rc=$?; umount $m;"
		    "else rc=1; fi;"
		    "losetup -d $dev; [ $rc = 0 ] || exit 1;"
		    "dev=$(losetup -r -f --show \"$i.tmp\") || exit 1;"
		    "if mount -t ext4 -o ro $dev $m; then"
		    " cp $m/prealloc $m/keep $m/mixed $m/plain $m/inter_a $m/inter_b $d/fk-expect/;"
		    " rc=$?; umount $m;"
		    "else rc=1; fi;"
		    "losetup -d $dev; [ $rc = 0 ] && mv \"$i.tmp\" \"$i\"",
		    fresh, img, bv_test_tmpdir()) != 0)
		return NULL;
	return img;
}

START_TEST(test_file_read_unwritten_matches_kernel)
{
	const char *img;
	char expect[512];

	if (!bv_test_is_root() || !bv_test_have("losetup")) {
		bv_test_skip("test_file_read_unwritten_matches_kernel", "needs root and losetup");
		return;
	}
	img = file_kernel_img();
	if (!img) {
		bv_test_skip("test_file_read_unwritten_matches_kernel",
			     "could not mount a loop device rw (no loop or ext4 support?)");
		return;
	}
	snprintf(expect, sizeof(expect), "%s/fk-expect", bv_test_tmpdir());
	file_compare_all(img, expect, 6, 1);

	/* The fixture has what it claims: unwritten extents inside and past i_size. */
	struct file_ent ents[8];
	struct bv_source *src;
	struct bv_ext4 *fs = file_open(img, &src);
	int n = file_list(img, ents, 8), seen = 0;
	int runs = 0;

	for (int i = 0; i < n; i++) {
		struct bv_ext4_inode inode;
		struct bv_ext4_map m;

		ck_assert_int_eq(bv_ext4_inode_get(fs, ents[i].ino, &inode), 0);
		if (strcmp(ents[i].name, "prealloc") == 0) {
			ck_assert_int_eq(bv_ext4_map_blocks(fs, &inode, 0, 256, &m), 0);
			ck_assert(m.unwritten && !m.hole);
			ck_assert_uint_eq(m.len, 10);
			ck_assert_int_eq(bv_ext4_map_blocks(fs, &inode, 10, 256, &m), 0);
			ck_assert(!m.unwritten && !m.hole);
			/* Unwritten extents are holes to SEEK_DATA, as on an uncached kernel file. */
			uint64_t pos;
			ck_assert_int_eq(bv_ext4_file_seek(fs, &inode, 0, true, &pos), 0);
			ck_assert_uint_eq(pos, 10 * 4096);
			ck_assert_int_eq(bv_ext4_file_seek(fs, &inode, 0, false, &pos), 0);
			ck_assert_uint_eq(pos, 0);
			seen++;
		} else if (strcmp(ents[i].name, "keep") == 0) {
			ck_assert_uint_eq(inode.size, 5);
			ck_assert_int_eq(bv_ext4_map_blocks(fs, &inode, 1, 256, &m), 0);
			ck_assert(m.unwritten && !m.hole);
			seen++;
		} else if (strcmp(ents[i].name, "inter_a") == 0) {
			ck_assert_uint_eq(inode.size, 150 * 4096);
			for (uint64_t l = 0; l < 150; l += m.len, runs++) {
				ck_assert_int_eq(bv_ext4_map_blocks(fs, &inode, l, 150, &m), 0);
				ck_assert(!m.hole && !m.unwritten);
			}
			seen++;
		}
	}
	ck_assert_int_eq(seen, 3);
	ck_assert_int_ge(runs, 4); /* really fragmented */
	bv_ext4_close(fs);
	bv_source_close(src);
}
END_TEST

/* ---- SEEK_DATA / SEEK_HOLE ---- */

/* Expects bv_ext4_file_seek(OFF, DATA) to give WANT (a byte offset, or -errno). */
static void seek_expect(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, const char *name,
			uint64_t off, bool data, int64_t want)
{
	uint64_t got = 0;
	int err = bv_ext4_file_seek(fs, inode, off, data, &got);

	if (want < 0)
		ck_assert_msg(err == want, "%s: %s(%llu): %d, want %lld", name,
			      data ? "SEEK_DATA" : "SEEK_HOLE", (unsigned long long)off, err,
			      (long long)want);
	else
		ck_assert_msg(err == 0 && got == (uint64_t)want, "%s: %s(%llu): %d/%llu, want %lld",
			      name, data ? "SEEK_DATA" : "SEEK_HOLE", (unsigned long long)off, err,
			      (unsigned long long)got, (long long)want);
}

static uint64_t round_up(uint64_t x, uint64_t bs)
{
	return (x + bs - 1) / bs * bs;
}

/* The files of file_srcdir() have holes where their source has them, to the image's block
 * (mke2fs -d copies only the source's data and skips blocks of zeros): SEEK_DATA and
 * SEEK_HOLE must find each edge, rounded to blocks, and ENXIO past the end, for extent
 * trees (1 and 4 KiB blocks) and indirect maps (ext2 1 KiB, triple indirect; ext3). */
static const struct {
	const char *name, *opts;
	uint32_t bs;
} seek_images[] = {
	{ "file-ext4-4k", "-b 4096 " FILE_EXT4_OPTS, 4096 },
	{ "file-ext4-1k", "-b 1024 " FILE_EXT4_OPTS, 1024 },
	{ "file-ext2-1k", "-t ext2 -b 1024", 1024 },
	{ "file-ext3-4k", "-t ext3 -b 4096", 4096 },
};

START_TEST(test_file_seek_finds_every_hole_edge)
{
	const char *srcdir = file_srcdir();
	const uint64_t bs = seek_images[_i].bs;
	struct file_ent ents[64];
	struct bv_source *src;
	struct bv_ext4 *fs;
	const char *img;
	int n, seen = 0;

	ck_assert_ptr_nonnull(srcdir);
	img = bv_test_mkfs(seek_images[_i].name, seek_images[_i].opts, srcdir, "96M");
	ck_assert_ptr_nonnull(img);
	fs = file_open(img, &src);
	n = file_list(img, ents, 64);
	for (int i = 0; i < n; i++) {
		const char *nm = ents[i].name;
		struct bv_ext4_inode in;

		ck_assert_int_eq(bv_ext4_inode_get(fs, ents[i].ino, &in), 0);
		if (strcmp(nm, "sparse_mid") == 0) {
			/* 5000 bytes, a hole, 7000 bytes at 1 MiB + 333, a hole to 3 MiB. */
			seek_expect(fs, &in, nm, 0, true, 0);
			seek_expect(fs, &in, nm, 4999, true, 4999);
			seek_expect(fs, &in, nm, 0, false, (int64_t)round_up(5000, bs));
			seek_expect(fs, &in, nm, round_up(5000, bs), false, (int64_t)round_up(5000, bs));
			seek_expect(fs, &in, nm, round_up(5000, bs), true, MIB);
			seek_expect(fs, &in, nm, MIB - 1, true, MIB);
			seek_expect(fs, &in, nm, MIB, false, MIB + (int64_t)round_up(7333, bs));
			seek_expect(fs, &in, nm, MIB + round_up(7333, bs), true, -ENXIO);
			seek_expect(fs, &in, nm, 3 * MIB - 1, false, 3 * MIB - 1);
			seek_expect(fs, &in, nm, 3 * MIB, false, -ENXIO);
			seek_expect(fs, &in, nm, 3 * MIB, true, -ENXIO);
			seen++;
		} else if (strcmp(nm, "sparse_1g") == 0) {
			/* 100 bytes, then 8192 at 512 MiB + 100, in 1 GiB (triple indirect at 1 KiB). */
			seek_expect(fs, &in, nm, 0, false, (int64_t)bs);
			seek_expect(fs, &in, nm, bs, true, 512 * MIB);
			seek_expect(fs, &in, nm, 512 * MIB, false, 512 * MIB + (int64_t)round_up(8292, bs));
			seek_expect(fs, &in, nm, 512 * MIB + round_up(8292, bs), true, -ENXIO);
			seek_expect(fs, &in, nm, 1024 * MIB - 1, false, 1024 * MIB - 1);
			seen++;
		} else if (strcmp(nm, "stride") == 0) {
			/* 1500 blocks of 4 KiB, one every 8 KiB: walk every data run. */
			uint64_t pos = 0, d, h;
			int runs = 0;

			while (bv_ext4_file_seek(fs, &in, pos, true, &d) == 0) {
				ck_assert_uint_eq(d, (uint64_t)runs * 8192);
				ck_assert_int_eq(bv_ext4_file_seek(fs, &in, d, false, &h), 0);
				ck_assert_uint_eq(h, d + 4096);
				runs++;
				pos = h;
				if (h >= in.size)
					break;
			}
			ck_assert_int_eq(runs, 1500);
			seen++;
		} else if (strcmp(nm, "size_0") == 0) {
			seek_expect(fs, &in, nm, 0, true, -ENXIO);
			seek_expect(fs, &in, nm, 0, false, -ENXIO);
			seen++;
		} else if (strcmp(nm, "size_1048576") == 0) {
			seek_expect(fs, &in, nm, 0, false, MIB);
			seek_expect(fs, &in, nm, MIB - 1, true, MIB - 1);
			seek_expect(fs, &in, nm, MIB - 1, false, MIB);
			seen++;
		}
	}
	ck_assert_int_eq(seen, 5);
	bv_ext4_close(fs);
	bv_source_close(src);
}
END_TEST

/* Inline data is all data: SEEK_HOLE is i_size wherever it starts. */
START_TEST(test_file_seek_inline_is_all_data)
{
	const char *srcdir = file_srcdir_small();
	struct file_ent ents[32];
	struct bv_source *src;
	struct bv_ext4 *fs;
	const char *img;
	int n, inl = 0;

	ck_assert_ptr_nonnull(srcdir);
	img = bv_test_mkfs("file-inline", "-b 4096 " FILE_EXT4_OPTS ",inline_data", srcdir, "16M");
	ck_assert_ptr_nonnull(img);
	fs = file_open(img, &src);
	n = file_list(img, ents, 32);
	for (int i = 0; i < n; i++) {
		struct bv_ext4_inode in;

		ck_assert_int_eq(bv_ext4_inode_get(fs, ents[i].ino, &in), 0);
		if (!(in.flags & EXT4_INLINE_DATA_FL) || in.size == 0)
			continue;
		inl++;
		seek_expect(fs, &in, ents[i].name, 0, true, 0);
		seek_expect(fs, &in, ents[i].name, 0, false, (int64_t)in.size);
		seek_expect(fs, &in, ents[i].name, in.size - 1, false, (int64_t)in.size);
		seek_expect(fs, &in, ents[i].name, in.size, true, -ENXIO);
	}
	ck_assert_int_ge(inl, 4);
	bv_ext4_close(fs);
	bv_source_close(src);
}
END_TEST

/* The e2fsprogs corpus, mostly corrupt: every inode of every image that opens is read at
 * a few places; each read returns a count within the request or -errno, never crashes
 * (run under ASan and UBSan) and never writes past what it returned. */
START_TEST(test_file_read_corpus_returns_cleanly)
{
	const char *dir = bv_test_corpus_dir();
	const size_t len = 256 * 1024;
	uint8_t *buf = malloc(len + 64);
	char cmd[4300], name[1024];
	int images = 0, reads = 0;
	FILE *ls;

	if (!dir) {
		bv_test_skip("test_file_read_corpus_returns_cleanly", bv_test_corpus_missing());
		free(buf);
		return;
	}
	ck_assert_ptr_nonnull(buf);
	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -E '\\.(img|image)(\\.gz|\\.bz2)?$'", dir);
	ls = popen(cmd, "r");
	ck_assert_ptr_nonnull(ls);
	while (fgets(name, sizeof(name), ls)) {
		char path[8192];
		uint8_t *img;
		size_t img_len;
		struct bv_source *src;
		struct bv_ext4 *fs;

		name[strcspn(name, "\n")] = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (bv_test_slurp(path, &img, &img_len) != 0)
			continue;
		if (bv_source_open_mem(img, img_len, &src) != 0) {
			free(img);
			continue;
		}
		if (bv_ext4_open(src, NULL, &fs, NULL, 0) == 0) {
			uint32_t max = fs->sb.s_inodes_count < 2048 ? fs->sb.s_inodes_count : 2048;

			images++;
			for (uint32_t ino = 1; ino <= max; ino++) {
				struct bv_ext4_inode inode;

				if (bv_ext4_inode_get(fs, ino, &inode) != 0)
					continue;
				const uint64_t offs[] = { 0, inode.size / 2, inode.size - 1, 4095 };
				for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
					memset(buf + len, 0x5A, 64);
					ssize_t n = bv_ext4_file_read(fs, &inode, buf, len, offs[k]);

					ck_assert_int_le(n, (ssize_t)len);
					ck_assert(n >= 0 || n == -EUCLEAN || n == -EBADMSG ||
						  n == -EIO || n == -EINVAL || n == -EOPNOTSUPP ||
						  n == -ENOMEM || n == -EFBIG);
					for (int j = 0; j < 64; j++)
						ck_assert_uint_eq(buf[len + j], 0x5A);
					reads++;
					/* SEEK_DATA/SEEK_HOLE answer inside the file or fail. */
					for (int w = 0; w < 2; w++) {
						uint64_t pos = 0;
						int e = bv_ext4_file_seek(fs, &inode, offs[k], w, &pos);

						ck_assert(e == 0 || e == -ENXIO || e == -EUCLEAN ||
							  e == -EBADMSG || e == -EIO || e == -EINVAL ||
							  e == -ENOMEM);
						ck_assert(e != 0 || (pos >= offs[k] && pos <= inode.size));
					}
				}
			}
			bv_ext4_close(fs);
		}
		bv_source_close(src);
		free(img);
	}
	pclose(ls);
	free(buf);
	printf("file corpus: %d images opened, %d reads\n", images, reads);
	ck_assert_int_gt(images, 20);
	ck_assert_int_gt(reads, 1000);
}
END_TEST

static Suite *file_suite(void)
{
	Suite *s = suite_create("file");
	TCase *tc = tcase_create("images");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_file_read_ext4_4k_matches_source);
	tcase_add_test(tc, test_file_read_ext4_1k_matches_source);
	tcase_add_test(tc, test_file_read_ext2_1k_matches_source);
	tcase_add_test(tc, test_file_read_ext3_4k_matches_source);
	tcase_add_test(tc, test_file_read_ext4_no_extents_matches_source);
	tcase_add_test(tc, test_file_read_bigalloc_matches_source);
	tcase_add_test(tc, test_file_read_bigalloc_1k_matches_source);
	tcase_add_test(tc, test_file_read_inline_data_matches_source);
	tcase_add_test(tc, test_file_read_ext3_triple_indirect);
	tcase_add_test(tc, test_file_read_clamps_to_isize);
	tcase_add_test(tc, test_file_read_contiguous_one_pread_per_request);
	tcase_add_test(tc, test_file_read_unwritten_matches_kernel);
	tcase_add_test(tc, test_file_read_corpus_returns_cleanly);
	tcase_add_loop_test(tc, test_file_seek_finds_every_hole_edge, 0,
			    (int)(sizeof(seek_images) / sizeof(seek_images[0])));
	tcase_add_test(tc, test_file_seek_inline_is_all_data);
	suite_add_tcase(s, tc);

	/* Its own tcase so the pread count can run it alone (CK_RUN_CASE=pread). */
	TCase *tp = tcase_create("pread");
	tcase_set_timeout(tp, 120);
	tcase_add_test(tp, test_file_read_contiguous_one_run_per_request);
	suite_add_tcase(s, tp);
	return s;
}
BV_SUITE(file_suite)
