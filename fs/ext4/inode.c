/* Inodes: locating one in its group's inode table, and decoding it the way the kernel's
 * __ext4_iget does, with the same refusals, so that what stat(2) would show through a
 * kernel mount is what we show.
 */
#include "fs/ext4/inode.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/ext4/ext4_priv.h"
#include "util/le.h"
#include "fs/ext4/superblock.h"

#define EXT4_EPOCH_MASK 0x3u
#define EXT4_EXT_MAGIC 0xF30A
#define EXT4_EXT_MAX_DEPTH 5

/* EXT4_FITS_IN_INODE: a field in the large-inode tail exists only if i_extra_isize
 * reaches past its end. */
static bool fits(uint16_t extra_isize, uint32_t off, uint32_t size)
{
	return off + size <= EXT4_GOOD_OLD_INODE_SIZE + (uint32_t)extra_isize;
}

/* ext4_inode_csum: crc32c seeded with the fs seed, the inode number and generation,
 * over the whole on-disk inode with both checksum halves read as zero. The high half
 * takes part only if extra_isize covers it. */
static uint32_t inode_csum(const struct bv_ext4_sb *sb, uint32_t ino, const uint8_t *raw,
			   uint16_t extra_isize)
{
	static const uint8_t zero[2];
	uint8_t le[4];
	uint32_t c, isz = sb->s_inode_size;

	le[0] = (uint8_t)ino, le[1] = (uint8_t)(ino >> 8);
	le[2] = (uint8_t)(ino >> 16), le[3] = (uint8_t)(ino >> 24);
	c = bv_crc32c(sb->csum_seed, le, 4);
	c = bv_crc32c(c, raw + EXT4_INODE_I_GENERATION, 4);
	c = bv_crc32c(c, raw, EXT4_INODE_L_I_CHECKSUM_LO);
	c = bv_crc32c(c, zero, 2);
	c = bv_crc32c(c, raw + EXT4_INODE_L_I_CHECKSUM_LO + 2,
		      EXT4_GOOD_OLD_INODE_SIZE - (EXT4_INODE_L_I_CHECKSUM_LO + 2));
	if (isz > EXT4_GOOD_OLD_INODE_SIZE) {
		uint32_t off = EXT4_INODE_I_CHECKSUM_HI;
		c = bv_crc32c(c, raw + EXT4_GOOD_OLD_INODE_SIZE, off - EXT4_GOOD_OLD_INODE_SIZE);
		if (fits(extra_isize, EXT4_INODE_I_CHECKSUM_HI, 2)) {
			c = bv_crc32c(c, zero, 2);
			off += 2;
		}
		c = bv_crc32c(c, raw + off, isz - off);
	}
	return c;
}

/* ext4_decode_extra_time: the base is signed 32-bit seconds; the low two bits of the
 * extra word extend it past 2038 (added as a multiple of 2^32), the upper 30 bits are
 * nanoseconds. Without an extra word, only the signed base. */
static void decode_time(const uint8_t *raw, uint32_t off, uint32_t extra_off, bool has_extra,
			struct bv_ext4_time *t)
{
	t->sec = (int32_t)bv_le32(raw + off);
	t->nsec = 0;
	if (has_extra) {
		uint32_t extra = bv_le32(raw + extra_off);
		t->sec += (int64_t)((uint64_t)(extra & EXT4_EPOCH_MASK) << 32);
		t->nsec = extra >> 2;
	}
}

static bool is_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static bool mode_type_ok(uint16_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFLNK:
	case S_IFCHR:
	case S_IFBLK:
	case S_IFIFO:
	case S_IFSOCK:
		return true;
	default:
		return false;
	}
}

bool bv_ext4_inode_is_fast_symlink(const struct bv_ext4_sb *sb, const struct bv_ext4_inode *inode)
{
	if (!S_ISLNK(inode->mode) || (inode->flags & EXT4_INLINE_DATA_FL))
		return false;
	/* ext4_inode_is_fast_symlink: ea_inode symlinks go by size, others by having no
	 * blocks of their own (an xattr block's cluster aside). */
	if (inode->flags & EXT4_EA_INODE_FL)
		return inode->size && inode->size < EXT4_INODE_BLOCK_BYTES;
	uint64_t ea_blocks = inode->file_acl ? sb->cluster_size >> 9 : 0;
	return inode->blocks == ea_blocks;
}

