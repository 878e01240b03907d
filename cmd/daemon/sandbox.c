/* The server's sandbox (cmd/daemon/sandbox.h): entered once, single-threaded, before the image is
 * read. Each step either holds or fails the call; only Landlock may be missing.
 *
 * The seccomp list was derived by running the FUSE integration tests with
 * BOOTVIEWFS_SANDBOX_LOG=1 (the filter logs instead of refusing) and examining every
 * system call logged (dmesg: "audit: type=1326 ... syscall=N"). */
#include "cmd/daemon/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "state/proc.h"

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT 0x40000000u
#endif

/* Landlock rights newer than some distributions' headers (Debian 12 has ABI 2's). */
#define BV_LL_FS_TRUNCATE (1ULL << 14)   /* ABI 3 */
#define BV_LL_FS_IOCTL_DEV (1ULL << 15)  /* ABI 5 */
#define BV_LL_NET_BIND_TCP (1ULL << 0)   /* ABI 4 */
#define BV_LL_NET_CONNECT_TCP (1ULL << 1)
#define BV_LL_SCOPE_ABSTRACT_UNIX (1ULL << 0) /* ABI 6 */
#define BV_LL_SCOPE_SIGNAL (1ULL << 1)

/* struct landlock_ruleset_attr as of ABI 6; older kernels take a prefix of it. */
struct bv_landlock_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#if defined(__x86_64__)
#define BV_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define BV_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#define BV_SANDBOX_FILTER_MAX 512

static void __attribute__((format(printf, 3, 4)))
say(char *buf, unsigned size, const char *fmt, ...)
{
	va_list ap;

	if (!buf || !size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/* ThreadSanitizer's runtime starts a background thread of its own in the child of every
 * fork (make tsan only). It runs none of our code and reads no image byte; its
 * __sanitizer_sandbox_on_notify hook does not stop a thread started by fork. */
#ifdef __SANITIZE_THREAD__
#define RUNTIME_THREADS 1
#else
#define RUNTIME_THREADS 0
#endif

/* Capabilities, Landlock domains and no_new_privs belong to each thread: confining one of
 * several would leave the others free, so a second thread is a caller's error. */
static int single_threaded_check(char *errbuf, unsigned size)
{
	char buf[4096];
	const char *p;
	long n;
	int err = bv_proc_read_small("/proc/self/status", buf, sizeof(buf));

	if (err) {
		say(errbuf, size, "reading /proc/self/status: %s", strerror(-err));
		return err;
	}
	p = strstr(buf, "\nThreads:");
	n = p ? strtol(p + 9, NULL, 10) : 0;
	if (n < 1 || n > 1 + RUNTIME_THREADS) {
		say(errbuf, size, "the process is not single-threaded");
		return -EBUSY;
	}
	return 0;
}

/* True when this process may not call setgroups(2): a user namespace whose creator wrote
 * "deny" to /proc/self/setgroups (as `unshare --map-root-user` does). */
static bool setgroups_denied(void)
{
	char buf[16];

	return bv_proc_read_small("/proc/self/setgroups", buf, sizeof(buf)) == 0 &&
	       strncmp(buf, "deny", 4) == 0;
}

/* Root gives up root: no bounding or ambient capability an exec could regain (needs
 * CAP_SETPCAP, so before the uid changes), no supplementary group, then uid and gid
 * nobody, which clears every capability on its own. In a user namespace that maps only
 * uid 0 (rootless), nobody does not exist there: EINVAL, and the uid stays, since it maps
 * to an ordinary user on the host. */
static int identity_drop(struct bv_sandbox_report *rep, char *errbuf, unsigned size)
{
	uid_t r, e, s;

	for (unsigned long cap = 0; cap < 64; cap++) {
		int in = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);

		if (in < 0)
			break; /* past the kernel's last capability */
		if (in == 1 && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
			say(errbuf, size, "dropping capability %lu from the bounding set: %s", cap,
			    strerror(errno));
			return -errno;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
		say(errbuf, size, "clearing the ambient set: %s", strerror(errno));
		return -errno;
	}
	if (setgroups(0, NULL) != 0 && !(errno == EPERM && setgroups_denied())) {
		say(errbuf, size, "setgroups: %s", strerror(errno));
		return -errno;
	}
	if (setresgid(BV_SANDBOX_GID, BV_SANDBOX_GID, BV_SANDBOX_GID) != 0) {
		if (errno != EINVAL) {
			say(errbuf, size, "setresgid(%d): %s", BV_SANDBOX_GID, strerror(errno));
			return -errno;
		}
	}
	if (setresuid(BV_SANDBOX_UID, BV_SANDBOX_UID, BV_SANDBOX_UID) != 0) {
		if (errno != EINVAL) {
			say(errbuf, size, "setresuid(%d): %s", BV_SANDBOX_UID, strerror(errno));
			return -errno;
		}
		rep->uid_unmapped = true;
		return 0;
	}
	if (getresuid(&r, &e, &s) != 0 || r != BV_SANDBOX_UID || e != BV_SANDBOX_UID ||
	    s != BV_SANDBOX_UID) {
		say(errbuf, size, "the uid did not change to %d", BV_SANDBOX_UID);
		return -EPERM;
	}
	rep->uid_changed = true;
	return 0;
}

/* Every set empty, checked by reading them back. */
static int caps_drop(char *errbuf, unsigned size)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	memset(data, 0, sizeof(data));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
		say(errbuf, size, "clearing the ambient set: %s", strerror(errno));
		return -errno;
	}
	if (syscall(SYS_capset, &hdr, data) != 0) {
		say(errbuf, size, "capset: %s", strerror(errno));
		return -errno;
	}
	if (syscall(SYS_capget, &hdr, data) != 0) {
		say(errbuf, size, "capget: %s", strerror(errno));
		return -errno;
	}
	for (unsigned i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		if (data[i].permitted || data[i].effective || data[i].inheritable) {
			say(errbuf, size, "capabilities are still held after capset");
			return -EPERM;
		}
	}
	return 0;
}

