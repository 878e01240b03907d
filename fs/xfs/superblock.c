/* The XFS primary superblock (byte 0 of the device): decoding, geometry checks and the
 * feature allow-list.
 *
 * The rules follow what the kernel's xfs_validate_sb_common refuses (our own words), so
 * that everything after this file may trust the geometry: sizes are powers of two whose
 * logs agree with them, the AGs tile the data device, the log and the root inode lie inside
 * it, and the filesystem fits in the source.
 *
 * Features: v5 (crc) with any of finobt, sparse inodes, reflink, rmapbt, bigtime,
 * inobtcount, nrext64, ftype, meta_uuid is served; so is v4 (crc=0), whose differences
 * (no CRCs or self-describing headers, v1/v2 inodes) cost the other files a few lines.
 * Refused by name: a realtime device, an external log, needsrepair, parent pointers,
 * metadir, zoned, and any unknown incompat bit. An unknown ro_compat bit is served: such a
 * filesystem is one the kernel mounts read-only, and we never write (ro_unknown records it,
 * the features string shows it). Quota inodes are ignored.
 */
#include "fs/xfs/xfs_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/crc.h"
#include "util/le.h"
#include "util/report.h"

/* Byte offsets in struct xfs_dsb (big-endian; sb_crc alone is little-endian). */
#define SB_MAGICNUM 0
#define SB_BLOCKSIZE 4
#define SB_DBLOCKS 8
#define SB_RBLOCKS 16
#define SB_REXTENTS 24
#define SB_UUID 32
#define SB_LOGSTART 48
#define SB_ROOTINO 56
#define SB_RBMINO 64
#define SB_RSUMINO 72
#define SB_REXTSIZE 80
#define SB_AGBLOCKS 84
#define SB_AGCOUNT 88
#define SB_LOGBLOCKS 96
#define SB_VERSIONNUM 100
#define SB_SECTSIZE 102
#define SB_INODESIZE 104
#define SB_INOPBLOCK 106
#define SB_FNAME 108
#define SB_BLOCKLOG 120
#define SB_SECTLOG 121
#define SB_INODELOG 122
#define SB_INOPBLOG 123
#define SB_AGBLKLOG 124
#define SB_INPROGRESS 126
#define SB_IMAX_PCT 127
#define SB_ICOUNT 128
#define SB_IFREE 136
#define SB_FDBLOCKS 144
#define SB_UQUOTINO 160
#define SB_GQUOTINO 168
#define SB_UNIT 184
#define SB_WIDTH 188
#define SB_DIRBLKLOG 192
#define SB_LOGSECTLOG 193
#define SB_LOGSECTSIZE 194
#define SB_FEATURES2 200
#define SB_FEATURES_COMPAT 208
#define SB_FEATURES_RO_COMPAT 212
#define SB_FEATURES_INCOMPAT 216
#define SB_FEATURES_LOG_INCOMPAT 220
#define SB_CRC 224
#define SB_PQUOTINO 232
#define SB_META_UUID 248

#define XFS_SB_MAGIC 0x58465342u /* "XFSB" */

#define XFS_SB_VERSION_4 4
#define XFS_SB_VERSION_5 5
#define XFS_SB_VERSION_NUMBITS 0x000f
#define XFS_SB_VERSION_ATTRBIT 0x0010
#define XFS_SB_VERSION_NLINKBIT 0x0020
#define XFS_SB_VERSION_QUOTABIT 0x0040
#define XFS_SB_VERSION_ALIGNBIT 0x0080
#define XFS_SB_VERSION_DALIGNBIT 0x0100
#define XFS_SB_VERSION_SHAREDBIT 0x0200
#define XFS_SB_VERSION_LOGV2BIT 0x0400
#define XFS_SB_VERSION_SECTORBIT 0x0800
#define XFS_SB_VERSION_EXTFLGBIT 0x1000
#define XFS_SB_VERSION_DIRV2BIT 0x2000
#define XFS_SB_VERSION_MOREBITSBIT 0x8000

