/* XFS inodes: number to location, the on-disk dinode's checks, decoding.
 *
 * An inode number is (agno << (agblklog + inopblog)) | (agbno << inopblog) | index, so the
 * superblock's geometry alone locates it; no inode btree is read (as the kernel does for an
 * untrusted number, we then demand that the inode itself agrees: magic, di_ino on v3).
 * Checks follow the kernel's xfs_dinode_verify: our own words, the same rules, plus the
 * extent-count-fits-its-fork rule, so bmap.c may trust every count decoded here.
 */
#include "fs/xfs/xfs_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "util/le.h"

/* Byte offsets in struct xfs_dinode. */
#define DI_MAGIC 0
#define DI_MODE 2
#define DI_VERSION 4
#define DI_FORMAT 5
#define DI_ONLINK 6
#define DI_UID 8
#define DI_GID 12
#define DI_NLINK 16
#define DI_PROJID_LO 20
#define DI_PROJID_HI 22
#define DI_BIG_NEXTENTS 24 /* nrext64: 64-bit data fork extent count */
#define DI_ATIME 32
#define DI_MTIME 40
#define DI_CTIME 48
#define DI_SIZE 56
#define DI_NBLOCKS 64
#define DI_EXTSIZE 72
#define DI_NEXTENTS 76     /* nrext64: di_big_anextents (32 bits) */
#define DI_ANEXTENTS 80    /* nrext64: padding */
#define DI_FORKOFF 82
#define DI_AFORMAT 83
#define DI_FLAGS 90
#define DI_GEN 92
#define DI_CRC 100         /* v3 from here on */
#define DI_FLAGS2 120
#define DI_COWEXTSIZE 128
#define DI_CRTIME 144
#define DI_INO 152
#define DI_UUID 160
#define XFS_DINODE_V2_SIZE 100 /* the literal area (forks) starts here on v1/v2 */
#define XFS_DINODE_V3_SIZE 176 /* ... and here on v3 */

#define XFS_DINODE_MAGIC 0x494e /* "IN" */
#define XFS_DIFLAG2_BIGTIME (1ull << 3)
#define XFS_DIFLAG2_NREXT64 (1ull << 4)
#define XFS_BMBT_REC_SIZE 16
#define XFS_BMDR_HDR_SIZE 4  /* bb_level, bb_numrecs */
#define XFS_BMDR_SLOT_SIZE 16 /* one key and one pointer */

/* Bigtime timestamps count nanoseconds from this many seconds before the Unix epoch, so
 * that 0 is the old format's S32_MIN (XFS_BIGTIME_EPOCH_OFFSET). */
#define XFS_BIGTIME_EPOCH_OFFSET (1ll << 31)
#define NSEC_PER_SEC 1000000000ull

int bv_xfs_ino_locate(const struct bv_xfs *fs, uint64_t ino, uint64_t *fsb, uint32_t *ioff)
{
	const struct bv_xfs_sb *sb = &fs->sb;
	unsigned agino_log = sb->agblklog + sb->inopblog;
	uint64_t agno = ino >> agino_log;
	uint64_t agbno = (ino >> sb->inopblog) & ((1ull << sb->agblklog) - 1);
	uint64_t byte;

	if (agno >= sb->agcount || agbno >= sb->agblocks)
		return -EUCLEAN;
	*fsb = (agno << sb->agblklog) | agbno;
	if (bv_xfs_fsb_to_byte(fs, *fsb, 1, &byte))
		return -EUCLEAN;
	*ioff = (uint32_t)((ino & ((1ull << sb->inopblog) - 1)) << sb->inodelog);
	return 0;
}

static void decode_time(const uint8_t *p, bool bigtime, int64_t *sec, uint32_t *nsec)
{
	if (bigtime) {
		uint64_t t = bv_be64(p);

		*sec = (int64_t)(t / NSEC_PER_SEC) - XFS_BIGTIME_EPOCH_OFFSET;
		*nsec = (uint32_t)(t % NSEC_PER_SEC);
	} else {
		*sec = (int32_t)bv_be32(p);
		*nsec = bv_be32(p + 4);
	}
}

