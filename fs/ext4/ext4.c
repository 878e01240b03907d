/* Opening a filesystem, block reads through the journal overlay and the cache,
 * corruption reports, and the stat/statfs views of what was decoded.
 */
#include "fs/ext4/ext4.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "fs/ext4/ext4_priv.h"
#include "fs/ext4/inode.h"
#include "util/le.h"
#include "util/log.h"
#include "util/report.h"
#include "fs/ext4/superblock.h"

/* Corruption lines per filesystem before we go quiet: enough to diagnose, too few for
 * a hostile image to fill a disk with logs. */
#define BV_EXT4_MAX_REPORTS 100

/* The last report made on this thread, so that bv_ext4_open can say in its error
 * sentence what was wrong rather than only strerror's words. */
static __thread char last_report[256];

int bv_ext4_report(struct bv_ext4 *fs, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = bv_report_capped(&fs->corrupt_reports, BV_EXT4_MAX_REPORTS, bv_source_path(fs->src),
			       last_report, sizeof(last_report), err, fmt, ap);
	va_end(ap);
	return err;
}

int bv_ext4_bread(struct bv_ext4 *fs, uint64_t blk, struct bv_cache_ref *ref)
{
	if (blk >= fs->sb.s_blocks_count)
		return bv_ext4_corrupt(fs,
				       "block %" PRIu64
				       " is past the end of the filesystem (%" PRIu64 " blocks)",
				       blk, fs->sb.s_blocks_count);
	if (fs->journal) {
		/* A replayed block: its newest copy is in the journal (or in memory). */
		int err = 0;
		if (bv_journal_lookup(fs, blk, ref, &err) || err)
			return err;
	}
	return bv_cache_get(fs->cache, blk, ref);
}

void bv_ext4_brelse(struct bv_ext4 *fs, struct bv_cache_ref *ref)
{
	/* Journal copies are handed out with priv NULL, which bv_cache_put ignores. */
	bv_cache_put(fs->cache, ref);
}

int bv_ext4_read_raw(struct bv_ext4 *fs, void *buf, size_t len, uint64_t off)
{
	uint64_t fs_bytes = fs->sb.s_blocks_count * fs->sb.block_size; /* checked at open */
	uint32_t bs = fs->sb.block_size;
	int err;

	if (off > fs_bytes || len > fs_bytes - off)
		return bv_ext4_corrupt(
			fs, "read of %zu bytes at %" PRIu64 " is past the end of the filesystem",
			len, off);
	if (len == 0)
		return 0;
	err = bv_source_read(fs->src, buf, len, off);
	if (err)
		return err;
	if (!fs->journal)
		return 0;

	uint64_t first = off / bs, last = (off + len - 1) / bs;
	if (!bv_journal_overlaps(fs->journal, first, last - first + 1))
		return 0;
	/* Some blocks in range were replayed: the journal's copy wins over the device. */
	for (uint64_t b = first; b <= last; b++) {
		struct bv_cache_ref ref = { 0 };
		int jerr = 0;
		bool hit = bv_journal_lookup(fs, b, &ref, &jerr);
		if (jerr)
			return jerr;
		if (!hit)
			continue;
		uint64_t bstart = b * bs;
		uint64_t from = bstart > off ? bstart : off;
		uint64_t to = bstart + bs < off + len ? bstart + bs : off + len;
		memcpy((uint8_t *)buf + (from - off), ref.data + (from - bstart), to - from);
		bv_ext4_brelse(fs, &ref);
	}
	return 0;
}

/* Block overhead as the kernel's ext4_calculate_overhead counts it: blocks before the
 * first data block, then per group its superblock backup, descriptor blocks (and the
 * reserved GDT blocks after a backup), two bitmaps and the inode table, plus the
 * journal. Computed from the geometry alone (O(log groups)), not by reading every
 * descriptor: with or without flex_bg every group's metadata is counted once wherever
 * it lies, so the sum is the same. This matched the kernel on every mkfs layout we test.
 * With bigalloc the kernel counts clusters touched by metadata instead; mke2fs stores
 * that as s_overhead_clusters, which open prefers, so this block count is only the
 * fallback for old bigalloc images. */