#define XFS_SB_VERSION2_LAZYSBCOUNTBIT 0x02
#define XFS_SB_VERSION2_ATTR2BIT 0x08
#define XFS_SB_VERSION2_PARENTBIT 0x10
#define XFS_SB_VERSION2_PROJID32BIT 0x80
#define XFS_SB_VERSION2_CRCBIT 0x100
#define XFS_SB_VERSION2_FTYPE 0x200

#define XFS_SB_FEAT_RO_COMPAT_FINOBT 0x1
#define XFS_SB_FEAT_RO_COMPAT_RMAPBT 0x2
#define XFS_SB_FEAT_RO_COMPAT_REFLINK 0x4
#define XFS_SB_FEAT_RO_COMPAT_INOBTCNT 0x8
#define XFS_SB_FEAT_RO_COMPAT_ALL 0xf

#define XFS_SB_FEAT_INCOMPAT_FTYPE 0x1
#define XFS_SB_FEAT_INCOMPAT_SPINODES 0x2
#define XFS_SB_FEAT_INCOMPAT_META_UUID 0x4
#define XFS_SB_FEAT_INCOMPAT_BIGTIME 0x8
#define XFS_SB_FEAT_INCOMPAT_NEEDSREPAIR 0x10
#define XFS_SB_FEAT_INCOMPAT_NREXT64 0x20
#define XFS_SB_FEAT_INCOMPAT_EXCHRANGE 0x40
#define XFS_SB_FEAT_INCOMPAT_PARENT 0x80
#define XFS_SB_FEAT_INCOMPAT_METADIR 0x100
#define XFS_SB_FEAT_INCOMPAT_ZONED 0x200
/* What this reader serves. EXCHRANGE only adds a log item (we never replay the log). */
#define BV_XFS_INCOMPAT_OK                                                                 \
	(XFS_SB_FEAT_INCOMPAT_FTYPE | XFS_SB_FEAT_INCOMPAT_SPINODES |                      \
	 XFS_SB_FEAT_INCOMPAT_META_UUID | XFS_SB_FEAT_INCOMPAT_BIGTIME |                   \
	 XFS_SB_FEAT_INCOMPAT_NREXT64 | XFS_SB_FEAT_INCOMPAT_EXCHRANGE)

#define XFS_MIN_BLOCKSIZE_LOG 9
#define XFS_MAX_BLOCKSIZE_LOG 16
#define XFS_MIN_SECTORSIZE_LOG 9
#define XFS_MAX_SECTORSIZE_LOG 15
#define XFS_DINODE_MIN_LOG 8
#define XFS_DINODE_MAX_LOG 11
#define XFS_MIN_AG_BLOCKS 64
/* The kernel's xfs_validate_sb_common refuses AGs under 16 MiB (mkfs never makes them).
 * Besides matching it, this bounds the AG count by the source's size (65536 for 1 TiB),
 * and with it the AG headers open reads (ag.c). */
#define XFS_MIN_AG_BYTES (1ull << 24)
#define XFS_MAX_AG_BYTES (1ull << 40)
#define XFS_MAX_DBLOCKS_LOG 63 /* byte offsets must fit a signed 64-bit off_t */
#define BV_XFS_MIN_CACHE_BLOCK 1024 /* blockio/cache.h's smallest block */

/* log2 of V rounded up (xfs_highbit32(v - 1) + 1 for v > 1), as sb_agblklog is defined. */
static unsigned log2_roundup(uint64_t v)
{
	unsigned l = 0;

	while (l < 64 && (1ull << l) < v)
		l++;
	return l;
}

bool bv_xfs_cksum_ok(const uint8_t *buf, size_t len, size_t crc_off)
{
	static const uint8_t zero[4];
	uint32_t crc;

	if (!bv_in_bounds(crc_off, 4, len))
		return false;
	/* xfs_start_cksum: crc32c seeded with ~0 over the buffer with the CRC field read as
	 * zero; the stored value is the inverted result, little-endian (xfs_end_cksum). */
	crc = bv_crc32c(~0u, buf, crc_off);
	crc = bv_crc32c(crc, zero, 4);
	crc = bv_crc32c(crc, buf + crc_off + 4, len - crc_off - 4);
	return ~crc == bv_le32(buf + crc_off);
}

