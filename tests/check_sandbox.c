/* The daemon's sandbox: each test forks a child that enters it and reports back through a
 * pipe what did not behave (an empty report is a pass); the child never returns to Check
 * and leaves with _exit, so nothing after the sandbox needs more than it allows. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fs/sandbox.h"
#include "tests/testutil.h"

#define CAP_SYS_ADMIN_MASK (1ull << 21)

static int report_fd = -1;

/* Appends one line to the child's report. */
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
	if (write(report_fd, line, (size_t)n) < 0)
		_exit(3);
}

/* Runs FN in a forked child and returns its report ("" when all went as expected). */
static char *in_child(void (*fn)(void *), void *arg)
{
	static char out[8192];
	int p[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		report_fd = p[1];
		fn(arg);
		_exit(0);
	}
	close(p[1]);
	while (len < sizeof(out) - 1 && (n = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		snprintf(out + len, sizeof(out) - len, "child ended with status 0x%x\n", status);
	return out;
}

static unsigned long long status_hex(const char *buf, const char *name)
{
	const char *p = strstr(buf, name);

	return p ? strtoull(p + strlen(name), NULL, 16) : ~0ull;
}

/* Every task of this process must show the sandbox in /proc. */
static void tasks_check(unsigned long long want_eff)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	unsigned ntasks = 0;

	if (!d) {
		bad("opendir /proc/self/task: %s", strerror(errno));
		return;
	}
	while ((de = readdir(d))) {
		char path[300], buf[4096];
		ssize_t n;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/status", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			bad("%s: %s", path, strerror(errno));
			continue;
		}
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		ntasks++;
		if (status_hex(buf, "\nNoNewPrivs:") != 1)
			bad("task %s: NoNewPrivs is not 1", de->d_name);
		if (status_hex(buf, "\nSeccomp:") != 2)
			bad("task %s: Seccomp is not 2", de->d_name);
		if (status_hex(buf, "\nCapEff:") != want_eff ||
		    status_hex(buf, "\nCapPrm:") != want_eff)
			bad("task %s: CapEff %llx CapPrm %llx, want %llx", de->d_name,
			    status_hex(buf, "\nCapEff:"), status_hex(buf, "\nCapPrm:"), want_eff);
		if (status_hex(buf, "\nCapBnd:") != 0 || status_hex(buf, "\nCapInh:") != 0 ||
		    status_hex(buf, "\nCapAmb:") != 0)
			bad("task %s: bounding, inheritable or ambient set not empty", de->d_name);
	}
	closedir(d);
	if (ntasks < 3)
		bad("only %u tasks: the before/after threads are missing", ntasks);
}

struct probe {
	const char *secret;   /* mode 0600, owned by nobody: needs CAP_DAC_OVERRIDE */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int go;               /* 1: the sandbox is on, run the checks; 2: done */
	bool landlocked;      /* file creation outside a state dir must fail (EACCES) */
};

/* What every thread must see once confined: no capability to read another's file, no
 * mknod, no exec. */
