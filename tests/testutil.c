#include "tests/testutil.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockio/source.h"
#include "fs/ext4/ext4.h"
#include "fs/fs_ops.h"
#include "util/log.h"

#define MAX_SUITES 64

static struct {
	const char *name;
	Suite *(*make)(void);
} suites[MAX_SUITES];
static int nsuites;
static char tmpdir[PATH_MAX];

void bv_test_register(const char *name, Suite *(*make)(void))
{
	if (nsuites < MAX_SUITES) {
		suites[nsuites].name = name;
		suites[nsuites++].make = make;
	}
}

const char *bv_test_tmpdir(void)
{
	return tmpdir;
}

int bv_test_sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

bool bv_test_have(const char *prog)
{
	return bv_test_sh("command -v %s >/dev/null 2>&1", prog) == 0;
}

bool bv_test_is_root(void)
{
	return geteuid() == 0;
}

void bv_test_skip(const char *test, const char *why)
{
	printf("SKIP: %s: %s\n", test, why);
	fflush(stdout);
}

const char *bv_test_mkfs(const char *name, const char *mkfs_opts, const char *srcdir,
			 const char *size)
{
	static __thread char path[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s.img", tmpdir, name) >= sizeof(path))
		return NULL;
	if (stat(path, &st) == 0)
		return path;
	/* Build under a temporary name so a forked test that dies midway leaves no half
	 * image for the next one. mke2fs reads /etc/mke2fs.conf: "mkfs.ext4" then means
	 * ext4 with mke2fs's default features, the images the product must serve. */
	if (bv_test_sh("mkfs.ext4 -q -F %s %s%s '%s.tmp' %s >'%s.log' 2>&1 && mv '%s.tmp' '%s'",
		       mkfs_opts ? mkfs_opts : "", srcdir ? "-d " : "", srcdir ? srcdir : "", path,
		       size, path, path, path) != 0)
		return NULL;
	return path;
}

/* Reads a whole plain file into a malloc'd buffer. */
static int slurp_plain(const char *path, uint8_t **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *b;

	if (!f)
		return -errno;
	if (fstat(fileno(f), &st) || st.st_size < 0) {
		fclose(f);
		return -EIO;
	}
	/* One byte more than needed so an empty file still gets a buffer to free. */
	b = malloc((size_t)st.st_size + 1);
	if (!b) {
		fclose(f);
		return -ENOMEM;
	}
	size_t n = fread(b, 1, (size_t)st.st_size, f);
	fclose(f);
	if (n != (size_t)st.st_size) {
		free(b);
		return -EIO;
	}
	*buf = b;
	*len = n;
	return 0;
}

int bv_test_slurp(const char *path, uint8_t **buf, size_t *len)
{
	char cached[PATH_MAX];
	const char *dot = strrchr(path, '.'), *base = strrchr(path, '/');
	const char *tool = NULL;
	struct stat st;

	if (dot && strcmp(dot, ".gz") == 0)
		tool = "gzip";
	else if (dot && strcmp(dot, ".bz2") == 0)
		tool = "bzip2";
	if (!tool)
		return slurp_plain(path, buf, len);

	/* Several suites read the whole corpus: decompress each image once per run into the
	 * shared scratch directory (the tests run in forked children, so a file is the only
	 * cache they share). Written under a temporary name, then renamed, so a reader never
	 * sees half a file. */
	base = base ? base + 1 : path;
	if ((size_t)snprintf(cached, sizeof(cached), "%s/corpus-cache/%.*s", tmpdir,
			     (int)(dot - base), base) >= sizeof(cached))
		return -ENAMETOOLONG;
	if (stat(cached, &st) != 0 &&
	    bv_test_sh("mkdir -p '%s/corpus-cache' && %s -dc '%s' > '%s.%d' && mv '%s.%d' '%s'",
		       tmpdir, tool, path, cached, (int)getpid(), cached, (int)getpid(),
		       cached) != 0)
		return -EIO;
	return slurp_plain(cached, buf, len);
}

static struct bv_ext4 *open_fs(struct bv_source *src, const char *what,
			       const struct bv_ext4_opts *opts)
{
	struct bv_ext4 *fs = NULL;
	char err[512] = "";
	int ret = bv_ext4_open(src, opts, &fs, err, sizeof(err));

	ck_assert_msg(ret == 0, "open %s: %d %s", what, ret, err);
	return fs;
}

struct bv_ext4 *bv_test_open_file(const char *path, const struct bv_ext4_opts *opts,
				  struct bv_source **src)
{
	int ret = bv_source_open(path, src);

	ck_assert_msg(ret == 0, "open %s: %s", path, strerror(-ret));
	return open_fs(*src, path, opts);
}

struct bv_ext4 *bv_test_open_mem(const void *buf, size_t len, const struct bv_ext4_opts *opts,
				 struct bv_source **src)
{
	ck_assert_int_eq(bv_source_open_mem(buf, len, src), 0);
	return open_fs(*src, "(memory image)", opts);
}

int bv_test_loop_attach(const char *file, char *dev, size_t size)
{
	char cmd[PATH_MAX + 64];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "losetup -r --find --show '%s' 2>/dev/null", file);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (!fgets(dev, (int)size, p))
		dev[0] = '\0';
	pclose(p);
	dev[strcspn(dev, "\n")] = '\0';
	return dev[0] ? 0 : -1;
}