/* A v4 filesystem's version bits we understand (the kernel's XFS_SB_VERSION_OKBITS less
 * SHAREDBIT, which it refuses too). */
#define BV_XFS_V4_OKBITS                                                                   \
	(XFS_SB_VERSION_NUMBITS | XFS_SB_VERSION_ATTRBIT | XFS_SB_VERSION_NLINKBIT |        \
	 XFS_SB_VERSION_QUOTABIT | XFS_SB_VERSION_ALIGNBIT | XFS_SB_VERSION_DALIGNBIT |      \
	 XFS_SB_VERSION_LOGV2BIT | XFS_SB_VERSION_SECTORBIT | XFS_SB_VERSION_EXTFLGBIT |     \
	 XFS_SB_VERSION_DIRV2BIT | XFS_SB_VERSION_MOREBITSBIT)
#define BV_XFS_V4_FEATURES2_OK                                                             \
	(XFS_SB_VERSION2_LAZYSBCOUNTBIT | XFS_SB_VERSION2_ATTR2BIT |                        \
	 XFS_SB_VERSION2_PROJID32BIT | XFS_SB_VERSION2_FTYPE)

static int check_features(struct bv_xfs_sb *sb, char *errbuf, size_t size)
{
	uint32_t incompat = sb->features_incompat;
	int ver = sb->versionnum & XFS_SB_VERSION_NUMBITS;

	if (ver == XFS_SB_VERSION_4) {
		if (sb->versionnum & ~BV_XFS_V4_OKBITS)
			return bv_fail(errbuf, size, -EOPNOTSUPP,
				       "XFS v4 version bits 0x%x are not supported",
				       sb->versionnum & ~BV_XFS_V4_OKBITS);
		if (!(sb->versionnum & XFS_SB_VERSION_DIRV2BIT))
			return bv_fail(errbuf, size, -EOPNOTSUPP,
				       "XFS version 1 directories are not supported");
		/* features2 counts only when MOREBITS says so (xfs_sb_version_hasmorebits). */
		if (!(sb->versionnum & XFS_SB_VERSION_MOREBITSBIT))
			sb->features2 = 0;
		if (sb->features2 & XFS_SB_VERSION2_CRCBIT)
			return bv_fail(errbuf, size, -EUCLEAN,
				       "superblock: a v4 superblock has the CRC feature bit");
		if (sb->features2 & ~BV_XFS_V4_FEATURES2_OK)
			return bv_fail(errbuf, size, -EOPNOTSUPP,
				       "XFS v4 features2 bits 0x%x are not supported",
				       sb->features2 & ~BV_XFS_V4_FEATURES2_OK);
		sb->crc = false;
		sb->ftype = sb->features2 & XFS_SB_VERSION2_FTYPE;
		sb->features_compat = sb->features_ro_compat = sb->features_incompat = 0;
		sb->features_log_incompat = 0;
		return 0;
	}
	if (ver != XFS_SB_VERSION_5)
		return bv_fail(errbuf, size, -EOPNOTSUPP,
			       "XFS superblock version %d is not supported", ver);
	sb->crc = true;
	if (incompat & XFS_SB_FEAT_INCOMPAT_NEEDSREPAIR)
		return bv_fail(errbuf, size, -EOPNOTSUPP,
			       "the XFS filesystem needs repair (needsrepair is set): run xfs_repair");
	if (incompat & XFS_SB_FEAT_INCOMPAT_PARENT)
		return bv_fail(errbuf, size, -EOPNOTSUPP,
			       "XFS parent pointers (parent) are not supported");
	if (incompat & XFS_SB_FEAT_INCOMPAT_METADIR)
		return bv_fail(errbuf, size, -EOPNOTSUPP,
			       "the XFS metadata directory tree (metadir) is not supported");
	if (incompat & XFS_SB_FEAT_INCOMPAT_ZONED)
		return bv_fail(errbuf, size, -EOPNOTSUPP,
			       "XFS zoned devices (zoned) are not supported");
	if (incompat & ~BV_XFS_INCOMPAT_OK)
		return bv_fail(errbuf, size, -EOPNOTSUPP,
			       "unknown XFS incompatible features 0x%x are not supported",
			       incompat & ~BV_XFS_INCOMPAT_OK);
	/* Unknown ro_compat: the kernel mounts read-only; so do we (we never write). */
	sb->ro_unknown = sb->features_ro_compat & ~XFS_SB_FEAT_RO_COMPAT_ALL;
	sb->ftype = incompat & XFS_SB_FEAT_INCOMPAT_FTYPE;
	sb->nrext64 = incompat & XFS_SB_FEAT_INCOMPAT_NREXT64;
	sb->bigtime = incompat & XFS_SB_FEAT_INCOMPAT_BIGTIME;
	return 0;
}