static void thread_probe(const char *who, const struct probe *pr)
{
	const char *secret = pr->secret;
	char path[600];
	int fd = open(secret, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		bad("%s: opened a 0600 file of another user (capabilities kept)", who);
		close(fd);
	} else if (errno != EACCES) {
		bad("%s: open of the 0600 file: %s, want EACCES", who, strerror(errno));
	}
	if (syscall(SYS_mknodat, AT_FDCWD, "/dev/bv-sandbox-null", S_IFCHR | 0600,
		    makedev(1, 3)) == 0 || errno != EPERM)
		bad("%s: mknodat did not fail with EPERM", who);
	snprintf(path, sizeof(path), "%s.%s", secret, who);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (pr->landlocked && (fd >= 0 || errno != EACCES))
		bad("%s: creating a file with Landlock on: %s, want EACCES", who,
		    fd >= 0 ? "created" : strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void *waiter_main(void *arg)
{
	struct probe *pr = arg;

	pthread_mutex_lock(&pr->mu);
	while (pr->go == 0)
		pthread_cond_wait(&pr->cv, &pr->mu);
	pthread_mutex_unlock(&pr->mu);
	thread_probe("thread made before", pr);
	pthread_mutex_lock(&pr->mu);
	while (pr->go != 2)
		pthread_cond_wait(&pr->cv, &pr->mu);
	pthread_mutex_unlock(&pr->mu);
	return NULL;
}

static void *after_main(void *arg)
{
	struct probe *pr = arg;

	thread_probe("thread made after", pr);
	pthread_mutex_lock(&pr->mu);
	while (pr->go != 2)
		pthread_cond_wait(&pr->cv, &pr->mu);
	pthread_mutex_unlock(&pr->mu);
	return NULL;
}

static const char *secret_make(void)
{
	static char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/sandbox-secret-%d", bv_test_tmpdir(), (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || fchown(fd, 65534, 65534) != 0)
		bad("secret file: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	return path;
}

/* The sandbox as the daemon enters it, with keep_unmount as ARG says. */
static void confine_child(void *arg)
{
	bool keep = arg != NULL;
	struct bv_sandbox_opts opts = { .keep_unmount = keep };
	struct probe pr = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	char mnt[512], *argv[] = { "/bin/true", NULL };
	pthread_t before, after;
	pid_t parent = getppid();
	int err, fd;

	pr.secret = secret_make();
	/* Landlock goes with dropping the unmount capability, where the kernel has it. */
	pr.landlocked = !keep && syscall(SYS_landlock_create_ruleset, NULL, 0, 1u) >= 1;
	/* A mount of our own to unmount, in a namespace of our own. */
	snprintf(mnt, sizeof(mnt), "%s/sandbox-mnt-%d", bv_test_tmpdir(), (int)getpid());
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mkdir(mnt, 0700) != 0 || mount("bv", mnt, "tmpfs", 0, "size=64k") != 0) {
		bad("set-up mount: %s", strerror(errno));
		return;
	}
	if (pthread_create(&before, NULL, waiter_main, &pr) != 0) {
		bad("pthread_create before");
		return;
	}
	err = bv_sandbox_enter(&opts);
	if (err)
		bad("bv_sandbox_enter: %s", strerror(-err));
	/* Threads still start (clone with CLONE_THREAD; clone3 answers ENOSYS). */
	if (pthread_create(&after, NULL, after_main, &pr) != 0) {
		bad("pthread_create after the sandbox failed");
		return;
	}
	pthread_mutex_lock(&pr.mu);
	pr.go = 1;
	pthread_cond_broadcast(&pr.cv);
	pthread_mutex_unlock(&pr.mu);
	tasks_check(keep ? CAP_SYS_ADMIN_MASK : 0); /* both threads wait: 3 tasks */
	pthread_mutex_lock(&pr.mu);
	pr.go = 2;
	pthread_cond_broadcast(&pr.cv);
	pthread_mutex_unlock(&pr.mu);
	pthread_join(before, NULL);
	pthread_join(after, NULL);
	thread_probe("main thread", &pr);

	if (execve(argv[0], argv, NULL) == 0 || errno != EPERM)
		bad("execve: %s, want EPERM", strerror(errno));
	if (syscall(SYS_execveat, AT_FDCWD, argv[0], argv, NULL, 0) == 0 || errno != EPERM)
		bad("execveat: %s, want EPERM", strerror(errno));
	if (mount("bv", mnt, "tmpfs", 0, NULL) == 0 || errno != EPERM)
		bad("mount: %s, want EPERM", strerror(errno));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0 || errno != EPERM)
		bad("socket(AF_INET): %s, want EPERM", strerror(errno));
	fd = socket(AF_INET6, SOCK_DGRAM, 0);
	if (fd >= 0 || errno != EPERM)
		bad("socket(AF_INET6): %s, want EPERM", strerror(errno));
#if !defined(__SANITIZE_ADDRESS__)
	/* (ASan builds let LeakSanitizer's helper process clone and ptrace.) */
	if (fork() >= 0 || errno != EPERM) /* a child would _exit at once */
		bad("fork: %s, want EPERM", strerror(errno));
	if (syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0) == 0 || errno != EPERM)
		bad("ptrace: %s, want EPERM", strerror(errno));
#endif
	if (kill(parent, 0) == 0 || errno != EPERM)
		bad("kill of another process: %s, want EPERM", strerror(errno));
	if (kill(getpid(), 0) != 0)
		bad("kill(self, 0): %s", strerror(errno));
#ifdef __x86_64__
	/* An x32 number for getpid must not slip past the x86_64 table. */
	if (syscall(SYS_getpid | 0x40000000) != -1 || errno != EPERM)
		bad("x32 getpid: %s, want EPERM", strerror(errno));
#endif
	/* Stop: umount2 works only when CAP_SYS_ADMIN was kept. */
	if (keep && umount2(mnt, MNT_DETACH) != 0)
		bad("umount2 with keep_unmount: %s", strerror(errno));
	if (!keep && (umount2(mnt, MNT_DETACH) == 0 || errno != EPERM))
		bad("umount2 without keep_unmount: %s, want EPERM", strerror(errno));
}

START_TEST(test_sandbox_confines_every_thread_dropping_all)
{
	if (!bv_test_is_root()) {
		bv_test_skip("test_sandbox_confines_every_thread_dropping_all", "needs root");
		return;
	}
	ck_assert_str_eq(in_child(confine_child, NULL), "");
}
END_TEST

