#include "fs/export.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>

/* One name of the served tree: DIR/NAME stands for inode INO. */
struct export_edge {
	uint64_t dir, ino;
	uint8_t dtype;       /* DT_REG or DT_DIR, from INO's mode */
	uint8_t len;
	char name[NAME_MAX + 1];
};

struct bv_export {
	unsigned nedges, nvisible;
	uint64_t root;
	/* A few dozen entries at most: linear scans cost less than a hash would, and the
	 * kernel caches every answer forever anyway. */
	struct export_edge *edges;
	uint64_t *visible;
};

#define EXPORT_EDGES_MAX (BV_EXPORT_PATHS_MAX * BV_EXPORT_DEPTH_MAX)

static void visible_add(struct bv_export *ex, uint64_t ino)
{
	if (!bv_export_is_visible(ex, ino))
		ex->visible[ex->nvisible++] = ino;
}

static const struct export_edge *edge_find(const struct bv_export *ex, uint64_t dir,
					   const char *name, size_t len)
{
	for (unsigned i = 0; i < ex->nedges; i++) {
		const struct export_edge *e = &ex->edges[i];

		if (e->dir == dir && e->len == len && memcmp(e->name, name, len) == 0)
			return e;
	}
	return NULL;
}

/* Adds DIR/NAME -> INO. A directory may appear under one name only: two names for one
 * directory (a symlink to a directory already shown elsewhere, or to the root) would show
 * the kernel a directory with two parents, which it refuses or loops on. */
static int edge_add(struct bv_export *ex, uint64_t dir, const char *name, size_t len,
		    uint64_t ino, uint8_t dtype)
{
	struct export_edge *e;

	if (edge_find(ex, dir, name, len))
		return 0; /* same prefix as an earlier path: resolves the same way */
	if (dtype == DT_DIR) {
		if (ino == ex->root)
			return -ELOOP;
		for (unsigned i = 0; i < ex->nedges; i++)
			if (ex->edges[i].ino == ino)
				return -ELOOP;
	}
	if (ex->nedges == EXPORT_EDGES_MAX)
		return -E2BIG;
	e = &ex->edges[ex->nedges++];
	e->dir = dir;
	e->ino = ino;
	e->dtype = dtype;
	e->len = (uint8_t)len;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	visible_add(ex, ino);
	return 0;
}

/* Adds one export path: each prefix is resolved in the image on its own, so that a
 * symlink anywhere on the way is replaced by what it leads to. */
static int path_add(struct bv_export *ex, struct bv_fs *fs, const char *path,
		    unsigned *lookups, char *errbuf, size_t errbuf_size)
{
	char prefix[PATH_MAX];
	size_t plen = 0, depth = 0;
	uint64_t dir = ex->root;
	const char *p = path;
	int err;

	if (strnlen(path, PATH_MAX) >= PATH_MAX) {
		snprintf(errbuf, errbuf_size, "export path is longer than %d bytes", PATH_MAX);
		return -ENAMETOOLONG;
	}
	while (*p) {
		struct bv_inode inode;
		const char *c;
		size_t clen;
		uint64_t ino;
		uint8_t dtype;
		bool last;

		while (*p == '/')
			p++;
		c = p;
		while (*p && *p != '/')
			p++;
		clen = (size_t)(p - c);
		if (clen == 0 || (clen == 1 && c[0] == '.'))
			continue;
		if (clen == 2 && c[0] == '.' && c[1] == '.') {
			snprintf(errbuf, errbuf_size, "export path %s: \"..\" is not allowed",
				 path);
			return -EINVAL;
		}
		if (++depth > BV_EXPORT_DEPTH_MAX) {
			snprintf(errbuf, errbuf_size, "export path %s: more than %d components",
				 path, BV_EXPORT_DEPTH_MAX);
			return -ENAMETOOLONG;
		}
		/* A relative PATH gains a leading '/', so the prefix can outgrow PATH by one:
		 * check before copying, never after. */
		if (clen > NAME_MAX || plen + 1 + clen >= sizeof(prefix)) {
			snprintf(errbuf, errbuf_size, "export path %.64s...: name too long", path);
			return -ENAMETOOLONG;
		}
		prefix[plen++] = '/';
		memcpy(prefix + plen, c, clen);
		plen += clen;
		prefix[plen] = '\0';
		while (*p == '/')
			p++;
		last = *p == '\0';
		/* The prefix resolves as DIR (the prefix before it) then this name: one
		 * lookup more, not the whole prefix again. */
		err = bv_fs_resolve_at(fs, dir, prefix + plen - clen, BV_RESOLVE_FOLLOW, &ino,
				       lookups);
		if (!err)
			err = bv_fs_inode_get(fs, ino, BV_IGET_LINKED, &inode);
		if (err) {
			/* The failing prefix only when it is not the whole path. */
			if (last && strcmp(prefix, path) == 0)
				snprintf(errbuf, errbuf_size, "export path %s: %s", path,
					 strerror(-err));
			else
				snprintf(errbuf, errbuf_size, "export path %s: %s: %s", path,
					 prefix, strerror(-err));
			return err;
		}
		if (S_ISDIR(inode.mode)) {
			dtype = DT_DIR;
		} else if (S_ISREG(inode.mode) && last) {
			dtype = DT_REG;
		} else {
			snprintf(errbuf, errbuf_size, "export path %s: %s is %s", path, prefix,
				 last ? "not a regular file or a directory" : "not a directory");
			return last ? -EINVAL : -ENOTDIR;
		}
		err = edge_add(ex, dir, c, clen, ino, dtype);
		if (err) {
			snprintf(errbuf, errbuf_size, "export path %s: %s",
				 path, err == -ELOOP ? "leads to a directory already shown under "
						       "another name (or to the root)"
						     : "too many names");
			return err;
		}
		dir = ino;
	}
	return 0;
}