static uint64_t overhead_blocks(struct bv_ext4 *fs)
{
	const struct bv_ext4_sb *sb = &fs->sb;
	uint32_t ngroups = sb->group_count, dpb = sb->desc_per_block;
	uint32_t nometa = ngroups;
	uint64_t gdb = 0, total;

	if (bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_META_BG)) {
		uint64_t lim = (uint64_t)sb->s_first_meta_bg * dpb;
		nometa = lim < ngroups ? (uint32_t)lim : ngroups;
	}
	uint64_t supers = bv_ext4_sb_count_super(sb, ngroups);
	uint64_t supers_nometa = bv_ext4_sb_count_super(sb, nometa);
	uint32_t per_backup = bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_META_BG)
				      ? sb->s_first_meta_bg
				      : sb->gdb_count;
	gdb = supers_nometa * ((uint64_t)per_backup + sb->s_reserved_gdt_blocks);
	if (nometa < ngroups) {
		/* meta_bg groups: a descriptor block in the first, second and last group
		 * of each meta group (only those that exist). */
		uint64_t full = (ngroups - nometa) / dpb, rest = (ngroups - nometa) % dpb;
		gdb += full * (dpb >= 3 ? 3 : dpb) + (rest >= 2 ? 2 : rest);
	}
	total = sb->s_first_data_block + supers + gdb +
		(uint64_t)ngroups * (2 + (uint64_t)sb->itb_per_group);

	/* The internal journal, whether replayed or not. */
	if (bv_ext4_has_compat(sb, EXT4_FEATURE_COMPAT_HAS_JOURNAL) && sb->s_journal_inum) {
		struct bv_ext4_inode j;
		if (bv_ext4_inode_get(fs, sb->s_journal_inum, &j) == 0)
			total += j.size / sb->block_size;
	}
	return total;
}

/* Re-decodes the superblock from the journal's copy when replay rewrote its block. */
static int sb_reload(struct bv_ext4 *fs, const struct bv_ext4_opts *opts, char *errbuf,
		     size_t size)
{
	struct bv_cache_ref ref = { 0 };
	struct bv_ext4_sb sb;
	uint32_t off = fs->sb.block_size == 1024 ? 0 : EXT4_SUPERBLOCK_OFFSET;
	int err;

	err = bv_ext4_bread(fs, fs->sb.sb_block, &ref);
	if (err) {
		bv_say(errbuf, size, "cannot read the replayed superblock: %s", strerror(-err));
		return err;
	}
	err = bv_ext4_sb_decode(ref.data + off, bv_source_size(fs->src), !opts->skip_csum, &sb,
				errbuf, size);
	bv_ext4_brelse(fs, &ref);
	if (err)
		return err;
	if (sb.block_size != fs->sb.block_size) {
		bv_say(errbuf, size, "journal replay changed the block size");
		return -EUCLEAN;
	}
	fs->sb = sb;
	return 0;
}

