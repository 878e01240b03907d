/* libFuzzer target: export mode and --require, the path resolution an attacker's image
 * steers with its symlinks. The input is one byte L, L bytes of export paths separated by
 * ':' (as -o export= takes them; none means "/unikernel/kernel:/urunc.json"), then a whole
 * image. Each path is resolved as --require does, the export set is built, and the served
 * tree is walked through the export's own lookup, parent and listing calls. */
#include <dirent.h>
#include <string.h>

#include "fs/export.h"
#include "tests/fuzz/fuzz.h"

#define MAX_VISITS 256 /* export directories listed per input */

struct tour {
	const struct bv_export *ex;
	uint64_t dir, queue[MAX_VISITS];
	unsigned head, tail;
};

static int visit(void *ctx, const char *name, size_t len, uint64_t ino, unsigned char dtype,
		 uint64_t next_pos)
{
	struct tour *t = ctx;
	uint64_t found;

	(void)next_pos;
	bv_export_lookup(t->ex, t->dir, name, len, &found);
	bv_export_is_visible(t->ex, ino);
	if (dtype == DT_DIR && !(len == 1 && name[0] == '.') &&
	    !(len == 2 && memcmp(name, "..", 2) == 0) && t->tail < MAX_VISITS)
		t->queue[t->tail++] = ino;
	return 0;
}

static void tour(struct bv_fs *fs, const struct bv_export *ex)
{
	static struct tour t;
	uint64_t parent;

	memset(&t, 0, sizeof(t));
	t.ex = ex;
	t.queue[t.tail++] = bv_fs_root_ino(fs);
	while (t.head < t.tail) {
		t.dir = t.queue[t.head++];
		bv_export_parent(ex, t.dir, &parent);
		bv_export_dir_iterate(ex, t.dir, 0, visit, &t);
	}
}

static const char *paths[BV_EXPORT_PATHS_MAX];
static unsigned npaths;

static void exported(struct bv_fs *fs)
{
	struct bv_export *ex;
	char err[256];
	uint64_t ino;

	for (unsigned i = 0; i < npaths; i++)
		bv_fs_resolve(fs, paths[i], BV_RESOLVE_FOLLOW, &ino);
	if (npaths && bv_export_new(fs, paths, npaths, &ex, err, sizeof(err)) == 0) {
		tour(fs, ex);
		bv_export_free(ex);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[257];
	size_t len;

	if (size < 1 || size - 1 < data[0])
		return 0;
	len = data[0];
	memcpy(text, data + 1, len);
	text[len] = '\0';
	if (len == 0)
		strcpy(text, "/unikernel/kernel:/urunc.json");
	npaths = 0;
	for (char *save = NULL, *p = strtok_r(text, ":", &save);
	     p && npaths < BV_EXPORT_PATHS_MAX; p = strtok_r(NULL, ":", &save))
		paths[npaths++] = p;
	fuzz_mem_image(data + 1 + len, size - 1 - len, exported);
	return 0;
}