int bv_export_new(struct bv_fs *fs, const char *const *paths, unsigned n,
		  struct bv_export **out, char *errbuf, size_t errbuf_size)
{
	unsigned lookups = BV_EXPORT_MAX_LOOKUPS;
	struct bv_export *ex;
	int err;

	if (n > BV_EXPORT_PATHS_MAX) {
		snprintf(errbuf, errbuf_size, "at most %d export paths", BV_EXPORT_PATHS_MAX);
		return -E2BIG;
	}
	ex = calloc(1, sizeof(*ex));
	if (!ex)
		return -ENOMEM;
	ex->edges = calloc(EXPORT_EDGES_MAX, sizeof(*ex->edges));
	ex->visible = calloc(EXPORT_EDGES_MAX + 1, sizeof(*ex->visible));
	if (!ex->edges || !ex->visible) {
		err = -ENOMEM;
		goto fail;
	}
	ex->root = bv_fs_root_ino(fs);
	visible_add(ex, ex->root);
	for (unsigned i = 0; i < n; i++) {
		err = path_add(ex, fs, paths[i], &lookups, errbuf, errbuf_size);
		if (err)
			goto fail;
	}
	*out = ex;
	return 0;
fail:
	bv_export_free(ex);
	return err;
}

void bv_export_free(struct bv_export *ex)
{
	if (!ex)
		return;
	free(ex->edges);
	free(ex->visible);
	free(ex);
}

bool bv_export_is_visible(const struct bv_export *ex, uint64_t ino)
{
	for (unsigned i = 0; i < ex->nvisible; i++)
		if (ex->visible[i] == ino)
			return true;
	return false;
}

int bv_export_lookup(const struct bv_export *ex, uint64_t dir, const char *name, size_t len,
		     uint64_t *ino)
{
	const struct export_edge *e;

	if (len > NAME_MAX)
		return -ENOENT;
	e = edge_find(ex, dir, name, len);
	if (!e)
		return -ENOENT;
	*ino = e->ino;
	return 0;
}

/* The directory a visible directory was reached from (the root is its own parent). */
static uint64_t parent_of(const struct bv_export *ex, uint64_t dir)
{
	for (unsigned i = 0; i < ex->nedges; i++)
		if (ex->edges[i].ino == dir)
			return ex->edges[i].dir;
	return ex->root;
}

int bv_export_parent(const struct bv_export *ex, uint64_t dir, uint64_t *ino)
{
	if (!bv_export_is_visible(ex, dir))
		return -ENOENT;
	*ino = parent_of(ex, dir);
	return 0;
}

int bv_export_dir_iterate(const struct bv_export *ex, uint64_t dir, uint64_t pos,
			  bv_fs_dir_fn fn, void *ctx)
{
	uint64_t k = 2;
	int ret;

	if (!bv_export_is_visible(ex, dir))
		return -ENOENT;
	/* Positions: 0 ".", 1 "..", 2 + k the k-th visible name of DIR. */
	if (pos == 0) {
		ret = fn(ctx, ".", 1, dir, DT_DIR, 1);
		if (ret)
			return ret;
		pos = 1;
	}
	if (pos == 1) {
		ret = fn(ctx, "..", 2, parent_of(ex, dir), DT_DIR, 2);
		if (ret)
			return ret;
		pos = 2;
	}
	for (unsigned i = 0; i < ex->nedges; i++) {
		const struct export_edge *e = &ex->edges[i];

		if (e->dir != dir)
			continue;
		if (k++ < pos)
			continue;
		ret = fn(ctx, e->name, e->len, e->ino, e->dtype, k);
		if (ret)
			return ret;
	}
	return 0;
}
