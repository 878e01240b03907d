/* Confinement of the serving daemon: no_new_privs, capabilities dropped in every thread,
 * and a seccomp allow-list installed on every thread.
 *
 * Debugging: BOOTVIEWFS_NO_SANDBOX=1 skips all of it (a warning is logged);
 * BOOTVIEWFS_SANDBOX_LOG=1 installs the filter with SECCOMP_RET_LOG instead of EPERM, so a
 * missing syscall is logged by the kernel (dmesg: "audit: type=1326 ... syscall=N") and
 * still runs. That is how the list below was derived: the FUSE integration tests run with
 * the log mode on, and every syscall logged after readiness was examined.
 *
 * Landlock (writes only below the state directory) only without keep_unmount: a Landlock
 * domain that restricts any filesystem access also refuses umount(2) to its threads (the
 * sb_umount hook), and a root daemon must unmount itself on stop. */
#include "fs/sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fs/log.h"

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000u
#endif

/* Newer than some distributions' headers: ABI 3 (Linux 6.2). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

/* LeakSanitizer checks at exit from a helper process (clone without CLONE_THREAD) that
 * ptraces our threads: sanitizer builds (`make SAN=address`, tests only) let it. */
#if defined(__SANITIZE_ADDRESS__)
#define BV_SANDBOX_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BV_SANDBOX_LSAN 1
#endif
#endif

#if defined(__x86_64__)
#define BV_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define BV_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* Threads the capability broadcast will handle; the daemon has at most 64 workers. */
#define BV_SANDBOX_TASKS_MAX 512
/* Passes over /proc/self/task before giving up on threads that keep appearing. */
#define BV_SANDBOX_PASSES_MAX 16
/* How long one thread may take to run the drop handler. */
#define BV_SANDBOX_ACK_NS (2ll * 1000 * 1000 * 1000)
#define BV_SANDBOX_FILTER_MAX 512

/* ---- capabilities: per thread on Linux ---- */

/* What each thread sets itself to; written before any thread is signalled. */
static struct {
	struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];
	bool drop_bounding; /* only with CAP_SETPCAP, i.e. when the daemon runs as root */
	int ruleset_fd;     /* Landlock ruleset every thread restricts itself to, or -1 */
} plan = { .ruleset_fd = -1 };

/* The last thread to finish the handler, and how it went (one request in flight). */
static atomic_int ack_tid;
static atomic_int ack_err;

/* Async-signal-safe: only system calls. Confines the calling thread: no_new_privs,
 * Landlock when planned, capabilities. */
