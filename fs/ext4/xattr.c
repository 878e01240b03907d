/* Extended attributes: the in-inode area (after the 128 + i_extra_isize bytes of the inode),
 * the xattr block (i_file_acl) and values kept in their own inode (ea_inode).
 *
 * Every area is checked in full before any entry is used, with the rules of the kernel's
 * check_xattrs(): names inside the area, a zero word after the last entry, values inside
 * the area and clear of the entry table. What is listed and returned follows what the
 * kernel's listxattr/getxattr give root on a read-only mount of the same image. */
#include "fs/ext4/xattr.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fs/ext4/ext4_priv.h"
#include "fs/ext4/inode.h"
#include "util/le.h"

/* One xattr area, in-inode or block, as a view over a pinned buffer. */
struct xa {
	const uint8_t *buf;  /* the raw inode or the whole block */
	size_t end;          /* the area ends here (inode size or block size) */
	size_t first;        /* offset of the first entry */
	size_t vbase;        /* e_value_offs counts from here */
	bool sorted;         /* block entries are sorted; the kernel's search stops early */
	uint32_t ino;        /* for reports */
	uint64_t blk;        /* 0 in-inode */
};

/* One decoded entry. NAME points into the area. */
struct xe {
	uint8_t name_len;
	uint8_t name_index;
	uint16_t value_offs;
	uint32_t value_inum;
	uint32_t value_size;
	uint32_t hash;
	const uint8_t *name;
};

static int xa_corrupt(struct bv_ext4 *fs, const struct xa *xa, const char *why)
{
	if (xa->blk)
		return bv_ext4_corrupt(fs, "inode %u: xattr block %llu: %s", xa->ino,
				       (unsigned long long)xa->blk, why);
	return bv_ext4_corrupt(fs, "inode %u: in-inode xattrs: %s", xa->ino, why);
}

/* Decodes the entry at *POS and moves *POS past it; false at the terminating zero word.
 * Only for areas xa_check() accepted. */
static bool xa_next(const struct xa *xa, size_t *pos, struct xe *e)
{
	const uint8_t *p = xa->buf + *pos;

	if (bv_le32(p) == 0)
		return false;
	e->name_len = p[EXT4_XATTR_E_NAME_LEN];
	e->name_index = p[EXT4_XATTR_E_NAME_INDEX];
	e->value_offs = bv_le16(p + EXT4_XATTR_E_VALUE_OFFS);
	e->value_inum = bv_le32(p + EXT4_XATTR_E_VALUE_INUM);
	e->value_size = bv_le32(p + EXT4_XATTR_E_VALUE_SIZE);
	e->hash = bv_le32(p + EXT4_XATTR_E_HASH);
	e->name = p + EXT4_XATTR_E_NAME;
	*pos += EXT4_XATTR_LEN(e->name_len);
	return true;
}

/* The kernel's check_xattrs(), minus the header (checked by whoever opened the area). */
static int xa_check(struct bv_ext4 *fs, const struct xa *xa)
{
	const struct bv_ext4_sb *sb = &fs->sb;
	size_t pos = xa->first, term;
	struct xe e;

	/* Pass 1: the entry table. Each entry takes at least 16 bytes, so the walk ends
	 * within end / 16 steps whatever the image says. */
	for (;;) {
		size_t next;

		if (!bv_in_bounds(pos, EXT4_XATTR_PAD, xa->end))
			return xa_corrupt(fs, xa, "entry table runs past the area");
		if (bv_le32(xa->buf + pos) == 0)
			break;
		if (!bv_in_bounds(pos, EXT4_XATTR_E_NAME, xa->end))
			return xa_corrupt(fs, xa, "entry header out of bounds");
		next = pos + EXT4_XATTR_LEN(xa->buf[pos + EXT4_XATTR_E_NAME_LEN]);
		/* The next entry (or the terminator) must start inside the area. */
		if (!bv_in_bounds(next, EXT4_XATTR_PAD, xa->end))
			return xa_corrupt(fs, xa, "e_name out of bounds");
		if (memchr(xa->buf + pos + EXT4_XATTR_E_NAME, 0,
			   xa->buf[pos + EXT4_XATTR_E_NAME_LEN]))
			return xa_corrupt(fs, xa, "NUL inside e_name");
		pos = next;
	}
	term = pos;

	/* Pass 2: the values. */
	pos = xa->first;
	while (xa_next(xa, &pos, &e)) {
		if (e.value_inum) {
			if (!bv_ext4_has_incompat(sb, EXT4_FEATURE_INCOMPAT_EA_INODE))
				return xa_corrupt(fs, xa, "e_value_inum without ea_inode");
			/* ext4_valid_inum(), with the root excluded as the kernel does. */
			if (e.value_inum < sb->s_first_ino || e.value_inum > sb->s_inodes_count)
				return xa_corrupt(fs, xa, "invalid e_value_inum");
			if (e.value_size == 0)
				return xa_corrupt(fs, xa, "ea_inode value of size 0");
		}
		if (e.value_size > EXT4_XATTR_SIZE_MAX)
			return xa_corrupt(fs, xa, "e_value_size too large");
		if (e.value_size && !e.value_inum) {
			size_t voff;

			if (e.value_offs > xa->end - xa->vbase)
				return xa_corrupt(fs, xa, "e_value_offs out of bounds");
			voff = xa->vbase + e.value_offs;
			/* The value may not overlap the entries nor their terminator, and
			 * with its padding must end inside the area. */
			if (voff < term + EXT4_XATTR_PAD || e.value_size > xa->end - voff ||
			    EXT4_XATTR_SIZE(e.value_size) > xa->end - voff)
				return xa_corrupt(fs, xa, "value overlaps entries or runs past the area");
		}
	}
	return 0;
}