/* A Landlock domain with every right this kernel knows handled and no rule granting any:
 * no file or directory can be opened, made, removed or executed, no TCP bound or
 * connected, and (ABI 6) no signal or abstract UNIX socket reaches outside the domain.
 * Already open fds keep working: Landlock checks opens, not reads. */
static int landlock_enter(struct bv_sandbox_report *rep, char *errbuf, unsigned size)
{
	struct bv_landlock_attr attr = { 0 };
	size_t attr_size = sizeof(attr.handled_access_fs);
	long abi;
	int fd;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		rep->landlock_abi = 0; /* ENOSYS or EOPNOTSUPP: not built or not enabled */
		return 0;
	}
	attr.handled_access_fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0-12 */
	if (abi >= 2)
		attr.handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= BV_LL_FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= BV_LL_FS_IOCTL_DEV;
	if (abi >= 4) {
		attr.handled_access_net = BV_LL_NET_BIND_TCP | BV_LL_NET_CONNECT_TCP;
		attr_size = offsetof(struct bv_landlock_attr, scoped);
	}
	if (abi >= 6) {
		attr.scoped = BV_LL_SCOPE_ABSTRACT_UNIX | BV_LL_SCOPE_SIGNAL;
		attr_size = sizeof(attr);
	}
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (fd < 0) {
		say(errbuf, size, "Landlock ruleset (ABI %ld): %s", abi, strerror(errno));
		return -errno;
	}
	if (syscall(SYS_landlock_restrict_self, fd, 0) != 0) {
		int err = -errno;

		close(fd);
		say(errbuf, size, "Landlock restrict_self: %s", strerror(-err));
		return err;
	}
	close(fd);
	rep->landlock_abi = (int)abi;
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

/* Syscall NR is allowed when argument ARG has none of the bits of MASK set, denied
 * otherwise. */
static void allow_if_clear(struct filter *f, long nr, unsigned arg, uint32_t mask)
{
	emit(f, BPF_JMP | BPF_JEQ | BPF_K, 0, 4, (uint32_t)nr);
	emit(f, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)ARG_LO(arg));
	emit(f, BPF_JMP | BPF_JSET | BPF_K, 0, 1, mask);
	emit(f, BPF_RET | BPF_K, 0, 0, f->deny);
	emit(f, BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
	nr_load(f);
}