/* Light check of the extent root in i_block (the kernel's ext4_ext_check_inode); the
 * tree below is blockmap.c's. */
static bool extent_root_ok(const uint8_t *iblock)
{
	uint16_t magic = bv_le16(iblock), entries = bv_le16(iblock + 2);
	uint16_t max = bv_le16(iblock + 4), depth = bv_le16(iblock + 6);

	/* An index level with no entries points nowhere. */
	return magic == EXT4_EXT_MAGIC && max > 0 && max <= 4 && entries <= max &&
	       depth <= EXT4_EXT_MAX_DEPTH && (entries > 0 || depth == 0);
}

#define BAD(reason)                                                                        \
	do {                                                                               \
		*why = (reason);                                                           \
		return -EUCLEAN;                                                           \
	} while (0)

static int decode(const struct bv_ext4_sb *sb, uint32_t ino, const uint8_t *raw,
		  bool verify_csum, struct bv_ext4_inode *out, const char **why)
{
	struct bv_ext4_inode in;
	uint16_t extra = 0;

	memset(&in, 0, sizeof(in));
	in.ino = ino;
	if (sb->s_inode_size > EXT4_GOOD_OLD_INODE_SIZE) {
		extra = bv_le16(raw + EXT4_INODE_I_EXTRA_ISIZE);
		if (EXT4_GOOD_OLD_INODE_SIZE + (uint32_t)extra > sb->s_inode_size || (extra & 3))
			BAD("bad i_extra_isize");
	}
	in.extra_isize = extra;

	/* A never-used slot of a zeroed inode table is free, not a checksum error (as
	 * e2fsprogs says; the kernel would call it a bad checksum). */
	if (raw[EXT4_INODE_I_LINKS_COUNT] == 0 && raw[EXT4_INODE_I_LINKS_COUNT + 1] == 0 &&
	    is_zero(raw, sb->s_inode_size))
		return -ENOENT;

	/* The kernel checks the checksum before looking at the link count, so a
	 * damaged free inode is a checksum error too. */
	if (verify_csum && bv_ext4_has_ro_compat(sb, EXT4_FEATURE_RO_COMPAT_METADATA_CSUM)) {
		uint32_t want = bv_le16(raw + EXT4_INODE_L_I_CHECKSUM_LO);
		uint32_t got = inode_csum(sb, ino, raw, extra);
		if (sb->s_inode_size > EXT4_GOOD_OLD_INODE_SIZE &&
		    fits(extra, EXT4_INODE_I_CHECKSUM_HI, 2))
			want |= (uint32_t)bv_le16(raw + EXT4_INODE_I_CHECKSUM_HI) << 16;
		else
			got &= 0xFFFF;
		if (want != got) {
			*why = "checksum mismatch";
			return -EBADMSG;
		}
	}

	in.mode = bv_le16(raw + EXT4_INODE_I_MODE);
	in.links_count = bv_le16(raw + EXT4_INODE_I_LINKS_COUNT);
	/* Unused or deleted (the kernel's iget says -ESTALE). The boot loader inode is
	 * exempt there, but only to make it a bad inode, which we have no use for. */
	if (in.links_count == 0)
		return -ENOENT;

	in.flags = bv_le32(raw + EXT4_INODE_I_FLAGS);
	in.generation = bv_le32(raw + EXT4_INODE_I_GENERATION);
	in.uid = bv_le16(raw + EXT4_INODE_I_UID) |
		 (uint32_t)bv_le16(raw + EXT4_INODE_L_I_UID_HIGH) << 16;
	in.gid = bv_le16(raw + EXT4_INODE_I_GID) |
		 (uint32_t)bv_le16(raw + EXT4_INODE_L_I_GID_HIGH) << 16;

	/* ext4_isize: the high word counts for regular files, and for directories only
	 * with large_dir (it was i_dir_acl once). */
	in.size = bv_le32(raw + EXT4_INODE_I_SIZE_LO);
	if (S_ISREG(in.mode) || bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_LARGEDIR))
		in.size |= (uint64_t)bv_le32(raw + EXT4_INODE_I_SIZE_HIGH) << 32;
	if (in.size > INT64_MAX)
		BAD("bad i_size");
	/* The kernel's iget refuses a regular file larger than the filesystem's maximum file
	 * size (ext4_max_size): 2^32 - 1 blocks (the extent start field is 32 bits), and
	 * without huge_file no more bytes than 2^32 - 1 sectors of blocks hold. Beyond it a
	 * crafted size would have readers walk petabytes of holes. */
	if (S_ISREG(in.mode)) {
		unsigned blkbits = EXT4_MIN_BLOCK_LOG_SIZE + sb->s_log_block_size;
		uint64_t max = ((1ull << 32) - 1) << blkbits;
		if (!bv_ext4_has_ro_compat(sb, EXT4_FEATURE_RO_COMPAT_HUGE_FILE)) {
			uint64_t limit = (((1ull << 32) - 1) >> (blkbits - 9)) << blkbits;
			if (limit < max)
				max = limit;
		}
		if (in.size > max)
			BAD("i_size past the largest file this filesystem can hold");
	}

	/* ext4_inode_blocks: 48 bits with huge_file, counted in filesystem blocks when the
	 * inode says so, else in 512-byte sectors. */
	in.blocks = bv_le32(raw + EXT4_INODE_I_BLOCKS_LO);
	if (bv_ext4_has_ro_compat(sb, EXT4_FEATURE_RO_COMPAT_HUGE_FILE)) {
		in.blocks |= (uint64_t)bv_le16(raw + EXT4_INODE_L_I_BLOCKS_HIGH) << 32;
		if (in.flags & EXT4_HUGE_FILE_FL)
			in.blocks <<= sb->s_log_block_size + 1;
	}

	in.file_acl = bv_le32(raw + EXT4_INODE_I_FILE_ACL_LO);
	if (bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_64BIT))
		in.file_acl |= (uint64_t)bv_le16(raw + EXT4_INODE_L_I_FILE_ACL_HIGH) << 32;
	if (in.file_acl && (in.file_acl <= sb->s_first_data_block ||
			    in.file_acl >= sb->s_blocks_count))
		BAD("xattr block out of range");

	decode_time(raw, EXT4_INODE_I_ATIME, EXT4_INODE_I_ATIME_EXTRA,
		    fits(extra, EXT4_INODE_I_ATIME_EXTRA, 4), &in.atime);
	decode_time(raw, EXT4_INODE_I_MTIME, EXT4_INODE_I_MTIME_EXTRA,
		    fits(extra, EXT4_INODE_I_MTIME_EXTRA, 4), &in.mtime);
	decode_time(raw, EXT4_INODE_I_CTIME, EXT4_INODE_I_CTIME_EXTRA,
		    fits(extra, EXT4_INODE_I_CTIME_EXTRA, 4), &in.ctime);
	if (fits(extra, EXT4_INODE_I_CRTIME, 4)) {
		in.has_crtime = true;
		decode_time(raw, EXT4_INODE_I_CRTIME, EXT4_INODE_I_CRTIME_EXTRA,
			    fits(extra, EXT4_INODE_I_CRTIME_EXTRA, 4), &in.crtime);
	}
	/* ext4_iget: the project id only with the project feature and room for it, else
	 * EXT4_DEF_PROJID (0). FS_IOC_FSGETXATTR shows it. */
	if (bv_ext4_has_ro_compat(sb, EXT4_FEATURE_RO_COMPAT_PROJECT) &&
	    fits(extra, EXT4_INODE_I_PROJID, 4))
		in.projid = bv_le32(raw + EXT4_INODE_I_PROJID);
	memcpy(in.i_block, raw + EXT4_INODE_I_BLOCK, sizeof(in.i_block));

	if (!mode_type_ok(in.mode))
		BAD("bogus i_mode");
	if (in.flags & EXT4_ENCRYPT_FL)
		return -EOPNOTSUPP;
	if ((in.flags & EXT4_INLINE_DATA_FL) &&
	    !bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_INLINE_DATA))
		BAD("inline data flag without the inline_data feature");
	if ((in.flags & EXT4_EXTENTS_FL) &&
	    !bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_EXTENTS))
		BAD("extents flag without the extent feature");
	if ((in.flags & EXT4_CASEFOLD_FL) &&
	    !bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_CASEFOLD))
		BAD("casefold flag without the casefold feature");
	/* Stale htree data on a checksummed fs without dir_index: the kernel refuses it
	 * rather than treat the index blocks as empty space. */
	if ((in.flags & EXT4_INDEX_FL) && S_ISDIR(in.mode) &&
	    !bv_ext4_has_compat(sb, EXT4_FEATURE_COMPAT_DIR_INDEX) &&
	    bv_ext4_has_ro_compat(sb, EXT4_FEATURE_RO_COMPAT_METADATA_CSUM))
		BAD("htree directory without the dir_index feature");

	if (S_ISCHR(in.mode) || S_ISBLK(in.mode)) {
		/* Old encoding (8-bit major and minor) in i_block[0]; if that is zero, the
		 * new one (12-bit major, 20-bit minor, split) in i_block[1]. */
		uint32_t old = bv_le32(in.i_block), nw = bv_le32(in.i_block + 4);
		if (old) {
			in.rdev_major = (old >> 8) & 0xff;
			in.rdev_minor = old & 0xff;
		} else {
			in.rdev_major = (nw & 0xfff00) >> 8;
			in.rdev_minor = (nw & 0xff) | ((nw >> 12) & 0xfff00);
		}
	}

	if (S_ISLNK(in.mode)) {
		/* Symlinks cannot be made append-only or immutable through the VFS. */
		if (in.flags & (EXT4_APPEND_FL | EXT4_IMMUTABLE_FL))
			BAD("append-only or immutable symlink");
		if (bv_ext4_inode_is_fast_symlink(sb, &in) &&
		    (in.size == 0 || in.size >= EXT4_INODE_BLOCK_BYTES ||
		     strnlen((const char *)in.i_block, (size_t)in.size + 1) != in.size))
			BAD("invalid fast symlink length");
	}

	/* Blocks referenced by the inode: the extent root must at least look like one. */
	if (!(in.flags & EXT4_INLINE_DATA_FL) && (in.flags & EXT4_EXTENTS_FL) &&
	    (S_ISREG(in.mode) || S_ISDIR(in.mode) ||
	     (S_ISLNK(in.mode) && !bv_ext4_inode_is_fast_symlink(sb, &in))) &&
	    !extent_root_ok(in.i_block))
		BAD("bad extent header in i_block");

	*out = in;
	return 0;
}