static int thread_confine(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	int err = 0;

	/* no_new_privs is per thread too; SECCOMP_FILTER_FLAG_TSYNC would set it later,
	 * but a thread that is between the two steps should not be able to gain privileges. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		err = -errno;
	/* Landlock domains are per thread as well, and need no_new_privs first. */
	if (plan.ruleset_fd >= 0 && syscall(SYS_landlock_restrict_self, plan.ruleset_fd, 0) &&
	    !err)
		err = -errno;
	/* The bounding set limits what an execve could grant; dropping needs CAP_SETPCAP,
	 * hence before capset. PR_CAPBSET_READ fails (EINVAL) past the kernel's last cap. */
	for (unsigned long cap = 0; plan.drop_bounding && cap < 64; cap++) {
		int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (r < 0)
			break;
		if (r == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && !err)
			err = -errno;
	}
	/* EINVAL before Linux 4.3, which has no ambient set to clear. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL &&
	    !err)
		err = -errno;
	if (syscall(SYS_capset, &hdr, plan.caps) != 0 && !err)
		err = -errno;
	return err;
}

static void on_drop_signal(int sig)
{
	int saved = errno;

	(void)sig;
	atomic_store(&ack_err, thread_confine());
	atomic_store(&ack_tid, (int)syscall(SYS_gettid));
	syscall(SYS_futex, (int *)&ack_tid, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
	errno = saved;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Signals thread TID to drop and waits for its answer. */
static int task_signal(pid_t pid, pid_t tid, int sig)
{
	int64_t deadline = now_ns() + BV_SANDBOX_ACK_NS;

	atomic_store(&ack_tid, 0);
	if (syscall(SYS_tgkill, pid, tid, sig) != 0)
		return errno == ESRCH ? 0 : -errno; /* ESRCH: it exited meanwhile */
	for (;;) {
		int seen = atomic_load(&ack_tid);
		int64_t left = deadline - now_ns();
		struct timespec ts;

		if (seen == tid)
			return atomic_load(&ack_err);
		if (left <= 0)
			return -ETIMEDOUT;
		ts.tv_sec = left / 1000000000;
		ts.tv_nsec = left % 1000000000;
		syscall(SYS_futex, (int *)&ack_tid, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
	}
}

/* Parses one "Name:\t<hex>" line of a status file. */
static bool status_hex(const char *buf, const char *name, unsigned long long *v)
{
	const char *p = strstr(buf, name);

	if (!p)
		return false;
	*v = strtoull(p + strlen(name), NULL, 16);
	return true;
}

/* True when /proc/self/task/TID/status shows the thread already confined. A thread that
 * has exited counts as confined. */
static bool task_is_confined(pid_t tid)
{
	unsigned long long prm, eff, inh, bnd, amb = 0, nnp;
	uint64_t want = (uint64_t)plan.caps[1].permitted << 32 | plan.caps[0].permitted;
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	if (!status_hex(buf, "\nCapPrm:", &prm) || !status_hex(buf, "\nCapEff:", &eff) ||
	    !status_hex(buf, "\nCapInh:", &inh) || !status_hex(buf, "\nCapBnd:", &bnd) ||
	    !status_hex(buf, "\nNoNewPrivs:", &nnp))
		return false;
	status_hex(buf, "\nCapAmb:", &amb);
	return prm == want && eff == want && inh == 0 && amb == 0 && nnp == 1 &&
	       (!plan.drop_bounding || bnd == 0);
}

static bool tid_seen(const pid_t *tids, unsigned n, pid_t tid)
{
	for (unsigned i = 0; i < n; i++)
		if (tids[i] == tid)
			return true;
	return false;
}

/* Capabilities belong to each thread, and libfuse's workers already run when the daemon
 * is ready (readiness is a stat answered by them), so every thread must drop its own: the
 * caller drops, then each other thread is sent a real-time signal whose handler drops
 * (libfuse workers block only SIGTERM, SIGINT, SIGHUP and SIGQUIT). A worker may spawn a
 * worker meanwhile, copying its not-yet-dropped capabilities, so passes over
 * /proc/self/task repeat until one finds nothing to do; threads created after that are
 * spawned by confined threads and inherit the confinement. */
static int all_threads_drop(void)
{
	static pid_t done[BV_SANDBOX_TASKS_MAX];
	struct sigaction sa = { .sa_handler = on_drop_signal, .sa_flags = SA_RESTART };
	struct sigaction old, ign = { .sa_handler = SIG_IGN };
	pid_t pid = getpid(), self = (pid_t)syscall(SYS_gettid);
	unsigned ndone = 0;
	int sig, err;

	err = thread_confine();
	if (err)
		return err;
	done[ndone++] = self;
	/* A real-time signal nobody else handles; SA_RESTART so that the workers' blocking
	 * reads of /dev/fuse resume instead of failing with EINTR. */
	sigfillset(&sa.sa_mask);
	for (sig = SIGRTMIN + 4; sig <= SIGRTMAX; sig++) {
		if (sigaction(sig, NULL, &old) != 0)
			return -errno;
		if (old.sa_handler == SIG_DFL && !(old.sa_flags & SA_SIGINFO))
			break;
	}
	if (sig > SIGRTMAX)
		return -EBUSY;
	if (sigaction(sig, &sa, NULL) != 0)
		return -errno;
	for (unsigned pass = 0;; pass++) {
		bool signalled = false;
		struct dirent *de;
		DIR *d;

		if (pass == BV_SANDBOX_PASSES_MAX) {
			err = -EAGAIN;
			break;
		}
		d = opendir("/proc/self/task");
		if (!d) {
			err = -errno;
			break;
		}
		while (!err && (de = readdir(d))) {
			pid_t tid = (pid_t)strtol(de->d_name, NULL, 10);

			if (tid <= 0 || tid == self)
				continue;
			/* Signal each thread once, and again if it still shows capabilities (a
			 * reused thread id). */
			if (tid_seen(done, ndone, tid) && task_is_confined(tid))
				continue;
			signalled = true;
			err = task_signal(pid, tid, sig);
			if (!err && !tid_seen(done, ndone, tid)) {
				if (ndone == BV_SANDBOX_TASKS_MAX)
					err = -E2BIG;
				else
					done[ndone++] = tid;
			}
		}
		closedir(d);
		if (err || !signalled)
			break;
	}
	/* SIG_IGN discards a signal still pending in a thread that never answered, which
	 * would otherwise kill the process once the default action is back. */
	sigaction(sig, &ign, NULL);
	sigaction(sig, &old, NULL);
	return err;
}

/* Fills plan: permitted and effective are empty, or CAP_SYS_ADMIN alone when asked for
 * and held (a daemon started without it cannot keep it). */
static int plan_make(bool keep_unmount)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct cur[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, cur) != 0)
		return -errno;
	memset(plan.caps, 0, sizeof(plan.caps));
	if (keep_unmount && (cur[CAP_TO_INDEX(CAP_SYS_ADMIN)].permitted &
			     CAP_TO_MASK(CAP_SYS_ADMIN))) {
		plan.caps[CAP_TO_INDEX(CAP_SYS_ADMIN)].permitted = CAP_TO_MASK(CAP_SYS_ADMIN);
		plan.caps[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective = CAP_TO_MASK(CAP_SYS_ADMIN);
	}
	plan.drop_bounding = cur[CAP_TO_INDEX(CAP_SETPCAP)].effective & CAP_TO_MASK(CAP_SETPCAP);
	return 0;
}

/* Landlock: of the filesystem accesses this kernel can restrict, the ones that change
 * something (and execute) are refused outside STATE_DIR; reading stays open, as root's DAC
 * already allows it and /proc, /etc/localtime and the like are read after ready. Leaves
 * plan.ruleset_fd at -1 where the kernel has no Landlock. */
static int landlock_plan(const char *state_dir)
{
	struct landlock_ruleset_attr attr = { 0 };
	struct landlock_path_beneath_attr rule = { .parent_fd = -1 };
	long abi;
	int fd, err = 0;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		bv_debug("sandbox: no Landlock here: %s", strerror(errno));
		return 0;
	}
	attr.handled_access_fs =
		LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
		LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
		LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
		LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
		LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		LANDLOCK_ACCESS_FS_MAKE_SYM;
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (fd < 0)
		return -errno;
	if (state_dir) {
		rule.parent_fd = open(state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		rule.allowed_access = attr.handled_access_fs & ~LANDLOCK_ACCESS_FS_EXECUTE;
		if (rule.parent_fd < 0 ||
		    syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &rule, 0))
			err = -errno;
		if (rule.parent_fd >= 0)
			close(rule.parent_fd);
	}
	if (err) {
		close(fd);
		return err;
	}
	plan.ruleset_fd = fd;
	return 0;
}

