/* Symlink targets: fast (in i_block), slow (in data block 0) and inline-data symlinks,
 * read under the kernel's rules for telling them apart. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/ext4/ext4_priv.h"
#include "fs/ext4/inode.h"

/* Reads the SIZE-byte target into TMP (at least SIZE bytes). */
static int target_read(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, char *tmp,
		       size_t size)
{
	struct bv_cache_ref ref = { 0 };
	struct bv_ext4_map map;
	ssize_t got;
	int err;

	if (inode->flags & EXT4_INLINE_DATA_FL) {
		got = bv_ext4_inline_read(fs, inode, tmp, size, 0);
		if (got < 0)
			return (int)got;
		if ((size_t)got != size)
			return bv_ext4_corrupt(fs, "inode %u: inline symlink shorter than i_size",
					       inode->ino);
		return 0;
	}
	if (bv_ext4_inode_is_fast_symlink(&fs->sb, inode)) {
		if (size >= EXT4_INODE_BLOCK_BYTES)
			return bv_ext4_corrupt(fs, "inode %u: invalid fast symlink length %zu",
					       inode->ino, size);
		memcpy(tmp, inode->i_block, size);
		return 0;
	}
	/* Slow symlink: the whole target is in logical block 0; a hole there is what the
	 * kernel calls a "bad symlink". */
	if (size > fs->sb.block_size)
		return bv_ext4_corrupt(fs, "inode %u: symlink of %zu bytes does not fit a block",
				       inode->ino, size);
	err = bv_ext4_map_blocks(fs, inode, 0, 1, &map);
	if (err)
		return err;
	if (map.hole || map.unwritten || map.pblk == 0)
		return bv_ext4_corrupt(fs, "inode %u: bad symlink (no block 0)", inode->ino);
	err = bv_ext4_bread(fs, map.pblk, &ref);
	if (err)
		return err;
	memcpy(tmp, ref.data, size);
	bv_ext4_brelse(fs, &ref);
	return 0;
}

int bv_ext4_readlink(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, char *buf,
		     size_t size, size_t *len)
{
	char tmp[PATH_MAX];
	size_t n;
	int err;

	if (!S_ISLNK(inode->mode))
		return -EINVAL;
	/* The VFS never creates an empty target, and one of PATH_MAX or more cannot be
	 * followed: both mean the inode is corrupt. */
	if (inode->size == 0 || inode->size >= PATH_MAX)
		return bv_ext4_corrupt(fs, "inode %u: symlink size %llu out of range", inode->ino,
				       (unsigned long long)inode->size);
	n = (size_t)inode->size;
	err = target_read(fs, inode, tmp, n);
	if (err)
		return err;
	/* The kernel terminates the link at i_size (and at block size - 1 for a slow link) and
	 * readlink(2) then stops at the first NUL: do the same. */
	if (n > fs->sb.block_size - 1)
		n = fs->sb.block_size - 1;
	n = strnlen(tmp, n);
	if (n + 1 > size)
		return -ERANGE;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
	*len = n;
	return 0;
}
