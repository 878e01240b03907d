/* Inline data (the inline_data feature): a small file or directory kept in the inode. The
 * first 60 bytes are i_block; the rest is the value of the "system.data" xattr in the
 * inode body (never in the xattr block, never in an ea_inode). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/ext4/ext4_priv.h"
#include "fs/ext4/inode.h"
#include "fs/ext4/xattr.h"

#define INLINE_XATTR_NAME "data"

/* Finds system.data and checks it as ext4_find_inline_data_nolock() does. Returns 0 with
 * the value pinned in *REF, or -errno. */
static int inline_find(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
		       struct bv_cache_ref *ref, struct bv_ext4_xattr_ibody_val *val)
{
	int ret;

	if (!(inode->flags & EXT4_INLINE_DATA_FL))
		return -EINVAL;
	if (!bv_ext4_has_incompat(&fs->sb, EXT4_FEATURE_INCOMPAT_INLINE_DATA))
		return bv_ext4_corrupt(fs, "inode %u: inline data flag without the feature",
				       inode->ino);
	ret = bv_ext4_xattr_ibody_find(fs, inode, EXT4_XATTR_INDEX_SYSTEM, INLINE_XATTR_NAME,
				       strlen(INLINE_XATTR_NAME), ref, val);
	/* Without system.data the kernel would take i_block for a block map: garbage.
	 * mke2fs and the kernel always write it, even for an empty file. */
	if (ret == -ENODATA)
		return bv_ext4_corrupt(fs, "inode %u: inline data without system.data",
				       inode->ino);
	if (ret < 0)
		return ret;
	if (val->value_inum) {
		bv_ext4_brelse(fs, ref);
		return bv_ext4_corrupt(fs, "inode %u: inline data in an xattr inode",
				       inode->ino);
	}
	return 0;
}

ssize_t bv_ext4_inline_size(struct bv_ext4 *fs, const struct bv_ext4_inode *inode)
{
	struct bv_ext4_xattr_ibody_val val;
	struct bv_cache_ref ref = { 0 };
	int ret;

	ret = inline_find(fs, inode, &ref, &val);
	if (ret < 0)
		return ret;
	bv_ext4_brelse(fs, &ref);
	/* The value lies inside the inode (checked), so this cannot overflow. */
	return (ssize_t)EXT4_MIN_INLINE_DATA_SIZE + val.value_size;
}

ssize_t bv_ext4_inline_read(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, void *buf,
			    size_t len, uint64_t off)
{
	struct bv_ext4_xattr_ibody_val val;
	struct bv_cache_ref ref = { 0 };
	uint64_t isize, end;
	uint8_t *out = buf;
	size_t n, done = 0;
	int ret;

	ret = inline_find(fs, inode, &ref, &val);
	if (ret < 0)
		return ret;
	isize = EXT4_MIN_INLINE_DATA_SIZE + (uint64_t)val.value_size;
	/* A file reads to i_size: the kernel copies min(inline size, i_size) bytes into a
	 * zeroed page, so bytes past the inline data and below i_size read as zeros. A
	 * directory is read whole, whatever i_size says (ext4_read_inline_dir). */
	end = S_ISDIR(inode->mode) ? isize : inode->size;
	if (off >= end || len == 0)
		goto out;
	if (len > end - off)
		len = (size_t)(end - off);
	while (done < len) {
		uint64_t pos = off + done;

		if (pos < EXT4_MIN_INLINE_DATA_SIZE) {
			n = EXT4_MIN_INLINE_DATA_SIZE - (size_t)pos;
			if (n > len - done)
				n = len - done;
			memcpy(out + done, inode->i_block + pos, n);
		} else if (pos < isize) {
			n = (size_t)(isize - pos);
			if (n > len - done)
				n = len - done;
			memcpy(out + done, val.value + (pos - EXT4_MIN_INLINE_DATA_SIZE), n);
		} else {
			n = len - done;
			memset(out + done, 0, n);
		}
		done += n;
	}
out:
	bv_ext4_brelse(fs, &ref);
	return (ssize_t)done;
}
