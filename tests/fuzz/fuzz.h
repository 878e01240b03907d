/* What the libFuzzer targets of tests/fuzz/ share: a quiet log, a bounded walk of a whole
 * opened filesystem, and the "squeezed" image format of the XFS target.
 *
 * Every target defines LLVMFuzzerTestOneInput() only. `make fuzz` links each with libFuzzer
 * (clang); `make check` links each with tests/fuzz/replay.c instead (any compiler, the
 * current SAN flags) and runs it over the target's committed corpus. */
#ifndef BV_TESTS_FUZZ_H
#define BV_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "blockio/source.h"
#include "fs/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Silences the library's log: the corruption reports would drown libFuzzer's output. */
void fuzz_quiet(void);

/* Exercises every read the FUSE server can ask for on FS, within fixed budgets (inodes
 * visited, entries listed, bytes read per file) so each input runs in bounded time:
 * breadth-first from the root, stat, list and look every name up again, readlink, read,
 * splice runs, SEEK_DATA, xattrs; then path resolution, statfs and info. */
void fuzz_walk(struct bv_fs *fs);

/* Opens the filesystem on SRC, an input of SIZE bytes, quietly, and calls FN on it; SRC
 * stays open. The options are picked by the size, so mutations reach both sides of each:
 * odd sizes skip checksum verification (else most mutations of a metadata_csum image
 * stop at the first checksum and the parsers behind it are never reached), sizes with
 * bit 1 set skip journal recovery. fuzz_mem_image() does it over the input itself. */
void fuzz_image(struct bv_source *src, size_t size, void (*fn)(struct bv_fs *fs));
void fuzz_mem_image(const uint8_t *data, size_t size, void (*fn)(struct bv_fs *fs));

/* A squeezed image: an XFS filesystem is at least 16 MiB per allocation group and mostly
 * zeros, too large to mutate whole. The input holds only its non-zero parts:
 *
 *   u32 LE   image size in MiB (taken modulo 1024, at least 16)
 *   records  u32 LE offset in 512-byte sectors, u16 LE length in bytes, that many bytes
 *
 * Records past the image's end are clipped; a truncated record ends the list.
 * scripts/fuzz-squeeze.py makes one from an image. fuzz_unsqueeze() expands DATA into a
 * zero-filled buffer it owns (mapped once, never touched where no record wrote) and opens a
 * memory source over it; fuzz_unsqueeze_done() closes the source and zeroes what was
 * written. Returns 0, or -1 when DATA is too short to hold a size. */
int fuzz_unsqueeze(const uint8_t *data, size_t size, struct bv_source **src);
void fuzz_unsqueeze_done(const uint8_t *data, size_t size, struct bv_source *src);

#endif
