/* Shared by the Check suites: suite registration, a scratch directory, image building. */
#ifndef BV_TESTS_TESTUTIL_H
#define BV_TESTS_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/fs.h"

/* Each tests/check_<module>.c ends with BV_SUITE(make_suite_fn): the runner collects the
 * suites at start-up, so adding a suite never touches a shared list. */
void bv_test_register(const char *name, Suite *(*make)(void));
#define BV_SUITE(make)                                                                     \
	__attribute__((constructor)) static void bv_register_##make(void)                  \
	{                                                                                  \
		bv_test_register(#make, make);                                                    \
	}

/* A scratch directory made by the runner for this run and removed after it. Shared by all
 * tests (they run in forked children), so name files after the test. */
const char *bv_test_tmpdir(void);

/* Runs a shell command built from FMT; returns its exit status (-1 if it did not run). */
int bv_test_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* True when PROG is on PATH. */
bool bv_test_have(const char *prog);

/* True when running as root (kernel mounts, loop devices). */
bool bv_test_is_root(void);

/* Prints "SKIP: <test>: <why>" so a skip is never silent. */
void bv_test_skip(const char *test, const char *why);

/* Builds (once per run; later calls reuse the file) an image NAME.img in the scratch
 * directory with `mkfs.ext4 -q -F MKFS_OPTS -d SRCDIR IMG SIZE`. SRCDIR may be NULL for an
 * empty filesystem. The defaults are /etc/mke2fs.conf's ext4 (pass -t ext2 / -t ext3 for
 * those). Returns the image path (static storage per call: copy it) or NULL. */
const char *bv_test_mkfs(const char *name, const char *mkfs_opts, const char *srcdir,
			 const char *size);

/* Reads a whole file (decompressing .gz and .bz2) into a malloc'd buffer. */
int bv_test_slurp(const char *path, uint8_t **buf, size_t *len);

struct bv_source;
struct bv_ext4;
struct bv_ext4_opts;

/* Opens the image file PATH (or the LEN bytes at BUF, borrowed) and the filesystem on it;
 * fails the test with the reader's own sentence if either fails. OPTS may be NULL. The
 * caller closes the filesystem, then *SRC. */
struct bv_ext4 *bv_test_open_file(const char *path, const struct bv_ext4_opts *opts,
				  struct bv_source **src);
struct bv_ext4 *bv_test_open_mem(const void *buf, size_t len, const struct bv_ext4_opts *opts,
				 struct bv_source **src);

/* Attaches FILE to a free read-only loop device and writes its path into DEV (SIZE bytes).
 * Returns 0, or -1 when no loop device could be attached (the caller skips). Detach with
 * bv_test_loop_detach before asserting, so a failed test leaves no device behind. */
int bv_test_loop_attach(const char *file, char *dev, size_t size);
void bv_test_loop_detach(const char *dev);

/* Runs `debugfs -R REQ IMG` and returns the first number that follows KEY in its output
 * (decimal, or hex with 0x), or -1 when there is none. For finding where a structure lies in
 * an image a test is about to break. */
long long bv_test_debugfs_num(const char *img, const char *req, const char *key);

/* The inode number of PATH in IMG, as debugfs's stat says; fails the test if there is none. */
uint32_t bv_test_debugfs_ino(const char *img, const char *path);

/* The e2fsprogs corpus directory (BV_CORPUS, else ../shared/corpus/e2fsprogs, else the one
 * scripts/fetch-corpus.sh fetched into build/), or NULL; bv_test_corpus_missing() then
 * says why and how to fetch it, for the SKIP line. Run from the top of the tree. */
const char *bv_test_corpus_dir(void);
const char *bv_test_corpus_missing(void);

struct bv_ext4;

/* bv_fs_resolve (the neutral path walk) over an ext4 filesystem the test opened with the
 * ext4 reader directly. Returns what the walk returns; *INO is set on success. */
int bv_test_resolve(struct bv_ext4 *fs, const char *path, unsigned flags, uint32_t *ino);

#endif