/* Opens INODE's in-inode area. Returns 1 with the inode table block pinned in *REF, 0 when
 * the inode has none (REF holds nothing), or -errno. */
static int xa_ibody_open(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			 struct bv_cache_ref *ref, struct xa *xa)
{
	size_t isz = fs->sb.s_inode_size;
	size_t hdr = EXT4_GOOD_OLD_INODE_SIZE + (size_t)inode->extra_isize;
	uint32_t ioff;
	int ret;

	/* Like the kernel's ext4_iget: i_extra_isize 0 means the space is unused, and no
	 * room for the magic means no in-inode xattrs. */
	if (inode->extra_isize == 0 || isz <= EXT4_GOOD_OLD_INODE_SIZE ||
	    !bv_in_bounds(hdr, EXT4_XATTR_IBODY_HEADER_SIZE, isz))
		return 0;
	ret = bv_ext4_inode_raw_get(fs, inode->ino, ref, &ioff);
	if (ret < 0)
		return ret;
	xa->buf = ref->data + ioff;
	/* A wrong magic is not an error: the kernel then ignores the area. */
	if (bv_le32(xa->buf + hdr) != EXT4_XATTR_MAGIC) {
		bv_ext4_brelse(fs, ref);
		return 0;
	}
	xa->end = isz;
	xa->first = hdr + EXT4_XATTR_IBODY_HEADER_SIZE;
	xa->vbase = xa->first;
	xa->sorted = false;
	xa->ino = inode->ino;
	xa->blk = 0;
	ret = xa_check(fs, xa);
	if (ret < 0) {
		bv_ext4_brelse(fs, ref);
		return ret;
	}
	return 1;
}

/* The metadata_csum checksum of an xattr block: crc32c over the le64 block number, then
 * the block with h_checksum taken as zero. */
static uint32_t xa_block_csum(struct bv_ext4 *fs, uint64_t blk, const uint8_t *d)
{
	static const uint8_t zero[4];
	uint8_t le[8];
	uint32_t crc;
	int i;

	for (i = 0; i < 8; i++)
		le[i] = (uint8_t)(blk >> (8 * i));
	crc = bv_crc32c(fs->sb.csum_seed, le, sizeof(le));
	crc = bv_crc32c(crc, d, EXT4_XATTR_H_CHECKSUM);
	crc = bv_crc32c(crc, zero, sizeof(zero));
	return bv_crc32c(crc, d + EXT4_XATTR_H_CHECKSUM + 4,
			 fs->sb.block_size - EXT4_XATTR_H_CHECKSUM - 4);
}

/* Opens INODE's xattr block. Returns 1 with it pinned in *REF, 0 when there is none, or
 * -errno (-EUCLEAN bad header or entries, -EBADMSG bad checksum). */
