/* The FUSE adapter: each low-level request is decoded, answered through the
 * filesystem-neutral interface (fs/fs.h), and replied to exactly once. No per-node state is kept: the kernel's lookup
 * counts are all there is, so FORGET has nothing to free. */
#include "fs/fuse/fuse_ops.h"

#include <dirent.h>
#include <malloc.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs.h"
#include "fs/export.h"
#include "util/log.h"

/* Names are at most 255 bytes in ext4 and xfs; longer is ENAMETOOLONG, as their lookups say. */
#define BV_FUSE_NAME_MAX 255

/* Scratch buffers never grow past this many pages: libfuse 3 asks the kernel for
 * max_pages = 256 (its receive buffer is 256 pages plus a header), so no READ is larger
 * (1 MiB with 4 KiB pages) whatever max_read= says; READDIR asks for a page, xattr
 * requests for at most XATTR_SIZE_MAX (64 KiB), readlink takes 64 KiB + 1. So every
 * worker's buffer is exactly 1 MiB on x86 (scratch_get rounds up to it) and a request for
 * more is ENOMEM, never an allocation: the memory ceiling (docs/design.md section 13)
 * counts 1 MiB per worker. */
#define BV_FUSE_SCRATCH_MAX_PAGES 256u

struct bv_fuse {
	struct bv_fs *fs;            /* borrowed; the reader is thread safe */
	uint64_t root;               /* the filesystem's root inode: node FUSE_ROOT_ID */
	pthread_key_t scratch_key;   /* per worker thread struct scratch, freed at thread exit */
	atomic_bool initialized;
	unsigned max_read;           /* the max_read= option, 0 for none; set before mounting */
	bool splice;                 /* READ replies splice from the source (probed at new) */
	const struct bv_export *exp; /* export mode's visible set (borrowed), or NULL */
	atomic_uint_fast64_t reads, read_bytes, lookups, getattrs, readdirs, getxattrs;
};

/* One per worker thread: reused by READ, READDIR, READLINK and the xattr requests so that
 * no request allocates once the buffer has grown to the kernel's request size. */
struct scratch {
	size_t size;
	char *buf;
	struct fuse_bufvec *vec;     /* BV_FUSE_SPLICE_RUNS entries, for spliced READ replies */
	int pipe[2];                 /* a spliced READ reply's data, when has_pipe */
	bool has_pipe;
};

/* A spliced READ reply is at most this many runs (extents or holes); a more fragmented
 * range is copied instead. 1 MiB of 4 KiB blocks in 16 pieces is already unusual. */
#define BV_FUSE_SPLICE_RUNS 16

/* libfuse splices a reply only if its pipe holds the whole reply plus a page per piece,
 * and a pipe cannot grow past pipe-max-size (1 MiB by default) without CAP_SYS_RESOURCE.
 * So READs are capped at 512 KiB when splicing (twice as many requests as 1 MiB ones,
 * measured no slower; the bdi readahead still asks for 1 MiB, in two requests). */
#define BV_FUSE_SPLICE_PIPE (1u << 20)
#define BV_FUSE_SPLICE_MAX_READ (512u << 10)

/* Holes in spliced replies: never written, so its pages all map the kernel's zero page
 * and count for nothing in RSS. */
static char zeros[1u << 20];

static void scratch_free(void *p)
{
	struct scratch *s = p;

	if (!s)
		return;
	if (s->has_pipe) {
		close(s->pipe[0]);
		close(s->pipe[1]);
	}
	free(s->buf);
	free(s->vec);
	free(s);
}

/* The calling thread's struct scratch, made on first use; NULL on ENOMEM. */
static struct scratch *scratch_self(struct bv_fuse *bf)
{
	struct scratch *s = pthread_getspecific(bf->scratch_key);

	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			return NULL;
		if (pthread_setspecific(bf->scratch_key, s) != 0) {
			free(s);
			return NULL;
		}
	}
	return s;
}

static size_t scratch_max(void)
{
	long page = sysconf(_SC_PAGESIZE);

	return (size_t)BV_FUSE_SCRATCH_MAX_PAGES * (page > 0 ? (size_t)page : 4096);
}

/* Returns the calling thread's buffer of at least SIZE bytes, or NULL (ENOMEM). */
static char *scratch_get(struct bv_fuse *bf, size_t size)
{
	struct scratch *s;
	char *buf;

	if (size == 0)
		size = 1;
	if (size > scratch_max())
		return NULL;
	s = scratch_self(bf);
	if (!s)
		return NULL;
	if (s->size >= size)
		return s->buf;
	/* Grow to a whole MiB at least, so the first small READ does not cause a second
	 * allocation when readahead starts asking for large ones. */
	if (size < (1u << 20))
		size = 1u << 20;
	buf = realloc(s->buf, size);
	if (!buf)
		return NULL;
	s->buf = buf;
	s->size = size;
	return buf;
}

int bv_fuse_worker_prepare(struct bv_fuse *bf)
{
	return scratch_get(bf, 1u << 20) ? 0 : -ENOMEM;
}