int bv_ext4_inode_decode(const struct bv_ext4_sb *sb, uint32_t ino, const uint8_t *raw,
			 bool verify_csum, struct bv_ext4_inode *out)
{
	const char *why;

	return decode(sb, ino, raw, verify_csum, out, &why);
}

/* Locates inode INO: its group, then its block and offset in the group's inode table. */
static int inode_locate(struct bv_ext4 *fs, uint32_t ino, struct bv_ext4_group *g,
			uint64_t *blk, uint32_t *offset, uint32_t *index)
{
	const struct bv_ext4_sb *sb = &fs->sb;
	int err;

	if (ino == 0 || ino > sb->s_inodes_count)
		return bv_ext4_corrupt(fs, "inode %u out of range (%u inodes)", ino,
				       sb->s_inodes_count);
	uint32_t group = (ino - 1) / sb->s_inodes_per_group;
	*index = (ino - 1) % sb->s_inodes_per_group;
	err = bv_ext4_group_get(fs, group, g);
	if (err)
		return err;
	/* group_get checked inode_table + itb_per_group against the fs end, and
	 * index / inodes_per_block < itb_per_group. */
	*blk = g->inode_table + *index / sb->inodes_per_block;
	*offset = (*index % sb->inodes_per_block) * sb->s_inode_size;
	return 0;
}