static int xa_block_open(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			 struct bv_cache_ref *ref, struct xa *xa)
{
	uint64_t blk = inode->file_acl;
	const uint8_t *d;
	int ret;

	if (blk == 0)
		return 0;
	xa->ino = inode->ino;
	xa->blk = blk;
	/* Block 0 (or the superblock's) can never hold xattrs. */
	if (blk <= fs->sb.s_first_data_block)
		return xa_corrupt(fs, xa, "i_file_acl points at the superblock");
	ret = bv_ext4_bread(fs, blk, ref);
	if (ret < 0)
		return ret;
	d = ref->data;
	xa->buf = d;
	xa->end = fs->sb.block_size;
	xa->first = EXT4_XATTR_HEADER_SIZE;
	xa->vbase = 0;
	xa->sorted = true;
	if (bv_le32(d + EXT4_XATTR_H_MAGIC) != EXT4_XATTR_MAGIC ||
	    bv_le32(d + EXT4_XATTR_H_BLOCKS) != 1) {
		ret = xa_corrupt(fs, xa, "bad header (h_magic or h_blocks)");
		goto release;
	}
	if (fs->verify_csum &&
	    xa_block_csum(fs, blk, d) != bv_le32(d + EXT4_XATTR_H_CHECKSUM)) {
		ret = bv_ext4_badcsum(fs, "inode %u: xattr block %llu: bad checksum",
				      inode->ino, (unsigned long long)blk);
		goto release;
	}
	ret = xa_check(fs, xa);
	if (ret < 0)
		goto release;
	return 1;
release:
	bv_ext4_brelse(fs, ref);
	return ret;
}

/* The kernel's ext4_xattr_find_entry(): in a sorted block it gives up at the first entry
 * that sorts after the name, so an unsorted block hides entries from it, and from us. */
static bool xa_find(const struct xa *xa, uint8_t index, const char *name, size_t len,
		    struct xe *out)
{
	size_t pos = xa->first;
	struct xe e;

	while (xa_next(xa, &pos, &e)) {
		int cmp = (int)index - (int)e.name_index;

		if (!cmp)
			cmp = (int)len - (int)e.name_len;
		if (!cmp)
			cmp = memcmp(name, e.name, len);
		if (cmp == 0) {
			*out = e;
			return true;
		}
		if (cmp < 0 && xa->sorted)
			break;
	}
	return false;
}

/* ext4_xattr_hash_entry(): name bytes then value words, rotating. The kernel also
 * accepts the hash computed with signed chars (an old bug on some architectures). */
static uint32_t xa_entry_hash(const uint8_t *name, size_t len, uint32_t value_word,
			      bool signed_chars)
{
	uint32_t h = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		uint32_t c = signed_chars ? (uint32_t)(int32_t)(int8_t)name[i] : name[i];

		h = (h << 5) ^ (h >> 27) ^ c;
	}
	return (h << 16) ^ (h >> 16) ^ value_word;
}

static uint32_t xa_csum_seed(const struct bv_ext4 *fs)
{
	/* ea_inode hashes use the checksum seed even without metadata_csum. */
	if (bv_ext4_has_incompat(&fs->sb, EXT4_FEATURE_INCOMPAT_CSUM_SEED))
		return fs->sb.s_checksum_seed;
	return bv_crc32c(~0u, fs->sb.s_uuid, sizeof(fs->sb.s_uuid));
}

/* Reads the value of entry E (VSIZE bytes, already known to fit BUF) from its ea_inode,
 * with the checks of ext4_xattr_inode_iget() and ext4_xattr_inode_get(). */
