/* The JBD2 journal replayed in memory: clean journals, real crashed filesystems made by the
 * kernel (shut down with FS_IOC_SHUTDOWN / LOGFLUSH, so commits sit in the log and not at
 * home) compared block by block with e2fsck's replay, the e2fsprogs j_* images, and one
 * broken field at a time for each validation rule. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/ext4/ext4_priv.h"
#include "fs/ext4/journal.h"
#include "util/le.h"
#include "tests/testutil.h"

/* _IOR('X', 125, __u32) and its LOGFLUSH flag: commit the log, then stop all I/O. */
#define EXT4_IOC_SHUTDOWN 0x8004587Du
#define EXT4_GOING_FLAGS_LOGFLUSH 0x1u

/* One opened image: its bytes in memory (so a test may break one field) or a file. */
struct img {
	uint8_t *buf;
	size_t len;
	struct bv_source *src;
	struct bv_ext4 *fs;
	char err[256];
};

static void img_close(struct img *m)
{
	bv_ext4_close(m->fs);
	bv_source_close(m->src);
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

/* Opens the bytes already in M->buf. Returns bv_ext4_open's result. */
static int img_open_mem(struct img *m, bool skip_journal)
{
	struct bv_ext4_opts o = { .skip_journal = skip_journal };
	int err = bv_source_open_mem(m->buf, m->len, &m->src);

	ck_assert_int_eq(err, 0);
	m->err[0] = 0;
	return bv_ext4_open(m->src, &o, &m->fs, m->err, sizeof(m->err));
}

static int img_load(struct img *m, const char *path)
{
	memset(m, 0, sizeof(*m));
	return bv_test_slurp(path, &m->buf, &m->len);
}

static bool can_mount(const char *test)
{
	if (!bv_test_is_root()) {
		bv_test_skip(test, "needs root for a loop mount");
		return false;
	}
	if (!bv_test_have("e2fsck") || !bv_test_have("mkfs.ext4")) {
		bv_test_skip(test, "needs e2fsprogs");
		return false;
	}
	return true;
}

/* The files the crash script writes, checked through the reader afterwards. */
static const char *const crash_files[] = {
	"f1", "f2", "f4", "f9", "f17", "f24", "d/x", "g1", "g2", "g3", "esc", "late",
};

/* Builds NAME-crash.img: a fresh filesystem (MKFS_OPTS, SIZE) mounted by the kernel with
 * MOUNT_OPTS, files written and fsynced, a directory removed (revoke records), then
 * FS_IOC_SHUTDOWN with LOGFLUSH. The image is copied while still mounted: unmounting an
 * aborted journal still checkpoints it, which would leave nothing to replay. Also makes
 * NAME-oracle.img, the same bytes replayed by `e2fsck -E journal_only`. Built once per run.
 * Returns the crash image path (static) or NULL after a skip message. */
static const char *crash_image(const char *test, const char *name, const char *mkfs_opts,
			       const char *size, const char *mount_opts, const char *extra)
{
	static char snap[512];
	const char *t = bv_test_tmpdir();
	char live[512], mnt[512], oracle[512];
	const char *base;
	uint32_t flag = EXT4_GOING_FLAGS_LOGFLUSH;
	struct stat st;
	int fd, rc;

	snprintf(snap, sizeof(snap), "%s/%s-crash.img", t, name);
	snprintf(oracle, sizeof(oracle), "%s/%s-oracle.img", t, name);
	if (stat(snap, &st) == 0 && stat(oracle, &st) == 0)
		return snap;
	base = bv_test_mkfs(name, mkfs_opts, NULL, size);
	ck_assert_msg(base != NULL, "mkfs %s failed", mkfs_opts);
	snprintf(live, sizeof(live), "%s/%s-live.img", t, name);
	snprintf(mnt, sizeof(mnt), "%s/%s-mnt", t, name);
	ck_assert_int_eq(bv_test_sh("cp '%s' '%s' && mkdir -p '%s'", base, live, mnt), 0);
	if (bv_test_sh("mount -t ext4 -o loop%s%s '%s' '%s' 2>/dev/null", mount_opts ? "," : "",
		       mount_opts ? mount_opts : "", live, mnt) != 0) {
		bv_test_skip(test, "kernel loop mount failed");
		return NULL;
	}
	/* Small files, a directory made and removed after a commit (its blocks are then
	 * revoked), fsynced files (each fsync commits a transaction), and a file whose data
	 * starts with the JBD2 magic (escaped when data=journal). */
	rc = bv_test_sh(
		"cd '%s' && for i in $(seq 1 24); do head -c $((i * 3001 + 7)) /dev/urandom > f$i; done"
		" && mkdir d rmd && echo hello > d/x && for i in $(seq 1 40); do echo $i > rmd/e$i; done"
		" && sync -f . && rm -rf rmd f3"
		" && for i in 1 2 3; do dd if=/dev/urandom of=g$i bs=4k count=10 conv=fsync 2>/dev/null; done"
		" && printf '\\300\\073\\071\\230escaped block' > esc && head -c 5000 /dev/urandom >> esc"
		" && sync esc && echo late > late && sync late%s",
		mnt, extra ? extra : "");
	fd = open(mnt, O_RDONLY | O_DIRECTORY);
	if (rc == 0 && fd >= 0)
		rc = ioctl(fd, EXT4_IOC_SHUTDOWN, &flag);
	if (fd >= 0)
		close(fd);
	if (rc == 0)
		rc = bv_test_sh("cp --sparse=always '%s' '%s'", live, snap);
	bv_test_sh("umount '%s'", mnt);
	ck_assert_msg(rc == 0, "crash script failed");
	/* e2fsck exits 0 or 1 (fixed) after replaying the journal and nothing else. */
	rc = bv_test_sh("cp --sparse=always '%s' '%s.tmp' && e2fsck -E journal_only -y '%s.tmp' "
			">'%s.log' 2>&1; test $? -le 1 && mv '%s.tmp' '%s'",
			snap, oracle, oracle, oracle, oracle, oracle);
	ck_assert_msg(rc == 0, "e2fsck replay of %s failed", snap);
	return snap;
}

/* The block holding byte 1024 (the primary superblock): e2fsck rewrites it after replay
 * (RECOVER cleared), so it is not compared. */
static uint64_t sb_block(const struct bv_ext4 *fs)
{
	return 1024 / fs->sb.block_size;
}

static bool is_journal_sb(const uint8_t *b)
{
	uint32_t t = bv_be32(b + 4);

	return bv_be32(b) == JBD2_MAGIC_NUMBER && (t == JBD2_SUPERBLOCK_V1 || t == JBD2_SUPERBLOCK_V2);
}

/* Every block of the filesystem as the reader sees it (overlay first, else the image)
 * must equal ORACLE's block, but for the superblock and the journal superblock, which
 * the replayer rewrites. Returns how many blocks differ. */
static uint64_t diff_with_oracle(struct img *m, const char *oracle, uint64_t *escaped)
{
	struct bv_ext4 *fs = m->fs;
	uint32_t bs = fs->sb.block_size;
	uint8_t *want = malloc(bs);
	uint64_t bad = 0;
	int fd = open(oracle, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	for (uint64_t b = 0; b < fs->sb.s_blocks_count; b++) {
		struct bv_cache_ref ref = { 0 };
		const uint8_t *got;
		int err = 0;

		ck_assert_int_eq(pread(fd, want, bs, (off_t)(b * bs)), (ssize_t)bs);
		if (bv_journal_lookup(fs, b, &ref, &err)) {
			ck_assert_int_eq(err, 0);
			got = ref.data;
			/* Escaped blocks come from memory, not the cache. */
			if (!ref.priv && escaped)
				(*escaped)++;
		} else {
			ck_assert((b + 1) * bs <= m->len);
			got = m->buf + b * bs;
		}
		if (b != sb_block(fs) && !is_journal_sb(want) && memcmp(got, want, bs) != 0) {
			if (bad < 5)
				fprintf(stderr, "block %llu differs from the replayed copy\n",
					(unsigned long long)b);
			bad++;
		}
		bv_cache_put(fs->cache, &ref);
	}
	close(fd);
	free(want);
	return bad;
}

/* Reads PATH through the reader and compares it with the kernel's view under MNT.
 * Returns false (after saying why) so the caller can unmount before asserting. */
static bool file_matches(struct bv_ext4 *fs, const char *mnt, const char *path)
{
	char full[600], rel[300];
	struct bv_ext4_inode inode;
	uint32_t ino;
	uint8_t *got = malloc(1 << 20), *want = malloc(1 << 20);
	ssize_t n = -1, w = -1;
	bool ok = false;
	int fd;

	snprintf(full, sizeof(full), "%s/%s", mnt, path);
	snprintf(rel, sizeof(rel), "/%s", path);
	fd = open(full, O_RDONLY);
	if (fd >= 0) {
		w = read(fd, want, 1 << 20);
		close(fd);
	}
	if (got && want && w >= 0 && bv_test_resolve(fs, rel, 0, &ino) == 0 &&
	    bv_ext4_inode_get(fs, ino, &inode) == 0) {
		n = bv_ext4_file_read(fs, &inode, got, 1 << 20, 0);
		ok = n == w && memcmp(got, want, (size_t)n) == 0;
	}
	if (!ok)
		fprintf(stderr, "%s: reader gives %zd bytes, kernel %zd, or they differ\n", path, n,
			w);
	free(got);
	free(want);
	return ok;
}

/* The whole check for one crash configuration: replayed state, block-exact equality with
 * e2fsck's replay, file contents as the kernel reads them after its own replay, the image
 * file untouched. */
static void run_crash_case(const char *test, const char *name, const char *mkfs_opts,
			   const char *size, const char *mount_opts, bool want_escaped,
			   const char *extra)
{
	uint64_t escaped = 0;
	const char *p = crash_image(test, name, mkfs_opts, size, mount_opts, extra);
	char snap[512], oracle[512], mnt[512];
	struct img m;
	int err;

	if (!p)
		return;
	snprintf(snap, sizeof(snap), "%s", p);
	snprintf(oracle, sizeof(oracle), "%s/%s-oracle.img", bv_test_tmpdir(), name);
	ck_assert_int_eq(bv_test_sh("cp '%s' '%s.pristine'", snap, snap), 0);

	/* Opened from the file itself, to prove it is never written. */
	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(bv_test_slurp(snap, &m.buf, &m.len), 0);
	ck_assert_int_eq(bv_source_open(snap, &m.src), 0);
	err = bv_ext4_open(m.src, NULL, &m.fs, m.err, sizeof(m.err));
	ck_assert_msg(err == 0, "open: %d %s", err, m.err);
	ck_assert(bv_ext4_has_incompat(&m.fs->sb, EXT4_FEATURE_INCOMPAT_RECOVER));
	ck_assert_str_eq(m.fs->journal_state, "replayed");
	ck_assert_uint_gt(m.fs->journal_replayed, 0);
	ck_assert_ptr_nonnull(m.fs->journal);
	ck_assert_uint_eq(diff_with_oracle(&m, oracle, &escaped), 0);
	if (want_escaped)
		ck_assert_uint_gt(escaped, 0);

	/* The kernel replays a copy itself (read-write loop mount) and reads the files. */
	snprintf(mnt, sizeof(mnt), "%s/%s-kmnt", bv_test_tmpdir(), name);
	if (bv_test_sh("mkdir -p '%s' && cp --sparse=always '%s' '%s.kernel' && "
		       "mount -t ext4 -o loop '%s.kernel' '%s'",
		       mnt, snap, snap, snap, mnt) == 0) {
		size_t bad = 0;
		uint32_t ino;

		for (size_t i = 0; i < sizeof(crash_files) / sizeof(crash_files[0]); i++)
			bad += !file_matches(m.fs, mnt, crash_files[i]);
		bv_test_sh("umount '%s'", mnt);
		ck_assert_uint_eq(bad, 0);
		/* Removed before the crash: gone in both. */
		ck_assert_int_eq(bv_test_resolve(m.fs, "/f3", 0, &ino), -ENOENT);
		ck_assert_int_eq(bv_test_resolve(m.fs, "/rmd", 0, &ino), -ENOENT);
	} else {
		bv_test_skip(test, "kernel replay mount failed; contents not compared");
	}
	img_close(&m);
	ck_assert_int_eq(bv_test_sh("cmp -s '%s' '%s.pristine'", snap, snap), 0);
}

#define CSUM_FEATURES "-O has_journal,extent,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize"

START_TEST(test_journal_replay_csum_v3_64bit_matches_e2fsck)
{
	if (can_mount(__func__))
		run_crash_case(__func__, "jr-csum64", CSUM_FEATURES " -b 4096", "32M", NULL, false, NULL);
}
END_TEST

START_TEST(test_journal_replay_no_csum_32bit_matches_e2fsck)
{
	if (can_mount(__func__))
		run_crash_case(__func__, "jr-plain32",
			       "-O has_journal,extent,flex_bg,^metadata_csum,^64bit -b 4096", "32M",
			       NULL, false, NULL);
}
END_TEST

START_TEST(test_journal_replay_1k_blocks_matches_e2fsck)
{
	if (can_mount(__func__))
		run_crash_case(__func__, "jr-1k", CSUM_FEATURES " -b 1024", "24M", NULL, false, NULL);
}
END_TEST

/* ext3 layout (block maps, no extents), 1 KiB blocks: a journal without checksums. */
START_TEST(test_journal_replay_ext3_layout_matches_e2fsck)
{
	if (can_mount(__func__))
		run_crash_case(__func__, "jr-ext3", "-O has_journal,^extent,^64bit,^metadata_csum -b 1024",
			       "24M", NULL, false, NULL);
}
END_TEST

/* data=journal puts file data in the log, including the block starting with the JBD2
 * magic, which the journal stores escaped. */
START_TEST(test_journal_replay_data_journal_escaped_block)
{
	if (can_mount(__func__))
		run_crash_case(__func__, "jr-dataj", CSUM_FEATURES " -b 4096", "32M",
			       "data=journal", true, NULL);
}
END_TEST

/* journal_async_commit: checksummed commits that do not wait for the data. */
START_TEST(test_journal_replay_async_commit_matches_e2fsck)
{
	if (can_mount(__func__))
		run_crash_case(__func__, "jr-async", "-O has_journal,extent,^metadata_csum,64bit -b 4096",
			       "32M", "data=writeback,journal_async_commit", false, NULL);
}
END_TEST

/* A small journal (1024 blocks of 1 KiB) and hundreds of fsyncs: the kernel checkpoints
 * and the live log wraps from the end of the journal back to s_first. */
START_TEST(test_journal_replay_wrapped_log_matches_e2fsck)
{
	char snap[512];
	const char *p;

	if (!can_mount(__func__))
		return;
	run_crash_case(__func__, "jr-wrap", CSUM_FEATURES " -b 1024 -J size=1", "16M", NULL, false,
		       " && for i in $(seq 1 300); do echo $i > a$i; sync a$i; done");
	p = crash_image(__func__, "jr-wrap", NULL, NULL, NULL, NULL);
	ck_assert_ptr_nonnull(p);
	snprintf(snap, sizeof(snap), "%s", p);
	/* Make sure the case tested what it says: some live log block lies before s_start. */
	ck_assert_msg(bv_test_sh("debugfs -c -R logdump '%s' 2>/dev/null | awk '"
				 "/Journal starts at block/ { s = $5 + 0 }"
				 "/Found expected.*at block/ { if ($NF + 0 < s) w = 1 }"
				 "END { exit !w }'",
				 snap) == 0,
		      "the log did not wrap");
}
END_TEST

START_TEST(test_journal_clean_fs_is_clean)
{
	const char *p = bv_test_mkfs("jr-clean", CSUM_FEATURES, NULL, "16M");
	struct img m;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(img_load(&m, p), 0);
	ck_assert_int_eq(img_open_mem(&m, false), 0);
	ck_assert_str_eq(m.fs->journal_state, "clean");
	ck_assert_ptr_null(m.fs->journal);
	ck_assert_uint_eq(m.fs->journal_replayed, 0);
	ck_assert(!bv_journal_overlaps(m.fs->journal, 0, m.fs->sb.s_blocks_count));
	img_close(&m);
}
END_TEST

START_TEST(test_journal_none_without_has_journal)
{
	const char *p = bv_test_mkfs("jr-nojournal", "-O ^has_journal,extent", NULL, "8M");
	struct img m;

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(img_load(&m, p), 0);
	ck_assert_int_eq(img_open_mem(&m, false), 0);
	ck_assert_str_eq(m.fs->journal_state, "none");
	ck_assert_ptr_null(m.fs->journal);
	img_close(&m);
}
END_TEST

/* Loads the csum v3 crash image into M. Returns false (after a skip) when it cannot. */
static bool load_crash(const char *test, struct img *m)
{
	const char *p;

	if (!can_mount(test))
		return false;
	p = crash_image(test, "jr-csum64", CSUM_FEATURES " -b 4096", "32M", NULL, NULL);
	if (!p)
		return false;
	ck_assert_int_eq(img_load(m, p), 0);
	return true;
}

START_TEST(test_journal_skip_journal_leaves_needs_recovery)
{
	struct img m;

	if (!load_crash(__func__, &m))
		return;
	ck_assert_int_eq(img_open_mem(&m, true), 0);
	ck_assert_str_eq(m.fs->journal_state, "needs_recovery");
	ck_assert_ptr_null(m.fs->journal);
	ck_assert_uint_eq(m.fs->journal_replayed, 0);
	img_close(&m);
}
END_TEST

/* ---- broken fields, one at a time ---- */

/* Where the journal's blocks live in M, learnt through the reader from the unbroken
 * image (a journal need not be contiguous). */
struct jloc {
	uint64_t phys[4096]; /* log block -> byte offset in the image */
	uint32_t nblocks;
	uint32_t bs;
	uint32_t seed;       /* crc32c(~0, journal uuid) */
	uint32_t tag_bytes;  /* as journal_tag_bytes() */
	uint32_t tail;       /* checksum tail of descriptor blocks: 4 with csum v2/v3 */
};

static void jloc_find(struct img *m, struct jloc *j)
{
	struct bv_ext4_inode inode;
	uint32_t incompat;
	bool csum23;
	uint8_t *sb;

	ck_assert_int_eq(img_open_mem(m, true), 0);
	j->bs = m->fs->sb.block_size;
	ck_assert_int_eq(bv_ext4_inode_get(m->fs, m->fs->sb.s_journal_inum, &inode), 0);
	j->nblocks = (uint32_t)(inode.size / j->bs);
	if (j->nblocks > 4096)
		j->nblocks = 4096;
	for (uint32_t l = 0; l < j->nblocks; l++) {
		struct bv_ext4_map map;

		ck_assert_int_eq(bv_ext4_map_blocks(m->fs, &inode, l, 1, &map), 0);
		ck_assert(!map.hole);
		j->phys[l] = map.pblk * j->bs;
	}
	bv_ext4_close(m->fs);
	bv_source_close(m->src);
	m->fs = NULL;
	m->src = NULL;
	sb = m->buf + j->phys[0];
	ck_assert(is_journal_sb(sb));
	j->seed = bv_crc32c(~0u, sb + JBD2_SB_UUID, 16);
	incompat = bv_be32(sb + JBD2_SB_FEATURE_INCOMPAT);
	csum23 = incompat & (JBD2_FEATURE_INCOMPAT_CSUM_V2 | JBD2_FEATURE_INCOMPAT_CSUM_V3);
	j->tail = csum23 ? 4 : 0;
	if (incompat & JBD2_FEATURE_INCOMPAT_CSUM_V3)
		j->tag_bytes = JBD2_TAG3_SIZE;
	else
		j->tag_bytes = 12 + (csum23 ? 2 : 0) -
			       ((incompat & JBD2_FEATURE_INCOMPAT_64BIT) ? 0 : 4);
}

static uint8_t *jblock(struct img *m, const struct jloc *j, uint32_t lblk)
{
	ck_assert_uint_lt(lblk, j->nblocks);
	ck_assert(j->phys[lblk] + j->bs <= m->len);
	return m->buf + j->phys[lblk];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Recomputes the crc32c at OFF of a BS-byte block (zeroed while summing), as jbd2 does. */
static void fix_csum(uint8_t *b, size_t len, size_t off, uint32_t seed)
{
	put_be32(b + off, 0);
	put_be32(b + off, bv_crc32c(seed, b, len));
}

static void fix_sb_csum(struct img *m, const struct jloc *j)
{
	fix_csum(jblock(m, j, 0), JBD2_SB_SIZE, JBD2_SB_CHECKSUM, ~0u);
}

/* Log block of the first block of TYPE from s_start, following headers and tags. */
static uint32_t find_log_block_from(struct img *m, const struct jloc *j, uint32_t type,
				    uint32_t from)
{
	uint8_t *sb = jblock(m, j, 0);
	uint32_t pos = bv_be32(sb + JBD2_SB_START);

	for (int guard = 0; guard < 4096; guard++) {
		uint8_t *b = jblock(m, j, pos);

		ck_assert_uint_eq(bv_be32(b), JBD2_MAGIC_NUMBER);
		if (bv_be32(b + 4) == type && pos >= from)
			return pos;
		pos++;
		if (bv_be32(b + 4) == JBD2_DESCRIPTOR_BLOCK) {
			for (size_t off = JBD2_HEADER_SIZE; off + j->tag_bytes <= j->bs - j->tail;) {
				uint16_t fl = bv_be16(b + off + JBD2_TAG_FLAGS);

				pos++;
				off += j->tag_bytes + ((fl & JBD2_FLAG_SAME_UUID) ? 0 : 16);
				if (fl & JBD2_FLAG_LAST_TAG)
					break;
			}
		}
	}
	ck_abort_msg("no journal block of type %u", type);
	return 0;
}

static uint32_t find_log_block(struct img *m, const struct jloc *j, uint32_t type)
{
	return find_log_block_from(m, j, type, 0);
}

/* Writes M's bytes to NAME in the scratch directory and replays that copy with e2fsck.
 * Returns the replayed copy's path (static). */
static const char *e2fsck_oracle(const struct img *m, const char *name)
{
	static char oracle[512];
	char raw[512];
	FILE *f;

	snprintf(raw, sizeof(raw), "%s/%s.raw", bv_test_tmpdir(), name);
	snprintf(oracle, sizeof(oracle), "%s/%s.oracle", bv_test_tmpdir(), name);
	f = fopen(raw, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(m->buf, 1, m->len, f), m->len);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(bv_test_sh("cp '%s' '%s' && e2fsck -E journal_only -y '%s' >/dev/null 2>&1;"
				    " test $? -le 1", raw, oracle, oracle), 0);
	return oracle;
}

/* The block number of a 64-bit tag. */
static uint64_t tag_block(const uint8_t *tag)
{
	return ((uint64_t)bv_be32(tag + JBD2_TAG_BLOCKNR_HIGH) << 32) | bv_be32(tag);
}

/* The crash image's own revoke records (the removed directory's blocks): a block revoked
 * by transaction S must not be replayed from transactions up to S, only from later ones. */
START_TEST(test_journal_revoked_blocks_not_replayed)
{
	struct rec {
		uint64_t blk;
		uint32_t seq;
	} writes[2048], revokes[1024];
	size_t nw = 0, nr = 0, checked = 0;
	struct img m;
	struct jloc j;
	uint32_t pos, seq;

	if (!load_crash(__func__, &m))
		return;
	jloc_find(&m, &j);
	pos = bv_be32(jblock(&m, &j, 0) + JBD2_SB_START);
	seq = bv_be32(jblock(&m, &j, 0) + JBD2_SB_SEQUENCE);
	/* Walk the log as written (no wrap in a fresh image's first use). */
	for (int guard = 0; guard < 4096 && pos < j.nblocks; guard++) {
		uint8_t *b = jblock(&m, &j, pos++);
		uint32_t type = bv_be32(b + 4);

		if (bv_be32(b) != JBD2_MAGIC_NUMBER || bv_be32(b + 8) != seq)
			break;
		if (type == JBD2_COMMIT_BLOCK) {
			seq++;
		} else if (type == JBD2_REVOKE_BLOCK) {
			uint32_t rc = bv_be32(b + JBD2_REVOKE_R_COUNT);

			for (uint32_t off = JBD2_REVOKE_HEADER_SIZE; off + 8 <= rc && nr < 1024; off += 8)
				revokes[nr++] = (struct rec){ bv_be64(b + off), seq };
		} else if (type == JBD2_DESCRIPTOR_BLOCK) {
			for (size_t off = JBD2_HEADER_SIZE; off + 16 <= j.bs - 4 && nw < 2048;) {
				uint16_t fl = bv_be16(b + off + JBD2_TAG_FLAGS);

				writes[nw++] = (struct rec){ tag_block(b + off), seq };
				pos++;
				off += 16 + ((fl & JBD2_FLAG_SAME_UUID) ? 0 : 16);
				if (fl & JBD2_FLAG_LAST_TAG)
					break;
			}
		}
	}
	ck_assert_uint_gt(nr, 0);
	ck_assert_int_eq(img_open_mem(&m, false), 0);
	for (size_t i = 0; i < nr; i++) {
		bool earlier = false, later = false;
		struct bv_cache_ref ref = { 0 };
		int err = 0;
		bool hit;

		for (size_t w = 0; w < nw; w++) {
			if (writes[w].blk != revokes[i].blk)
				continue;
			if ((int32_t)(writes[w].seq - revokes[i].seq) > 0)
				later = true;
			else
				earlier = true;
		}
		hit = bv_journal_lookup(m.fs, revokes[i].blk, &ref, &err);
		bv_cache_put(m.fs->cache, &ref);
		if (later) {
			ck_assert_msg(hit, "block %llu rewritten after its revoke is not replayed",
				      (unsigned long long)revokes[i].blk);
		} else {
			ck_assert_msg(!hit, "revoked block %llu replayed",
				      (unsigned long long)revokes[i].blk);
			checked += earlier;
		}
	}
	/* At least one revoke must have hidden a copy still in the log. */
	ck_assert_uint_gt(checked, 0);
	img_close(&m);
}
END_TEST

START_TEST(test_journal_rejects_bad_sb_magic)
{
	struct img m;
	struct jloc j;

	if (!load_crash(__func__, &m))
		return;
	jloc_find(&m, &j);
	m.buf[j.phys[0]] ^= 0xff;
	ck_assert_int_eq(img_open_mem(&m, false), -EUCLEAN);
	img_close(&m);
}
END_TEST

START_TEST(test_journal_rejects_blocksize_mismatch)
{
	struct img m;
	struct jloc j;

	if (!load_crash(__func__, &m))
		return;
	jloc_find(&m, &j);
	put_be32(m.buf + j.phys[0] + JBD2_SB_BLOCKSIZE, j.bs * 2);
	fix_sb_csum(&m, &j);
	ck_assert_int_eq(img_open_mem(&m, false), -EUCLEAN);
	img_close(&m);
}
END_TEST

START_TEST(test_journal_rejects_bad_sb_checksum)
{
	struct img m;
	struct jloc j;

	if (!load_crash(__func__, &m))
		return;
	jloc_find(&m, &j);
	m.buf[j.phys[0] + JBD2_SB_CHECKSUM] ^= 1;
	ck_assert_int_eq(img_open_mem(&m, false), -EBADMSG);
	img_close(&m);
}
END_TEST

START_TEST(test_journal_rejects_unknown_incompat)
{
	struct img m;
	struct jloc j;
	uint8_t *p;

	if (!load_crash(__func__, &m))
		return;
	jloc_find(&m, &j);
	p = m.buf + j.phys[0] + JBD2_SB_FEATURE_INCOMPAT;
	put_be32(p, bv_be32(p) | 0x100);
	fix_sb_csum(&m, &j);
	ck_assert_int_eq(img_open_mem(&m, false), -EOPNOTSUPP);
	img_close(&m);
}
END_TEST

START_TEST(test_journal_rejects_maxlen_past_inode)
{
	struct img m;
	struct jloc j;
	uint8_t *p;

	if (!load_crash(__func__, &m))
		return;
	jloc_find(&m, &j);
	p = m.buf + j.phys[0] + JBD2_SB_MAXLEN;
	put_be32(p, bv_be32(p) + 1);
	fix_sb_csum(&m, &j);
	ck_assert_int_eq(img_open_mem(&m, false), -EUCLEAN);
	img_close(&m);
}
END_TEST

/* Sets the be32 at OFF of the crash image's journal superblock to VAL (checksum fixed)
 * and returns what opening it gives. Returns 1 after a skip. */
static int open_with_sb_field(const char *test, size_t off, uint32_t val, bool or_bits)
{
	struct img m;
	struct jloc j;
	uint8_t *p;
	int err;

	if (!load_crash(test, &m))
		return 1;
	jloc_find(&m, &j);
	p = jblock(&m, &j, 0) + off;
	put_be32(p, or_bits ? bv_be32(p) | val : val);
	fix_sb_csum(&m, &j);
	err = img_open_mem(&m, false);
	img_close(&m);
	return err;
}

START_TEST(test_journal_rejects_csum_v2_and_v3)
{
	int err = open_with_sb_field(__func__, JBD2_SB_FEATURE_INCOMPAT,
				     JBD2_FEATURE_INCOMPAT_CSUM_V2, true);

	if (err != 1)
		ck_assert_int_eq(err, -EUCLEAN);
}
END_TEST

START_TEST(test_journal_rejects_first_zero)
{
	int err = open_with_sb_field(__func__, JBD2_SB_FIRST, 0, false);

	if (err != 1)
		ck_assert_int_eq(err, -EUCLEAN);
}
END_TEST

START_TEST(test_journal_rejects_start_outside_log)
{
	int err = open_with_sb_field(__func__, JBD2_SB_START, 5000, false);

	if (err != 1)
		ck_assert_int_eq(err, -EUCLEAN);
}
END_TEST

/* A sequence that matches no block: the log is empty, nothing replays. */
START_TEST(test_journal_sequence_mismatch_replays_nothing)
{
	struct img m;
	struct jloc j;

	if (!load_crash(__func__, &m))
		return;
	jloc_find(&m, &j);
	put_be32(jblock(&m, &j, 0) + JBD2_SB_SEQUENCE, 0x7fffffff);
	fix_sb_csum(&m, &j);
	ck_assert_int_eq(img_open_mem(&m, false), 0);
	ck_assert_str_eq(m.fs->journal_state, "replayed");
	ck_assert_uint_eq(m.fs->journal_replayed, 0);
	img_close(&m);
}
END_TEST

/* s_start 0 means an empty log even with RECOVER set, as in the kernel. */
START_TEST(test_journal_start_zero_is_clean)
{
	struct img m;
	struct jloc j;

	if (!load_crash(__func__, &m))
		return;
	jloc_find(&m, &j);
	put_be32(m.buf + j.phys[0] + JBD2_SB_START, 0);
	fix_sb_csum(&m, &j);
	ck_assert_int_eq(img_open_mem(&m, false), 0);
	ck_assert_str_eq(m.fs->journal_state, "clean");
	ck_assert_ptr_null(m.fs->journal);
	img_close(&m);
}
END_TEST

START_TEST(test_journal_rejects_tag_past_fs_end)
{
	struct img m;
	struct jloc j;
	uint32_t d;
	uint8_t *b;

	if (!load_crash(__func__, &m))
		return;
	jloc_find(&m, &j);
	d = find_log_block(&m, &j, JBD2_DESCRIPTOR_BLOCK);
	b = jblock(&m, &j, d);
	/* First tag: 64-bit block number far past the end; the data checksum does not
	 * cover the number, the descriptor tail does. */
	put_be32(b + JBD2_HEADER_SIZE + JBD2_TAG_BLOCKNR_HIGH, 0x10);
	fix_csum(b, j.bs, j.bs - 4, j.seed);
	ck_assert_int_eq(img_open_mem(&m, false), -EUCLEAN);
	img_close(&m);
}
END_TEST

START_TEST(test_journal_rejects_revoke_rcount_past_block)
{
	struct img m;
	struct jloc j;
	uint32_t r;
	uint8_t *b;

	if (!load_crash(__func__, &m))
		return;
	jloc_find(&m, &j);
	r = find_log_block(&m, &j, JBD2_REVOKE_BLOCK);
	b = jblock(&m, &j, r);
	/* The count may reach the checksum tail but not cover it. */
	put_be32(b + JBD2_REVOKE_R_COUNT, j.bs - 3);
	fix_csum(b, j.bs, j.bs - 4, j.seed);
	ck_assert_int_eq(img_open_mem(&m, false), -EUCLEAN);
	img_close(&m);
}
END_TEST

/* A commit whose checksum fails ends the replay before that transaction (the kernel
 * mounts and reports the transaction corrupt). Breaking the first commit leaves nothing
 * to replay. */
START_TEST(test_journal_bad_commit_checksum_stops_replay)
{
	struct img m;
	struct jloc j;
	uint32_t c;

	if (!load_crash(__func__, &m))
		return;
	jloc_find(&m, &j);
	c = find_log_block(&m, &j, JBD2_COMMIT_BLOCK);
	jblock(&m, &j, c)[JBD2_COMMIT_CHKSUM] ^= 1;
	ck_assert_int_eq(img_open_mem(&m, false), 0);
	ck_assert_str_eq(m.fs->journal_state, "replayed");
	ck_assert_uint_eq(m.fs->journal_replayed, 0);
	ck_assert_ptr_null(m.fs->journal);
	img_close(&m);
}
END_TEST

/* A bad descriptor checksum in a transaction whose commit is current is corruption:
 * jbd2 fails the recovery, so do we. */
START_TEST(test_journal_rejects_bad_descriptor_checksum)
{
	struct img m;
	struct jloc j;
	uint32_t d;

	if (!load_crash(__func__, &m))
		return;
	jloc_find(&m, &j);
	d = find_log_block(&m, &j, JBD2_DESCRIPTOR_BLOCK);
	jblock(&m, &j, d)[j.bs - 1] ^= 1;
	ck_assert_int_eq(img_open_mem(&m, false), -EBADMSG);
	img_close(&m);
}
END_TEST

/* A data block whose tag checksum fails is skipped, as jbd2 does; the rest replays. */
START_TEST(test_journal_bad_data_checksum_skips_block)
{
	struct img m;
	struct jloc j;
	uint32_t d;
	uint64_t blk;
	uint8_t *b, *data;
	const char *oracle;
	struct bv_cache_ref r = { 0 };
	int err = 0;

	if (!load_crash(__func__, &m))
		return;
	jloc_find(&m, &j);
	d = find_log_block(&m, &j, JBD2_DESCRIPTOR_BLOCK);
	b = jblock(&m, &j, d);
	blk = tag_block(b + JBD2_HEADER_SIZE);
	data = jblock(&m, &j, d + 1);
	data[100] ^= 0x5a;
	/* e2fsck's recovery skips such a block too: the rest must agree with it. */
	oracle = e2fsck_oracle(&m, "jr-baddata");

	ck_assert_int_eq(img_open_mem(&m, false), 0);
	ck_assert_str_eq(m.fs->journal_state, "replayed");
	if (bv_journal_lookup(m.fs, blk, &r, &err)) {
		ck_assert_int_eq(err, 0);
		/* If a later transaction wrote it, that copy wins: never the broken one. */
		ck_assert(memcmp(r.data, data, j.bs) != 0);
		bv_cache_put(m.fs->cache, &r);
	}
	ck_assert_uint_eq(diff_with_oracle(&m, oracle, NULL), 0);
	img_close(&m);
}
END_TEST

/* crc32_be as jbd2's v1 checksum: MSB first, poly 0x04C11DB7, no inversion. */
static uint32_t test_crc32_be(uint32_t crc, const uint8_t *p, size_t len)
{
	while (len--) {
		crc ^= (uint32_t)*p++ << 24;
		for (int k = 0; k < 8; k++)
			crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
	}
	return crc;
}

/* Turns the no-checksum crash image into a v1 COMPAT_CHECKSUM journal (old ext3/ext4
 * journal_checksum): each commit carries crc32_be over its transaction's descriptor and
 * data blocks. Returns the log block of the last commit. */
static uint32_t make_v1_checksums(struct img *m, const struct jloc *j)
{
	uint8_t *sb = jblock(m, j, 0);
	uint32_t pos = bv_be32(sb + JBD2_SB_START), seq = bv_be32(sb + JBD2_SB_SEQUENCE);
	uint32_t crc = ~0u, last = 0;

	put_be32(sb + JBD2_SB_FEATURE_COMPAT, bv_be32(sb + JBD2_SB_FEATURE_COMPAT) |
						      JBD2_FEATURE_COMPAT_CHECKSUM);
	for (int guard = 0; guard < 4096 && pos < j->nblocks; guard++) {
		uint8_t *b = jblock(m, j, pos++);
		uint32_t type = bv_be32(b + 4);

		if (bv_be32(b) != JBD2_MAGIC_NUMBER || bv_be32(b + 8) != seq)
			break;
		if (type == JBD2_DESCRIPTOR_BLOCK) {
			crc = test_crc32_be(crc, b, j->bs);
			for (size_t off = JBD2_HEADER_SIZE; off + j->tag_bytes <= j->bs;) {
				uint16_t fl = bv_be16(b + off + JBD2_TAG_FLAGS);

				crc = test_crc32_be(crc, jblock(m, j, pos++), j->bs);
				off += j->tag_bytes + ((fl & JBD2_FLAG_SAME_UUID) ? 0 : 16);
				if (fl & JBD2_FLAG_LAST_TAG)
					break;
			}
		} else if (type == JBD2_COMMIT_BLOCK) {
			b[JBD2_COMMIT_CHKSUM_TYPE] = JBD2_CRC32_CHKSUM;
			b[JBD2_COMMIT_CHKSUM_SIZE] = JBD2_CRC32_CHKSUM_SIZE;
			put_be32(b + JBD2_COMMIT_CHKSUM, crc);
			crc = ~0u;
			last = pos - 1;
			seq++;
		}
	}
	ck_assert_uint_gt(last, 0);
	return last;
}

/* v1 commit checksums: right sums replay everything e2fsck replays; a wrong one in the
 * last commit stops the replay before that transaction, as e2fsck does. */
START_TEST(test_journal_v1_commit_checksums)
{
	const char *p, *oracle;
	uint32_t full, last;
	struct img m;
	struct jloc j;
	/* CRC-32/MPEG-2 check value: the same polynomial and conventions as crc32_be. */
	ck_assert_uint_eq(test_crc32_be(~0u, (const uint8_t *)"123456789", 9), 0x0376E6E7u);

	if (!can_mount(__func__))
		return;
	p = crash_image(__func__, "jr-plain32",
			"-O has_journal,extent,flex_bg,^metadata_csum,^64bit -b 4096", "32M", NULL,
			NULL);
	if (!p)
		return;
	ck_assert_int_eq(img_load(&m, p), 0);
	jloc_find(&m, &j);
	ck_assert_uint_eq(j.tail, 0);
	last = make_v1_checksums(&m, &j);
	oracle = e2fsck_oracle(&m, "jr-v1");
	ck_assert_int_eq(img_open_mem(&m, false), 0);
	ck_assert_str_eq(m.fs->journal_state, "replayed");
	full = m.fs->journal_replayed;
	ck_assert_uint_gt(full, 0);
	ck_assert_uint_eq(diff_with_oracle(&m, oracle, NULL), 0);
	bv_ext4_close(m.fs);
	bv_source_close(m.src);
	m.fs = NULL;
	m.src = NULL;

	jblock(&m, &j, last)[JBD2_COMMIT_CHKSUM + 3] ^= 1;
	oracle = e2fsck_oracle(&m, "jr-v1-bad");
	ck_assert_int_eq(img_open_mem(&m, false), 0);
	ck_assert_str_eq(m.fs->journal_state, "replayed");
	ck_assert_uint_le(m.fs->journal_replayed, full);
	ck_assert_uint_eq(diff_with_oracle(&m, oracle, NULL), 0);
	img_close(&m);
}
END_TEST

/* ---- the e2fsprogs journal images ---- */

static bool corpus_is_journal_image(const char *n)
{
	return strncmp(n, "j_", 2) == 0 || strncmp(n, "f_jnl", 5) == 0 || strstr(n, "journal") ||
	       strstr(n, "_jnl");
}

/* Each journal image opens or is refused cleanly. Where it opens replayed and e2fsck's
 * replay succeeds, the two must agree block for block. */
START_TEST(test_journal_corpus_images_open_or_refuse)
{
	const char *dir = bv_test_corpus_dir();
	const char *t = bv_test_tmpdir();
	struct dirent *de;
	DIR *d;
	int seen = 0;

	if (!dir) {
		bv_test_skip(__func__, bv_test_corpus_missing());
		return;
	}
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		char path[1024], raw[1024], oracle[1024];
		struct img m;
		int err;
		FILE *f;

		if (!corpus_is_journal_image(de->d_name) || !strstr(de->d_name, ".image"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ck_assert_int_eq(img_load(&m, path), 0);
		err = img_open_mem(&m, false);
		seen++;
		if (err) {
			ck_assert_msg(err == -EUCLEAN || err == -EBADMSG || err == -EOPNOTSUPP ||
					      err == -EINVAL || err == -EIO,
				      "%s: unexpected error %d", de->d_name, err);
			printf("journal corpus: %s refused (%d): %s\n", de->d_name, err, m.err);
			img_close(&m);
			continue;
		}
		printf("journal corpus: %s: %s, %u blocks\n", de->d_name, m.fs->journal_state,
		       m.fs->journal_replayed);
		/* e2fsck also replays ext4 fast commits, which we do not interpret: that
		 * image's fast-commit changes are expected to be missing here. */
		if (strcmp(m.fs->journal_state, "replayed") == 0 && bv_test_have("e2fsck") &&
		    !strstr(de->d_name, "fast_commit")) {
			snprintf(raw, sizeof(raw), "%s/jc-%s.raw", t, de->d_name);
			snprintf(oracle, sizeof(oracle), "%s/jc-%s.oracle", t, de->d_name);
			f = fopen(raw, "w");
			ck_assert_ptr_nonnull(f);
			ck_assert_uint_eq(fwrite(m.buf, 1, m.len, f), m.len);
			fclose(f);
			if (bv_test_sh("cp '%s' '%s' && e2fsck -E journal_only -y '%s' >/dev/null 2>&1;"
				       " test $? -le 1", raw, oracle, oracle) == 0)
				ck_assert_msg(diff_with_oracle(&m, oracle, NULL) == 0,
					      "%s: replay differs from e2fsck's", de->d_name);
		}
		img_close(&m);
	}
	closedir(d);
	ck_assert_int_gt(seen, 10);
}
END_TEST

static Suite *journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("core");

	/* Crash images are built by a kernel mount: slower than the default 4 s. */
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_journal_clean_fs_is_clean);
	tcase_add_test(tc, test_journal_none_without_has_journal);
	tcase_add_test(tc, test_journal_replay_csum_v3_64bit_matches_e2fsck);
	tcase_add_test(tc, test_journal_replay_no_csum_32bit_matches_e2fsck);
	tcase_add_test(tc, test_journal_replay_1k_blocks_matches_e2fsck);
	tcase_add_test(tc, test_journal_replay_ext3_layout_matches_e2fsck);
	tcase_add_test(tc, test_journal_replay_data_journal_escaped_block);
	tcase_add_test(tc, test_journal_replay_async_commit_matches_e2fsck);
	tcase_add_test(tc, test_journal_replay_wrapped_log_matches_e2fsck);
	tcase_add_test(tc, test_journal_skip_journal_leaves_needs_recovery);
	tcase_add_test(tc, test_journal_rejects_bad_sb_magic);
	tcase_add_test(tc, test_journal_rejects_blocksize_mismatch);
	tcase_add_test(tc, test_journal_rejects_bad_sb_checksum);
	tcase_add_test(tc, test_journal_rejects_unknown_incompat);
	tcase_add_test(tc, test_journal_rejects_maxlen_past_inode);
	tcase_add_test(tc, test_journal_start_zero_is_clean);
	tcase_add_test(tc, test_journal_rejects_csum_v2_and_v3);
	tcase_add_test(tc, test_journal_rejects_first_zero);
	tcase_add_test(tc, test_journal_rejects_start_outside_log);
	tcase_add_test(tc, test_journal_sequence_mismatch_replays_nothing);
	tcase_add_test(tc, test_journal_rejects_tag_past_fs_end);
	tcase_add_test(tc, test_journal_rejects_revoke_rcount_past_block);
	tcase_add_test(tc, test_journal_bad_commit_checksum_stops_replay);
	tcase_add_test(tc, test_journal_revoked_blocks_not_replayed);
	tcase_add_test(tc, test_journal_rejects_bad_descriptor_checksum);
	tcase_add_test(tc, test_journal_bad_data_checksum_skips_block);
	tcase_add_test(tc, test_journal_v1_commit_checksums);
	tcase_add_test(tc, test_journal_corpus_images_open_or_refuse);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(journal_suite)
