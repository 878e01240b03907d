/* The server's sandbox (cmd/daemon/sandbox.h). Each test forks a child that enters it; the parent
 * reads the child's /proc status while it waits (a confined child cannot open /proc
 * itself), then lets it try what an exploited parser would, and reads its report back
 * through a pipe: an empty report is a pass. The child leaves with _exit. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include "cmd/daemon/sandbox.h"
#include "tests/testutil.h"

struct child {
	int report;   /* child -> parent: "bad" lines */
	int entered;  /* child -> parent: one byte once confined */
	int go;       /* parent -> child: one byte once the parent has looked */
	int chan;     /* the child's end of a socket pair (the keeper's channel) */
	int file_rw;  /* a root-owned file opened read-write before confinement */
	int dir_lock; /* a directory fd holding an flock, like the life lock */
	char dir[512];
	uid_t as_uid; /* 0: stay root; else setresuid to it before entering */
};

static struct child *me;

static void __attribute__((format(printf, 1, 2))) bad(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(me->report, line, (size_t)n) < 0)
		_exit(3);
}

/* Call EXPR (a system call returning -1 on failure) and demand failure with errno WANT. */
#define MUST_FAIL(what, expr, want)                                                        \
	do {                                                                               \
		errno = 0;                                                                 \
		long r_ = (long)(expr);                                                     \
		if (r_ != -1 || errno != (want))                                           \
			bad("%s: returned %ld (%s), want %s", what, r_, strerror(errno),      \
			    strerror(want));                                               \
	} while (0)

static unsigned long long status_field(const char *buf, const char *name, int base)
{
	const char *p = strstr(buf, name);

	return p ? strtoull(p + strlen(name), NULL, base) : ~0ull;
}

static void *thread_tries_to_write(void *arg)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/from-thread", (const char *)arg);
	MUST_FAIL("open O_CREAT from a thread made after", open(path, O_WRONLY | O_CREAT, 0600),
		  EPERM);
	return NULL;
}

/* What an exploited parser would try; all of it must fail. Then what serving needs. */
static void attempts(const struct child *c, long landlock_abi)
{
	char path[600], buf[64];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char *argv[] = { "/bin/true", NULL };
	pthread_t t;
	int p[2], sv[2];
	void *m;

	snprintf(path, sizeof(path), "%s/victim", c->dir);
	MUST_FAIL("open O_WRONLY|O_APPEND", open(path, O_WRONLY | O_APPEND), EPERM);
	MUST_FAIL("open O_RDWR", open(path, O_RDWR), EPERM);
	if (landlock_abi >= 1)
		MUST_FAIL("open O_RDONLY (Landlock)", open(path, O_RDONLY), EACCES);
	else if (open(path, O_RDONLY) >= 0)
		bad("open O_RDONLY of a root-only file succeeded");
	MUST_FAIL("open /etc/shadow", open("/etc/shadow", O_RDONLY), EACCES);
	snprintf(path, sizeof(path), "%s/new", c->dir);
	MUST_FAIL("open O_CREAT", open(path, O_WRONLY | O_CREAT | O_EXCL, 0600), EPERM);
	MUST_FAIL("open O_TMPFILE", open(c->dir, O_TMPFILE | O_RDWR, 0600), EPERM);
	snprintf(path, sizeof(path), "%s/victim", c->dir);
	MUST_FAIL("unlink", unlink(path), EPERM);
	MUST_FAIL("rename", rename(path, c->dir), EPERM);
	MUST_FAIL("mkdir", mkdir(path, 0700), EPERM);
	MUST_FAIL("fchmod 04755", fchmod(c->file_rw, 04755), EPERM);
	MUST_FAIL("pwrite64 on a read-write fd", pwrite(c->file_rw, "x", 1, 0), EPERM);
	MUST_FAIL("ftruncate", ftruncate(c->file_rw, 0), EPERM);
	MUST_FAIL("flock LOCK_UN of the life lock", flock(c->dir_lock, LOCK_UN), EPERM);
	MUST_FAIL("socket AF_UNIX", socket(AF_UNIX, SOCK_STREAM, 0), EPERM);
	MUST_FAIL("socket AF_INET", socket(AF_INET, SOCK_STREAM, 0), EPERM);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "/run/bv-nowhere");
	MUST_FAIL("connect on the channel", connect(c->chan, (struct sockaddr *)&sun, sizeof(sun)),
		  EPERM);
	MUST_FAIL("sendmsg on another fd", send(c->file_rw, "x", 1, 0), EPERM);
	MUST_FAIL("umount2", umount2(c->dir, MNT_DETACH), EPERM);
	MUST_FAIL("mount", mount("bv", c->dir, "tmpfs", 0, NULL), EPERM);
	MUST_FAIL("execve", execve(argv[0], argv, NULL), EPERM);
	MUST_FAIL("execveat", syscall(SYS_execveat, AT_FDCWD, argv[0], argv, NULL, 0), EPERM);
	{
		pid_t f = fork();

		if (f == 0)
			_exit(0); /* a sandbox that let it through: the child must not go on */
		if (f > 0) {
			bad("fork succeeded");
			waitpid(f, NULL, 0);
		} else if (errno != EPERM) {
			bad("fork: %s, want EPERM", strerror(errno));
		}
	}
	MUST_FAIL("unshare", unshare(CLONE_NEWUSER), EPERM);
	MUST_FAIL("ptrace", syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, getppid(), 0, 0), EPERM);
	MUST_FAIL("kill of another process", kill(getppid(), 0), EPERM);
	MUST_FAIL("setuid(0)", setuid(0), EPERM);
	MUST_FAIL("setresuid(0)", syscall(SYS_setresuid, 0, 0, 0), EPERM);
	MUST_FAIL("ioctl FIONREAD", ioctl(c->chan, FIONREAD, &(int){ 0 }), EPERM);
	MUST_FAIL("mknodat", syscall(SYS_mknodat, AT_FDCWD, path, S_IFCHR | 0600, makedev(1, 3)),
		  EPERM);