static int xa_ea_inode_read(struct bv_ext4 *fs, const struct bv_ext4_inode *parent,
			    const struct xe *e, void *buf, uint32_t vsize)
{
	struct bv_ext4_inode ea;
	uint32_t vhash;
	uint8_t le[4];
	ssize_t n;
	int ret;

	if (e->value_inum == parent->ino)
		return bv_ext4_corrupt(fs, "inode %u: xattr value inode is the inode itself",
				       parent->ino);
	ret = bv_ext4_inode_get(fs, e->value_inum, &ea);
	if (ret == -ENOENT)
		return bv_ext4_corrupt(fs, "inode %u: xattr value inode %u is not in use",
				       parent->ino, e->value_inum);
	if (ret < 0)
		return ret;
	if (!(ea.flags & EXT4_EA_INODE_FL))
		return bv_ext4_corrupt(fs, "inode %u: xattr value inode %u lacks EA_INODE_FL",
				       parent->ino, e->value_inum);
	if (ea.size != vsize)
		return bv_ext4_corrupt(fs, "inode %u: xattr value inode %u: size %llu, entry %u",
				       parent->ino, e->value_inum,
				       (unsigned long long)ea.size, vsize);
	n = bv_ext4_file_read(fs, &ea, buf, vsize, 0);
	if (n < 0)
		return (int)n;
	if ((size_t)n != vsize)
		return bv_ext4_corrupt(fs, "inode %u: xattr value inode %u: short read",
				       parent->ino, e->value_inum);
	/* Lustre's old ea_inodes point back at their parent (i_mtime, same generation) and
	 * carry no hash; the kernel skips the checks for them. */
	if ((uint32_t)ea.mtime.sec == parent->ino && ea.generation == parent->generation &&
	    (uint32_t)ea.atime.sec != e->hash)
		return 0;
	/* Otherwise i_atime holds crc32c of the value, and e_hash covers name + that. */
	vhash = bv_crc32c(xa_csum_seed(fs), buf, vsize);
	if (vhash != (uint32_t)ea.atime.sec)
		return bv_ext4_corrupt(fs, "inode %u: xattr value inode %u: bad value hash",
				       parent->ino, e->value_inum);
	le[0] = (uint8_t)vhash;
	le[1] = (uint8_t)(vhash >> 8);
	le[2] = (uint8_t)(vhash >> 16);
	le[3] = (uint8_t)(vhash >> 24);
	if (xa_entry_hash(e->name, e->name_len, bv_le32(le), false) != e->hash &&
	    xa_entry_hash(e->name, e->name_len, bv_le32(le), true) != e->hash)
		return bv_ext4_corrupt(fs, "inode %u: xattr value inode %u: bad entry hash",
				       parent->ino, e->value_inum);
	return 0;
}

/* getxattr semantics for one found entry. */
static ssize_t xa_value_get(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			    const struct xa *xa, const struct xe *e, void *buf, size_t size)
{
	int ret;

	if (size == 0)
		return e->value_size;
	if (e->value_size > size)
		return -ERANGE;
	if (e->value_inum) {
		ret = xa_ea_inode_read(fs, inode, e, buf, e->value_size);
		if (ret < 0)
			return ret;
	} else if (e->value_size) {
		memcpy(buf, xa->buf + xa->vbase + e->value_offs, e->value_size);
	}
	return e->value_size;
}

int bv_ext4_xattr_ibody_find(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			     uint8_t name_index, const char *name, size_t name_len,
			     struct bv_cache_ref *ref, struct bv_ext4_xattr_ibody_val *out)
{
	struct bv_cache_ref r = { 0 };
	struct xa xa;
	struct xe e;
	int ret;

	ret = xa_ibody_open(fs, inode, &r, &xa);
	if (ret <= 0)
		return ret < 0 ? ret : -ENODATA;
	if (!xa_find(&xa, name_index, name, name_len, &e)) {
		bv_ext4_brelse(fs, &r);
		return -ENODATA;
	}
	/* An empty value's offset is never checked (nothing is read there): form no
	 * pointer from it. */
	out->value = e.value_inum || !e.value_size ? NULL : xa.buf + xa.vbase + e.value_offs;
	out->value_size = e.value_size;
	out->value_inum = e.value_inum;
	*ref = r;
	return 0;
}

ssize_t bv_ext4_xattr_get_raw(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			      uint8_t name_index, const char *name, size_t name_len, void *buf,
			      size_t size)
{
	struct bv_cache_ref ref = { 0 };
	struct xa xa;
	struct xe e;
	ssize_t ret;

	if (name_len > BV_XATTR_NAME_MAX)
		return -ERANGE;
	if (size == 0)
		buf = NULL;
	/* The inode body first: a name in both places is answered from the inode. */
	ret = xa_ibody_open(fs, inode, &ref, &xa);
	if (ret < 0)
		return ret;
	if (ret > 0) {
		ret = -ENODATA;
		if (xa_find(&xa, name_index, name, name_len, &e))
			ret = xa_value_get(fs, inode, &xa, &e, buf, size);
		bv_ext4_brelse(fs, &ref);
		if (ret != -ENODATA)
			return ret;
	}
	ret = xa_block_open(fs, inode, &ref, &xa);
	if (ret <= 0)
		return ret < 0 ? ret : -ENODATA;
	ret = -ENODATA;
	if (xa_find(&xa, name_index, name, name_len, &e))
		ret = xa_value_get(fs, inode, &xa, &e, buf, size);
	bv_ext4_brelse(fs, &ref);
	return ret;
}

