/* Path resolution inside the image, as if the image were mounted at "/": the walk of the
 * kernel's path lookup, without recursion and without ever leaving the image's root.
 *
 * The unresolved rest of the path lives at the end of one buffer; a symlink's target is
 * copied in front of what is left after the link, so following a link never moves the
 * rest and the buffer only needs room for every link's target once. */
#include "fs/fs.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>


/* The original path plus one full-length target per link followed. */
#define RESOLVE_BUF_SIZE ((size_t)(BV_RESOLVE_MAX_LINKS + 1) * PATH_MAX)

struct walk {
	struct bv_fs *fs;
	uint64_t ino;
	struct bv_inode inode;
};

static int walk_to(struct walk *w, uint64_t ino)
{
	struct bv_inode inode;
	int err;

	err = bv_fs_inode_get(w->fs, ino, BV_IGET_LINKED, &inode);
	if (err)
		return err;
	w->ino = ino;
	w->inode = inode;
	return 0;
}

/* One lookup of the budget: -ELOOP when it is spent. */
static int spend(unsigned *lookups)
{
	if (*lookups == 0)
		return -ELOOP;
	--*lookups;
	return 0;
}

int bv_fs_resolve(struct bv_fs *fs, const char *path, unsigned flags, uint64_t *ino)
{
	unsigned lookups = BV_RESOLVE_MAX_LOOKUPS;

	return bv_fs_resolve_at(fs, bv_fs_root_ino(fs), path, flags, ino, &lookups);
}

int bv_fs_resolve_at(struct bv_fs *fs, uint64_t start, const char *path, unsigned flags,
		     uint64_t *ino, unsigned *lookups)
{
	struct walk w = { .fs = fs };
	const uint64_t root = bv_fs_root_ino(fs);
	struct bv_inode child;
	size_t plen, pos, end, c, clen, q, tlen;
	bool last, trailing, must_dir = false;
	unsigned links = 0;
	uint64_t child_ino;
	char *buf, *target;
	int ret;

	plen = strnlen(path, PATH_MAX);
	if (plen >= PATH_MAX)
		return -ENAMETOOLONG;
	if (plen == 0)
		return -ENOENT;
	buf = malloc(RESOLVE_BUF_SIZE + PATH_MAX);
	if (!buf)
		return -ENOMEM;
	target = buf + RESOLVE_BUF_SIZE;
	end = RESOLVE_BUF_SIZE;
	pos = end - plen;
	memcpy(buf + pos, path, plen);

	ret = walk_to(&w, path[0] == '/' ? root : start);
	if (ret)
		goto out_free;
	for (;;) {
		while (pos < end && buf[pos] == '/')
			pos++;
		if (pos == end)
			break;
		c = pos;
		while (pos < end && buf[pos] != '/')
			pos++;
		clen = pos - c;
		if (clen > NAME_MAX) {
			ret = -ENAMETOOLONG;
			goto out_free;
		}
		q = pos;
		while (q < end && buf[q] == '/')
			q++;
		last = q == end;
		/* "name/" asks for a directory: a symlink there is followed, a file refused. */
		trailing = last && pos < end;
		/* Walking through anything but a directory, "." and ".." included, fails. */
		if (!S_ISDIR(w.inode.mode)) {
			ret = -ENOTDIR;
			goto out_free;
		}
		must_dir = trailing;
		if (clen == 1 && buf[c] == '.')
			continue;
		if (clen == 2 && buf[c] == '.' && buf[c + 1] == '.') {
			/* The image's root is its own parent: ".." can never climb out. */
			if (w.ino == root)
				continue;
			ret = spend(lookups);
			if (ret == 0)
				ret = bv_fs_lookup(fs, &w.inode, "..", 2, &child_ino);
			if (ret == 0)
				ret = walk_to(&w, child_ino);
			if (ret)
				goto out_free;
			continue;
		}
		ret = spend(lookups);
		if (ret == 0)
			ret = bv_fs_lookup(fs, &w.inode, buf + c, clen, &child_ino);
		if (ret)
			goto out_free;
		ret = bv_fs_inode_get(fs, child_ino, BV_IGET_LINKED, &child);
		if (ret)
			goto out_free;
		if (S_ISLNK(child.mode) && (!last || trailing || (flags & BV_RESOLVE_FOLLOW))) {
			if (++links > BV_RESOLVE_MAX_LINKS) {
				ret = -ELOOP;
				goto out_free;
			}
			ret = bv_fs_readlink(fs, &child, target, PATH_MAX, &tlen);
			if (ret)
				goto out_free;
			/* As the kernel: an empty target names nothing. */
			if (tlen == 0) {
				ret = -ENOENT;
				goto out_free;
			}
			if (tlen > pos) {
				ret = -ENAMETOOLONG;
				goto out_free;
			}
			/* Splice: the target replaces the link's name in front of the rest. */
			pos -= tlen;
			memcpy(buf + pos, target, tlen);
			if (target[0] == '/') {
				ret = walk_to(&w, root);
				if (ret)
					goto out_free;
			}
			continue;
		}
		w.ino = child_ino;
		w.inode = child;
	}
	if (must_dir && !S_ISDIR(w.inode.mode)) {
		ret = -ENOTDIR;
		goto out_free;
	}
	*ino = w.ino;
	ret = 0;
out_free:
	free(buf);
	return ret;
}