/* ---- seccomp ---- */

#ifdef BV_AUDIT_ARCH

struct filter {
	struct sock_filter insn[BV_SANDBOX_FILTER_MAX];
	unsigned n;
	bool overflow;
	uint32_t deny; /* SECCOMP_RET_ERRNO | EPERM, or SECCOMP_RET_LOG in the log mode */
};

static void emit(struct filter *f, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (f->n == BV_SANDBOX_FILTER_MAX) {
		f->overflow = true;
		return;
	}
	f->insn[f->n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

/* The low 32 bits of argument I; both supported architectures are little-endian. */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + (i) * sizeof(uint64_t))

static void nr_load(struct filter *f)
{
	emit(f, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
}

/* Syscall NR is allowed. Each test is followed by its own return, so no jump is longer
 * than one instruction whatever the list's length (BPF jumps reach 255 at most). */
static void allow(struct filter *f, long nr)
{
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)nr);
	emit(f, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
}

/* Syscall NR is allowed when the low 32 bits of argument ARG are one of VALS (N of them,
 * at most 200), denied otherwise. The accumulator holds the number again afterwards. */
static void allow_if_arg(struct filter *f, long nr, unsigned arg, const uint32_t *vals,
			 unsigned n)
{
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, 0, (uint8_t)(n + 3), (uint32_t)nr);
	emit(f, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)ARG_LO(arg));
	for (unsigned i = 0; i < n; i++)
		emit(f, BPF_JMP | BPF_JEQ | BPF_K, (uint8_t)(n - i), 0, vals[i]);
	emit(f, BPF_RET | BPF_K, 0, 0, f->deny);
	emit(f, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
}