/* The prefix listxattr shows for an index, or NULL for what the kernel does not list:
 * system.data (inline data), richacl, Lustre, encryption. POSIX ACL entries have an
 * empty name, so their "prefix" is the whole name. */
static const char *xa_prefix(uint8_t index)
{
	switch (index) {
	case EXT4_XATTR_INDEX_USER:
		return "user.";
	case EXT4_XATTR_INDEX_POSIX_ACL_ACCESS:
		return "system.posix_acl_access";
	case EXT4_XATTR_INDEX_POSIX_ACL_DEFAULT:
		return "system.posix_acl_default";
	case EXT4_XATTR_INDEX_TRUSTED:
		return "trusted.";   /* root sees these */
	case EXT4_XATTR_INDEX_SECURITY:
		return "security.";
	case EXT4_XATTR_INDEX_HURD:
		return "gnu.";
	default:
		return NULL;
	}
}

/* Appends the names of XA to BUF (SIZE bytes, NULL to count) from *POS; trusted.* names
 * only when TRUSTED. */
static int xa_list(const struct xa *xa, char *buf, size_t size, size_t *pos, bool trusted)
{
	size_t p = xa->first;
	struct xe e;

	while (xa_next(xa, &p, &e)) {
		const char *prefix = xa_prefix(e.name_index);
		size_t plen, need;

		if (!prefix)
			continue;
		/* ext4_xattr_trusted_list: only a caller with CAP_SYS_ADMIN sees them. */
		if (e.name_index == EXT4_XATTR_INDEX_TRUSTED && !trusted)
			continue;
		plen = strlen(prefix);
		need = plen + e.name_len + 1;
		if (buf) {
			if (need > size - *pos)
				return -ERANGE;
			memcpy(buf + *pos, prefix, plen);
			memcpy(buf + *pos + plen, e.name, e.name_len);
			buf[*pos + need - 1] = '\0';
		}
		*pos += need;
	}
	return 0;
}

ssize_t bv_ext4_xattr_list(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, char *buf,
			   size_t size)
{
	return bv_ext4_xattr_list_as(fs, inode, buf, size, true);
}

ssize_t bv_ext4_xattr_list_as(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			      char *buf, size_t size, bool trusted)
{
	struct bv_cache_ref ref = { 0 };
	size_t pos = 0;
	struct xa xa;
	int ret;

	/* As the VFS: a buffer larger than XATTR_LIST_MAX is used as that much. */
	if (size > BV_XATTR_LIST_MAX)
		size = BV_XATTR_LIST_MAX;
	if (size == 0)
		buf = NULL;
	/* Inode body then block, as ext4_listxattr; a name in both is listed twice, as
	 * the kernel does. */
	ret = xa_ibody_open(fs, inode, &ref, &xa);
	if (ret > 0) {
		ret = xa_list(&xa, buf, size, &pos, trusted);
		bv_ext4_brelse(fs, &ref);
	}
	if (ret < 0)
		goto out;
	ret = xa_block_open(fs, inode, &ref, &xa);
	if (ret > 0) {
		ret = xa_list(&xa, buf, size, &pos, trusted);
		bv_ext4_brelse(fs, &ref);
	}
out:
	if (ret == -ERANGE && size == BV_XATTR_LIST_MAX)
		return -E2BIG;
	return ret < 0 ? ret : (ssize_t)pos;
}

/* Converts the ext4 ACL at RAW (LEN bytes) to the xattr format, as ext4_acl_from_disk()
 * then posix_acl_to_xattr() do: -EINVAL for a malformed ACL, -ENODATA for an empty one. */
