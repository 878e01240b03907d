/* Commands that read an image without any mount: probe, ls, cat, stat, extract.
 *
 * They are the last-resort path when even FUSE is unavailable, and the quickest way for a
 * person to look into an image, so every error names the source and the path. Paths are
 * resolved inside the image (bv_fs_resolve), never on the host.
 */
#include "cmd/cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "blockio/probe.h"
#include "blockio/source.h"
#include "fs/fs.h"

/* Copy buffer for cat and extract: large enough that the reader answers each call with
 * one pread per contiguous run, small enough to stay out of the way. */
#define COPY_CHUNK (1024 * 1024)

/* extract's destination paths: depth and length caps for what the command line names. */
#define MAX_DEST_DEPTH 256

struct image {
	const char *path;
	struct bv_source *src;
	struct bv_fs *fs;
};

static int image_open(struct image *img, const char *path)
{
	img->path = path;
	return bv_cmd_open_image(path, NULL, &img->src, &img->fs);
}

static void image_close(struct image *img)
{
	bv_fs_close(img->fs);
	bv_source_close(img->src);
}

static void path_error(const struct image *img, const char *path, int err)
{
	const char *why = strerror(-err);

	if (err == -EUCLEAN)
		why = "filesystem is corrupt here (see the message above)";
	else if (err == -EBADMSG)
		why = "bad metadata checksum";
	fprintf(stderr, "bootviewfs: %s: %s: %s\n", img->path, path, why);
}

/* Resolves PATH inside the image and reads its inode. Reports errors itself. */
static int image_lookup(struct image *img, const char *path, unsigned flags,
			struct bv_inode *inode)
{
	uint64_t ino;
	int err;

	err = bv_fs_resolve(img->fs, path, flags, &ino);
	if (!err)
		err = bv_fs_inode_get(img->fs, ino, BV_IGET_ANY, inode);
	if (err)
		path_error(img, path, err);
	return err;
}

/* Common option handling: --help prints HELP, --version the version; both end the
 * command successfully. */
static bool wants_help(int argc, char **argv, const char *help)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(help, stdout);
			return true;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("bootviewfs %s\n", BV_VERSION);
			return true;
		}
	}
	return false;
}

/* A bad command line of CMD: one line and where the help is (cmd/cmd_usage.c). */
static int usage_error(const char *cmd, const char *msg)
{
	bv_cmd_usage_error(cmd, "%s", msg);
	return BV_EXIT_USAGE;
}

static char type_char(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return 'd';
	case S_IFLNK: return 'l';
	case S_IFCHR: return 'c';
	case S_IFBLK: return 'b';
	case S_IFIFO: return 'p';
	case S_IFSOCK: return 's';
	default: return '-';
	}
}

static const char *type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "directory";
	case S_IFLNK: return "symbolic link";
	case S_IFCHR: return "character special file";
	case S_IFBLK: return "block special file";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "socket";
	default: return "regular file";
	}
}

/* "drwxr-sr-t" as ls(1) writes it. */
static void mode_string(mode_t mode, char out[11])
{
	static const char rwx[] = "rwxrwxrwx";

	out[0] = type_char(mode);
	for (int i = 0; i < 9; i++)
		out[1 + i] = (mode & (0400 >> i)) ? rwx[i] : '-';
	if (mode & S_ISUID)
		out[3] = (mode & S_IXUSR) ? 's' : 'S';
	if (mode & S_ISGID)
		out[6] = (mode & S_IXGRP) ? 's' : 'S';
	if (mode & S_ISVTX)
		out[9] = (mode & S_IXOTH) ? 't' : 'T';
	out[10] = '\0';
}

/* Names come from an untrusted image: on a terminal, control bytes become '?' so a name
 * cannot move the cursor or change the terminal's state. */
static void put_name(const char *name, size_t len, bool tty)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		putchar(tty && (c < 0x20 || c == 0x7f) ? '?' : c);
	}
}

/* ---- probe ---- */