#ifdef __x86_64__
	/* An x32 number for getpid must not slip past the x86_64 table. */
	MUST_FAIL("x32 getpid", syscall(SYS_getpid | 0x40000000), EPERM);
#endif

	/* What serving needs keeps working. */
	if (kill(getpid(), 0) != 0)
		bad("kill(self, 0): %s", strerror(errno));
	if (pread(c->file_rw, buf, 1, 0) != 1)
		bad("pread on a pre-opened fd: %s", strerror(errno));
	if (pipe2(p, O_CLOEXEC) != 0) {
		bad("pipe2: %s", strerror(errno));
	} else {
		/* libfuse writes the zero runs of a spliced reply into a pipe of its own */
		if (write(p[1], "abc", 3) != 3)
			bad("write to a pipe made after: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
	}
	if (send(c->chan, "ping", 4, 0) != 4)
		bad("send on the channel: %s", strerror(errno));
	m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		bad("mmap: %s", strerror(errno));
	else
		munmap(m, 1 << 20);
	free(malloc(8 << 20)); /* mmap'd by malloc */
	if (pthread_create(&t, NULL, thread_tries_to_write, (void *)c->dir) != 0)
		bad("pthread_create after the sandbox failed");
	else
		pthread_join(t, NULL);
	(void)sv;
}

static void child_main(struct child *c)
{
	struct bv_sandbox_report rep;
	char errbuf[256] = "", ch;
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1u);
	int err;

	me = c;
	if (c->as_uid && (setresgid(c->as_uid, c->as_uid, c->as_uid) != 0 ||
			  setresuid(c->as_uid, c->as_uid, c->as_uid) != 0))
		bad("setresuid(%u): %s", (unsigned)c->as_uid, strerror(errno));
	err = bv_sandbox_enter(&(struct bv_sandbox_opts){ .chan_fd = c->chan },
			       &rep, errbuf, sizeof(errbuf));
	if (err)
		bad("bv_sandbox_enter: %s: %s", strerror(-err), errbuf);
	if (!c->as_uid && !rep.uid_changed)
		bad("a root process kept its uid");
	if (!err && (abi >= 1) != (rep.landlock_abi >= 1))
		bad("Landlock: the kernel has ABI %ld, the report says %d", abi, rep.landlock_abi);
	/* The parent looks at /proc while we wait: it reads the report pipe's first byte. */
	if (write(c->report, "E", 1) != 1 || read(c->go, &ch, 1) != 1)
		_exit(4);
	attempts(c, abi);
	_exit(0);
}

/* Runs a confined child as C says and returns its report ("" when all went as expected),
 * after checking its /proc status against WANT_UID. */