static ssize_t acl_to_xattr(const uint8_t *raw, size_t len, uint8_t *buf, size_t size)
{
	size_t body, count, i, pos, out_len;

	if (len < 4 || bv_le32(raw) != EXT4_ACL_VERSION)
		return -EINVAL;
	/* Short entries (4 bytes) for the four object tags, long ones (8) for named users
	 * and groups: the count follows from the size alone (ext4_acl_count). */
	body = len - 4;
	if (body < 4 * 4) {
		if (body % 4)
			return -EINVAL;
		count = body / 4;
	} else {
		if ((body - 16) % 8)
			return -EINVAL;
		count = (body - 16) / 8 + 4;
	}
	if (count == 0)
		return -ENODATA;
	if (count > BV_ACL_MAX_ENTRIES)
		return -EINVAL;
	out_len = 4 + 8 * count;
	if (size == 0)
		buf = NULL;
	else if (out_len > size)
		buf = NULL; /* parse anyway: a malformed ACL is -EINVAL before -ERANGE */
	if (buf) {
		buf[0] = POSIX_ACL_XATTR_VERSION;
		buf[1] = buf[2] = buf[3] = 0;
	}
	pos = 4;
	for (i = 0; i < count; i++) {
		uint16_t tag, perm;
		uint32_t id = ACL_UNDEFINED_ID;

		if (!bv_in_bounds(pos, 4, len))
			return -EINVAL;
		tag = bv_le16(raw + pos);
		perm = bv_le16(raw + pos + 2);
		switch (tag) {
		case ACL_USER_OBJ:
		case ACL_GROUP_OBJ:
		case ACL_MASK:
		case ACL_OTHER:
			pos += 4;
			break;
		case ACL_USER:
		case ACL_GROUP:
			if (!bv_in_bounds(pos, 8, len))
				return -EINVAL;
			id = bv_le32(raw + pos + 4);
			pos += 8;
			break;
		default:
			return -EINVAL;
		}
		if (buf)
			bv_acl_xattr_entry_put(buf, i, tag, perm, id);
	}
	if (pos != len)
		return -EINVAL;
	if (size && out_len > size)
		return -ERANGE;
	return (ssize_t)out_len;
}

static ssize_t acl_get(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, uint8_t index,
		       void *buf, size_t size)
{
	uint8_t *raw;
	ssize_t len, ret;

	/* posix_acl_xattr_get() refuses symlinks before looking. */
	if (S_ISLNK(inode->mode))
		return -EOPNOTSUPP;
	len = bv_ext4_xattr_get_raw(fs, inode, index, "", 0, NULL, 0);
	if (len < 0)
		return len;
	/* The xattr form is never smaller than the disk form, so past this it could not
	 * be returned anyway. */
	if ((size_t)len > BV_XATTR_SIZE_MAX)
		return -E2BIG;
	raw = malloc(len ? (size_t)len : 1);
	if (!raw)
		return -ENOMEM;
	ret = bv_ext4_xattr_get_raw(fs, inode, index, "", 0, raw, (size_t)len);
	if (ret == 0)
		ret = -EINVAL; /* an empty value is shorter than the ACL header */
	if (ret > 0)
		ret = acl_to_xattr(raw, (size_t)ret, buf, size);
	free(raw);
	return ret;
}

static const char *strip(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(name, prefix, n) == 0 ? name + n : NULL;
}

ssize_t bv_ext4_xattr_get(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			  const char *name, void *buf, size_t size)
{
	static const struct {
		const char *prefix;
		uint8_t index;
	} ns[] = {
		{ "user.", EXT4_XATTR_INDEX_USER },
		{ "trusted.", EXT4_XATTR_INDEX_TRUSTED },
		{ "security.", EXT4_XATTR_INDEX_SECURITY },
		{ "gnu.", EXT4_XATTR_INDEX_HURD },
	};
	ssize_t ret = -EOPNOTSUPP;
	size_t i, len;

	if (bv_xattr_get_begin(name, &size, &len))
		return -ERANGE;
	if (strcmp(name, "system.posix_acl_access") == 0) {
		ret = acl_get(fs, inode, EXT4_XATTR_INDEX_POSIX_ACL_ACCESS, buf, size);
	} else if (strcmp(name, "system.posix_acl_default") == 0) {
		ret = acl_get(fs, inode, EXT4_XATTR_INDEX_POSIX_ACL_DEFAULT, buf, size);
	} else {
		/* Any other system.* (system.data among them) has no handler: EOPNOTSUPP. */
		for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
			const char *suffix = strip(name, ns[i].prefix);

			if (!suffix)
				continue;
			if (*suffix == '\0')
				return -EINVAL;
			ret = bv_ext4_xattr_get_raw(fs, inode, ns[i].index, suffix,
						    strlen(suffix), buf, size);
			break;
		}
	}
	return bv_xattr_get_end(ret, size);
}
