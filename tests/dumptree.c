/* dumptree IMAGE: every entry of an ext2/3/4 image, read with our reader, one line each,
 * in exactly the format tests/treedump.py prints for a mounted or source directory, so
 * tests/cmptree.py can compare the two (the kernel or the source tree is the oracle).
 *
 * Line (tab separated, sorted by PATH in byte order):
 *   PATH TYPE MODE UID GID SIZE NLINK INO ATIME MTIME CTIME RDEV TARGET XATTRS SHA256
 *   DIRSIZE BLOCKS
 * PATH is "/" for the root, else "/a/b"; bytes outside 0x21..0x7e, '\' and '=' and ','
 * are written \xHH (PATH, TARGET, xattr names). TYPE is one of f d l c b p s ?.
 * MODE is the permission bits in octal (%04o). SIZE only for f and l, DIRSIZE only for d.
 * Times are SECONDS.NANOSECONDS with seconds rounded down (so 1969-12-31T23:59:59.5 is
 * -1.500000000). RDEV is MAJOR:MINOR for c and b. XATTRS is name=hexvalue,... sorted by
 * name. SHA256 of the content for f. A field that does not apply is "-".
 *
 * A reader error prints the path and the error on stderr; the walk goes on with the rest
 * and the exit status is 1. A bad command line is 2.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "blockio/source.h"
#include "fs/ext4/ext4.h"
#include "tests/sha256.h"

/* Caps so that a corrupt image cannot make the walk endless (a directory loop is also
 * caught by the visited set). */
#define MAX_ENTRIES (4u << 20)
#define MAX_PATH 65536
#define MAX_XATTR_LIST (1u << 20)
#define MAX_XATTR_VALUE (1u << 24)
#define READ_CHUNK (1u << 16)

struct strbuf {
	char *s;
	size_t len, cap;
};

static int failures;

static void sb_grow(struct strbuf *sb, size_t more)
{
	if (sb->len + more + 1 <= sb->cap)
		return;
	size_t cap = sb->cap ? sb->cap : 256;

	while (cap < sb->len + more + 1)
		cap *= 2;
	sb->s = realloc(sb->s, cap);
	if (!sb->s) {
		perror("dumptree");
		exit(3);
	}
	sb->cap = cap;
}

static void sb_add(struct strbuf *sb, const void *p, size_t n)
{
	sb_grow(sb, n);
	memcpy(sb->s + sb->len, p, n);
	sb->len += n;
	sb->s[sb->len] = '\0';
}

static void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	sb_grow(sb, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(sb->s + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

/* The escaping treedump.py's esc() does: printable ASCII but the separators stays. */
static void sb_esc(struct strbuf *sb, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '=' || c == ',')
			sb_printf(sb, "\\x%02x", c);
		else
			sb_add(sb, &p[i], 1);
	}
}

static void sb_hex(struct strbuf *sb, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	sb_grow(sb, 2 * n);
	for (i = 0; i < n; i++) {
		sb->s[sb->len++] = digits[p[i] >> 4];
		sb->s[sb->len++] = digits[p[i] & 15];
	}
	sb->s[sb->len] = '\0';
}

static void fail(const char *path, const char *what, int err)
{
	fprintf(stderr, "dumptree: %s: %s: %s\n", path, what, strerror(-err));
	failures++;
}

static void sb_time(struct strbuf *sb, int64_t sec, long nsec)
{
	sb_printf(sb, "\t%" PRId64 ".%09ld", sec, nsec);
}