/* Syscall NR always fails with ERR. */
static void fail_with(struct filter *f, long nr, int err)
{
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)nr);
	emit(f, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | ((uint32_t)err & SECCOMP_RET_DATA));
}

static void filter_build(struct filter *f)
{
	/* Roughly by frequency: the serving loop's calls come first. */
	static const long plain[] = {
		SYS_read, SYS_readv, SYS_pread64, SYS_preadv, SYS_write, SYS_writev,
		SYS_pwrite64, SYS_futex, SYS_splice, SYS_vmsplice, SYS_tee, SYS_pipe2,
		SYS_ppoll, SYS_epoll_pwait, SYS_epoll_ctl, SYS_epoll_create1,
#ifdef SYS_poll
		SYS_poll,
#endif
#ifdef SYS_epoll_wait
		SYS_epoll_wait,
#endif
#ifdef SYS_pipe
		SYS_pipe,
#endif
		SYS_mmap, SYS_munmap, SYS_mprotect, SYS_madvise, SYS_brk, SYS_mremap,
		SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_sigaltstack,
		SYS_restart_syscall, SYS_exit, SYS_exit_group, SYS_gettid, SYS_getpid,
		SYS_getuid, SYS_geteuid, SYS_getgid, SYS_getegid, SYS_close, SYS_fstat,
		SYS_newfstatat, SYS_statx, SYS_fstatfs, SYS_statfs, SYS_lseek, SYS_fcntl,
		SYS_dup, SYS_dup3, SYS_getdents64, SYS_readlinkat, SYS_faccessat,
#ifdef SYS_faccessat2
		SYS_faccessat2,
#endif
#ifdef SYS_dup2
		SYS_dup2,
#endif
#ifdef SYS_stat
		SYS_stat, SYS_lstat,
#endif
#ifdef SYS_readlink
		SYS_readlink,
#endif
#ifdef SYS_access
		SYS_access,
#endif
		/* state.json in the state directory: written aside, renamed over. */
		SYS_openat, SYS_renameat, SYS_unlinkat, SYS_mkdirat, SYS_fsync, SYS_fdatasync,
		SYS_fchmod, SYS_ftruncate,
#ifdef SYS_renameat2
		SYS_renameat2,
#endif
#ifdef SYS_open
		SYS_open, SYS_rename, SYS_unlink, SYS_mkdir,
#endif
		/* Stopping: libfuse unmounts the mount point itself when root. */
		SYS_umount2,
		SYS_getrandom, SYS_clock_gettime, SYS_clock_getres, SYS_gettimeofday,
		SYS_clock_nanosleep, SYS_nanosleep, SYS_sched_yield, SYS_sched_getaffinity,
		SYS_set_robust_list, SYS_get_robust_list,
#ifdef SYS_rseq
		SYS_rseq,
#endif
#ifdef SYS_time
		SYS_time,
#endif
		SYS_membarrier, SYS_uname, SYS_getcwd,
		/* syslog(3): a datagram to /dev/log (socket() itself is checked below). */
		SYS_connect, SYS_sendto, SYS_sendmsg,
	};
	/* glibc names threads and stacks through prctl; nothing else of it is needed. */
	static const uint32_t prctl_ok[] = { PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE };
	/* isatty(3) from stdio on a terminal or /dev/null (foreground logging). */
	static const uint32_t ioctl_ok[] = { TCGETS };
	static const uint32_t socket_ok[] = { AF_UNIX };
	uint32_t self[1] = { (uint32_t)getpid() };

	/* Another architecture's numbers would mean other calls: refuse them all. */
	emit(f, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, BV_AUDIT_ARCH);
	emit(f, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | EPERM);
	nr_load(f);
#ifdef __x86_64__
	/* x32 calls share the x86_64 arch value, with bit 30 set in the number. */
	emit(f, BPF_JMP | BPF_JGE | BPF_K, 0, 1, __X32_SYSCALL_BIT);
	emit(f, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | EPERM);
#endif
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		allow(f, plain[i]);
#ifdef BV_SANDBOX_LSAN
	allow(f, SYS_clone);
	allow(f, SYS_ptrace);
	allow(f, SYS_wait4);
	allow(f, SYS_getppid);
	allow(f, SYS_prctl);
#ifdef SYS_getdents
	allow(f, SYS_getdents); /* its thread lister */
#endif
#endif
	/* clone only for threads: fork would escape nothing (the child inherits all this),
	 * but a daemon has no reason to. */
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, 0, 4, SYS_clone);
	emit(f, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)ARG_LO(0));
	emit(f, BPF_JMP | BPF_JSET | BPF_K, 1, 0, CLONE_THREAD);
	emit(f, BPF_RET | BPF_K, 0, 0, f->deny);
	emit(f, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
	nr_load(f);
#ifdef SYS_clone3
	/* clone3's flags sit in memory a filter cannot read; glibc falls back to clone on
	 * ENOSYS, whose flags it can. */
	fail_with(f, SYS_clone3, ENOSYS);
#endif
	/* Signals only to ourselves (abort, raise, pthread_kill). */
	allow_if_arg(f, SYS_tgkill, 0, self, 1);
	nr_load(f);
	allow_if_arg(f, SYS_kill, 0, self, 1);
	nr_load(f);
	allow_if_arg(f, SYS_prctl, 0, prctl_ok, sizeof(prctl_ok) / sizeof(prctl_ok[0]));
	nr_load(f);
	allow_if_arg(f, SYS_ioctl, 1, ioctl_ok, sizeof(ioctl_ok) / sizeof(ioctl_ok[0]));
	nr_load(f);
	allow_if_arg(f, SYS_socket, 0, socket_ok, 1);
	emit(f, BPF_RET | BPF_K, 0, 0, f->deny);
}

