#include "tests/testutil.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int bv_test_slurp(const char *path, uint8_t **buf, size_t *len)
{
	char cmd[PATH_MAX + 32];
	size_t cap = 1 << 20, n = 0;
	const char *dot = strrchr(path, '.');
	FILE *f;

	if (dot && strcmp(dot, ".gz") == 0)
		snprintf(cmd, sizeof(cmd), "gzip -dc '%s'", path);
	else if (dot && strcmp(dot, ".bz2") == 0)
		snprintf(cmd, sizeof(cmd), "bzip2 -dc '%s'", path);
	else
		snprintf(cmd, sizeof(cmd), "cat '%s'", path);
	f = popen(cmd, "r");
	if (!f)
		return -errno;
	uint8_t *b = malloc(cap);
	while (b) {
		size_t got = fread(b + n, 1, cap - n, f);
		n += got;
		if (n < cap)
			break;
		uint8_t *nb = realloc(b, cap * 2);
		if (!nb) {
			free(b);
			b = NULL;
			break;
		}
		b = nb;
		cap *= 2;
	}
	int st = pclose(f);
	if (!b)
		return -ENOMEM;
	if (st != 0) {
		free(b);
		return -EIO;
	}
	*buf = b;
	*len = n;
	return 0;
}

const char *bv_test_corpus_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("BV_CORPUS");
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", env && *env ? env : "../shared/corpus/e2fsprogs");
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? dir : NULL;
}

int main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR");
	SRunner *sr = NULL;
	int failed;

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