void bv_test_loop_detach(const char *dev)
{
	bv_test_sh("losetup -d '%s' 2>/dev/null", dev);
}

long long bv_test_debugfs_num(const char *img, const char *req, const char *key)
{
	char cmd[1024], line[512];
	long long v = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "debugfs -R '%s' '%s' 2>/dev/null", req, img);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		char *k = strstr(line, key);

		if (k && v < 0)
			v = strtoll(k + strlen(key), NULL, 0);
	}
	pclose(p);
	return v;
}

uint32_t bv_test_debugfs_ino(const char *img, const char *path)
{
	char req[PATH_MAX + 8];
	long long ino;

	snprintf(req, sizeof(req), "stat %s", path);
	ino = bv_test_debugfs_num(img, req, "Inode: ");
	ck_assert_msg(ino > 0, "debugfs finds no inode for %s in %s", path, img);
	return (uint32_t)ino;
}

/* scripts/fetch-corpus.sh --locate decides, for the integration tests too: its one line is
 * the directory (exit 0) or why there is none and how to fetch it (exit 1). */
static char corpus_line[PATH_MAX + 512];
static int corpus_found = -1;

static void corpus_locate(void)
{
	FILE *p;
	size_t n;
	int st;

	if (corpus_found >= 0)
		return;
	corpus_found = 0;
	snprintf(corpus_line, sizeof(corpus_line),
		 "no e2fsprogs corpus: scripts/fetch-corpus.sh --locate did not run");
	p = popen("scripts/fetch-corpus.sh --locate 2>&1", "r");
	if (!p)
		return;
	if (!fgets(corpus_line, sizeof(corpus_line), p))
		corpus_line[0] = '\0';
	st = pclose(p);
	n = strlen(corpus_line);
	if (n && corpus_line[n - 1] == '\n')
		corpus_line[n - 1] = '\0';
	corpus_found = st == 0 && corpus_line[0] == '/';
}

const char *bv_test_corpus_dir(void)
{
	corpus_locate();
	return corpus_found ? corpus_line : NULL;
}

const char *bv_test_corpus_missing(void)
{
	corpus_locate();
	return corpus_found ? "" : corpus_line;
}

int main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR");
	SRunner *sr = NULL;
	int failed;

	/* Many tests break images on purpose, and the reader logs every corruption it meets:
	 * keep the run's output readable unless asked (BV_TEST_LOG=1). */
	if (!getenv("BV_TEST_LOG"))
		bv_log_set_level(BV_LOG_ERR);
	snprintf(tmpdir, sizeof(tmpdir), "%s/bv-check-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	for (int i = 0; i < nsuites; i++) {
		/* `check_all WORD` runs only the suites whose maker's name contains WORD. */
		if (argc > 1 && !strstr(suites[i].name, argv[1]))
			continue;
		Suite *s = suites[i].make();
		if (!sr)
			sr = srunner_create(s);
		else
			srunner_add_suite(sr, s);
	}
	if (!sr) {
		fprintf(stderr, "no suite matched\n");
		return 2;
	}
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (!getenv("BV_KEEP_TMP"))
		bv_test_sh("rm -rf '%s'", tmpdir);
	return failed ? 1 : 0;
}

int bv_test_resolve(struct bv_ext4 *fs, const char *path, unsigned flags, uint32_t *ino)
{
	struct bv_fs *wrap = bv_fs_wrap(fs, &bv_ext4_fs_ops);
	uint64_t i = 0;
	int err;

	if (!wrap)
		return -ENOMEM;
	err = bv_fs_resolve(wrap, path, flags, &i);
	bv_fs_close(wrap);
	if (!err)
		*ino = (uint32_t)i;
	return err;
}