static const char probe_help[] =
	"Usage: bootviewfs probe SOURCE\n"
	"Prints what SOURCE holds as one JSON object: type, uuid, label, size, block size,\n"
	"features, journal state, and whether bootviewfs can serve it (\"supported\").\n"
	"Exit status: 0 supported, 1 not supported or unreadable, 2 bad command line.\n";

static json_t *features_json(struct bv_fs_info *info)
{
	json_t *arr = json_array();

	for (char *save = NULL, *tok = strtok_r(info->features, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save))
		json_array_append_new(arr, json_string(tok));
	return arr;
}

int bv_cmd_probe(int argc, char **argv)
{
	struct bv_probe_result probe;
	struct bv_source *src = NULL;
	struct bv_fs *fs = NULL;
	struct bv_fs_info info;
	char msg[512] = "";
	json_t *out;
	int err, status = BV_EXIT_FAIL;

	if (wants_help(argc, argv, probe_help))
		return BV_EXIT_OK;
	if (argc != 2 || argv[1][0] == '-')
		return usage_error("probe", "probe takes one SOURCE");

	err = bv_source_open(argv[1], &src);
	if (err) {
		fprintf(stderr, "bootviewfs: %s: %s\n", argv[1], strerror(-err));
		return BV_EXIT_FAIL;
	}
	out = json_object();
	json_object_set_new(out, "source", json_string(argv[1]));
	json_object_set_new(out, "size", json_integer((json_int_t)bv_source_size(src)));

	err = bv_probe_source(src, &probe);
	if (err) {
		snprintf(msg, sizeof(msg), "libblkid could not probe it: %s", strerror(-err));
		goto print;
	}
	json_object_set_new(out, "type", json_string(probe.type));
	if (probe.uuid[0])
		json_object_set_new(out, "uuid", json_string(probe.uuid));
	if (probe.label[0])
		json_object_set_new(out, "label", json_string(probe.label));
	if (bv_probe_check_supported(&probe, argv[1], bv_source_size(src), msg, sizeof(msg)))
		goto print;

	err = bv_fs_open(src, NULL, &fs, msg, sizeof(msg));
	if (err) {
		if (!msg[0])
			snprintf(msg, sizeof(msg), "%s", strerror(-err));
		goto print;
	}
	bv_fs_info_get(fs, &info);
	/* Our own reading of the superblock wins over blkid's: it is what we serve. */
	json_object_set_new(out, "type", json_string(info.type));
	json_object_set_new(out, "uuid", json_string(info.uuid_str));
	json_object_set_new(out, "label", json_string(info.label));
	json_object_set_new(out, "block_size", json_integer(info.block_size));
	json_object_set_new(out, "cluster_size", json_integer(info.cluster_size));
	json_object_set_new(out, "inode_size", json_integer(info.inode_size));
	json_object_set_new(out, "blocks", json_integer((json_int_t)info.blocks_count));
	json_object_set_new(out, "free_blocks", json_integer((json_int_t)info.free_blocks_count));
	json_object_set_new(out, "inodes", json_integer((json_int_t)info.inodes_count));
	json_object_set_new(out, "free_inodes", json_integer((json_int_t)info.free_inodes_count));
	json_object_set_new(out, "groups", json_integer(info.group_count));
	json_object_set_new(out, "features", features_json(&info));
	json_object_set_new(out, "journal", json_string(info.journal_state));
	json_object_set_new(out, "journal_replayed_blocks",
			    json_integer(info.journal_replayed_blocks));
	status = BV_EXIT_OK;

print:
	json_object_set_new(out, "supported", json_boolean(status == BV_EXIT_OK));
	if (status != BV_EXIT_OK)
		json_object_set_new(out, "error", json_string(msg));
	json_dumpf(out, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(out);
	bv_fs_close(fs);
	bv_source_close(src);
	return status;
}

/* ---- ls ---- */

static const char ls_help[] =
	"Usage: bootviewfs ls [-l] [-a] SOURCE [PATH]\n"
	"Lists directory PATH (default /) of the image on SOURCE, sorted by name.\n"
	"  -l, --long  long format: mode, links, owner, group, size, mtime, name (-> target)\n"
	"  -a, --all   include . and ..\n"
	"Exit status: 0 success, 1 failure, 2 bad command line.\n";

struct ls_entry {
	char *name;
	size_t len;
	uint64_t ino;
};

struct ls_list {
	struct ls_entry *v;
	size_t n, cap;
	bool all;
};

static int ls_collect(void *ctx, const char *name, size_t len, uint64_t ino,
		      unsigned char dtype, uint64_t next_pos)
{
	struct ls_list *l = ctx;

	(void)dtype;
	(void)next_pos;
	if (!l->all && ((len == 1 && name[0] == '.') || (len == 2 && !memcmp(name, "..", 2))))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct ls_entry *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n].name = strndup(name, len);
	if (!l->v[l->n].name)
		return -ENOMEM;
	l->v[l->n].len = len;
	l->v[l->n].ino = ino;
	l->n++;
	return 0;
}