int bv_ext4_open(struct bv_source *src, const struct bv_ext4_opts *opts_in, struct bv_ext4 **out,
		 char *errbuf, size_t errbuf_size)
{
	static const struct bv_ext4_opts defaults;
	const struct bv_ext4_opts *opts = opts_in ? opts_in : &defaults;
	uint8_t raw[EXT4_SUPERBLOCK_SIZE];
	struct bv_ext4 *fs;
	struct bv_ext4_inode root;
	char why[256];
	int err;

	bv_say(errbuf, errbuf_size, "%s", "");
	uint64_t dev_size = bv_source_size(src);
	if (dev_size < EXT4_SUPERBLOCK_OFFSET + EXT4_SUPERBLOCK_SIZE) {
		bv_say(errbuf, errbuf_size,
		       "%s: too small to hold a filesystem (%" PRIu64 " bytes)",
		       bv_source_path(src), dev_size);
		return -EINVAL;
	}
	err = bv_source_read(src, raw, sizeof(raw), EXT4_SUPERBLOCK_OFFSET);
	if (err) {
		bv_say(errbuf, errbuf_size, "%s: cannot read the superblock: %s",
		       bv_source_path(src), strerror(-err));
		return err;
	}

	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		bv_say(errbuf, errbuf_size, "out of memory");
		return -ENOMEM;
	}
	fs->src = src;
	atomic_init(&fs->corrupt_reports, 0);
	atomic_init(&fs->ext_node_checks, 0);
	{
		static atomic_ulong opened;

		fs->id = atomic_fetch_add(&opened, 1) + 1;
	}
	pthread_mutex_init(&fs->free_lock, NULL);
	err = bv_ext4_sb_decode(raw, dev_size, !opts->skip_csum, &fs->sb, why, sizeof(why));
	if (err) {
		bv_say(errbuf, errbuf_size, "%s: %s", bv_source_path(src), why);
		goto out_free;
	}
	fs->verify_csum = !opts->skip_csum &&
			  bv_ext4_has_ro_compat(&fs->sb, EXT4_FEATURE_RO_COMPAT_METADATA_CSUM);

	err = bv_cache_new(src, fs->sb.block_size, opts->cache_bytes, &fs->cache);
	if (err) {
		bv_say(errbuf, errbuf_size, "cannot create the block cache: %s", strerror(-err));
		goto out_free;
	}

	/* journal.c honours skip_journal itself (like mount -o noload) and sets the
	 * journal state either way. */
	fs->skip_journal = opts->skip_journal;
	last_report[0] = '\0';
	err = bv_journal_load(fs);
	if (err) {
		bv_say(errbuf, errbuf_size, "%s: cannot load the journal: %s", bv_source_path(src),
		       last_report[0] ? last_report : strerror(-err));
		goto out_journal;
	}
	/* Replay may carry a newer superblock; the kernel would see that one. */
	if (fs->journal && bv_journal_overlaps(fs->journal, fs->sb.sb_block, 1)) {
		err = sb_reload(fs, opts, why, sizeof(why));
		if (err) {
			bv_say(errbuf, errbuf_size, "%s: after journal replay: %s",
			       bv_source_path(src), why);
			goto out_journal;
		}
	}
	if (!fs->journal_state)
		fs->journal_state = "none";

	last_report[0] = '\0';
	err = bv_ext4_inode_get(fs, BV_EXT4_ROOT_INO, &root);
	if (err) {
		bv_say(errbuf, errbuf_size, "%s: cannot read the root directory: %s",
		       bv_source_path(src),
		       err == -ENOENT	  ? "inode 2 is not in use (no links)"
		       : last_report[0] ? last_report
					: strerror(-err));
		goto out_journal;
	}
	/* The kernel's own sanity check on the root (ext4_fill_super); inline root
	 * directories have no blocks. */
	if (!S_ISDIR(root.mode) || root.size == 0 ||
	    (root.blocks == 0 && !(root.flags & EXT4_INLINE_DATA_FL))) {
		bv_say(errbuf, errbuf_size, "%s: corrupt root inode (not a directory or empty)",
		       bv_source_path(src));
		err = -EUCLEAN;
		goto out_journal;
	}
	if (bv_ext4_has_ro_compat(&fs->sb, EXT4_FEATURE_RO_COMPAT_BIGALLOC) &&
	    fs->sb.s_overhead_clusters &&
	    fs->sb.s_overhead_clusters <=
		    fs->sb.s_blocks_count / (fs->sb.cluster_size / fs->sb.block_size))
		fs->overhead_blocks = (uint64_t)fs->sb.s_overhead_clusters *
				      (fs->sb.cluster_size / fs->sb.block_size);
	else
		fs->overhead_blocks = overhead_blocks(fs);
	*out = fs;
	return 0;