/* Block FSB .. FSB + COUNT - 1 inside one AG and the data device (the sb-only half of
 * bv_xfs_fsb_to_byte, for checks before struct bv_xfs exists). */
static bool sb_fsb_ok(const struct bv_xfs_sb *sb, uint64_t fsb, uint64_t count)
{
	uint64_t agno = fsb >> sb->agblklog;
	uint64_t agbno = fsb & ((1ull << sb->agblklog) - 1);
	uint64_t blk;

	if (count == 0 || agno >= sb->agcount || agbno >= sb->agblocks ||
	    count > sb->agblocks - agbno)
		return false;
	blk = agno * sb->agblocks + agbno;
	return blk < sb->dblocks && count <= sb->dblocks - blk;
}

static int check_geometry(struct bv_xfs_sb *sb, uint64_t dev_size, char *errbuf, size_t size)
{
	uint64_t agblocks_max, ag_full, root_agno, root_agbno;

	if (!bv_is_pow2(sb->sectsize) || sb->sectlog < XFS_MIN_SECTORSIZE_LOG ||
	    sb->sectlog > XFS_MAX_SECTORSIZE_LOG || (1u << sb->sectlog) != sb->sectsize)
		return bv_fail(errbuf, size, -EUCLEAN, "superblock: bad sector size %u (log %u)",
			       sb->sectsize, sb->sectlog);
	if (!bv_is_pow2(sb->blocksize) || sb->blocklog < XFS_MIN_BLOCKSIZE_LOG ||
	    sb->blocklog > XFS_MAX_BLOCKSIZE_LOG || (1u << sb->blocklog) != sb->blocksize ||
	    sb->blocksize < sb->sectsize)
		return bv_fail(errbuf, size, -EUCLEAN, "superblock: bad block size %u (log %u)",
			       sb->blocksize, sb->blocklog);
	if (sb->blocksize < BV_XFS_MIN_CACHE_BLOCK)
		return bv_fail(errbuf, size, -EOPNOTSUPP,
			       "XFS with %u-byte blocks is not supported (1024 at least)",
			       sb->blocksize);
	if (!bv_is_pow2(sb->inodesize) || sb->inodelog < XFS_DINODE_MIN_LOG ||
	    sb->inodelog > XFS_DINODE_MAX_LOG || (1u << sb->inodelog) != sb->inodesize ||
	    sb->inodesize > sb->blocksize || (sb->crc && sb->inodesize < 512))
		return bv_fail(errbuf, size, -EUCLEAN, "superblock: bad inode size %u (log %u)",
			       sb->inodesize, sb->inodelog);
	if (sb->inopblog != sb->blocklog - sb->inodelog ||
	    sb->inopblock != (sb->blocksize >> sb->inodelog))
		return bv_fail(errbuf, size, -EUCLEAN,
			       "superblock: inodes per block %u (log %u) disagree with the sizes",
			       sb->inopblock, sb->inopblog);
	agblocks_max = XFS_MAX_AG_BYTES >> sb->blocklog;
	if (sb->agblocks < XFS_MIN_AG_BLOCKS || sb->agblocks > agblocks_max ||
	    ((uint64_t)sb->agblocks << sb->blocklog) < XFS_MIN_AG_BYTES ||
	    sb->agblklog != log2_roundup(sb->agblocks))
		return bv_fail(errbuf, size, -EUCLEAN, "superblock: bad AG size %u blocks (log %u)",
			       sb->agblocks, sb->agblklog);
	/* agino (agbno << inopblog | index) is 32 bits; an inode number's agno part must fit
	 * in the rest of 64 bits, and byte offsets in 63. */
	if (sb->agblklog + sb->inopblog > 32)
		return bv_fail(errbuf, size, -EUCLEAN,
			       "superblock: AG inode numbers would not fit 32 bits");
	if (sb->agcount == 0 || log2_roundup(sb->agcount) + sb->agblklog + sb->blocklog >
					XFS_MAX_DBLOCKS_LOG)
		return bv_fail(errbuf, size, -EUCLEAN, "superblock: bad AG count %u", sb->agcount);
	/* The AGs tile the data device: every AG is full but the last, which has at least
	 * XFS_MIN_AG_BLOCKS (xfs_validate_sb_common). */
	ag_full = (uint64_t)(sb->agcount - 1) * sb->agblocks;
	if (sb->dblocks <= ag_full || sb->dblocks - ag_full > sb->agblocks ||
	    (sb->agcount > 1 && sb->dblocks - ag_full < XFS_MIN_AG_BLOCKS))
		return bv_fail(errbuf, size, -EUCLEAN,
			       "superblock: %" PRIu64 " blocks do not make %u AGs of %u blocks",
			       sb->dblocks, sb->agcount, sb->agblocks);
	if (sb->dblocks > (dev_size >> sb->blocklog))
		return bv_fail(errbuf, size, -EUCLEAN,
			       "the XFS filesystem (%" PRIu64 " blocks of %u bytes) is larger than "
			       "its device or image (%" PRIu64 " bytes): truncated?",
			       sb->dblocks, sb->blocksize, dev_size);
	if (sb->blocklog + sb->dirblklog > XFS_MAX_BLOCKSIZE_LOG)
		return bv_fail(errbuf, size, -EUCLEAN, "superblock: bad directory block log %u",
			       sb->dirblklog);
	sb->dirblksize = sb->blocksize << sb->dirblklog;
	if (sb->imax_pct > 100)
		return bv_fail(errbuf, size, -EUCLEAN, "superblock: imax_pct %u > 100",
			       sb->imax_pct);
	if (sb->rblocks || sb->rextents)
		return bv_fail(errbuf, size, -EOPNOTSUPP,
			       "XFS with a realtime device is not supported");
	if (sb->logstart == 0)
		return bv_fail(errbuf, size, -EOPNOTSUPP,
			       "XFS with an external log device is not supported");
	if (sb->logblocks == 0 || !sb_fsb_ok(sb, sb->logstart, sb->logblocks))
		return bv_fail(errbuf, size, -EUCLEAN,
			       "superblock: the log (%u blocks at %" PRIu64 ") is not inside one AG",
			       sb->logblocks, sb->logstart);
	root_agno = sb->rootino >> (sb->agblklog + sb->inopblog);
	root_agbno = (sb->rootino >> sb->inopblog) & ((1ull << sb->agblklog) - 1);
	if (root_agno >= sb->agcount || root_agbno >= sb->agblocks ||
	    !sb_fsb_ok(sb, (root_agno << sb->agblklog) | root_agbno, 1))
		return bv_fail(errbuf, size, -EUCLEAN, "superblock: bad root inode %" PRIu64,
			       sb->rootino);
	return 0;
}