static char type_char(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return 'f';
	case S_IFDIR: return 'd';
	case S_IFLNK: return 'l';
	case S_IFCHR: return 'c';
	case S_IFBLK: return 'b';
	case S_IFIFO: return 'p';
	case S_IFSOCK: return 's';
	default: return '?';
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* name=hex,... sorted by name, as listxattr + getxattr show them. */
static void add_xattrs(struct bv_ext4 *fs, const struct bv_ext4_inode *inode, const char *path,
		       struct strbuf *line)
{
	char *list = NULL, **names = NULL;
	unsigned char *val = NULL;
	ssize_t n, i;
	size_t count = 0, k;
	struct strbuf out = { 0 };

	n = bv_ext4_xattr_list(fs, inode, NULL, 0);
	if (n < 0 || (size_t)n > MAX_XATTR_LIST) {
		fail(path, "listxattr", n < 0 ? (int)n : -E2BIG);
		goto out_dash;
	}
	if (n == 0)
		goto out_dash;
	list = malloc((size_t)n);
	names = calloc((size_t)n, sizeof(*names));
	if (!list || !names) {
		fail(path, "listxattr", -ENOMEM);
		goto out_dash;
	}
	ssize_t got = bv_ext4_xattr_list(fs, inode, list, (size_t)n);

	if (got < 0 || got > n) {
		fail(path, "listxattr", got < 0 ? (int)got : -ERANGE);
		goto out_dash;
	}
	/* The list is NUL-terminated names; a last name without its NUL is a reader bug. */
	if (got > 0 && list[got - 1] != '\0') {
		fail(path, "listxattr: list not NUL-terminated", -EUCLEAN);
		goto out_dash;
	}
	for (i = 0; i < got; i += (ssize_t)strlen(list + i) + 1)
		names[count++] = list + i;
	qsort(names, count, sizeof(*names), cmp_str);
	for (k = 0; k < count; k++) {
		ssize_t vlen = bv_ext4_xattr_get(fs, inode, names[k], NULL, 0);

		if (vlen < 0 || (size_t)vlen > MAX_XATTR_VALUE) {
			fprintf(stderr, "dumptree: %s: getxattr %s: %s\n", path, names[k],
				strerror(vlen < 0 ? (int)-vlen : E2BIG));
			failures++;
			continue;
		}
		free(val);
		val = malloc((size_t)vlen + 1);
		if (!val) {
			fail(path, "getxattr", -ENOMEM);
			break;
		}
		ssize_t vgot = bv_ext4_xattr_get(fs, inode, names[k], val, (size_t)vlen);

		if (vgot < 0 || vgot != vlen) {
			fprintf(stderr, "dumptree: %s: getxattr %s: %s\n", path, names[k],
				vgot < 0 ? strerror((int)-vgot) : "length changed between calls");
			failures++;
			continue;
		}
		if (out.len)
			sb_add(&out, ",", 1);
		sb_esc(&out, names[k], strlen(names[k]));
		sb_add(&out, "=", 1);
		sb_hex(&out, val, (size_t)vgot);
	}
	if (!out.len)
		goto out_dash;
	sb_add(line, "\t", 1);
	sb_add(line, out.s, out.len);
	goto out_free;
out_dash:
	sb_add(line, "\t-", 2);
out_free:
	free(out.s);
	free(val);
	free(names);
	free(list);
}

static void add_content_hash(struct bv_ext4 *fs, const struct bv_ext4_inode *inode,
			     const char *path, uint64_t size, unsigned char *buf, struct strbuf *line)
{
	struct bv_sha256 ctx;
	uint8_t d[BV_SHA256_LEN];
	char hex[2 * BV_SHA256_LEN + 1];
	uint64_t off = 0;

	bv_sha256_init(&ctx);
	for (;;) {
		ssize_t n = bv_ext4_file_read(fs, inode, buf, READ_CHUNK, off);

		if (n < 0) {
			fail(path, "read", (int)n);
			sb_add(line, "\t-", 2);
			return;
		}
		if (n == 0)
			break;
		if ((size_t)n > READ_CHUNK) {
			fail(path, "read returned more than asked", -ERANGE);
			sb_add(line, "\t-", 2);
			return;
		}
		bv_sha256_update(&ctx, buf, (size_t)n);
		off += (uint64_t)n;
	}
	/* Reads stop at i_size: fewer bytes is a reader bug (or an unreadable file). */
	if (off != size) {
		fprintf(stderr, "dumptree: %s: read %" PRIu64 " bytes of %" PRIu64 "\n", path, off,
			size);
		failures++;
	}
	bv_sha256_final(&ctx, d);
	bv_sha256_hex(d, hex);
	sb_printf(line, "\t%s", hex);
}

/* Open-addressing set of directory inode numbers already walked. */
struct inoset {
	uint32_t *slot;
	size_t cap, used;
};

/* True if INO was already there. */
static bool inoset_add(struct inoset *set, uint32_t ino)
{
	size_t i;

	if (2 * (set->used + 1) > set->cap) {
		struct inoset big = { calloc(set->cap ? 2 * set->cap : 1024, sizeof(uint32_t)),
				      set->cap ? 2 * set->cap : 1024, 0 };

		if (!big.slot) {
			perror("dumptree");
			exit(3);
		}
		for (i = 0; i < set->cap; i++)
			if (set->slot[i])
				inoset_add(&big, set->slot[i]);
		free(set->slot);
		*set = big;
	}
	for (i = (ino * 2654435761u) & (set->cap - 1); set->slot[i]; i = (i + 1) & (set->cap - 1))
		if (set->slot[i] == ino)
			return true;
	set->slot[i] = ino;
	set->used++;
	return false;
}

struct dirjob {
	char *path;      /* raw bytes, "" for the root */
	uint32_t ino;
};

struct walk {
	struct bv_ext4 *fs;
	char **lines;
	size_t nlines, caplines;
	struct dirjob *stack;
	size_t depth, capstack;
	struct inoset seen;
	unsigned char *buf;
	const char *dirpath;     /* the directory being listed */
	bool capped;
};

static void push_line(struct walk *w, char *line)
{
	if (w->nlines == w->caplines) {
		w->caplines = w->caplines ? 2 * w->caplines : 1024;
		w->lines = realloc(w->lines, w->caplines * sizeof(*w->lines));
		if (!w->lines) {
			perror("dumptree");
			exit(3);
		}
	}
	w->lines[w->nlines++] = line;
}

static void push_dir(struct walk *w, char *path, uint32_t ino)
{
	if (w->depth == w->capstack) {
		w->capstack = w->capstack ? 2 * w->capstack : 64;
		w->stack = realloc(w->stack, w->capstack * sizeof(*w->stack));
		if (!w->stack) {
			perror("dumptree");
			exit(3);
		}
	}
	w->stack[w->depth].path = path;
	w->stack[w->depth++].ino = ino;
}

/* One entry: its line, and its directory queued for the walk. PATH is raw bytes. */
static void visit(struct walk *w, const char *path, size_t path_len, uint32_t ino)
{
	struct bv_ext4_inode inode;
	struct stat st;
	struct strbuf line = { 0 };
	const char *shown = path_len ? path : "/";
	int err;

	if (w->nlines >= MAX_ENTRIES) {
		if (!w->capped)
			fail(shown, "more entries than the dump allows", -E2BIG);
		w->capped = true;
		return;
	}
	err = bv_ext4_inode_get(w->fs, ino, &inode);
	if (err) {
		fprintf(stderr, "dumptree: %s: inode %" PRIu32 ": %s\n", shown, ino, strerror(-err));
		failures++;
		return;
	}
	memset(&st, 0, sizeof(st));
	bv_ext4_inode_stat(w->fs, &inode, &st);

	char t = type_char(st.st_mode);

	if (path_len)
		sb_esc(&line, path, path_len);
	else
		sb_add(&line, "/", 1);
	sb_printf(&line, "\t%c\t%04o\t%u\t%u", t, (unsigned)(st.st_mode & 07777),
		  (unsigned)st.st_uid, (unsigned)st.st_gid);
	if (t == 'f' || t == 'l')
		sb_printf(&line, "\t%lld", (long long)st.st_size);
	else
		sb_add(&line, "\t-", 2);
	sb_printf(&line, "\t%lu\t%lu", (unsigned long)st.st_nlink, (unsigned long)st.st_ino);
	/* From the decoded inode, not struct stat: these may lie past 2038 and before 1970. */
	sb_time(&line, inode.atime.sec, inode.atime.nsec);
	sb_time(&line, inode.mtime.sec, inode.mtime.nsec);
	sb_time(&line, inode.ctime.sec, inode.ctime.nsec);
	if (t == 'c' || t == 'b')
		sb_printf(&line, "\t%u:%u", major(st.st_rdev), minor(st.st_rdev));
	else
		sb_add(&line, "\t-", 2);
	if (t == 'l') {
		static char target[4097];
		size_t len = 0;

		err = bv_ext4_readlink(w->fs, &inode, target, sizeof(target), &len);
		if (err || len >= sizeof(target)) {
			fail(shown, "readlink", err ? err : -ERANGE);
			sb_add(&line, "\t-", 2);
		} else {
			sb_add(&line, "\t", 1);
			sb_esc(&line, target, len);
		}
	} else {
		sb_add(&line, "\t-", 2);
	}
	add_xattrs(w->fs, &inode, shown, &line);
	if (t == 'f')
		add_content_hash(w->fs, &inode, shown, (uint64_t)st.st_size, w->buf, &line);
	else
		sb_add(&line, "\t-", 2);
	if (t == 'd')
		sb_printf(&line, "\t%lld", (long long)st.st_size);
	else
		sb_add(&line, "\t-", 2);
	sb_printf(&line, "\t%lld", (long long)st.st_blocks);
	push_line(w, line.s);

	if (t == 'd') {
		/* A directory reached twice is a loop or a hard-linked directory: list it once. */
		if (inoset_add(&w->seen, ino)) {
			fail(shown, "directory reached twice (loop)", -ELOOP);
			return;
		}
		char *copy = malloc(path_len + 1);

		if (!copy) {
			perror("dumptree");
			exit(3);
		}
		memcpy(copy, path, path_len);
		copy[path_len] = '\0';
		push_dir(w, copy, ino);
	}
}

struct entry {
	char *name;
	size_t len;
	uint32_t ino;
};

struct entries {
	struct entry *v;
	size_t n, cap;
	uint64_t next; /* where to resume after the last entry seen */
};

static int collect(void *ctx, const char *name, size_t name_len, uint32_t ino, uint8_t file_type,
		   uint64_t next_pos)
{
	struct entries *e = ctx;

	(void)file_type;
	e->next = next_pos;
	if ((name_len == 1 && name[0] == '.') || (name_len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	if (e->n >= MAX_ENTRIES)
		return -E2BIG;
	if (e->n == e->cap) {
		e->cap = e->cap ? 2 * e->cap : 64;
		e->v = realloc(e->v, e->cap * sizeof(*e->v));
		if (!e->v)
			return -ENOMEM;
	}
	e->v[e->n].name = malloc(name_len ? name_len : 1);
	if (!e->v[e->n].name)
		return -ENOMEM;
	memcpy(e->v[e->n].name, name, name_len);
	e->v[e->n].len = name_len;
	e->v[e->n++].ino = ino;
	return 0;
}

static void walk_dir(struct walk *w, const char *path, uint32_t ino)
{
	struct bv_ext4_inode dir;
	struct entries e = { 0 };
	const char *shown = *path ? path : "/";
	size_t plen = strlen(path), i;
	int err;

	err = bv_ext4_inode_get(w->fs, ino, &dir);
	if (err) {
		fail(shown, "directory inode", err);
		return;
	}
	/* One call reads a bounded number of blocks (-EAGAIN: go on from the last entry). */
	do
		err = bv_ext4_dir_iterate(w->fs, &dir, e.next, collect, &e);
	while (err == -EAGAIN);
	if (err)
		fail(shown, "readdir", err);
	for (i = 0; i < e.n; i++) {
		if (plen + 1 + e.v[i].len > MAX_PATH) {
			fail(shown, "path too long for the dump", -ENAMETOOLONG);
		} else {
			char *child = malloc(plen + 1 + e.v[i].len + 1);

			if (!child) {
				perror("dumptree");
				exit(3);
			}
			memcpy(child, path, plen);
			child[plen] = '/';
			memcpy(child + plen + 1, e.v[i].name, e.v[i].len);
			child[plen + 1 + e.v[i].len] = '\0';
			/* A NUL or '/' in a name is corruption the reader should have refused. */
			if (memchr(e.v[i].name, '\0', e.v[i].len) || memchr(e.v[i].name, '/', e.v[i].len))
				fail(shown, "entry name holds NUL or '/'", -EUCLEAN);
			else
				visit(w, child, plen + 1 + e.v[i].len, e.v[i].ino);
			free(child);
		}
		free(e.v[i].name);
	}
	free(e.v);
}

int main(int argc, char **argv)
{
	struct bv_ext4_opts opts = { 0 };
	struct bv_source *src = NULL;
	struct bv_ext4 *fs = NULL;
	struct walk w = { 0 };
	char errbuf[256] = "";
	const char *image = NULL;
	int i, err;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--skip-journal") == 0)
			opts.skip_journal = true;
		else if (strcmp(argv[i], "--skip-csum") == 0)
			opts.skip_csum = true;
		else if (argv[i][0] == '-' || image)
			goto usage;
		else
			image = argv[i];
	}
	if (!image)
		goto usage;

	err = bv_source_open(image, &src);
	if (err) {
		fprintf(stderr, "dumptree: %s: %s\n", image, strerror(-err));
		return 1;
	}
	err = bv_ext4_open(src, &opts, &fs, errbuf, sizeof(errbuf));
	if (err) {
		fprintf(stderr, "dumptree: %s: cannot open: %s%s%s\n", image, strerror(-err),
			*errbuf ? ": " : "", errbuf);
		bv_source_close(src);
		return 1;
	}
	w.fs = fs;
	w.buf = malloc(READ_CHUNK);
	if (!w.buf) {
		perror("dumptree");
		return 3;
	}
	/* Iterative depth-first walk: a stack of directories, never recursion. */
	visit(&w, "", 0, BV_EXT4_ROOT_INO);
	while (w.depth) {
		struct dirjob job = w.stack[--w.depth];

		walk_dir(&w, job.path, job.ino);
		free(job.path);
	}
	qsort(w.lines, w.nlines, sizeof(*w.lines), cmp_str);
	for (size_t k = 0; k < w.nlines; k++) {
		fputs(w.lines[k], stdout);
		fputc('\n', stdout);
		free(w.lines[k]);
	}
	free(w.lines);
	free(w.stack);
	free(w.seen.slot);
	free(w.buf);
	bv_ext4_close(fs);
	bv_source_close(src);
	if (fflush(stdout) != 0) {
		perror("dumptree: stdout");
		return 1;
	}
	return failures ? 1 : 0;
usage:
	fprintf(stderr, "usage: dumptree [--skip-journal] [--skip-csum] IMAGE\n");
	return 2;
}