int bv_ext4_inode_raw_get(struct bv_ext4 *fs, uint32_t ino, struct bv_cache_ref *ref,
			  uint32_t *offset)
{
	struct bv_ext4_group g;
	uint64_t blk = 0;
	uint32_t off = 0, index = 0;
	int err;

	err = inode_locate(fs, ino, &g, &blk, &off, &index);
	if (err)
		return err;
	err = bv_ext4_bread(fs, blk, ref);
	if (err)
		return err;
	*offset = off;
	return 0;
}

int bv_ext4_inode_get(struct bv_ext4 *fs, uint32_t ino, struct bv_ext4_inode *out)
{
	const struct bv_ext4_sb *sb = &fs->sb;
	struct bv_cache_ref ref = { 0 };
	struct bv_ext4_group g;
	uint64_t blk = 0;
	uint32_t off = 0, index = 0;
	int err;

	err = inode_locate(fs, ino, &g, &blk, &off, &index);
	if (err)
		return err;
	/* A group whose inode table was never initialised (lazy_itable_init) may hold
	 * garbage there; its descriptor says no inode in it is in use. The flag means
	 * something only when descriptors are checksummed. */
	if ((g.flags & EXT4_BG_INODE_UNINIT) &&
	    (bv_ext4_has_ro_compat(sb, EXT4_FEATURE_RO_COMPAT_GDT_CSUM) ||
	     bv_ext4_has_ro_compat(sb, EXT4_FEATURE_RO_COMPAT_METADATA_CSUM)))
		return -ENOENT;
	err = bv_ext4_bread(fs, blk, &ref);
	if (err)
		return err;
	const char *why = "";
	err = decode(sb, ino, ref.data + off, fs->verify_csum, out, &why);
	bv_ext4_brelse(fs, &ref);
	if (err == -EUCLEAN || err == -EBADMSG)
		return bv_ext4_report(fs, err, "inode %u: %s (inode table block %" PRIu64 ")", ino,
				      why, blk);
	return err;
}