static int ls_cmp(const void *a, const void *b)
{
	const struct ls_entry *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->name, y->name, n);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static void ls_print_long(struct image *img, uint64_t ino, const char *name, size_t len,
			  bool tty)
{
	struct bv_inode inode;
	char mode[11], when[32], target[4096];
	struct stat st;
	struct tm tm;
	size_t tlen;
	int err;

	err = bv_fs_inode_get(img->fs, ino, BV_IGET_LINKED, &inode);
	if (err) {
		printf("?????????? %*s ", 30, "");
		put_name(name, len, tty);
		printf("  (inode %llu: %s)\n", (unsigned long long)ino, strerror(-err));
		return;
	}
	bv_fs_stat(img->fs, &inode, &st);
	mode_string(st.st_mode, mode);
	time_t t = st.st_mtim.tv_sec;
	if (localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
	else
		snprintf(when, sizeof(when), "@%lld", (long long)t);
	printf("%s %3lu %5u %5u ", mode, (unsigned long)st.st_nlink, st.st_uid, st.st_gid);
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		printf("%4u, %4u", major(st.st_rdev), minor(st.st_rdev));
	else
		printf("%10lld", (long long)st.st_size);
	printf(" %s ", when);
	put_name(name, len, tty);
	if (S_ISLNK(st.st_mode) &&
	    bv_fs_readlink(img->fs, &inode, target, sizeof(target), &tlen) == 0) {
		printf(" -> ");
		put_name(target, tlen, tty);
	}
	putchar('\n');
}

int bv_cmd_ls(int argc, char **argv)
{
	static const struct option opts[] = { { "long", no_argument, NULL, 'l' },
					      { "all", no_argument, NULL, 'a' },
					      { NULL, 0, NULL, 0 } };
	struct ls_list list = { 0 };
	struct bv_inode dir;
	struct image img;
	bool lng = false, tty = isatty(STDOUT_FILENO);
	const char *path;
	int c, err, status = BV_EXIT_FAIL;

	if (wants_help(argc, argv, ls_help))
		return BV_EXIT_OK;
	optind = 1;
	opterr = 0;
	for (int at = optind; (c = getopt_long(argc, argv, "+:la", opts, NULL)) != -1;
	     at = optind) {
		if (c == 'l') {
			lng = true;
		} else if (c == 'a') {
			list.all = true;
		} else {
			bv_cmd_option_error("ls", c, argv, at);
			return BV_EXIT_USAGE;
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return usage_error("ls", "ls takes SOURCE and at most one PATH");
	path = argc - optind == 2 ? argv[optind + 1] : "/";
	if (image_open(&img, argv[optind]))
		return BV_EXIT_FAIL;
	if (image_lookup(&img, path, BV_RESOLVE_FOLLOW, &dir))
		goto close;

	if (!S_ISDIR(dir.mode)) {
		/* Like ls(1): a file names itself. */
		if (lng)
			ls_print_long(&img, dir.ino, path, strlen(path), tty);
		else
			printf("%s\n", path);
		status = BV_EXIT_OK;
		goto close;
	}
	err = bv_fs_dir_iterate(img.fs, &dir, 0, ls_collect, &list);
	if (err) {
		path_error(&img, path, err);
		goto free_list;
	}
	qsort(list.v, list.n, sizeof(*list.v), ls_cmp);
	for (size_t i = 0; i < list.n; i++) {
		if (lng) {
			ls_print_long(&img, list.v[i].ino, list.v[i].name, list.v[i].len, tty);
		} else {
			put_name(list.v[i].name, list.v[i].len, tty);
			putchar('\n');
		}
	}
	status = BV_EXIT_OK;

free_list:
	for (size_t i = 0; i < list.n; i++)
		free(list.v[i].name);
	free(list.v);
close:
	image_close(&img);
	return status;
}

/* ---- cat ---- */

static const char cat_help[] =
	"Usage: bootviewfs cat SOURCE PATH...\n"
	"Writes the content of each regular file PATH in the image to standard output.\n"
	"Symlinks are followed inside the image.\n"
	"Exit status: 0 success, 1 failure, 2 bad command line.\n";

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/* Copies regular file INODE to FD. With SPARSE, all-zero chunks become holes (seek over
 * them; the caller truncates to the final size). Returns 0, or -errno with *READ_ERR saying
 * whether reading the image (true) or writing FD (false) failed. */
static int copy_file(struct image *img, const struct bv_inode *inode, int fd, bool sparse,
		     uint8_t *buf, bool *read_err)
{
	uint64_t off = 0;

	while (off < inode->size) {
		struct bv_fs_run run;

		/* A hole is skipped whole, however long, without reading zeros through it. */
		if (sparse && bv_fs_run_get(img->fs, inode, off, SIZE_MAX, &run) == 0 &&
		    run.zero && run.len > 0) {
			if (lseek(fd, (off_t)run.len, SEEK_CUR) < 0)
				return -errno;
			off += run.len;
			continue;
		}
		ssize_t n = bv_fs_read(img->fs, inode, buf, COPY_CHUNK, off);
		if (n < 0) {
			*read_err = true;
			return (int)n;
		}
		if (n == 0)
			break;
		*read_err = false;
		if (sparse && all_zero(buf, (size_t)n)) {
			if (lseek(fd, n, SEEK_CUR) < 0)
				return -errno;
		} else {
			int err = write_all(fd, buf, (size_t)n);
			if (err)
				return err;
		}
		off += (uint64_t)n;
	}
	return 0;
}

int bv_cmd_cat(int argc, char **argv)
{
	struct bv_inode inode;
	struct image img;
	uint8_t *buf;
	int status = BV_EXIT_OK;

	if (wants_help(argc, argv, cat_help))
		return BV_EXIT_OK;
	if (argc < 3)
		return usage_error("cat", "cat takes SOURCE and at least one PATH");
	buf = malloc(COPY_CHUNK);
	if (!buf)
		return BV_EXIT_FAIL;
	if (image_open(&img, argv[1])) {
		free(buf);
		return BV_EXIT_FAIL;
	}
	for (int i = 2; i < argc; i++) {
		bool read_err = false;
		int err;

		if (image_lookup(&img, argv[i], BV_RESOLVE_FOLLOW, &inode)) {
			status = BV_EXIT_FAIL;
			continue;
		}
		if (!S_ISREG(inode.mode)) {
			path_error(&img, argv[i], S_ISDIR(inode.mode) ? -EISDIR : -EINVAL);
			status = BV_EXIT_FAIL;
			continue;
		}
		err = copy_file(&img, &inode, STDOUT_FILENO, false, buf, &read_err);
		if (err && read_err) {
			path_error(&img, argv[i], err);
			status = BV_EXIT_FAIL;
		} else if (err) {
			fprintf(stderr, "bootviewfs: writing standard output: %s\n", strerror(-err));
			status = BV_EXIT_FAIL;
			break;
		}
	}
	image_close(&img);
	free(buf);
	return status;
}

/* ---- stat ---- */

static const char stat_help[] =
	"Usage: bootviewfs stat [-L] [--json] SOURCE PATH\n"
	"Shows the inode at PATH in the image as the kernel would report it.\n"
	"  -L, --dereference  follow a symlink in the last component\n"
	"      --json         one JSON object instead of text\n"
	"Exit status: 0 success, 1 failure, 2 bad command line.\n";

static void format_time(const struct bv_time *t, char *buf, size_t size)
{
	time_t sec = (time_t)t->sec;
	struct tm tm;
	char date[64];

	if (!gmtime_r(&sec, &tm) || !strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(date, sizeof(date), "@%lld", (long long)t->sec);
	snprintf(buf, size, "%s.%09u +0000", date, t->nsec);
}

static struct bv_time time_of(const struct timespec *ts)
{
	return (struct bv_time){ ts->tv_sec, (uint32_t)ts->tv_nsec };
}

static json_t *time_json(const struct bv_time *t)
{
	return json_pack("{s:I,s:I}", "sec", (json_int_t)t->sec, "nsec", (json_int_t)t->nsec);
}

static json_t *xattrs_json(struct image *img, const struct bv_inode *inode)
{
	json_t *arr = json_array();
	ssize_t len = bv_fs_xattr_list(img->fs, inode, NULL, 0, true);
	char *names;

	if (len <= 0)
		return arr;
	names = malloc((size_t)len);
	if (names && (len = bv_fs_xattr_list(img->fs, inode, names, (size_t)len, true)) > 0)
		for (ssize_t i = 0; i < len; i += (ssize_t)strlen(names + i) + 1)
			json_array_append_new(arr, json_string(names + i));
	free(names);
	return arr;
}

int bv_cmd_stat(int argc, char **argv)
{
	static const struct option opts[] = { { "dereference", no_argument, NULL, 'L' },
					      { "json", no_argument, NULL, 'j' },
					      { NULL, 0, NULL, 0 } };
	struct bv_inode inode;
	struct image img;
	char target[4096] = "", mode[11], when[4][80];
	struct bv_time times[3];
	unsigned flags = 0;
	bool json = false;
	size_t tlen = 0;
	struct stat st;
	int c, status = BV_EXIT_FAIL;

	if (wants_help(argc, argv, stat_help))
		return BV_EXIT_OK;
	optind = 1;
	opterr = 0;
	for (int at = optind; (c = getopt_long(argc, argv, "+:L", opts, NULL)) != -1;
	     at = optind) {
		if (c == 'L') {
			flags |= BV_RESOLVE_FOLLOW;
		} else if (c == 'j') {
			json = true;
		} else {
			bv_cmd_option_error("stat", c, argv, at);
			return BV_EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
		return usage_error("stat", "stat takes SOURCE and PATH");
	if (image_open(&img, argv[optind]))
		return BV_EXIT_FAIL;
	const char *path = argv[optind + 1];
	if (image_lookup(&img, path, flags, &inode))
		goto close;
	bv_fs_stat(img.fs, &inode, &st);
	times[0] = time_of(&st.st_atim);
	times[1] = time_of(&st.st_mtim);
	times[2] = time_of(&st.st_ctim);
	if (S_ISLNK(inode.mode)) {
		int err = bv_fs_readlink(img.fs, &inode, target, sizeof(target), &tlen);
		if (err) {
			path_error(&img, path, err);
			goto close;
		}
	}

	if (json) {
		json_t *o = json_pack("{s:s,s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "path", path,
				      "ino", (json_int_t)inode.ino, "type", type_name(st.st_mode),
				      "mode", (json_int_t)(st.st_mode & 07777), "uid",
				      (json_int_t)st.st_uid, "gid", (json_int_t)st.st_gid, "size",
				      (json_int_t)st.st_size, "nlink", (json_int_t)st.st_nlink,
				      "blocks", (json_int_t)st.st_blocks, "generation",
				      (json_int_t)inode.generation, "flags", (json_int_t)inode.flags);
		json_object_set_new(o, "atime", time_json(&times[0]));
		json_object_set_new(o, "mtime", time_json(&times[1]));
		json_object_set_new(o, "ctime", time_json(&times[2]));
		if (inode.has_crtime)
			json_object_set_new(o, "crtime", time_json(&inode.crtime));
		if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
			json_object_set_new(o, "rdev", json_pack("{s:i,s:i}", "major",
								 (int)major(st.st_rdev), "minor",
								 (int)minor(st.st_rdev)));
		if (S_ISLNK(st.st_mode))
			json_object_set_new(o, "target", json_stringn(target, tlen));
		json_object_set_new(o, "xattrs", xattrs_json(&img, &inode));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
		status = BV_EXIT_OK;
		goto close;
	}

	mode_string(st.st_mode, mode);
	format_time(&times[0], when[0], sizeof(when[0]));
	format_time(&times[1], when[1], sizeof(when[1]));
	format_time(&times[2], when[2], sizeof(when[2]));
	printf("  File: %s", path);
	if (S_ISLNK(st.st_mode)) {
		printf(" -> ");
		put_name(target, tlen, isatty(STDOUT_FILENO));
	}
	printf("\n  Size: %-15lld Blocks: %-10lld IO Block: %-6ld %s\n", (long long)st.st_size,
	       (long long)st.st_blocks, (long)st.st_blksize, type_name(st.st_mode));
	printf("Inode: %-15llu Links: %-5lu", (unsigned long long)inode.ino,
	       (unsigned long)st.st_nlink);
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		printf(" Device type: %u,%u", major(st.st_rdev), minor(st.st_rdev));
	printf("\nAccess: (%04o/%s)  Uid: (%5u)   Gid: (%5u)\n", st.st_mode & 07777, mode,
	       st.st_uid, st.st_gid);
	printf("Access: %s\nModify: %s\nChange: %s\n", when[0], when[1], when[2]);
	if (inode.has_crtime) {
		format_time(&inode.crtime, when[3], sizeof(when[3]));
		printf(" Birth: %s\n", when[3]);
	}
	status = BV_EXIT_OK;
close:
	image_close(&img);
	return status;
}

/* ---- extract ---- */

static const char extract_help[] =
	"Usage: bootviewfs extract SOURCE DESTDIR PATH...\n"
	"Copies each regular file PATH out of the image into DESTDIR/PATH, with its\n"
	"permission bits and its access and modification times, without any mount.\n"
	"Symlinks are followed inside the image only: an absolute or '..' target resolves\n"
	"against the image's root, never the host's. Nothing is written outside DESTDIR:\n"
	"directories on the way are created (0755) and never followed if they are symlinks;\n"
	"DESTDIR itself must exist: it is not created.\n"
	"Set-user-ID, set-group-ID and sticky bits are dropped: an untrusted image must not\n"
	"plant set-id files on the host. Holes stay holes. An existing file is replaced.\n"
	"Exit status: 0 every file copied, 1 any failure, 2 bad command line.\n";

/* Opens (creating as needed) the directory that will hold the last component of the
 * lexically normalised PATH below DIRFD, never following a symlink. Returns the new
 * directory fd and points *LEAF at the last component (inside COPY), or -errno. */
static int open_dest_parent(int dirfd, char *copy, const char **leaf)
{
	char *comps[MAX_DEST_DEPTH];
	int n = 0, fd;

	for (char *save = NULL, *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (strcmp(c, ".") == 0)
			continue;
		if (strcmp(c, "..") == 0) {
			/* Lexical, and never above DESTDIR. */
			if (n > 0)
				n--;
			continue;
		}
		if (n == MAX_DEST_DEPTH)
			return -ENAMETOOLONG;
		comps[n++] = c;
	}
	if (n == 0)
		return -EISDIR;

	fd = dup(dirfd);
	if (fd < 0)
		return -errno;
	for (int i = 0; i < n - 1; i++) {
		if (mkdirat(fd, comps[i], 0755) && errno != EEXIST) {
			int err = -errno;
			close(fd);
			return err;
		}
		int next = openat(fd, comps[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int err = -errno;
		close(fd);
		if (next < 0)
			return err == -ELOOP ? -ENOTDIR : err;
		fd = next;
	}
	*leaf = comps[n - 1];
	return fd;
}

static int extract_one(struct image *img, int destfd, const char *destname, const char *path,
		       uint8_t *buf)
{
	struct bv_inode inode;
	char tmpname[64], *copy;
	const char *leaf = NULL;
	bool read_err = false;
	int dirfd, fd, err;

	if (image_lookup(img, path, BV_RESOLVE_FOLLOW, &inode))
		return -ENOENT;
	if (!S_ISREG(inode.mode)) {
		path_error(img, path, S_ISDIR(inode.mode) ? -EISDIR : -EINVAL);
		return -EINVAL;
	}

	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	dirfd = open_dest_parent(destfd, copy, &leaf);
	if (dirfd < 0) {
		err = dirfd;
		fprintf(stderr, "bootviewfs: %s/%s: cannot create: %s\n", destname, path,
			strerror(-err));
		goto free_copy;
	}

	/* Write under a temporary name and rename: a reader of DESTDIR never sees half a
	 * file, and a failure leaves the old file (if any) in place. The name is random and
	 * created with O_EXCL: whoever else can write to the directory cannot have planted a
	 * hard link (O_NOFOLLOW does not stop those), a symlink or a FIFO there for us. */
	fd = -1;
	errno = EEXIST;
	for (int tries = 0; fd < 0 && errno == EEXIST && tries < 16; tries++) {
		uint64_t r = 0;
		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			r ^= (uint64_t)getpid() << 32 ^ (uint64_t)tries;
		snprintf(tmpname, sizeof(tmpname), ".bootviewfs-extract.%016llx",
			 (unsigned long long)r);
		fd = openat(dirfd, tmpname,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		err = -errno;
		fprintf(stderr, "bootviewfs: %s/%s: %s\n", destname, path, strerror(-err));
		goto close_dir;
	}
	err = copy_file(img, &inode, fd, true, buf, &read_err);
	if (!err && ftruncate(fd, (off_t)inode.size))
		err = -errno;
	if (!err) {
		struct stat st;

		bv_fs_stat(img->fs, &inode, &st);
		struct timespec times[2] = { st.st_atim, st.st_mtim };
		if (fchmod(fd, inode.mode & 0777) || futimens(fd, times))
			err = -errno;
	}
	if (close(fd) && !err)
		err = -errno;
	if (!err && renameat(dirfd, tmpname, dirfd, leaf))
		err = -errno;
	if (err) {
		if (read_err)
			path_error(img, path, err);
		else
			fprintf(stderr, "bootviewfs: %s/%s: %s\n", destname, path, strerror(-err));
		unlinkat(dirfd, tmpname, 0);
	}
close_dir:
	close(dirfd);
free_copy:
	free(copy);
	return err;
}

int bv_cmd_extract(int argc, char **argv)
{
	struct image img;
	uint8_t *buf;
	int destfd, status = BV_EXIT_OK;

	if (wants_help(argc, argv, extract_help))
		return BV_EXIT_OK;
	if (argc < 4)
		return usage_error("extract", "extract takes SOURCE, DESTDIR and PATH...");
	destfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (destfd < 0) {
		fprintf(stderr, "bootviewfs: destination %s: %s (extract does not create it)\n",
			argv[2], strerror(errno));
		return BV_EXIT_FAIL;
	}
	buf = malloc(COPY_CHUNK);
	if (!buf || image_open(&img, argv[1])) {
		free(buf);
		close(destfd);
		return BV_EXIT_FAIL;
	}
	/* Files are copied front to back: a larger readahead window on the source makes a
	 * cold copy run at the device's streaming speed. Only a hint; failure is harmless. */
	if (bv_source_fd(img.src) >= 0)
		posix_fadvise(bv_source_fd(img.src), 0, 0, POSIX_FADV_SEQUENTIAL);
	for (int i = 3; i < argc; i++)
		if (extract_one(&img, destfd, argv[2], argv[i], buf))
			status = BV_EXIT_FAIL;
	image_close(&img);
	free(buf);
	close(destfd);
	return status;
}