out_journal:
	bv_journal_free(fs->journal);
	bv_cache_free(fs->cache);
out_free:
	free(fs);
	return err;
}

void bv_ext4_close(struct bv_ext4 *fs)
{
	if (!fs)
		return;
	bv_journal_free(fs->journal);
	bv_cache_free(fs->cache);
	pthread_mutex_destroy(&fs->free_lock);
	free(fs);
}

/* blkid's naming: ext2 without a journal and with only ext2's features, ext3 with a
 * journal and only ext3's, ext4 for anything more. */
static const char *fs_type(const struct bv_ext4_sb *sb)
{
	const uint32_t ro_ok = EXT4_FEATURE_RO_COMPAT_SPARSE_SUPER |
			       EXT4_FEATURE_RO_COMPAT_LARGE_FILE | EXT4_FEATURE_RO_COMPAT_BTREE_DIR;
	const uint32_t in2 = EXT4_FEATURE_INCOMPAT_FILETYPE | EXT4_FEATURE_INCOMPAT_META_BG;
	const uint32_t in3 = in2 | EXT4_FEATURE_INCOMPAT_RECOVER;

	if ((sb->s_feature_ro_compat & ~ro_ok) == 0) {
		bool journal = bv_ext4_has_compat(sb, EXT4_FEATURE_COMPAT_HAS_JOURNAL);
		if (!journal && (sb->s_feature_incompat & ~in2) == 0)
			return "ext2";
		if (journal && (sb->s_feature_incompat & ~in3) == 0)
			return "ext3";
	}
	return "ext4";
}

void bv_ext4_info_get(const struct bv_ext4 *fs, struct bv_ext4_info *out)
{
	const struct bv_ext4_sb *sb = &fs->sb;
	const uint8_t *u = sb->s_uuid;

	memset(out, 0, sizeof(*out));
	snprintf(out->type, sizeof(out->type), "%s", fs_type(sb));
	memcpy(out->uuid, u, 16);
	snprintf(out->uuid_str, sizeof(out->uuid_str),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
		 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
		 u[15]);
	snprintf(out->label, sizeof(out->label), "%s", sb->s_volume_name);
	out->block_size = sb->block_size;
	out->cluster_size = sb->cluster_size;
	out->inode_size = sb->s_inode_size;
	out->blocks_count = sb->s_blocks_count;
	out->free_blocks_count = sb->s_free_blocks_count;
	out->reserved_blocks_count = sb->s_r_blocks_count;
	out->inodes_count = sb->s_inodes_count;
	out->free_inodes_count = sb->s_free_inodes_count;
	out->group_count = sb->group_count;
	out->feature_compat = sb->s_feature_compat;
	out->feature_incompat = sb->s_feature_incompat;
	out->feature_ro_compat = sb->s_feature_ro_compat;
	out->journal_state = fs->journal_state ? fs->journal_state : "none";
	out->journal_replayed_blocks = fs->journal_replayed;
}

void bv_ext4_features_str(const struct bv_ext4 *fs, char *buf, size_t size)
{
	bv_ext4_sb_features_str(&fs->sb, buf, size);
}