static void filter_build(struct filter *f, const struct bv_sandbox_opts *opts)
{
	/* Roughly by frequency: the serving loop's calls come first. Nothing here writes to a
	 * path, opens for writing, changes an id or a mount, or reaches a socket. */
	static const long plain[] = {
		SYS_read, SYS_readv, SYS_pread64, SYS_preadv, SYS_futex, SYS_splice,
		SYS_vmsplice, SYS_tee, SYS_pipe2, SYS_ppoll,
#ifdef SYS_poll
		SYS_poll,
#endif
#ifdef SYS_pipe
		SYS_pipe,
#endif
		SYS_mmap, SYS_munmap, SYS_mprotect, SYS_madvise, SYS_brk, SYS_mremap,
		SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_sigaltstack,
		SYS_restart_syscall, SYS_exit, SYS_exit_group, SYS_gettid, SYS_getpid,
		SYS_getuid, SYS_geteuid, SYS_getgid, SYS_getegid, SYS_close, SYS_fstat,
		SYS_newfstatat, SYS_statx, SYS_lseek, SYS_fcntl, SYS_dup, SYS_dup3,
#ifdef SYS_dup2
		SYS_dup2,
#endif
		SYS_getrandom, SYS_clock_gettime, SYS_clock_getres, SYS_gettimeofday,
		SYS_clock_nanosleep, SYS_nanosleep, SYS_sched_yield, SYS_sched_getaffinity,
		SYS_set_robust_list, SYS_get_robust_list,
#ifdef SYS_rseq
		SYS_rseq,
#endif
#ifdef SYS_time
		SYS_time,
#endif
		SYS_membarrier, SYS_uname, SYS_getrusage, SYS_capget,
		SYS_sysinfo, /* qsort(3) asks how much memory there is */
	};
	/* glibc names threads through prctl; nothing else of it is needed. */
	static const uint32_t prctl_ok[] = { PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE };
	/* isatty(3), from stdio. */
	static const uint32_t ioctl_ok[] = { TCGETS };
	/* Any of these in open's flags means more than reading. */
	const uint32_t open_write = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND |
				    __O_TMPFILE | O_PATH;
	uint32_t chan[1] = { (uint32_t)opts->chan_fd };
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
	/* write(2) reaches only what the process holds: nothing can be opened for writing
	 * and no socket made, the caller closed the rest, and libfuse writes into pipes of its
	 * own (the zero runs of a spliced READ). pwrite, which only files take, is not here. */
	allow(f, SYS_write);
	allow(f, SYS_writev);
	if (opts->chan_fd >= 0) {
		allow_if_arg(f, SYS_sendto, 0, chan, 1);
		allow_if_arg(f, SYS_sendmsg, 0, chan, 1);
		allow_if_arg(f, SYS_recvmsg, 0, chan, 1);
		allow_if_arg(f, SYS_recvfrom, 0, chan, 1);
	}
	allow_if_clear(f, SYS_openat, 2, open_write);
#ifdef SYS_open
	allow_if_clear(f, SYS_open, 1, open_write);
#endif
	/* clone only for threads: a child would inherit all this, but a server has no reason
	 * to fork. */
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
	allow_if_arg(f, SYS_kill, 0, self, 1);
	allow_if_arg(f, SYS_prctl, 0, prctl_ok, sizeof(prctl_ok) / sizeof(prctl_ok[0]));
	allow_if_arg(f, SYS_ioctl, 1, ioctl_ok, sizeof(ioctl_ok) / sizeof(ioctl_ok[0]));
	emit(f, BPF_RET | BPF_K, 0, 0, f->deny);
}

static int filter_install(const struct bv_sandbox_opts *opts, bool log_mode, char *errbuf,
			  unsigned size)
{
	static struct filter f;
	struct sock_fprog prog;

	memset(&f, 0, sizeof(f));
	f.deny = log_mode ? SECCOMP_RET_LOG : SECCOMP_RET_ERRNO | EPERM;
	filter_build(&f, opts);
	if (f.overflow) {
		say(errbuf, size, "seccomp filter longer than %d instructions", BV_SANDBOX_FILTER_MAX);
		return -E2BIG;
	}
	prog.len = (unsigned short)f.n;
	prog.filter = f.insn;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
		say(errbuf, size, "seccomp: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

#else

static int filter_install(const struct bv_sandbox_opts *opts, bool log_mode, char *errbuf,
			  unsigned size)
{
	(void)opts;
	(void)log_mode;
	say(errbuf, size, "no seccomp system call table for this architecture");
	return -EOPNOTSUPP;
}

#endif

static bool env_set(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0") != 0;
}

int bv_sandbox_enter(const struct bv_sandbox_opts *opts, struct bv_sandbox_report *report,
		     char *errbuf, unsigned errbuf_size)
{
	struct bv_sandbox_report rep = { 0 };
	int err;

	if (env_set("BOOTVIEWFS_NO_SANDBOX")) {
		rep.disabled = true;
		err = 0;
		goto out;
	}
	err = single_threaded_check(errbuf, errbuf_size);
	if (!err && geteuid() == 0)
		err = identity_drop(&rep, errbuf, errbuf_size);
	if (!err)
		err = caps_drop(errbuf, errbuf_size);
	if (!err && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		err = -errno;
		say(errbuf, errbuf_size, "no_new_privs: %s", strerror(-err));
	}
	/* Not dumpable: no process of the same uid (nobody is shared with other daemons) may
	 * ptrace us or read our memory through /proc. */
	if (!err && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		err = -errno;
		say(errbuf, errbuf_size, "PR_SET_DUMPABLE: %s", strerror(-err));
	}
	/* A uid change clears the parent-death signal: set it after. */
	if (!err && opts->parent_death_signal &&
	    prctl(PR_SET_PDEATHSIG, opts->parent_death_signal, 0, 0, 0) != 0) {
		err = -errno;
		say(errbuf, errbuf_size, "PR_SET_PDEATHSIG: %s", strerror(-err));
	}
	if (!err)
		err = landlock_enter(&rep, errbuf, errbuf_size);
	if (!err)
		err = filter_install(opts, env_set("BOOTVIEWFS_SANDBOX_LOG"), errbuf, errbuf_size);
out:
	if (!err && report)
		*report = rep;
	return err;
}