int bv_xfs_sb_decode(const uint8_t *buf, size_t len, uint64_t dev_size, bool skip_csum,
		     struct bv_xfs_sb *out, char *errbuf, size_t errbuf_size)
{
	struct bv_xfs_sb sb;
	int err;

	if (len < 512 || bv_be32(buf + SB_MAGICNUM) != XFS_SB_MAGIC)
		return -EMEDIUMTYPE;
	memset(&sb, 0, sizeof(sb));
	sb.blocksize = bv_be32(buf + SB_BLOCKSIZE);
	sb.dblocks = bv_be64(buf + SB_DBLOCKS);
	sb.rblocks = bv_be64(buf + SB_RBLOCKS);
	sb.rextents = bv_be64(buf + SB_REXTENTS);
	memcpy(sb.uuid, buf + SB_UUID, 16);
	sb.logstart = bv_be64(buf + SB_LOGSTART);
	sb.rootino = bv_be64(buf + SB_ROOTINO);
	sb.rbmino = bv_be64(buf + SB_RBMINO);
	sb.rsumino = bv_be64(buf + SB_RSUMINO);
	sb.uquotino = bv_be64(buf + SB_UQUOTINO);
	sb.gquotino = bv_be64(buf + SB_GQUOTINO);
	sb.rextsize = bv_be32(buf + SB_REXTSIZE);
	sb.agblocks = bv_be32(buf + SB_AGBLOCKS);
	sb.agcount = bv_be32(buf + SB_AGCOUNT);
	sb.logblocks = bv_be32(buf + SB_LOGBLOCKS);
	sb.versionnum = bv_be16(buf + SB_VERSIONNUM);
	sb.sectsize = bv_be16(buf + SB_SECTSIZE);
	sb.inodesize = bv_be16(buf + SB_INODESIZE);
	sb.inopblock = bv_be16(buf + SB_INOPBLOCK);
	memcpy(sb.fname, buf + SB_FNAME, 12);
	sb.fname[12] = '\0';
	sb.blocklog = buf[SB_BLOCKLOG];
	sb.sectlog = buf[SB_SECTLOG];
	sb.inodelog = buf[SB_INODELOG];
	sb.inopblog = buf[SB_INOPBLOG];
	sb.agblklog = buf[SB_AGBLKLOG];
	sb.imax_pct = buf[SB_IMAX_PCT];
	sb.icount = bv_be64(buf + SB_ICOUNT);
	sb.ifree = bv_be64(buf + SB_IFREE);
	sb.fdblocks = bv_be64(buf + SB_FDBLOCKS);
	sb.sunit = bv_be32(buf + SB_UNIT);
	sb.swidth = bv_be32(buf + SB_WIDTH);
	sb.dirblklog = buf[SB_DIRBLKLOG];
	sb.logsectsize = bv_be16(buf + SB_LOGSECTSIZE);
	if (sb.logsectsize == 0)
		sb.logsectsize = 512; /* v1 logs and mkfs's default leave it 0 */
	sb.features2 = bv_be32(buf + SB_FEATURES2);