int bv_ext4_inode_get_linked(struct bv_ext4 *fs, uint32_t ino, struct bv_ext4_inode *out)
{
	struct bv_ext4_inode inode;
	int err;

	/* The kernel's lookup refuses these (iget without EXT4_IGET_SPECIAL): a name that
	 * leads to the journal, the resize inode or a quota file, or to an inode holding an
	 * xattr value, is a crafted or broken directory, and serving it would expose
	 * metadata as if it were a file. */
	if (ino != EXT4_ROOT_INO && ino < fs->sb.s_first_ino)
		return bv_ext4_corrupt(fs, "directory entry names reserved inode %u", ino);
	err = bv_ext4_inode_get(fs, ino, &inode);
	if (err)
		return err;
	if (inode.flags & EXT4_EA_INODE_FL)
		return bv_ext4_corrupt(fs, "directory entry names inode %u, which holds an xattr "
				       "value", ino);
	*out = inode;
	return 0;
}

int bv_ext4_inode_get_handle(struct bv_ext4 *fs, uint32_t ino, struct bv_ext4_inode *out)
{
	struct bv_ext4_inode inode;
	int err;

	/* ext4_nfs_get_inode: a reserved inode (but the root) or one past the count is a
	 * stale handle, and so is an unused inode (EXT4_IGET_HANDLE). The handle came from
	 * the caller, not from the image: nothing here is corruption, nothing is logged. */
	if ((ino != EXT4_ROOT_INO && ino < fs->sb.s_first_ino) || ino > fs->sb.s_inodes_count)
		return -ESTALE;
	err = bv_ext4_inode_get(fs, ino, &inode);
	if (err == -ENOENT)
		return -ESTALE;
	if (err)
		return err;
	/* The kernel's iget refuses an xattr-value inode reached any way but from its xattr
	 * (EFSCORRUPTED, logged); a handle naming one names nothing we serve. */
	if (inode.flags & EXT4_EA_INODE_FL)
		return -ESTALE;
	*out = inode;
	return 0;
}