void bv_ext4_inode_stat(const struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = inode->ino;
	st->st_mode = inode->mode;
	st->st_nlink = inode->links_count;
	st->st_uid = inode->uid;
	st->st_gid = inode->gid;
	if (S_ISCHR(inode->mode) || S_ISBLK(inode->mode))
		st->st_rdev = makedev(inode->rdev_major, inode->rdev_minor);
	st->st_size = (off_t)inode->size;
	st->st_blocks = (blkcnt_t)inode->blocks;
	/* The kernel's ext4_file_getattr reports at least the size in sectors for a regular
	 * file with inline data, so tar and rsync do not take it for a sparse file. */
	if (S_ISREG(inode->mode) && (inode->flags & EXT4_INLINE_DATA_FL))
		st->st_blocks += (blkcnt_t)((inode->size + 511) >> 9);
	st->st_blksize = fs->sb.block_size;
	st->st_atim.tv_sec = inode->atime.sec;
	st->st_atim.tv_nsec = inode->atime.nsec;
	st->st_mtim.tv_sec = inode->mtime.sec;
	st->st_mtim.tv_nsec = inode->mtime.nsec;
	st->st_ctim.tv_sec = inode->ctime.sec;
	st->st_ctim.tv_nsec = inode->ctime.nsec;
}

/* The free block and inode counts statfs shows: the kernel sums the group descriptors at
 * mount (ext4_percpu_param_init) and never shows the superblock's counters, which a
 * filesystem copied while mounted has stale (they are written back only at unmount or a
 * superblock commit). Summed once, on first use; if the descriptors cannot be read (or
 * there are too many of them) the superblock's counters are used instead, reported once. */
static void free_counts_get(struct bv_ext4 *fs, uint64_t *blocks, uint64_t *inodes)
{
	const struct bv_ext4_sb *sb = &fs->sb;

	pthread_mutex_lock(&fs->free_lock);
	if (fs->free_state == 0) {
		uint64_t clusters, n;
		int err = bv_ext4_group_free_sum(fs, &clusters, &n);

		if (err == 0) {
			fs->free_blocks = clusters * (sb->cluster_size / sb->block_size);
			fs->free_inodes = n;
			fs->free_state = 1;
		} else {
			bv_warn("%s: statfs: cannot sum the group descriptors' free counts (%s); "
				"showing the superblock's", bv_source_path(fs->src), strerror(-err));
			fs->free_blocks = sb->s_free_blocks_count;
			fs->free_inodes = sb->s_free_inodes_count;
			fs->free_state = -1;
		}
	}
	*blocks = fs->free_blocks;
	*inodes = fs->free_inodes;
	pthread_mutex_unlock(&fs->free_lock);
}

void bv_ext4_statfs(struct bv_ext4 *fs, struct statvfs *st)
{
	const struct bv_ext4_sb *sb = &fs->sb;
	uint32_t ratio = sb->cluster_size / sb->block_size;
	uint64_t free_blocks, free_inodes;

	free_counts_get(fs, &free_blocks, &free_inodes);

	memset(st, 0, sizeof(*st));
	st->f_bsize = sb->block_size;
	st->f_frsize = sb->block_size;
	/* The overhead was computed at open (overhead_blocks); the kernel trusts the
	 * superblock's s_overhead_clusters only with bigalloc, where counting is costly. */
	uint64_t overhead = fs->overhead_blocks;
	st->f_blocks = sb->s_blocks_count > overhead ? sb->s_blocks_count - overhead : 0;
	st->f_bfree = free_blocks;
	/* ext4_calculate_resv_clusters: with extents the kernel keeps back 2% of the
	 * clusters, at most 4096, beside the root-reserved blocks. */
	uint64_t resv = 0;
	if (bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_EXTENTS)) {
		resv = sb->s_blocks_count / ratio / 50;
		if (resv > 4096)
			resv = 4096;
		resv *= ratio;
	}
	uint64_t held = sb->s_r_blocks_count + resv;
	st->f_bavail = st->f_bfree > held ? st->f_bfree - held : 0;
	st->f_files = sb->s_inodes_count;
	st->f_ffree = free_inodes;
	st->f_favail = st->f_ffree;
	st->f_namemax = 255;
	st->f_flag = ST_RDONLY;
	/* uuid_to_fsid: the two little-endian halves of the uuid xor'ed. */
	st->f_fsid = (unsigned long)(bv_le64(sb->s_uuid) ^ bv_le64(sb->s_uuid + 8));
}