	sb.features_compat = bv_be32(buf + SB_FEATURES_COMPAT);
	sb.features_ro_compat = bv_be32(buf + SB_FEATURES_RO_COMPAT);
	sb.features_incompat = bv_be32(buf + SB_FEATURES_INCOMPAT);
	sb.features_log_incompat = bv_be32(buf + SB_FEATURES_LOG_INCOMPAT);

	if ((sb.versionnum & XFS_SB_VERSION_NUMBITS) == XFS_SB_VERSION_5) {
		/* The CRC covers the whole first sector, whose size must be sane first. */
		if (!bv_is_pow2(sb.sectsize) || sb.sectsize < 512 || sb.sectsize > 32768)
			return bv_fail(errbuf, errbuf_size, -EUCLEAN,
				       "superblock: bad sector size %u", sb.sectsize);
		if (sb.sectsize > len)
			return bv_fail(errbuf, errbuf_size, -EUCLEAN,
				       "superblock: the device is smaller than one sector");
		if (!skip_csum && !bv_xfs_cksum_ok(buf, sb.sectsize, SB_CRC))
			return bv_fail(errbuf, errbuf_size, -EBADMSG, "superblock: bad CRC");
	}
	err = check_features(&sb, errbuf, errbuf_size);
	if (err)
		return err;
	if (sb.crc)
		sb.pquotino = bv_be64(buf + SB_PQUOTINO); /* v4 keeps it in sb_gquotino */
	/* v5 metadata headers carry sb_meta_uuid when the uuid was changed after mkfs. */
	if (sb.features_incompat & XFS_SB_FEAT_INCOMPAT_META_UUID)
		memcpy(sb.meta_uuid, buf + SB_META_UUID, 16);
	else
		memcpy(sb.meta_uuid, sb.uuid, 16);
	if (buf[SB_INPROGRESS])
		return bv_fail(errbuf, errbuf_size, -EUCLEAN,
			       "superblock: mkfs did not finish (sb_inprogress is set)");
	err = check_geometry(&sb, dev_size, errbuf, errbuf_size);
	if (err)
		return err;
	if (!bv_is_pow2(sb.logsectsize) || sb.logsectsize > 32768 ||
	    sb.logsectsize > sb.blocksize)
		return bv_fail(errbuf, errbuf_size, -EUCLEAN, "superblock: bad log sector size %u",
			       sb.logsectsize);
	*out = sb;
	return 0;
}