/* Checks one fork's format and extent count against its size (xfs_dinode_verify_fork). */
static const char *check_fork(const struct bv_xfs_inode *ip, int which, uint8_t format,
			      uint64_t nextents, uint32_t fork_size)
{
	uint64_t maxext = fork_size / XFS_BMBT_REC_SIZE;

	switch (format) {
	case BV_XFS_FMT_LOCAL:
		/* Only directories and symlinks keep data in the inode; attrs may. */
		if (which == BV_XFS_DATA_FORK) {
			if (!S_ISDIR(ip->mode) && !S_ISLNK(ip->mode))
				return "local format data fork on a file that is not a directory or symlink";
			if (ip->size > fork_size)
				return "local data larger than the data fork";
		}
		if (nextents)
			return "extents on a local format fork";
		return NULL;
	case BV_XFS_FMT_EXTENTS:
		if (nextents > maxext)
			return "more extents than the fork holds";
		return NULL;
	case BV_XFS_FMT_BTREE:
		/* A btree is only made when the extents no longer fit in the fork. */
		if (nextents <= maxext)
			return "btree format for extents that fit in the fork";
		if (fork_size < XFS_BMDR_HDR_SIZE + XFS_BMDR_SLOT_SIZE)
			return "btree root larger than the fork";
		return NULL;
	default:
		return "bad fork format";
	}
}

