/* Export mode: serve only a few paths of the image (`-o export=PATH[:PATH...]`).
 *
 * The served tree is made of the export paths' own names. Each name stands for what the
 * image resolves it to (bv_fs_resolve with BV_RESOLVE_FOLLOW, so symlinks are followed
 * inside the image): a symlink on the way, or at the end, is never shown as a symlink but
 * as the directory or file it leads to. The host kernel therefore never follows a link of
 * the image, and a bind mount of MNT/<export path> always lands on a file of the image.
 *
 * Visible: the root, each directory reached on the way to an exported path, and each
 * exported path's final inode (a regular file or a directory). An exported directory shows
 * only itself: its listing holds only the names that other export paths lead through it.
 * Everything else is absent (ENOENT).
 *
 * The set is built once, before mounting, and never changes: every function below is safe
 * to call from several threads at once.
 */
#ifndef BV_FS_EXPORT_H
#define BV_FS_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/fs.h"

struct bv_export;

/* At most this many export paths, and this many components in each. */
#define BV_EXPORT_PATHS_MAX 64
#define BV_EXPORT_DEPTH_MAX 64
/* Lookups in the image the whole set may cost (bv_fs_resolve_at): every component of
 * every path once, and what the image's symlinks add. */
#define BV_EXPORT_MAX_LOOKUPS (2 * BV_EXPORT_PATHS_MAX * BV_EXPORT_DEPTH_MAX)

/* Builds the visible set of FS (borrowed; must outlive the set) for the N paths in PATHS.
 * A path is absolute or relative to the image's root; "." components and repeated slashes
 * are ignored; ".." is refused (-EINVAL: the names must form a tree). A path that does not
 * resolve, or whose final inode is neither a regular file nor a directory, is refused.
 * On failure returns -errno and a sentence in ERRBUF naming the path. Free with
 * bv_export_free(). */
int bv_export_new(struct bv_fs *fs, const char *const *paths, unsigned n,
		  struct bv_export **out, char *errbuf, size_t errbuf_size);

/* Frees the set. Accepts NULL. */
void bv_export_free(struct bv_export *ex);

/* True when inode INO is part of the served tree. */
bool bv_export_is_visible(const struct bv_export *ex, uint64_t ino);

/* The visible entry NAME (LEN bytes) of directory DIR: 0 and *INO (the resolved inode),
 * or -ENOENT when there is none. */
int bv_export_lookup(const struct bv_export *ex, uint64_t dir, const char *name, size_t len,
		     uint64_t *ino);

/* The directory visible directory DIR was reached from in the served tree (the root is
 * its own): 0 and *INO, or -ENOENT when DIR is not visible. */
int bv_export_parent(const struct bv_export *ex, uint64_t dir, uint64_t *ino);

/* Walks the visible entries of directory DIR from position POS (0 = start): ".", "..",
 * then the visible names in the order the export paths gave them, with the file type of
 * the inode each resolves to. Same contract as bv_fs_dir_iterate(); -ENOENT when DIR is
 * not visible. */
int bv_export_dir_iterate(const struct bv_export *ex, uint64_t dir, uint64_t pos,
			  bv_fs_dir_fn fn, void *ctx);

#endif