struct feature_name {
	int kind; /* 1 ro_compat, 2 incompat */
	uint32_t mask;
	const char *name;
};

/* As mkfs.xfs and xfs_info name them (their -m/-i/-n option names). */
static const struct feature_name feature_names[] = {
	{ 1, XFS_SB_FEAT_RO_COMPAT_FINOBT, "finobt" },
	{ 2, XFS_SB_FEAT_INCOMPAT_SPINODES, "sparse" },
	{ 1, XFS_SB_FEAT_RO_COMPAT_RMAPBT, "rmapbt" },
	{ 1, XFS_SB_FEAT_RO_COMPAT_REFLINK, "reflink" },
	{ 2, XFS_SB_FEAT_INCOMPAT_BIGTIME, "bigtime" },
	{ 1, XFS_SB_FEAT_RO_COMPAT_INOBTCNT, "inobtcount" },
	{ 2, XFS_SB_FEAT_INCOMPAT_NREXT64, "nrext64" },
	{ 2, XFS_SB_FEAT_INCOMPAT_META_UUID, "meta_uuid" },
	{ 2, XFS_SB_FEAT_INCOMPAT_EXCHRANGE, "exchange" },
};

static void add_name(char *buf, size_t size, size_t *pos, const char *name)
{
	int n;

	if (*pos >= size)
		return;
	n = snprintf(buf + *pos, size - *pos, "%s%s", *pos ? " " : "", name);
	if (n > 0)
		*pos += (size_t)n;
}

void bv_xfs_sb_features(const struct bv_xfs_sb *sb, char *buf, size_t size)
{
	size_t pos = 0;
	char other[32];

	if (!size)
		return;
	buf[0] = '\0';
	if (sb->crc) {
		add_name(buf, size, &pos, "crc");
		for (size_t i = 0; i < sizeof(feature_names) / sizeof(feature_names[0]); i++) {
			uint32_t word = feature_names[i].kind == 1 ? sb->features_ro_compat
								   : sb->features_incompat;
			if (word & feature_names[i].mask)
				add_name(buf, size, &pos, feature_names[i].name);
		}
		if (sb->ro_unknown) {
			snprintf(other, sizeof(other), "ro_compat_0x%x",
				 sb->features_ro_compat & ~XFS_SB_FEAT_RO_COMPAT_ALL);
			add_name(buf, size, &pos, other);
		}
	} else {
		add_name(buf, size, &pos, "v4");
		if (sb->features2 & XFS_SB_VERSION2_ATTR2BIT)
			add_name(buf, size, &pos, "attr2");
		if (sb->features2 & XFS_SB_VERSION2_LAZYSBCOUNTBIT)
			add_name(buf, size, &pos, "lazy-count");
		if (sb->features2 & XFS_SB_VERSION2_PROJID32BIT)
			add_name(buf, size, &pos, "projid32bit");
	}
	if (sb->ftype)
		add_name(buf, size, &pos, "ftype");
}