START_TEST(test_sandbox_confines_every_thread_keeping_unmount)
{
	if (!bv_test_is_root()) {
		bv_test_skip("test_sandbox_confines_every_thread_keeping_unmount", "needs root");
		return;
	}
	ck_assert_str_eq(in_child(confine_child, (void *)1), "");
}
END_TEST

static void *echo_main(void *arg)
{
	return arg;
}

/* Tries to create a file beside (not in) the state dir ARG: non-NULL if it could. */
static void *outside_main(void *arg)
{
	char path[600];
	int fd;

	snprintf(path, sizeof(path), "%s.thread", (const char *)arg);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	close(fd);
	return arg;
}

/* What a serving daemon does keeps working: files, pipes, memory, threads, time, syslog's
 * socket, state-file style writes and renames. */
static void work_child(void *arg)
{
	struct bv_sandbox_opts opts = { .keep_unmount = false };
	char dir[512], path[600], path2[600], buf[64];
	struct timespec ts = { 0, 1000 };
	/* Landlock's ABI version, or an error where the kernel has none. */
	long landlock = syscall(SYS_landlock_create_ruleset, NULL, 0, 1u);
	pthread_t t;
	void *ret;
	int p[2], fd, err;
	char *m;

	(void)arg;
	snprintf(dir, sizeof(dir), "%s/sandbox-state-%d", bv_test_tmpdir(), (int)getpid());
	if (mkdir(dir, 0700) != 0) {
		bad("mkdir: %s", strerror(errno));
		return;
	}
	opts.state_dir = dir;
	err = bv_sandbox_enter(&opts);
	if (err)
		bad("bv_sandbox_enter: %s", strerror(-err));
	if (pipe2(p, O_CLOEXEC) != 0 || write(p[1], "abc", 3) != 3 || read(p[0], buf, 3) != 3 ||
	    memcmp(buf, "abc", 3) != 0)
		bad("pipe round trip: %s", strerror(errno));
	m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		bad("mmap: %s", strerror(errno));
	} else {
		memset(m, 1, 1 << 20);
		if (munmap(m, 1 << 20) != 0)
			bad("munmap: %s", strerror(errno));
	}
	free(malloc(8 << 20)); /* mmap'd by malloc */
	if (pthread_create(&t, NULL, echo_main, buf) != 0 || pthread_join(t, &ret) != 0 ||
	    ret != buf)
		bad("thread round trip");
	if (landlock >= 1 && (pthread_create(&t, NULL, outside_main, dir) != 0 ||
			      pthread_join(t, &ret) != 0 || ret != NULL))
		bad("a new thread could create a file outside the state dir");
	if (nanosleep(&ts, NULL) != 0)
		bad("nanosleep: %s", strerror(errno));
	/* state.json's way: temp file, fsync, rename, fsync the directory, unlink. */
	snprintf(path, sizeof(path), "%s/state.json.tmp", dir);
	snprintf(path2, sizeof(path2), "%s/state.json", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, "{}\n", 3) != 3 || fsync(fd) != 0 || close(fd) != 0 ||
	    rename(path, path2) != 0 || unlink(path2) != 0)
		bad("state-file write and rename: %s", strerror(errno));
	/* Without keep_unmount, Landlock keeps file creation and writes to the state dir. */
	snprintf(path, sizeof(path), "%s/sandbox-outside-%d", bv_test_tmpdir(), (int)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (landlock >= 1 && (fd >= 0 || errno != EACCES))
		bad("creating a file outside the state dir: %s, want EACCES",
		    fd >= 0 ? "created" : strerror(errno));
	if (fd >= 0)
		close(fd);
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
		bad("read /proc/self/status: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		bad("socket(AF_UNIX): %s", strerror(errno));
	else
		close(fd);
}

START_TEST(test_sandbox_allows_serving_work)
{
	ck_assert_str_eq(in_child(work_child, NULL), "");
}
END_TEST

static void disabled_child(void *arg)
{
	struct bv_sandbox_opts opts = { .keep_unmount = false };
	char buf[4096];
	ssize_t n;
	int fd;

	(void)arg;
	setenv("BOOTVIEWFS_NO_SANDBOX", "1", 1);
	if (bv_sandbox_enter(&opts) != 0)
		bad("bv_sandbox_enter failed while disabled");
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	if (status_hex(buf, "\nSeccomp:") != 0)
		bad("a filter was installed with BOOTVIEWFS_NO_SANDBOX=1");
}

START_TEST(test_sandbox_disabled_by_environment)
{
	ck_assert_str_eq(in_child(disabled_child, NULL), "");
}
END_TEST

static Suite *sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sandbox_confines_every_thread_dropping_all);
	tcase_add_test(tc, test_sandbox_confines_every_thread_keeping_unmount);
	tcase_add_test(tc, test_sandbox_allows_serving_work);
	tcase_add_test(tc, test_sandbox_disabled_by_environment);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(sandbox_suite)