/* ---- node ids ---- */

/* The kernel's root is node 1; the filesystem's is its own number (2 on ext4, 128 or so on
 * xfs). Node ids are inode numbers with those two swapped, one to one whatever a corrupt
 * image names. Node 0 is no node. */
static uint64_t node_to_ino(const struct bv_fuse *bf, fuse_ino_t node)
{
	if (node == FUSE_ROOT_ID)
		return bf->root;
	if (node == bf->root)
		return FUSE_ROOT_ID;
	return node;
}

static fuse_ino_t ino_to_node(const struct bv_fuse *bf, uint64_t ino)
{
	return node_to_ino(bf, ino);
}

/* What the client sees for a reader error: corruption and bad checksums are EIO for that
 * request (the reader has logged the details once); everything else is passed on. */
static int client_errno(int err)
{
	switch (-err) {
	case EUCLEAN:
	case EBADMSG:
		return EIO;
	case 0:
		return EIO;
	default:
		return err < 0 ? -err : EIO;
	}
}

/* A source that fails reads (a device gone, an error table, a bad disk) fails every
 * request that reaches the failing blocks: each gets the error, and the log says so once
 * per kind of failure, not once per block. */
static void source_failure_note(int err)
{
	static atomic_uint logged; /* one bit per kind below */
	static const int kinds[] = { EIO, ENXIO, ENODEV };

	for (unsigned i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (-err != kinds[i])
			continue;
		if (!(atomic_fetch_or(&logged, 1u << i) & (1u << i)))
			bv_err("reading the source failed: %s; the requests that need those "
			       "blocks get that error (further failures of this kind are not "
			       "logged)",
			       strerror(-err));
		return;
	}
}

/* Memory refused to a request (an address-space limit, a cgroup's): that request gets
 * ENOMEM and the server goes on; the log says so once. */
static void memory_failure_note(int err)
{
	static atomic_bool logged;

	if (err == -ENOMEM && !atomic_exchange(&logged, true))
		bv_err("out of memory: the requests that cannot allocate get ENOMEM (further "
		       "failures of this kind are not logged)");
}

static void reply_err(fuse_req_t req, int err)
{
	source_failure_note(err);
	memory_failure_note(err);
	fuse_reply_err(req, client_errno(err));
}

/* Reads the inode behind NODE. The kernel only knows nodes we gave it, so an unused inode
 * here means the image is corrupt (ext4_iget's -ESTALE, which ext4 turns into EFSCORRUPTED). */
static int node_get(struct bv_fuse *bf, fuse_ino_t node, struct bv_inode *inode)
{
	uint64_t ino = node_to_ino(bf, node);
	int err;

	if (!ino) {
		bv_err("kernel asked for node %llu, which was never handed out",
		       (unsigned long long)node);
		return -EIO;
	}
	err = bv_fs_inode_get(bf->fs, ino, BV_IGET_ANY, inode);
	if (err == -ENOENT)
		return -EUCLEAN;
	return err;
}

static void attr_fill(struct bv_fuse *bf, const struct bv_inode *inode, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	bv_fs_stat(bf->fs, inode, st);
	st->st_ino = inode->ino;
}

static void entry_fill(struct bv_fuse *bf, const struct bv_inode *inode,
		       struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino_to_node(bf, inode->ino);
	e->generation = inode->generation;
	attr_fill(bf, inode, &e->attr);
	e->attr_timeout = BV_FUSE_TIMEOUT;
	e->entry_timeout = BV_FUSE_TIMEOUT;
}

/* ---- init ---- */

static void want(struct fuse_conn_info *conn, unsigned cap)
{
	if (conn->capable & cap)
		conn->want |= cap;
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct bv_fuse *bf = userdata;

	/* The image never changes: a size or mtime seen again must not drop the page cache. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	want(conn, FUSE_CAP_ASYNC_READ);
	want(conn, FUSE_CAP_CACHE_SYMLINKS);
	want(conn, FUSE_CAP_PARALLEL_DIROPS);
	/* READDIRPLUS always (not AUTO): `find -ls` and `ls -l` then need no LOOKUP per entry,
	 * and the attributes come from the inode table blocks the walk has just cached. */
	want(conn, FUSE_CAP_READDIRPLUS);
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
	/* ext4 mounts with ACLs on: the kernel then checks them as ext4 would, and passes
	 * system.posix_acl_* through to GETXATTR (without it newer kernels hide them). */
	want(conn, FUSE_CAP_POSIX_ACL);
	/* ENOSYS from open/opendir below makes the kernel stop asking (no round trip per open)
	 * and keep page and readdir caches across opens. */
	want(conn, FUSE_CAP_NO_OPEN_SUPPORT);
	want(conn, FUSE_CAP_NO_OPENDIR_SUPPORT);
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* File handles (name_to_handle_at, NFS) that outlive the kernel's inode: it then
	 * asks for "." in the handle's node (and ".." of a directory) to find it again. Node
	 * ids are inode numbers and generations are i_generation, so handles stay valid. */
	want(conn, FUSE_CAP_EXPORT_SUPPORT);
	/* FS_IOC_GETFLAGS (lsattr) on directories too, as on ext4. */
	want(conn, FUSE_CAP_IOCTL_DIR);
	/* READ data goes from the source's page cache to the kernel's through a pipe, never
	 * through a user buffer: one copy less, and no 1 MiB buffer per worker in RSS. */
	if (bf->splice && (conn->capable & FUSE_CAP_SPLICE_WRITE))
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	else
		bf->splice = false;
	/* The kernel offers its bdi readahead; accept all of it (the mount command raises the
	 * bdi's read_ahead_kb afterwards, since INIT can only lower it). */
	conn->time_gran = 1;
	if (bf->max_read)
		conn->max_read = bf->max_read;
	atomic_store(&bf->initialized, true);
	bv_debug("FUSE_INIT: protocol %u.%u, max_readahead %u, want 0x%x", conn->proto_major,
		 conn->proto_minor, conn->max_readahead, conn->want);
}