static char *in_child(struct child *c, uid_t want_uid)
{
	static char out[8192];
	int rep[2], go[2], sv[2], status;
	char path[600], buf[4096];
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	snprintf(c->dir, sizeof(c->dir), "%s/sandbox-%d", bv_test_tmpdir(), (int)getpid());
	ck_assert_int_eq(mkdir(c->dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/victim", c->dir);
	c->file_rw = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(c->file_rw, 0);
	ck_assert_int_eq(write(c->file_rw, "victim\n", 7), 7);
	c->dir_lock = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(c->dir_lock, 0);
	ck_assert_int_eq(flock(c->dir_lock, LOCK_EX), 0);
	ck_assert_int_eq(pipe(rep), 0);
	ck_assert_int_eq(pipe(go), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(rep[0]);
		close(go[1]);
		close(sv[0]);
		c->report = rep[1];
		c->go = go[0];
		c->chan = sv[1];
		child_main(c);
	}
	close(rep[1]);
	close(go[0]);
	close(sv[1]);
	/* The first byte is "E" once confined, or a report line if it went wrong. */
	n = read(rep[0], out, 1);
	if (n == 1 && out[0] == 'E') {
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		ck_assert_int_gt(n, 0);
		buf[n] = '\0';
		if (status_field(buf, "\nUid:", 10) != want_uid)
			len += (size_t)snprintf(out + len, sizeof(out) - len, "Uid is not %u\n",
						(unsigned)want_uid);
		if (status_field(buf, "\nNoNewPrivs:", 10) != 1 ||
		    status_field(buf, "\nSeccomp:", 10) != 2)
			len += (size_t)snprintf(out + len, sizeof(out) - len,
						"NoNewPrivs or Seccomp missing\n");
		if (status_field(buf, "\nCapEff:", 16) || status_field(buf, "\nCapPrm:", 16) ||
		    status_field(buf, "\nCapInh:", 16) || status_field(buf, "\nCapAmb:", 16))
			len += (size_t)snprintf(out + len, sizeof(out) - len,
						"a capability is left\n");
		if (!want_uid || want_uid == 65534) {
			if (status_field(buf, "\nCapBnd:", 16))
				len += (size_t)snprintf(out + len, sizeof(out) - len,
							"the bounding set is not empty\n");
		}
		ck_assert_int_eq(write(go[1], "g", 1), 1);
	} else {
		len = n > 0 ? (size_t)n : 0;
	}
	while (len < sizeof(out) - 1 && (n = read(rep[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(rep[0]);
	close(go[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		snprintf(out + len, sizeof(out) - len, "child ended with status 0x%x\n", status);
	/* The life lock is still ours (and the child's), and the victim is untouched. */
	ck_assert_int_eq(pread(c->file_rw, buf, 16, 0), 7);
	ck_assert_int_eq(memcmp(buf, "victim\n", 7), 0);
	close(c->file_rw);
	close(c->dir_lock);
	close(sv[0]);
	return out;
}

START_TEST(test_sandbox_root_becomes_nobody_and_can_do_nothing_harmful)
{
	struct child c = { 0 };

	if (!bv_test_is_root()) {
		bv_test_skip("test_sandbox_root_becomes_nobody_and_can_do_nothing_harmful",
			     "needs root");
		return;
	}
	ck_assert_str_eq(in_child(&c, BV_SANDBOX_UID), "");
}
END_TEST

START_TEST(test_sandbox_user_keeps_its_uid_and_can_do_nothing_harmful)
{
	struct child c = { .as_uid = 4242 };

	if (!bv_test_is_root()) {
		bv_test_skip("test_sandbox_user_keeps_its_uid_and_can_do_nothing_harmful",
			     "needs root to become uid 4242");
		return;
	}
	ck_assert_str_eq(in_child(&c, 4242), "");
}
END_TEST

static void *idle_main(void *arg)
{
	pause();
	return arg;
}

/* Capabilities are per thread: a sandbox entered with another thread running would leave
 * that thread free, so it is refused. */
START_TEST(test_sandbox_refuses_a_second_thread)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char errbuf[128];
		pthread_t t;
		int err;

		if (pthread_create(&t, NULL, idle_main, NULL) != 0)
			_exit(2);
		err = bv_sandbox_enter(&(struct bv_sandbox_opts){ .chan_fd = -1 }, NULL, errbuf,
				       sizeof(errbuf));
		_exit(err == -EBUSY ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(test_sandbox_disabled_by_environment)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct bv_sandbox_report rep = { 0 };
		int fd;

		setenv("BOOTVIEWFS_NO_SANDBOX", "1", 1);
		if (bv_sandbox_enter(&(struct bv_sandbox_opts){ .chan_fd = -1 }, &rep, NULL, 0) ||
		    !rep.disabled)
			_exit(1);
		/* Nothing was applied: files open as before. */
		fd = open("/proc/self/status", O_RDONLY);
		_exit(fd >= 0 ? 0 : 2);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

static Suite *sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sandbox_root_becomes_nobody_and_can_do_nothing_harmful);
	tcase_add_test(tc, test_sandbox_user_keeps_its_uid_and_can_do_nothing_harmful);
	tcase_add_test(tc, test_sandbox_refuses_a_second_thread);
	tcase_add_test(tc, test_sandbox_disabled_by_environment);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(sandbox_suite)