int bv_xfs_inode_read(struct bv_xfs *fs, uint64_t ino, struct bv_xfs_inode *out)
{
	const struct bv_xfs_sb *sb = &fs->sb;
	struct bv_xfs_inode ip;
	struct bv_cache_ref ref = { 0 };
	const uint8_t *d;
	uint32_t litino, core;
	uint8_t forkoff;
	const char *why = NULL;
	int err;

	memset(&ip, 0, sizeof(ip));
	ip.ino = ino;
	if (bv_xfs_ino_locate(fs, ino, &ip.iblock, &ip.ioff))
		return bv_xfs_corrupt(fs, "inode %" PRIu64 " is outside the filesystem's AGs",
				      ino);
	{
		uint64_t byte;

		(void)bv_xfs_fsb_to_byte(fs, ip.iblock, 1, &byte); /* checked by ino_locate */
		err = bv_cache_get(fs->cache, byte >> sb->blocklog, &ref);
		if (err)
			return err;
	}
	d = ref.data + ip.ioff;

	if (sb->crc && !fs->skip_csum && !bv_xfs_cksum_ok(d, sb->inodesize, DI_CRC)) {
		err = bv_xfs_badcsum(fs, "inode %" PRIu64 ": bad CRC", ino);
		goto out_put;
	}
	if (bv_be16(d + DI_MAGIC) != XFS_DINODE_MAGIC) {
		why = "bad magic";
		goto corrupt;
	}
	ip.version = d[DI_VERSION];
	if (sb->crc ? ip.version != 3 : (ip.version != 1 && ip.version != 2)) {
		why = "bad inode version";
		goto corrupt;
	}
	if (ip.version == 3) {
		if (bv_be64(d + DI_INO) != ino) {
			why = "di_ino is another inode's number";
			goto corrupt;
		}
		if (memcmp(d + DI_UUID, sb->meta_uuid, 16) != 0) {
			why = "di_uuid is not this filesystem's";
			goto corrupt;
		}
	}
	ip.mode = bv_be16(d + DI_MODE);
	if (ip.mode == 0) {
		err = -ENOENT; /* a free inode */
		goto out_put;
	}
	switch (ip.mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK:
	case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		break;
	default:
		why = "bad file type in di_mode";
		goto corrupt;
	}
	core = ip.version == 3 ? XFS_DINODE_V3_SIZE : XFS_DINODE_V2_SIZE;
	litino = sb->inodesize - core; /* inodesize >= 256 > core, checked at open */

	ip.format = d[DI_FORMAT];
	ip.aformat = d[DI_AFORMAT];
	ip.uid = bv_be32(d + DI_UID);
	ip.gid = bv_be32(d + DI_GID);
	if (ip.version == 1) {
		ip.nlink = bv_be16(d + DI_ONLINK);
	} else {
		ip.nlink = bv_be32(d + DI_NLINK);
		ip.projid = ((uint32_t)bv_be16(d + DI_PROJID_HI) << 16) |
			    bv_be16(d + DI_PROJID_LO);
	}
	ip.size = bv_be64(d + DI_SIZE);
	if (ip.size > INT64_MAX) {
		why = "negative di_size";
		goto corrupt;
	}
	ip.nblocks = bv_be64(d + DI_NBLOCKS);
	ip.extsize = bv_be32(d + DI_EXTSIZE);
	ip.flags = bv_be16(d + DI_FLAGS);
	ip.gen = bv_be32(d + DI_GEN);
	if (ip.version == 3) {
		ip.flags2 = bv_be64(d + DI_FLAGS2);
		ip.cowextsize = bv_be32(d + DI_COWEXTSIZE);
		if ((ip.flags2 & XFS_DIFLAG2_BIGTIME) && !sb->bigtime) {
			why = "bigtime timestamps on a filesystem without bigtime";
			goto corrupt;
		}
		if ((ip.flags2 & XFS_DIFLAG2_NREXT64) && !sb->nrext64) {
			why = "large extent counters on a filesystem without nrext64";
			goto corrupt;
		}
	}
	if (ip.flags2 & XFS_DIFLAG2_NREXT64) {
		ip.nextents = bv_be64(d + DI_BIG_NEXTENTS);
		ip.anextents = bv_be32(d + DI_NEXTENTS);
	} else {
		ip.nextents = bv_be32(d + DI_NEXTENTS);
		ip.anextents = bv_be16(d + DI_ANEXTENTS);
	}
	if (ip.nextents > UINT64_MAX - ip.anextents ||
	    ip.nextents + ip.anextents > ip.nblocks) {
		why = "more extents than blocks";
		goto corrupt;
	}

	{
		bool big = ip.flags2 & XFS_DIFLAG2_BIGTIME;

		decode_time(d + DI_ATIME, big, &ip.atime.sec, &ip.atime.nsec);
		decode_time(d + DI_MTIME, big, &ip.mtime.sec, &ip.mtime.nsec);
		decode_time(d + DI_CTIME, big, &ip.ctime.sec, &ip.ctime.nsec);
		if (ip.version == 3) {
			decode_time(d + DI_CRTIME, big, &ip.crtime.sec, &ip.crtime.nsec);
			ip.has_crtime = true;
		}
	}

	/* Forks: the data fork from the literal area's start, the attr fork (if any) from
	 * di_forkoff * 8 bytes into it (xfs_dinode_verify_forkoff). */
	forkoff = d[DI_FORKOFF];
	ip.dfork_off = (uint16_t)core;
	if (forkoff) {
		if (ip.format == BV_XFS_FMT_DEV ? forkoff != 1 : (uint32_t)forkoff * 8 >= litino) {
			why = "bad di_forkoff";
			goto corrupt;
		}
		ip.dfork_size = (uint16_t)(forkoff * 8);
		ip.afork_off = (uint16_t)(core + forkoff * 8);
		ip.afork_size = (uint16_t)(litino - forkoff * 8);
	} else {
		ip.dfork_size = (uint16_t)litino;
	}

	if (S_ISCHR(ip.mode) || S_ISBLK(ip.mode) || S_ISFIFO(ip.mode) || S_ISSOCK(ip.mode)) {
		if (ip.format != BV_XFS_FMT_DEV) {
			why = "a device, fifo or socket without the dev fork format";
			goto corrupt;
		}
		if (ip.nextents) {
			why = "extents on a device, fifo or socket";
			goto corrupt;
		}
		ip.rdev = bv_be32(d + core);
	} else {
		why = check_fork(&ip, BV_XFS_DATA_FORK, ip.format, ip.nextents, ip.dfork_size);
		if (why)
			goto corrupt;
	}
	if (forkoff) {
		why = check_fork(&ip, BV_XFS_ATTR_FORK, ip.aformat, ip.anextents, ip.afork_size);
		if (why)
			goto corrupt;
	} else if ((ip.aformat != 0 && ip.aformat != BV_XFS_FMT_EXTENTS) || ip.anextents) {
		why = "attr fork format or extents without an attr fork";
		goto corrupt;
	}
	bv_cache_put(fs->cache, &ref);
	*out = ip;
	return 0;

corrupt:
	err = bv_xfs_corrupt(fs, "inode %" PRIu64 ": %s", ino, why);
out_put:
	bv_cache_put(fs->cache, &ref);
	return err;
}

int bv_xfs_fork_bytes(struct bv_xfs *fs, const struct bv_xfs_inode *ip, int which,
		      struct bv_cache_ref *ref, const uint8_t **fork, size_t *len)
{
	uint16_t off = which == BV_XFS_ATTR_FORK ? ip->afork_off : ip->dfork_off;
	uint16_t size = which == BV_XFS_ATTR_FORK ? ip->afork_size : ip->dfork_size;
	uint64_t byte;
	int err;

	if (size == 0)
		return -ENODATA;
	/* Sizes were checked against the inode size when IP was read: these hold. */
	if (!bv_in_bounds(ip->ioff, fs->sb.inodesize, fs->sb.blocksize) ||
	    !bv_in_bounds(off, size, fs->sb.inodesize))
		return -EINVAL;
	if (bv_xfs_fsb_to_byte(fs, ip->iblock, 1, &byte))
		return -EINVAL;
	err = bv_cache_get(fs->cache, byte >> fs->sb.blocklog, ref);
	if (err)
		return err;
	*fork = ref->data + ip->ioff + off;
	*len = size;
	return 0;
}