/* ---- reading ---- */

/* Export mode: a node outside the served tree does not exist for the client. The kernel
 * can only name nodes it was given, so this is defence in depth. */
static bool node_is_hidden(const struct bv_fuse *bf, fuse_ino_t node)
{
	return bf->exp && !bv_export_is_visible(bf->exp, node_to_ino(bf, node));
}

/* The inode behind NODE for a request about it: ENOENT for a node export mode hides, else
 * what node_get says. Returns false once the request has been answered with the error. */
static bool node_get_visible(struct bv_fuse *bf, fuse_req_t req, fuse_ino_t node,
			     struct bv_inode *inode)
{
	int err = node_is_hidden(bf, node) ? -ENOENT : node_get(bf, node, inode);

	if (err)
		reply_err(req, err);
	return err == 0;
}

/* LOOKUP of "." and "..": path walks never send them (the VFS resolves both itself); only
 * the kernel's export code does, to find a node again from a file handle after its inode
 * left the cache ("." in the handle's node, whatever its type) and a directory's parent
 * (".."). Returns true when NAME was one of them and the request has been answered. */
static bool lookup_dots(struct bv_fuse *bf, fuse_req_t req, fuse_ino_t node, const char *name)
{
	struct bv_inode inode;
	struct fuse_entry_param e;
	uint64_t ino = node_to_ino(bf, node);
	int err;

	if (strcmp(name, ".") == 0) {
		/* The handle's node id is the caller's: a stale one is ESTALE, never corruption.
		 * The kernel compares the generation itself. */
		if (!ino || node_is_hidden(bf, node)) {
			fuse_reply_err(req, ESTALE);
			return true;
		}
		err = bv_fs_inode_get(bf->fs, ino, BV_IGET_HANDLE, &inode);
	} else if (strcmp(name, "..") == 0) {
		err = node_get(bf, node, &inode);
		if (!err && !S_ISDIR(inode.mode))
			err = -ENOTDIR;
		if (!err)
			err = bf->exp ? bv_export_parent(bf->exp, inode.ino, &ino)
				      : bv_fs_lookup(bf->fs, &inode, "..", 2, &ino);
		if (!err)
			err = bv_fs_inode_get(bf->fs, ino, BV_IGET_LINKED, &inode);
		if (err == -ENOENT)
			err = -ESTALE;
	} else {
		return false;
	}
	if (err) {
		reply_err(req, err);
		return true;
	}
	entry_fill(bf, &inode, &e);
	fuse_reply_entry(req, &e);
	return true;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct bv_fuse *bf = fuse_req_userdata(req);
	struct bv_inode dir, inode;
	struct fuse_entry_param e;
	size_t len = strlen(name);
	uint64_t ino;
	int err;

	atomic_fetch_add(&bf->lookups, 1);
	if (len > BV_FUSE_NAME_MAX) {
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	if (name[0] == '.' && lookup_dots(bf, req, parent, name))
		return;
	err = node_get(bf, parent, &dir);
	if (err)
		goto fail;
	/* Export mode answers from its own names: each stands for what the image resolves
	 * it to, so no symlink of the image is ever shown to the host kernel. */
	if (bf->exp)
		err = bv_export_lookup(bf->exp, dir.ino, name, len, &ino);
	else
		err = bv_fs_lookup(bf->fs, &dir, name, len, &ino);
	if (err == -ENOENT) {
		/* A negative entry (node 0) cached forever: the name cannot appear later. */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = BV_FUSE_TIMEOUT;
		fuse_reply_entry(req, &e);
		return;
	}
	if (err)
		goto fail;
	/* The kernel's rule: a name never leads to a reserved or xattr-value inode. */
	err = bv_fs_inode_get(bf->fs, ino, BV_IGET_LINKED, &inode);
	if (err == -ENOENT) {
		bv_err("directory inode %llu: entry '%s' names unused inode %llu",
		       (unsigned long long)dir.ino, name, (unsigned long long)ino);
		err = -EUCLEAN;
	}
	if (err)
		goto fail;
	entry_fill(bf, &inode, &e);
	fuse_reply_entry(req, &e);
	return;
fail:
	reply_err(req, err);
}

static void op_forget(fuse_req_t req, fuse_ino_t node, uint64_t nlookup)
{
	/* Nothing is kept per node. */
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi)
{
	struct bv_fuse *bf = fuse_req_userdata(req);
	struct bv_inode inode;
	struct stat st;

	atomic_fetch_add(&bf->getattrs, 1);
	if (!node_get_visible(bf, req, node, &inode))
		return;
	attr_fill(bf, &inode, &st);
	fuse_reply_attr(req, &st, BV_FUSE_TIMEOUT);
}

static void op_readlink(fuse_req_t req, fuse_ino_t node)
{
	struct bv_fuse *bf = fuse_req_userdata(req);
	struct bv_inode inode;
	size_t len, size = 65536 + 1; /* a slow symlink is at most one 64 KiB block */
	char *buf;
	int err;

	if (!node_get_visible(bf, req, node, &inode))
		return;
	buf = scratch_get(bf, size);
	if (!buf) {
		reply_err(req, -ENOMEM);
		return;
	}
	err = bv_fs_readlink(bf->fs, &inode, buf, size, &len);
	if (err) {
		reply_err(req, err);
		return;
	}
	fuse_reply_readlink(req, buf);
}

/* ENOSYS, not success: libfuse 3.14 answers success itself when these are NULL, which
 * makes the kernel send OPEN and RELEASE for every open(2). */
static void op_open(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi)
{
	fuse_reply_err(req, ENOSYS);
}

static void op_opendir(fuse_req_t req, fuse_ino_t node, struct fuse_file_info *fi)
{
	fuse_reply_err(req, ENOSYS);
}

/* Describes SIZE bytes of INODE from OFF (fewer at the end of the file) as the calling
 * thread's list of source ranges and zero runs, for libfuse to move through its pipe.
 * Returns the list (its total is what the file has there) or NULL with *ERR set: -EOPNOTSUPP
 * or -E2BIG mean "copy these bytes instead". */
static struct fuse_bufvec *runs_get(struct bv_fuse *bf, const struct bv_inode *inode,
				    size_t size, uint64_t off, int *errp)
{
	struct scratch *s = scratch_self(bf);
	struct fuse_bufvec *v;
	size_t done = 0;
	int err = -ENOMEM;

	if (!s)
		goto fail;
	if (!s->vec) {
		s->vec = calloc(1, sizeof(*v) + (BV_FUSE_SPLICE_RUNS - 1) * sizeof(v->buf[0]));
		if (!s->vec)
			goto fail;
	}
	v = s->vec;
	memset(v, 0, sizeof(*v));
	while (done < size) {
		struct bv_fs_run run;
		struct fuse_buf *b;

		err = bv_fs_run_get(bf->fs, inode, off + done, size - done, &run);
		if (err)
			goto fail;
		if (run.len == 0)
			break; /* end of file */
		err = -E2BIG;
		if (v->count == BV_FUSE_SPLICE_RUNS)
			goto fail;
		b = &v->buf[v->count++];
		memset(b, 0, sizeof(*b));
		if (run.zero) {
			if (run.len > sizeof(zeros))
				run.len = sizeof(zeros);
			b->mem = zeros;
		} else {
			b->flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK | FUSE_BUF_FD_RETRY;
			b->fd = run.fd;
			b->pos = (off_t)run.phys;
		}
		b->size = run.len;
		done += run.len;
	}
	return v;
fail:
	*errp = err;
	return NULL;
}

/* The calling thread's pipe for READ data, made on first use: 0, or -errno (-EOPNOTSUPP
 * when it cannot hold a whole reply, e.g. past the user's pipe-user-pages-soft). Both ends
 * are non-blocking: a full pipe is EAGAIN, never a worker stuck. */
static int reply_pipe_get(struct scratch *s)
{
	if (s->has_pipe)
		return 0;
	if (pipe2(s->pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		return -errno;
	if (fcntl(s->pipe[0], F_SETPIPE_SZ, BV_FUSE_SPLICE_PIPE) < (int)BV_FUSE_SPLICE_PIPE) {
		close(s->pipe[0]);
		close(s->pipe[1]);
		return -EOPNOTSUPP;
	}
	s->has_pipe = true;
	return 0;
}

/* Throws the pipe away with whatever it holds; the next READ makes a new one. */
static void reply_pipe_drop(struct scratch *s)
{
	close(s->pipe[0]);
	close(s->pipe[1]);
	s->has_pipe = false;
}

/* Moves the LEN bytes of run B into pipe end FD: 0, -E2BIG (the pipe is full: copy
 * instead), or the source's -errno. A short splice followed by an error is that error:
 * the reply is all or nothing. */
static int run_to_pipe(int fd, const struct fuse_buf *b)
{
	loff_t pos = (loff_t)b->pos;
	size_t left = b->size;
	ssize_t n;

	while (left) {
		if (b->flags & FUSE_BUF_IS_FD)
			n = splice(b->fd, &pos, fd, NULL, left, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		else
			n = write(fd, (const char *)b->mem + (b->size - left), left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -E2BIG : -errno;
		if (n == 0)
			return -EIO; /* the device ends before the filesystem does */
		left -= (size_t)n;
	}
	return 0;
}

/* Answers a READ by splicing. Returns 0 once replied, or -errno with nothing sent
 * (-EOPNOTSUPP or -E2BIG mean "copy instead").
 *
 * The source's data goes into a pipe of our own first, and libfuse moves that pipe's
 * pages on (pipe to pipe to /dev/fuse: no copy). Handing libfuse the source's ranges
 * directly would be one splice less, but libfuse then meets a failing source alone: it
 * answers EIO without telling us (nothing to log), and when the first part of a reply
 * came from the device's page cache and the rest fails, it sends the part it got, which
 * the kernel takes for end of file (the reader sees a short file, and the inode's size
 * shrinks until it is forgotten). Seen with dm-flakey: scripts/vm/failing-source.sh. */
static int read_splice(struct bv_fuse *bf, fuse_req_t req, const struct bv_inode *inode,
		       size_t size, uint64_t off)
{
	struct fuse_bufvec pv = FUSE_BUFVEC_INIT(0);
	struct pollfd left = { .events = POLLIN };
	struct fuse_bufvec *v;
	struct scratch *s;
	int err = 0;

	v = runs_get(bf, inode, size, off, &err);
	if (!v)
		return err;
	s = scratch_self(bf); /* runs_get made it */
	err = reply_pipe_get(s);
	if (err)
		return -EOPNOTSUPP;
	for (size_t i = 0; i < v->count; i++) {
		err = run_to_pipe(s->pipe[1], &v->buf[i]);
		if (err) {
			reply_pipe_drop(s);
			return err;
		}
	}
	pv.buf[0].size = fuse_buf_size(v);
	pv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_RETRY;
	pv.buf[0].fd = s->pipe[0];
	atomic_fetch_add(&bf->read_bytes, pv.buf[0].size);
	/* An error here was already answered (or the request is gone): nothing to add. */
	fuse_reply_data(req, &pv, 0);
	/* libfuse empties the pipe unless sending failed early; bytes left there must never
	 * start the next reply. */
	left.fd = s->pipe[0];
	if (poll(&left, 1, 0) != 0)
		reply_pipe_drop(s);
	return 0;
}

static void op_read(fuse_req_t req, fuse_ino_t node, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct bv_fuse *bf = fuse_req_userdata(req);
	struct bv_inode inode;
	size_t done = 0;
	ssize_t n;
	char *buf;
	int err;

	atomic_fetch_add(&bf->reads, 1);
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	err = node_get(bf, node, &inode);
	if (err) {
		reply_err(req, err);
		return;
	}
	if (bf->splice) {
		err = read_splice(bf, req, &inode, size, (uint64_t)off);
		if (err == 0)
			return;
		if (err != -EOPNOTSUPP && err != -E2BIG) {
			reply_err(req, err);
			return;
		}
	}
	buf = scratch_get(bf, size);
	if (!buf) {
		reply_err(req, -ENOMEM);
		return;
	}
	/* A short reply is EOF to the kernel (it would even shrink its idea of i_size), so
	 * keep asking until the reader says end of file. */
	while (done < size) {
		n = bv_fs_read(bf->fs, &inode, buf + done, size - done, (uint64_t)off + done);
		if (n < 0) {
			reply_err(req, (int)n);
			return;
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	atomic_fetch_add(&bf->read_bytes, done);
	fuse_reply_buf(req, buf, done);
}

/* READDIR and READDIRPLUS fill one reply buffer from a walk of the directory; the offset
 * of each entry is the reader's cookie for resuming after it. */
struct dir_fill {
	fuse_req_t req;
	struct bv_fuse *bf;
	char *buf;
	size_t size;
	size_t used;
	bool plus;
};

static bool is_dot_or_dotdot(const char *name, size_t len)
{
	return (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.');
}

static int dir_fill_one(void *ctx, const char *name, size_t name_len, uint64_t ino,
			unsigned char dtype, uint64_t next_pos)
{
	struct dir_fill *df = ctx;
	char cname[BV_FUSE_NAME_MAX + 1];
	struct fuse_entry_param e;
	struct bv_inode inode;
	size_t ent;

	if (name_len > BV_FUSE_NAME_MAX || next_pos > INT64_MAX)
		return -EUCLEAN; /* the reader caps names at 255; never trust it blindly */
	memcpy(cname, name, name_len);
	cname[name_len] = '\0';

	memset(&e, 0, sizeof(e));
	e.attr.st_ino = ino;
	e.attr.st_mode = DTTOIF(dtype);
	if (!df->plus) {
		ent = fuse_add_direntry(df->req, df->buf + df->used, df->size - df->used, cname,
					&e.attr, (off_t)next_pos);
	} else {
		/* Node 0 tells the kernel "no attributes here": it skips "." and "..", and an
		 * entry whose inode cannot be read is looked up (and fails) on first use. */
		if (!is_dot_or_dotdot(name, name_len) &&
		    bv_fs_inode_get(df->bf->fs, ino, BV_IGET_LINKED, &inode) == 0)
			entry_fill(df->bf, &inode, &e);
		ent = fuse_add_direntry_plus(df->req, df->buf + df->used, df->size - df->used,
					     cname, &e, (off_t)next_pos);
	}
	if (ent > df->size - df->used)
		return 1; /* full: the kernel asks again from this entry's offset */
	df->used += ent;
	return 0;
}

static void readdir_common(fuse_req_t req, fuse_ino_t node, size_t size, off_t off, bool plus)
{
	struct bv_fuse *bf = fuse_req_userdata(req);
	struct bv_inode dir;
	struct dir_fill df;
	int err;

	atomic_fetch_add(&bf->readdirs, 1);
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	err = node_get(bf, node, &dir);
	if (err)
		goto fail;
	df.req = req;
	df.bf = bf;
	df.size = size;
	df.used = 0;
	df.plus = plus;
	df.buf = scratch_get(bf, size);
	if (!df.buf) {
		err = -ENOMEM;
		goto fail;
	}
	if (bf->exp)
		err = bv_export_dir_iterate(bf->exp, dir.ino, (uint64_t)off, dir_fill_one, &df);
	else
		err = bv_fs_dir_iterate(bf->fs, &dir, (uint64_t)off, dir_fill_one, &df);
	/* Entries already packed are good; the error comes back on the next call. */
	if (err < 0 && df.used == 0)
		goto fail;
	fuse_reply_buf(req, df.buf, df.used);
	return;
fail:
	reply_err(req, err);
}

static void op_readdir(fuse_req_t req, fuse_ino_t node, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	readdir_common(req, node, size, off, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t node, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	readdir_common(req, node, size, off, true);
}

static void op_statfs(fuse_req_t req, fuse_ino_t node)
{
	struct bv_fuse *bf = fuse_req_userdata(req);
	struct statvfs st;

	memset(&st, 0, sizeof(st));
	bv_fs_statfs(bf->fs, &st);
	fuse_reply_statfs(req, &st);
}

/* SEEK_DATA and SEEK_HOLE (the kernel answers the other whences itself) from the block
 * map, as ext4_llseek answers them on an uncached file. */
static void op_lseek(fuse_req_t req, fuse_ino_t node, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	struct bv_fuse *bf = fuse_req_userdata(req);
	struct bv_inode inode;
	uint64_t pos;
	int err;

	if (whence != SEEK_DATA && whence != SEEK_HOLE) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (!node_get_visible(bf, req, node, &inode))
		return;
	/* iomap_seek_data/_hole: a negative offset is ENXIO, like one past the end. */
	if (off < 0) {
		fuse_reply_err(req, ENXIO);
		return;
	}
	err = bv_fs_seek(bf->fs, &inode, (uint64_t)off, whence == SEEK_DATA, &pos);
	if (err) {
		reply_err(req, err);
		return;
	}
	fuse_reply_lseek(req, (off_t)pos);
}

/* The inode-flag ioctls the kernel forwards through FUSE's restricted ioctl (fixed sizes,
 * so a server can answer them): FS_IOC_GETFLAGS (lsattr), FS_IOC_FSGETXATTR (lsattr -p,
 * xfs_io) and FS_IOC_GETVERSION (lsattr -v), answered as ext4's ioctl would. FIEMAP never
 * gets here: the host's VFS refuses it for FUSE (no fiemap inode op). Anything else is
 * ENOTTY, as ext4 says to an ioctl it does not know. */
static void op_ioctl(fuse_req_t req, fuse_ino_t node, unsigned int cmd, void *arg,
		     struct fuse_file_info *fi, unsigned flags, const void *in_buf,
		     size_t in_bufsz, size_t out_bufsz)
{
	struct bv_fuse *bf = fuse_req_userdata(req);
	struct bv_inode inode;
	uint32_t fl;

	if (flags & FUSE_IOCTL_COMPAT) {
		fuse_reply_err(req, ENOSYS); /* a 32-bit caller's layout; the VFS converts these */
		return;
	}
	if (cmd != FS_IOC_GETFLAGS && cmd != FS_IOC_FSGETXATTR && cmd != FS_IOC_GETVERSION) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if (!node_get_visible(bf, req, node, &inode))
		return;
	if (cmd == FS_IOC_FSGETXATTR) {
		struct fsxattr fa;

		if (out_bufsz < sizeof(fa)) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		/* As the filesystem's own ioctl fills it (the reader computed the values). */
		memset(&fa, 0, sizeof(fa));
		fa.fsx_xflags = inode.xflags;
		fa.fsx_extsize = inode.extsize;
		fa.fsx_nextents = inode.nextents;
		fa.fsx_cowextsize = inode.cowextsize;
		fa.fsx_projid = inode.projid;
		fuse_reply_ioctl(req, 0, &fa, sizeof(fa));
		return;
	}
	/* Both are an int on ext4 and xfs (put_user of an int), whatever _IOC_SIZE says. */
	if (out_bufsz < sizeof(uint32_t)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	fl = cmd == FS_IOC_GETVERSION ? inode.generation : inode.flags;
	fuse_reply_ioctl(req, 0, &fl, sizeof(fl));
}

/* getxattr (NAME set) and listxattr (NAME NULL): SIZE 0 asks for the length only
 * (fuse_reply_xattr), otherwise the bytes, or ERANGE when they do not fit.
 * security.capability is asked on every exec: it costs one cached inode read and, only if
 * the inode has an xattr block, one cached block. */
static void xattr_common(fuse_req_t req, fuse_ino_t node, const char *name, size_t size)
{
	struct bv_fuse *bf = fuse_req_userdata(req);
	struct bv_inode inode;
	char *buf = NULL;
	ssize_t n;
	int err;

	err = node_is_hidden(bf, node) ? -ENOENT : node_get(bf, node, &inode);
	if (!err && size && !(buf = scratch_get(bf, size)))
		err = -ENOMEM;
	if (err) {
		reply_err(req, err);
		return;
	}
	/* trusted.* names are listed to root only, as ext4_xattr_trusted_list lists them to
	 * CAP_SYS_ADMIN: the request's uid is all we know of the caller. (Reading one is
	 * refused to others by the host's VFS before it gets here.) */
	n = name ? bv_fs_xattr_get(bf->fs, &inode, name, buf, size)
		 : bv_fs_xattr_list(bf->fs, &inode, buf, size, fuse_req_ctx(req)->uid == 0);
	if (n < 0)
		reply_err(req, (int)n);
	else if (size)
		fuse_reply_buf(req, buf, (size_t)n);
	else
		fuse_reply_xattr(req, (size_t)n);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t node, const char *name, size_t size)
{
	struct bv_fuse *bf = fuse_req_userdata(req);

	atomic_fetch_add(&bf->getxattrs, 1);
	xattr_common(req, node, name, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t node, size_t size)
{
	xattr_common(req, node, NULL, size);
}

/* ---- everything that would write: EROFS (the ro mount stops most before they come) ---- */

static void op_setattr(fuse_req_t req, fuse_ino_t node, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		     dev_t rdev)
{
	fuse_reply_err(req, EROFS);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	fuse_reply_err(req, EROFS);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EROFS);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EROFS);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	fuse_reply_err(req, EROFS);
}

static void op_link(fuse_req_t req, fuse_ino_t node, fuse_ino_t newparent, const char *newname)
{
	fuse_reply_err(req, EROFS);
}

static void op_write(fuse_req_t req, fuse_ino_t node, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t node, const char *name, const char *value,
			size_t size, int flags)
{
	fuse_reply_err(req, EROFS);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t node, int mode, off_t offset, off_t length,
			 struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			       struct fuse_file_info *fi_in, fuse_ino_t ino_out, off_t off_out,
			       struct fuse_file_info *fi_out, size_t len, int flags)
{
	fuse_reply_err(req, EROFS);
}

/* rmdir and removexattr share unlink's signature shape. */
static void op_name_erofs(fuse_req_t req, fuse_ino_t node, const char *name)
{
	fuse_reply_err(req, EROFS);
}

static const struct fuse_lowlevel_ops bv_fuse_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.open = op_open,
	.opendir = op_opendir,
	.read = op_read,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.statfs = op_statfs,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.lseek = op_lseek,
	.ioctl = op_ioctl,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_name_erofs,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.write = op_write,
	.create = op_create,
	.setxattr = op_setxattr,
	.removexattr = op_name_erofs,
	.fallocate = op_fallocate,
	.copy_file_range = op_copy_file_range,
};

/* ---- the adapter object ---- */

/* libfuse splices a reply only when its per-thread pipe can hold all of it: a 1 MiB READ
 * needs a pipe past the default pipe-max-size, which takes CAP_SYS_RESOURCE (else libfuse
 * falls back to a malloc and two copies per READ, worse than our own copy). So try once.
 * BOOTVIEWFS_NO_SPLICE=1 turns it off, for benchmarking the copying path. */
static bool splice_usable(void)
{
	const char *off = getenv("BOOTVIEWFS_NO_SPLICE");
	int p[2];
	bool ok;

	if (off && *off && strcmp(off, "0") != 0)
		return false;
	if (pipe2(p, O_CLOEXEC) != 0)
		return false;
	ok = fcntl(p[0], F_SETPIPE_SZ, BV_FUSE_SPLICE_PIPE) >= (int)BV_FUSE_SPLICE_PIPE;
	close(p[0]);
	close(p[1]);
	return ok;
}

int bv_fuse_new(struct bv_fs *fs, struct bv_fuse **out)
{
	struct bv_fuse *bf;
	int err;

	bf = calloc(1, sizeof(*bf));
	if (!bf)
		return -ENOMEM;
	bf->fs = fs;
	bf->root = bv_fs_root_ino(fs);
	bf->splice = splice_usable();
	/* One malloc arena: glibc would make one per worker thread on its first request (an
	 * mmap, munmap and mprotect on the way to answering INIT and the first GETATTR), and
	 * nothing here allocates often enough to contend. */
	mallopt(M_ARENA_MAX, 1);
	err = pthread_key_create(&bf->scratch_key, scratch_free);
	if (err) {
		free(bf);
		return -err;
	}
	*out = bf;
	return 0;
}

void bv_fuse_free(struct bv_fuse *bf)
{
	if (!bf)
		return;
	/* pthread_key_delete runs no destructors: free this thread's buffer by hand. */
	scratch_free(pthread_getspecific(bf->scratch_key));
	pthread_setspecific(bf->scratch_key, NULL);
	pthread_key_delete(bf->scratch_key);
	free(bf);
}

void bv_fuse_max_read_set(struct bv_fuse *bf, unsigned max_read)
{
	bf->max_read = max_read;
}

void bv_fuse_export_set(struct bv_fuse *bf, const struct bv_export *exp)
{
	bf->exp = exp;
}

struct fuse_session *bv_fuse_session_new(struct bv_fuse *bf, struct fuse_args *args)
{
	/* Splicing needs READs that fit libfuse's pipe (see BV_FUSE_SPLICE_MAX_READ); a
	 * larger max_read= from the user means copying. */
	if (bf->splice && bf->max_read > BV_FUSE_SPLICE_MAX_READ)
		bf->splice = false;
	if (bf->splice && !bf->max_read) {
		char opt[32];

		snprintf(opt, sizeof(opt), "-omax_read=%u", BV_FUSE_SPLICE_MAX_READ);
		if (fuse_opt_add_arg(args, opt) != 0)
			return NULL;
		bf->max_read = BV_FUSE_SPLICE_MAX_READ;
	}
	return fuse_session_new(args, &bv_fuse_ops, sizeof(bv_fuse_ops), bf);
}

ssize_t bv_fuse_prefetch(struct bv_fuse *bf, struct fuse_session *se, uint64_t ino,
			 uint64_t off, size_t len)
{
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(0);
	struct bv_inode inode;
	ssize_t n;
	char *buf;
	int err;

	if (off > INT64_MAX)
		return -EINVAL;
	if (len > (1u << 20))
		len = 1u << 20;
	err = bv_fs_inode_get(bf->fs, ino, BV_IGET_LINKED, &inode);
	if (err)
		return err;
	if (!S_ISREG(inode.mode))
		return -EINVAL;
	if (bf->splice) {
		struct fuse_bufvec *v;

		/* The same pipe limit as READ replies; the caller moves on by what we return. */
		if (len > BV_FUSE_SPLICE_MAX_READ)
			len = BV_FUSE_SPLICE_MAX_READ;
		v = runs_get(bf, &inode, len, off, &err);
		if (v) {
			n = (ssize_t)fuse_buf_size(v);
			if (n == 0)
				return 0;
			err = fuse_lowlevel_notify_store(se, ino_to_node(bf, ino), (off_t)off, v, 0);
			return err ? err : n;
		}
		if (err != -EOPNOTSUPP && err != -E2BIG)
			return err;
	}
	buf = scratch_get(bf, len);
	if (!buf)
		return -ENOMEM;
	/* The reader stops at i_size, which matters: the kernel grows its idea of the size
	 * to whatever is stored. */
	n = bv_fs_read(bf->fs, &inode, buf, len, off);
	if (n <= 0)
		return n;
	bv.buf[0].mem = buf;
	bv.buf[0].size = (size_t)n;
	err = fuse_lowlevel_notify_store(se, ino_to_node(bf, ino), (off_t)off, &bv, 0);
	return err ? err : n;
}

bool bv_fuse_is_initialized(const struct bv_fuse *bf)
{
	return atomic_load(&bf->initialized);
}

void bv_fuse_stats_get(const struct bv_fuse *bf, struct bv_fuse_stats *out)
{
	/* atomic_load takes a non-const pointer in some libcs; the counters are only read. */
	struct bv_fuse *b = (struct bv_fuse *)bf;

	out->reads = atomic_load(&b->reads);
	out->read_bytes = atomic_load(&b->read_bytes);
	out->lookups = atomic_load(&b->lookups);
	out->getattrs = atomic_load(&b->getattrs);
	out->readdirs = atomic_load(&b->readdirs);
	out->getxattrs = atomic_load(&b->getxattrs);
}