static int filter_install(bool log_mode)
{
	static struct filter f;
	struct sock_fprog prog;
	long r;

	memset(&f, 0, sizeof(f));
	f.deny = log_mode ? SECCOMP_RET_LOG : SECCOMP_RET_ERRNO | EPERM;
	filter_build(&f);
	if (f.overflow)
		return -E2BIG;
	prog.len = (unsigned short)f.n;
	prog.filter = f.insn;
	/* TSYNC puts the filter, and no_new_privs, on every thread of the process at once;
	 * a positive return names a thread that could not be synchronised. */
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
	if (r < 0)
		return -errno;
	return r > 0 ? -EAGAIN : 0;
}

#else

static int filter_install(bool log_mode)
{
	(void)log_mode;
	return -EOPNOTSUPP; /* no syscall table for this architecture */
}

#endif

static bool env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0") != 0;
}

int bv_sandbox_enter(const struct bv_sandbox_opts *opts)
{
	bool landlocked = false;
	int err, first = 0;

	if (env_set("BOOTVIEWFS_NO_SANDBOX")) {
		bv_warn("sandbox disabled by BOOTVIEWFS_NO_SANDBOX");
		return 0;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		err = -errno;
		/* The filter cannot go on without it either. */
		bv_err("sandbox: no_new_privs: %s", strerror(-err));
		return err;
	}
	/* Each step is worth having alone: go on after a failure, report the first. */
	err = plan_make(opts->keep_unmount);
	if (!err && !opts->keep_unmount) {
		err = landlock_plan(opts->state_dir);
		if (err) {
			bv_err("sandbox: Landlock ruleset: %s", strerror(-err));
			first = err;
			err = 0; /* the rest is worth having without it */
		}
	}
	landlocked = plan.ruleset_fd >= 0;
	if (!err)
		err = all_threads_drop();
	if (plan.ruleset_fd >= 0)
		close(plan.ruleset_fd);
	plan.ruleset_fd = -1;
	if (err) {
		bv_err("sandbox: dropping capabilities: %s", strerror(-err));
		if (!first)
			first = err;
	}
	err = filter_install(env_set("BOOTVIEWFS_SANDBOX_LOG"));
	if (err) {
		bv_err("sandbox: seccomp filter: %s", strerror(-err));
		if (!first)
			first = err;
	}
	if (!first)
		bv_debug("sandbox: capabilities dropped%s, %sseccomp filter on every thread",
			 opts->keep_unmount ? " but CAP_SYS_ADMIN" : "",
			 landlocked ? "Landlock and " : "");
	return first;
}
