/* state/: state.json, the life lock, the control FIFO, mountinfo and the stop ladder,
 * against fake daemons (forked children that flock the state directory and hold the FIFO
 * the way the real daemon's processes do), and against a state directory whose every
 * file may be forged: each rule of state/state.h has a test that breaks it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state/control.h"
#include "state/lock.h"
#include "state/mnt.h"
#include "state/proc.h"
#include "state/state.h"
#include "state/stop.h"
#include "tests/testutil.h"

static char dir[4096];
static int dfd = -1;

/* A fresh state directory DIR (0700, ours) and its fd in DFD. */
static void make_dir(const char *name)
{
	char err[256] = "";

	snprintf(dir, sizeof(dir), "%s/state-%s-%d", bv_test_tmpdir(), name, (int)getpid());
	dfd = bv_state_dir_open(dir, true, false, err, sizeof(err));
	ck_assert_msg(dfd >= 0, "bv_state_dir_open: %s", err);
}

static void path_of(char *out, size_t size, const char *name)
{
	ck_assert_uint_lt((size_t)snprintf(out, size, "%s/%s", dir, name), size);
}

static void write_file(const char *name, const char *text)
{
	char path[4200];

	path_of(path, sizeof(path), name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void make_fifo(const char *name)
{
	char path[4200];

	path_of(path, sizeof(path), name);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
}

/* True once PID has exited (reaped, or a zombie). */
static bool pid_gone(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	p = p ? strrchr(buf, ')') : NULL;
	return p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

/* An unrelated process: it holds nothing of any view. */
static pid_t bystander(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A view's state as the daemon records it: ready, this boot, PID with its start time. */
static void state_forge(struct bv_state *st, pid_t pid)
{
	bv_state_init(st);
	st->status = BV_STATE_READY;
	st->pid = pid;
	st->uid = (unsigned)geteuid();
	bv_proc_start_time(pid, &st->start_time);
	bv_proc_boot_id(st->boot_id);
}

struct fake {
	bool deaf;       /* ignores "stop" */
	bool server;     /* forks a second process that shares the lock (server_pid) */
	pid_t record;    /* the pid state.json names instead of the daemon's own; 0: own */
};

/* A fake daemon: takes the life lock on DIR, opens the FIFO, writes state.json, tells the
 * parent it is ready (and its server's pid) through a pipe, then obeys "stop" unless
 * deaf. The server is a grandchild: the test process is made a subreaper to collect it. */
static pid_t fake_daemon(const struct fake *o, pid_t *server)
{
	int ready[2];
	pid_t spid = 0;

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	ck_assert_int_eq(pipe(ready), 0);
	pid_t pid = fork();
	if (pid == 0) {
		/* Never outlive the test, even a failed one. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int lock = bv_lock_life_take(dfd);
		int ctl = bv_control_open(dfd);
		struct bv_state st;

		if (lock < 0 || ctl < 0)
			_exit(3);
		if (o->server) {
			spid = fork();
			if (spid == 0) {
				/* inherits the lock's open file description, like the real server */
				close(ctl);
				for (;;)
					pause();
			}
		}
		state_forge(&st, o->record ? o->record : getpid());
		st.server_pid = spid;
		bv_state_write(dfd, &st);
		if (write(ready[1], &spid, sizeof(spid)) != sizeof(spid))
			_exit(3);
		for (;;) {
			struct pollfd p = { .fd = ctl, .events = POLLIN };
			bool stop = false;
			if (poll(&p, 1, -1) > 0 && !o->deaf)
				bv_control_drain(ctl, &stop);
			if (stop) {
				if (spid > 0)
					kill(spid, SIGKILL);
				_exit(0);
			}
			if (o->deaf)
				pause();
		}
	}
	close(ready[1]);
	ck_assert_int_eq(read(ready[0], &spid, sizeof(spid)), sizeof(spid));
	close(ready[0]);
	if (server)
		*server = spid;
	return pid;
}

/* Root only, in a mount namespace of this test's own, so that whatever a failed test
 * leaves mounted goes with it. */
static bool private_mounts(const char *test)
{
	if (!bv_test_is_root()) {
		bv_test_skip(test, "needs root (mounts)");
		return false;
	}
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		bv_test_skip(test, "cannot make a private mount namespace");
		return false;
	}
	return true;
}

/* A tmpfs with source SOURCE at DIR/NAME (made first); its path in OUT. */
static void tmpfs_at(const char *name, const char *source, char *out, size_t size)
{
	path_of(out, size, name);
	mkdir(out, 0755);
	ck_assert_int_eq(mount(source, out, "tmpfs", 0, "size=64k"), 0);
}

static unsigned minor_of(const char *path)
{
	struct stat sb;

	ck_assert_int_eq(stat(path, &sb), 0);
	return minor(sb.st_dev);
}

/* ---- state.json ---- */

START_TEST(test_state_roundtrip_keeps_every_field)
{
	struct bv_state st, back;
	char err[256];

	make_dir("roundtrip");
	bv_state_init(&st);
	st.status = BV_STATE_READY;
	st.pid = 4242;
	st.server_pid = 4243;
	st.uid = 1000;
	st.start_time = 123456789;
	strcpy(st.boot_id, "01234567-89ab-cdef-0123-456789abcdef");
	strcpy(st.source.path, "/dev/mapper/thin-1");
	st.source.major = 253;
	st.source.minor = 7;
	st.source.size = 1ull << 40;
	strcpy(st.source.dm_name, "thin-1");
	strcpy(st.source.dm_uuid, "LVM-abc");
	strcpy(st.source.dm_target, "thin");
	strcpy(st.fs.type, "ext4");
	strcpy(st.fs.uuid, "b4b5c7e8-0000-4000-8000-000000000000");
	strcpy(st.fs.journal, "clean");
	st.fs.block_size = 4096;
	strcpy(st.mountpoint, "/run/x/rootfs view");
	st.mountpoint_created = true;
	st.mountpoint_dev = 0x10302;
	st.mountpoint_ino = 1ull << 40;
	strcpy(st.fsname, "bootviewfs:c 1");
	strcpy(st.fstype, "fuse.bootviewfs");
	st.fuse_conn = 61;
	st.nartifacts = 2;
	strcpy(st.artifacts[0].path, "/unikernel/kernel");
	st.artifacts[0].size = 64 << 20;
	st.artifacts[0].ino = 12;
	strcpy(st.artifacts[1].path, "/urunc.json");
	st.artifacts[1].size = 321;
	st.artifacts[1].ino = 13;
	ck_assert_int_eq(bv_state_write(dfd, &st), 0);
	ck_assert_int_eq(bv_state_read(dfd, &back, NULL, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(back.status, BV_STATE_READY);
	ck_assert_int_eq(back.pid, 4242);
	ck_assert_int_eq(back.server_pid, 4243);
	ck_assert_uint_eq(back.uid, 1000);
	ck_assert_uint_eq(back.start_time, 123456789);
	ck_assert_str_eq(back.boot_id, st.boot_id);
	ck_assert_str_eq(back.source.dm_target, "thin");
	ck_assert_uint_eq(back.source.size, 1ull << 40);
	ck_assert_uint_eq(back.source.major, 253);
	ck_assert_str_eq(back.fs.uuid, st.fs.uuid);
	ck_assert_str_eq(back.mountpoint, "/run/x/rootfs view");
	ck_assert(back.mountpoint_created);
	ck_assert_uint_eq(back.mountpoint_dev, 0x10302);
	ck_assert_uint_eq(back.mountpoint_ino, 1ull << 40);
	ck_assert_str_eq(back.fsname, "bootviewfs:c 1");
	ck_assert_str_eq(back.fstype, "fuse.bootviewfs");
	ck_assert_int_eq(back.fuse_conn, 61);
	ck_assert_uint_eq(back.nartifacts, 2);
	ck_assert_str_eq(back.artifacts[1].path, "/urunc.json");
	ck_assert_uint_eq(back.artifacts[0].size, 64 << 20);
	ck_assert_int_ne(back.updated_at, 0);
}
END_TEST

START_TEST(test_state_read_ignores_unknown_fields)
{
	struct bv_state st;
	char err[256];

	make_dir("unknown");
	write_file("state.json", "{\"version\": 9, \"status\": \"stopping\", \"future\": [1,2],"
				 " \"pid\": 77, \"fs\": {\"type\": \"ext2\", \"new\": {}}}");
	ck_assert_int_eq(bv_state_read(dfd, &st, NULL, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(st.status, BV_STATE_STOPPING);
	ck_assert_int_eq(st.pid, 77);
	ck_assert_str_eq(st.fs.type, "ext2");
	ck_assert_int_eq(st.fuse_conn, -1);
	ck_assert(!st.mountpoint_created);
	ck_assert_str_eq(st.fstype, "");
}
END_TEST

/* A pid of 2^32 + 1 must not become pid 1 on the cast to pid_t. */
START_TEST(test_state_read_refuses_out_of_range_numbers)
{
	struct bv_state st;
	char err[256];

	make_dir("range");
	write_file("state.json", "{\"pid\": 4294967297, \"server_pid\": -5, \"fuse_conn\": "
				 "-2, \"uid\": 4294967296}");
	ck_assert_int_eq(bv_state_read(dfd, &st, NULL, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(st.pid, 0);
	ck_assert_int_eq(st.server_pid, 0);
	ck_assert_int_eq(st.fuse_conn, -1);
	ck_assert_uint_eq(st.uid, 0);
}
END_TEST

START_TEST(test_state_read_rejects_truncated_file)
{
	struct bv_state st;
	char err[256] = "";

	make_dir("truncated");
	write_file("state.json", "{\"version\": 1, \"status\": \"rea");
	ck_assert_int_eq(bv_state_read(dfd, &st, NULL, NULL, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "corrupt"));
}
END_TEST

START_TEST(test_state_read_rejects_non_object)
{
	struct bv_state st;
	char err[256] = "";

	make_dir("array");
	write_file("state.json", "[1, 2, 3]");
	ck_assert_int_eq(bv_state_read(dfd, &st, NULL, NULL, err, sizeof(err)), -EBADMSG);
}
END_TEST

START_TEST(test_state_read_missing_is_enoent)
{
	struct bv_state st;
	char err[256];

	make_dir("missing");
	ck_assert_int_eq(bv_state_read(dfd, &st, NULL, NULL, err, sizeof(err)), -ENOENT);
}
END_TEST

/* jansson's error text quotes the token it stopped at ("near 'root'"): the review leaked
 * the first word of /etc/shadow through it. Our sentence quotes nothing of the file. */
START_TEST(test_state_read_error_quotes_no_content)
{
	static const char *const bodies[] = {
		"root:$6$saltsecret:19000:0:99999:7:::\n",
		"{\"a\": SECRETWORD}",
		"{\"pid\": 1} SECRETTAIL",
		"{\"SECRETKEY\": 1, \"SECRETKEY\": 2}",
	};
	struct bv_state st;

	make_dir("noquote");
	for (unsigned i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		char err[512] = "";

		write_file("state.json", bodies[i]);
		ck_assert_int_eq(bv_state_read(dfd, &st, NULL, NULL, err, sizeof(err)), -EBADMSG);
		ck_assert_ptr_nonnull(strstr(err, "corrupt"));
		ck_assert_msg(!strstr(err, "root") && !strstr(err, "SECRET") && !strstr(err, "salt"),
			      "error text quotes the file: %s", err);
	}
}
END_TEST

/* `status` prints the bytes it parsed, never a second read that could find others. */
START_TEST(test_state_read_raw_is_the_file)
{
	static const char body[] = "{ \"status\" :\"ready\",\n\t\"pid\": 12, \"x\": [1,2] }\n\n";
	struct bv_state st;
	char err[256], *raw = NULL;
	size_t len = 0;

	make_dir("raw");
	write_file("state.json", body);
	ck_assert_int_eq(bv_state_read(dfd, &st, &raw, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, strlen(body));
	ck_assert_mem_eq(raw, body, len);
	ck_assert_int_eq(raw[len], '\0');
	ck_assert_int_eq(st.pid, 12);
	free(raw);
}
END_TEST

START_TEST(test_state_read_refuses_fifo_without_blocking)
{
	struct bv_state st;
	char err[256] = "", *raw = NULL;
	size_t len;

	make_dir("fifo");
	make_fifo("state.json");
	alarm(5); /* the old reader blocked here forever */
	ck_assert_int_eq(bv_state_read(dfd, &st, &raw, &len, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_null(raw);
	ck_assert_ptr_nonnull(strstr(err, "FIFO"));
}
END_TEST

START_TEST(test_state_read_refuses_symlink)
{
	struct bv_state st;
	char err[256] = "", target[4200], link[1024], *raw = NULL;
	size_t len;

	make_dir("symlink");
	/* A valid state file elsewhere: it must not be read through the link, let alone
	 * printed. */
	snprintf(target, sizeof(target), "%s/elsewhere-%d.json", bv_test_tmpdir(), (int)getpid());
	FILE *f = fopen(target, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"status\": \"ready\", \"error\": \"SECRET\"}", f);
	fclose(f);
	path_of(link, sizeof(link), "state.json");
	ck_assert_int_eq(symlink(target, link), 0);
	ck_assert_int_eq(bv_state_read(dfd, &st, &raw, &len, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_null(raw);
	ck_assert_ptr_nonnull(strstr(err, "symbolic link"));
	ck_assert_ptr_null(strstr(err, "SECRET"));
	ck_assert_str_eq(st.error, "");
}
END_TEST

/* A hard link to a file of another owner (with protected_hardlinks off, a user may make
 * one to a root-only file) is not a state file: root's `status` would print it. */
START_TEST(test_state_read_refuses_foreign_owner_and_hard_link)
{
	struct bv_state st;
	char err[256] = "", path[4200], other[4200];

	make_dir("owner");
	write_file("state.json", "{\"status\": \"ready\"}");
	path_of(path, sizeof(path), "state.json");
	path_of(other, sizeof(other), "second-name");
	ck_assert_int_eq(link(path, other), 0);
	ck_assert_int_eq(bv_state_read(dfd, &st, NULL, NULL, err, sizeof(err)), -EBADMSG);
	ck_assert_int_eq(unlink(other), 0);
	ck_assert_int_eq(bv_state_read(dfd, &st, NULL, NULL, err, sizeof(err)), 0);
	if (!bv_test_is_root()) {
		bv_test_skip("test_state_read_refuses_foreign_owner_and_hard_link",
			     "the owner half needs root (chown)");
		return;
	}
	ck_assert_int_eq(chown(path, 4242, 4242), 0);
	ck_assert_int_eq(bv_state_read(dfd, &st, NULL, NULL, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "4242"));
}
END_TEST

/* The temporary file's name comes from getrandom: a name an attacker can guess (the old
 * ".state.json.<pid>") lets a planted FIFO hang the writer or a hard link redirect it. */
START_TEST(test_state_temp_names_are_not_predictable)
{
	char names[4][64] = { "" }, buf[4096] __attribute__((aligned(8)));
	struct bv_state st;
	char pidname[64], pidstr[16];
	unsigned n = 0;
	int in;

	make_dir("tempname");
	/* The old name, planted as a FIFO: the writer must neither block on it nor use it. */
	snprintf(pidname, sizeof(pidname), ".state.json.%d", (int)getpid());
	make_fifo(pidname);
	in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(inotify_add_watch(in, dir, IN_CREATE), 0);
	state_forge(&st, getpid());
	alarm(5);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(bv_state_write(dfd, &st), 0);
	ssize_t len = read(in, buf, sizeof(buf));
	ck_assert_int_gt(len, 0);
	for (char *p = buf; p < buf + len;) {
		struct inotify_event *ev = (struct inotify_event *)p;

		if (ev->len && strcmp(ev->name, "state.json") != 0 && n < 4)
			snprintf(names[n++], sizeof(names[0]), "%s", ev->name);
		p += sizeof(*ev) + ev->len;
	}
	close(in);
	ck_assert_uint_eq(n, 3);
	snprintf(pidstr, sizeof(pidstr), "%d", (int)getpid());
	for (unsigned i = 0; i < n; i++) {
		ck_assert_msg(strncmp(names[i], ".state.json.", 12) == 0 &&
				      strlen(names[i]) == 12 + 16 &&
				      strspn(names[i] + 12, "0123456789abcdef") == 16,
			      "temporary name %s", names[i]);
		ck_assert_ptr_null(strstr(names[i], pidstr) == names[i] + 12 ? names[i] : NULL);
		for (unsigned j = 0; j < i; j++)
			ck_assert_str_ne(names[i], names[j]);
	}
	/* The FIFO is still a FIFO: never opened, never replaced. */
	struct stat sb;
	ck_assert_int_eq(fstatat(dfd, pidname, &sb, AT_SYMLINK_NOFOLLOW), 0);
	ck_assert(S_ISFIFO(sb.st_mode));
}
END_TEST

/* ---- the state directory ---- */

START_TEST(test_state_dir_is_private)
{
	struct stat sb;

	make_dir("mode");
	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0700);
}
END_TEST

START_TEST(test_state_dir_refuses_group_or_other_writable)
{
	struct bv_stop_report r;
	char err[256] = "";

	make_dir("groupw");
	ck_assert_int_eq(chmod(dir, 0770), 0);
	ck_assert_int_eq(bv_state_dir_open(dir, false, false, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "writable"));
	ck_assert_int_eq(bv_state_dir_open(dir, false, true, err, sizeof(err)), -EPERM);
	ck_assert_int_eq(chmod(dir, 0702), 0);
	ck_assert_int_eq(bv_state_dir_open(dir, false, false, err, sizeof(err)), -EPERM);
	ck_assert_int_eq(bv_stop_run(dir, 100, &r), -EPERM);
	ck_assert_ptr_nonnull(strstr(r.why, "writable"));
	/* Read and search for others do no harm. */
	ck_assert_int_eq(chmod(dir, 0755), 0);
	int fd = bv_state_dir_open(dir, false, false, err, sizeof(err));
	ck_assert_int_ge(fd, 0);
	close(fd);
}
END_TEST

START_TEST(test_state_dir_refuses_symlink)
{
	struct bv_stop_report r;
	char err[256] = "", link[1024], slash[4300];

	make_dir("real");
	snprintf(link, sizeof(link), "%s/state-link-%d", bv_test_tmpdir(), (int)getpid());
	ck_assert_int_eq(symlink(dir, link), 0);
	ck_assert_int_eq(bv_state_dir_open(link, false, false, err, sizeof(err)), -ELOOP);
	ck_assert_ptr_nonnull(strstr(err, "symbolic link"));
	/* "LINK/" would make the kernel follow it whatever O_NOFOLLOW says. */
	snprintf(slash, sizeof(slash), "%s//", link);
	ck_assert_int_eq(bv_state_dir_open(slash, false, false, err, sizeof(err)), -ELOOP);
	ck_assert_int_eq(bv_state_dir_open(link, true, false, err, sizeof(err)), -ELOOP);
	ck_assert_int_eq(bv_stop_run(link, 100, &r), -ELOOP);
}
END_TEST

/* Root running `stop` on a directory another user owns (the shim on a user's view, or a
 * user's forged state aimed at root) is refused before anything is read or sent. */
START_TEST(test_stop_refuses_dir_of_another_uid_and_touches_nothing)
{
	struct bv_stop_report r;
	struct bv_state st;
	char err[256] = "", lockpath[4200];
	struct stat sb;

	if (!bv_test_is_root()) {
		bv_test_skip("test_stop_refuses_dir_of_another_uid_and_touches_nothing",
			     "needs root (chown)");
		return;
	}
	make_dir("otheruid");
	pid_t pid = fake_daemon(&(struct fake){ 0 }, NULL);
	ck_assert_int_eq(chown(dir, 4242, 4242), 0);
	ck_assert_int_eq(bv_stop_run(dir, 1000, &r), -EPERM);
	ck_assert_ptr_nonnull(strstr(r.why, "4242"));
	ck_assert(!r.was_running && !r.killed);
	/* The daemon (which obeys "stop") is untouched, and so is the directory. */
	poll(NULL, 0, 100);
	ck_assert(!pid_gone(pid));
	path_of(lockpath, sizeof(lockpath), "stop.lock");
	ck_assert_int_ne(stat(lockpath, &sb), 0);
	/* Unreadable while owned by another uid than the directory: see the owner test. */
	ck_assert_int_eq(bv_state_read(dfd, &st, NULL, NULL, err, sizeof(err)), -EBADMSG);
	ck_assert_int_eq(chown(dir, 0, 0), 0);
	ck_assert_int_eq(bv_state_read(dfd, &st, NULL, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(st.status, BV_STATE_READY);
	ck_assert_int_eq(chown(dir, 4242, 4242), 0);
	/* status may look (root reads anyone's view), stop may not. */
	int fd = bv_state_dir_open(dir, false, true, err, sizeof(err));
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(bv_state_dir_open(dir, false, false, err, sizeof(err)), -EPERM);
	reap(pid);
}
END_TEST

/* ---- the life lock ---- */

START_TEST(test_lock_held_by_daemon_and_free_after_exit)
{
	make_dir("lock");
	ck_assert(!bv_lock_life_is_held(dfd));
	pid_t pid = fake_daemon(&(struct fake){ 0 }, NULL);
	ck_assert(bv_lock_life_is_held(dfd));
	ck_assert_int_eq(bv_lock_life_take(dfd), -EWOULDBLOCK);
	ck_assert_int_eq(bv_control_send(dfd, "stop"), 0);
	waitpid(pid, NULL, 0);
	ck_assert(!bv_lock_life_is_held(dfd));
	int fd = bv_lock_life_take(dfd);
	ck_assert_int_ge(fd, 0);
	close(fd);
}
END_TEST

/* The lock is on the directory: no file in it can be removed or swapped to fake a dead
 * daemon. */
START_TEST(test_lock_survives_files_swapped)
{
	char path[4200];

	make_dir("swap");
	pid_t pid = fake_daemon(&(struct fake){ .deaf = true }, NULL);
	path_of(path, sizeof(path), "lock");
	write_file("lock", "");
	unlink(path);
	path_of(path, sizeof(path), "state.json");
	unlink(path);
	ck_assert(bv_lock_life_is_held(dfd));
	reap(pid);
}
END_TEST

START_TEST(test_lock_pid_holds_only_for_the_holder)
{
	char other[4200], err[256];
	pid_t server;

	make_dir("holds");
	pid_t pid = fake_daemon(&(struct fake){ .deaf = true, .server = true }, &server);
	ck_assert(bv_lock_pid_holds(pid, dfd));
	ck_assert(bv_lock_pid_holds(server, dfd));
	/* We have the directory open, without the lock. */
	ck_assert(!bv_lock_pid_holds(getpid(), dfd));
	pid_t by = bystander();
	ck_assert(!bv_lock_pid_holds(by, dfd));
	ck_assert(!bv_lock_pid_holds(0, dfd));
	ck_assert(!bv_lock_pid_holds(-1, dfd));
	/* Holding the lock of another view is not holding this one's. */
	snprintf(other, sizeof(other), "%s-other", dir);
	int odfd = bv_state_dir_open(other, true, false, err, sizeof(err));
	ck_assert_int_ge(odfd, 0);
	ck_assert(!bv_lock_pid_holds(pid, odfd));
	reap(by);
	reap(pid);
	reap(server);
}
END_TEST

START_TEST(test_stop_lock_refuses_fifo_and_symlink)
{
	struct bv_stop_report r;
	char path[4200];

	make_dir("stoplock");
	make_fifo("stop.lock");
	alarm(5);
	ck_assert_int_eq(bv_lock_stop_take(dfd, 0), -EINVAL);
	ck_assert_int_eq(bv_stop_run(dir, 100, &r), -EINVAL);
	ck_assert_ptr_nonnull(strstr(r.why, "stop.lock"));
	path_of(path, sizeof(path), "stop.lock");
	unlink(path);
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	ck_assert_int_eq(bv_lock_stop_take(dfd, 0), -ELOOP);
}
END_TEST

/* ---- the control FIFO ---- */

START_TEST(test_control_send_without_reader_is_enxio)
{
	make_dir("enxio");
	pid_t pid = fake_daemon(&(struct fake){ 0 }, NULL);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_int_eq(bv_control_send(dfd, "stop"), -ENXIO);
}
END_TEST

START_TEST(test_control_ignores_unknown_lines)
{
	bool stop = false;

	make_dir("lines");
	int fd = bv_control_open(dfd);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bv_control_send(dfd, "reload"), 0);
	ck_assert_int_eq(bv_control_drain(fd, &stop), 0);
	ck_assert(!stop);
	ck_assert_int_eq(bv_control_send(dfd, "stop"), 0);
	ck_assert_int_eq(bv_control_drain(fd, &stop), 0);
	ck_assert(stop);
	close(fd);
}
END_TEST

/* A regular file (or a symlink to one) as control takes no "stop" and is not replaced. */
START_TEST(test_control_that_is_a_regular_file_is_refused)
{
	char path[4200], target[4200];
	struct stat sb;

	make_dir("ctlreg");
	write_file("control", "");
	ck_assert_int_eq(bv_control_send(dfd, "stop"), -EINVAL);
	ck_assert_int_eq(bv_control_open(dfd), -EEXIST);
	path_of(path, sizeof(path), "control");
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert(S_ISREG(sb.st_mode));
	ck_assert_int_eq(sb.st_size, 0);
	unlink(path);
	path_of(target, sizeof(target), "target");
	write_file("target", "");
	ck_assert_int_eq(symlink(target, path), 0);
	ck_assert_int_eq(bv_control_send(dfd, "stop"), -EINVAL);
	ck_assert_int_eq(stat(target, &sb), 0);
	ck_assert_int_eq(sb.st_size, 0);
}
END_TEST

/* ---- mountinfo ---- */

START_TEST(test_mnt_sees_proc_not_tmp)
{
	struct bv_mnt_entry e;

	ck_assert(bv_mnt_is_mountpoint("/proc"));
	ck_assert(!bv_mnt_is_mountpoint(bv_test_tmpdir()));
	ck_assert_int_eq(bv_mnt_find("/proc", "proc", NULL, &e), 0);
	ck_assert_str_eq(e.fstype, "proc");
	ck_assert_int_eq(bv_mnt_find("/proc", "tmpfs", NULL, &e), -ENOENT);
}
END_TEST

START_TEST(test_mnt_find_matches_type_source_and_topmost)
{
	struct bv_mnt_entry e;
	char mnt[1024];

	if (!private_mounts("test_mnt_find_matches_type_source_and_topmost"))
		return;
	make_dir("mntfind");
	tmpfs_at("a dir", "bv under", mnt, sizeof(mnt));
	unsigned under = minor_of(mnt);
	ck_assert_int_eq(bv_mnt_find(mnt, "tmpfs", "bv under", &e), 0);
	ck_assert_str_eq(e.mountpoint, mnt); /* "\040" decoded */
	ck_assert_uint_eq(e.major, 0);
	ck_assert_uint_eq(e.minor, under);
	ck_assert_int_eq(bv_mnt_find(mnt, "tmpfs", "bv other", &e), -ENOENT);
	ck_assert_int_eq(bv_mnt_find(mnt, "fuse.bootviewfs", NULL, &e), -ENOENT);
	/* Another mount over it: the topmost is what an unmount by path would take. */
	ck_assert_int_eq(mount("bv over", mnt, "tmpfs", 0, "size=64k"), 0);
	ck_assert_int_eq(bv_mnt_find(mnt, NULL, NULL, &e), 0);
	ck_assert_str_eq(e.source, "bv over");
	ck_assert_int_eq(bv_mnt_find(mnt, NULL, "bv under", &e), 0);
	ck_assert_uint_eq(e.minor, under);
}
END_TEST

START_TEST(test_mnt_detach_never_follows_a_symlink)
{
	char mnt[1024], link[1024];

	if (!private_mounts("test_mnt_detach_never_follows_a_symlink"))
		return;
	make_dir("detach");
	tmpfs_at("m", "bv-detach", mnt, sizeof(mnt));
	path_of(link, sizeof(link), "link");
	ck_assert_int_eq(symlink(mnt, link), 0);
	ck_assert_int_ne(bv_mnt_detach(link), 0);
	ck_assert(bv_mnt_is_mountpoint(mnt));
	ck_assert_int_eq(bv_mnt_detach(mnt), 0);
	ck_assert(!bv_mnt_is_mountpoint(mnt));
}
END_TEST

/* Without the privilege to unmount, detach falls back to fusermount3, which refuses a
 * mount the caller does not own: the mount stays. */
START_TEST(test_mnt_detach_unprivileged_falls_back_and_is_refused)
{
	char mnt[1024];
	int status;

	if (!private_mounts("test_mnt_detach_unprivileged_falls_back_and_is_refused"))
		return;
	/* Where uid 65534 may look: the scratch directory is root's alone. */
	snprintf(mnt, sizeof(mnt), "/tmp/bv-unpriv-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(mnt));
	ck_assert_int_eq(chmod(mnt, 0755), 0);
	ck_assert_int_eq(mount("bv-unpriv", mnt, "tmpfs", 0, "size=64k"), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (setgid(65534) || setuid(65534) || null < 0 || dup2(null, 2) < 0)
			_exit(3); /* (fusermount3's refusal goes to /dev/null) */
		_exit(bv_mnt_detach(mnt) == -EPERM ? 0 : 1);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert(bv_mnt_is_mountpoint(mnt));
	ck_assert_int_eq(umount(mnt), 0);
	rmdir(mnt);
}
END_TEST

/* ---- the stop ladder ---- */

START_TEST(test_stop_absent_dir_succeeds)
{
	struct bv_stop_report r;
	char path[4200];

	snprintf(path, sizeof(path), "%s/never-made", bv_test_tmpdir());
	ck_assert_int_eq(bv_stop_run(path, 100, &r), 0);
	ck_assert(!r.was_running);
}
END_TEST

START_TEST(test_stop_graceful_daemon_exits_and_state_stopped)
{
	struct bv_stop_report r;
	struct bv_state st;
	char err[256];
	int status;

	make_dir("graceful");
	pid_t pid = fake_daemon(&(struct fake){ 0 }, NULL);
	ck_assert_int_eq(bv_stop_run(dir, 5000, &r), 0);
	ck_assert(r.was_running);
	ck_assert(r.graceful);
	ck_assert(!r.killed);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(bv_state_read(dfd, &st, NULL, NULL, err, sizeof(err)), 0);
	ck_assert_int_eq(st.status, BV_STATE_STOPPED);
	/* Idempotent: again, nothing to do, still success. */
	ck_assert_int_eq(bv_stop_run(dir, 100, &r), 0);
	ck_assert(!r.was_running);
}
END_TEST

/* The daemon that does hold the lock and ignores "stop" is killed, both its processes. */
START_TEST(test_stop_kills_deaf_lock_holders_through_pidfd)
{
	struct bv_stop_report r;
	pid_t server;
	int status;

	make_dir("deaf");
	pid_t pid = fake_daemon(&(struct fake){ .deaf = true, .server = true }, &server);
	ck_assert_int_gt(server, 0);
	ck_assert_int_eq(bv_stop_run(dir, 200, &r), 0);
	ck_assert(r.was_running);
	ck_assert(!r.graceful);
	ck_assert(r.killed);
	ck_assert(!r.refused_kill);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ck_assert_int_eq(waitpid(server, &status, 0), server);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ck_assert(!bv_lock_life_is_held(dfd));
}
END_TEST

/* state.json names an unrelated live process with its real start time and boot id (the
 * old ladder's whole proof): it is never signalled, whether the lock is free or held by
 * someone state.json does not name. */
START_TEST(test_stop_never_signals_a_pid_that_does_not_hold_the_lock)
{
	struct bv_stop_report r;
	struct bv_state st;

	make_dir("forged");
	pid_t victim = bystander();
	state_forge(&st, victim);
	st.server_pid = victim;
	ck_assert_int_eq(bv_state_write(dfd, &st), 0);
	ck_assert_int_eq(bv_stop_run(dir, 100, &r), 0);
	ck_assert(!r.killed);
	ck_assert(!pid_gone(victim));

	/* Now a deaf daemon holds the lock but state.json names the victim. */
	pid_t holder = fake_daemon(&(struct fake){ .deaf = true, .record = victim }, NULL);
	ck_assert_int_eq(bv_stop_run(dir, 200, &r), -EBUSY);
	ck_assert(r.was_running);
	ck_assert(r.refused_kill);
	ck_assert(!r.killed);
	ck_assert_ptr_nonnull(strstr(r.why, "not"));
	poll(NULL, 0, 50);
	ck_assert(!pid_gone(victim));
	ck_assert(!pid_gone(holder));
	reap(victim);
	reap(holder);
}
END_TEST

START_TEST(test_two_stops_at_once_both_succeed)
{
	int status;

	make_dir("twice");
	pid_t daemon = fake_daemon(&(struct fake){ 0 }, NULL);
	pid_t a = fork();
	if (a == 0) {
		struct bv_stop_report r;
		_exit(bv_stop_run(dir, 5000, &r) == 0 ? 0 : 1);
	}
	struct bv_stop_report r;
	int mine = bv_stop_run(dir, 5000, &r);
	ck_assert_int_eq(waitpid(a, &status, 0), a);
	ck_assert_int_eq(mine, 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(waitpid(daemon, &status, 0), daemon);
	ck_assert(!bv_lock_life_is_held(dfd));
}
END_TEST

START_TEST(test_stop_with_corrupt_state_still_stops_daemon)
{
	struct bv_stop_report r;

	make_dir("corrupt");
	pid_t pid = fake_daemon(&(struct fake){ 0 }, NULL);
	write_file("state.json", "{ garbage");
	ck_assert_int_eq(bv_stop_run(dir, 5000, &r), 0);
	ck_assert(r.graceful);
	waitpid(pid, NULL, 0);
}
END_TEST

/* A FIFO as state.json must not hang stop; the daemon still gets its "stop". */
START_TEST(test_stop_with_fifo_state_does_not_block)
{
	struct bv_stop_report r;
	char path[4200];

	make_dir("fifostop");
	pid_t pid = fake_daemon(&(struct fake){ 0 }, NULL);
	path_of(path, sizeof(path), "state.json");
	unlink(path);
	make_fifo("state.json");
	alarm(10);
	ck_assert_int_eq(bv_stop_run(dir, 5000, &r), 0);
	ck_assert(r.graceful);
	waitpid(pid, NULL, 0);
	/* Nothing to rewrite: the FIFO is left as it was. */
	struct stat sb;
	ck_assert_int_eq(lstat(path, &sb), 0);
	ck_assert(S_ISFIFO(sb.st_mode));
}
END_TEST

/* rmdir only of a directory the view created, still the same one, with nothing on it. */
START_TEST(test_stop_removes_only_the_created_directory)
{
	struct bv_stop_report r;
	struct bv_state st;
	char mnt[1024], link[1024];
	struct stat sb;

	make_dir("rmdir");
	path_of(mnt, sizeof(mnt), "rootfs");
	ck_assert_int_eq(mkdir(mnt, 0755), 0);
	ck_assert_int_eq(stat(mnt, &sb), 0);

	/* Not created by the view (an empty directory, no lock): kept. */
	state_forge(&st, 0);
	snprintf(st.mountpoint, sizeof(st.mountpoint), "%s", mnt);
	st.mountpoint_dev = sb.st_dev;
	st.mountpoint_ino = sb.st_ino;
	ck_assert_int_eq(bv_state_write(dfd, &st), 0);
	ck_assert_int_eq(bv_stop_run(dir, 100, &r), 0);
	ck_assert(!r.mountpoint_removed);
	ck_assert_int_eq(stat(mnt, &sb), 0);

	/* Created, but replaced since by another directory: kept. (The old one is moved
	 * aside, not removed, so the new one cannot reuse its inode number.) */
	st.status = BV_STATE_READY;
	st.mountpoint_created = true;
	path_of(link, sizeof(link), "rootfs-old");
	ck_assert_int_eq(rename(mnt, link), 0);
	ck_assert_int_eq(mkdir(mnt, 0755), 0);
	ck_assert_int_eq(stat(mnt, &sb), 0);
	ck_assert(sb.st_ino != st.mountpoint_ino);
	ck_assert_int_eq(bv_state_write(dfd, &st), 0);
	ck_assert_int_eq(bv_stop_run(dir, 100, &r), 0);
	ck_assert(!r.mountpoint_removed);
	ck_assert_int_eq(stat(mnt, &sb), 0);

	/* A symlink to the very directory it recorded: not followed. */
	st.mountpoint_dev = sb.st_dev;
	st.mountpoint_ino = sb.st_ino;
	path_of(link, sizeof(link), "rootfs-link");
	ck_assert_int_eq(symlink(mnt, link), 0);
	snprintf(st.mountpoint, sizeof(st.mountpoint), "%s", link);
	ck_assert_int_eq(bv_state_write(dfd, &st), 0);
	ck_assert_int_eq(bv_stop_run(dir, 100, &r), 0);
	ck_assert(!r.mountpoint_removed);
	ck_assert_int_eq(stat(mnt, &sb), 0);

	/* Created and still the same: removed. */
	snprintf(st.mountpoint, sizeof(st.mountpoint), "%s", mnt);
	ck_assert_int_eq(bv_state_write(dfd, &st), 0);
	ck_assert_int_eq(bv_stop_run(dir, 100, &r), 0);
	ck_assert(r.mountpoint_removed);
	ck_assert_int_ne(stat(mnt, &sb), 0);
}
END_TEST

/* state.json names an unrelated tmpfs as the view's mount, with its connection number:
 * mountinfo does not show it as the view's (type, source), so it is neither unmounted,
 * aborted nor removed, even while a lock holder makes the ladder run every rung. */
START_TEST(test_stop_leaves_an_unrelated_mount_alone)
{
	struct bv_stop_report r;
	struct bv_state st;
	char mnt[1024], err[256];
	struct stat sb;

	if (!private_mounts("test_stop_leaves_an_unrelated_mount_alone"))
		return;
	make_dir("tmpfs");
	tmpfs_at("rootfs", "tmpfs", mnt, sizeof(mnt));
	ck_assert_int_eq(stat(mnt, &sb), 0);
	pid_t pid = fake_daemon(&(struct fake){ .deaf = true }, NULL);
	const char *types[][2] = {
		{ "fuse.bootviewfs", "bootviewfs:c1" }, /* the view's own words */
		{ "", "" },                              /* the old format */
		{ "tmpfs", "tmpfs" },                    /* the tmpfs's: not a FUSE mount */
	};
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_int_eq(bv_state_read(dfd, &st, NULL, NULL, err, sizeof(err)), 0);
		snprintf(st.mountpoint, sizeof(st.mountpoint), "%s", mnt);
		st.fuse_conn = (int)minor(sb.st_dev);
		st.mountpoint_created = true;
		st.mountpoint_dev = sb.st_dev;
		st.mountpoint_ino = sb.st_ino;
		snprintf(st.fstype, sizeof(st.fstype), "%s", types[i][0]);
		snprintf(st.fsname, sizeof(st.fsname), "%s", types[i][1]);
		st.status = BV_STATE_READY;
		ck_assert_int_eq(bv_state_write(dfd, &st), 0);
		int rc = bv_stop_run(dir, 100, &r);
		ck_assert_msg(!r.lazy_unmounted && !r.aborted && !r.mountpoint_removed,
			      "case %u touched the tmpfs", i);
		ck_assert(bv_mnt_find(mnt, "tmpfs", "tmpfs", &(struct bv_mnt_entry){ 0 }) == 0);
		if (i == 0) {
			/* The lock holder, named by state.json, is killed: the rest is left. */
			ck_assert_int_eq(rc, 0);
			ck_assert(r.killed);
			waitpid(pid, NULL, 0);
		}
	}
	ck_assert_int_eq(umount(mnt), 0);
}
END_TEST

/* A FUSE mount with no server yet: /dev/fuse opened and mounted with its fd, as
 * fusermount3 does, with the type and source a view has. Nothing may stat it (INIT is
 * never answered); the ladder must not need to. Returns the /dev/fuse fd; the
 * connection number (the mount's minor) in *CONN. */
static int fuse_fake_mount(const char *mnt, const char *fsname, unsigned *conn)
{
	struct bv_mnt_entry e;
	char opts[128];
	int fd = open("/dev/fuse", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", fd);
	ck_assert_int_eq(mount(fsname, mnt, "fuse.bootviewfs", MS_NOSUID | MS_NODEV, opts), 0);
	ck_assert_int_eq(bv_mnt_find(mnt, "fuse.bootviewfs", fsname, &e), 0);
	ck_assert_uint_eq(e.major, 0);
	*conn = e.minor;
	return fd;
}

/* True while the FUSE connection behind FD is alive: its INIT request is still there to
 * read (an aborted connection reads ENODEV). */
static bool fuse_conn_alive(int fd)
{
	static char buf[1 << 17];

	return read(fd, buf, sizeof(buf)) > 0 || errno == EAGAIN;
}

static bool have_dev_fuse(const char *test)
{
	if (access("/dev/fuse", R_OK | W_OK) != 0) {
		bv_test_skip(test, "no /dev/fuse");
		return false;
	}
	return true;
}

/* Rewrites state.json as a view whose mount is the FUSE mount at MNT (directory SB, made
 * by the view) with source FSNAME and connection CONN. */
static void state_names_fuse_view(const char *mnt, const struct stat *sb, const char *fsname,
				  unsigned conn)
{
	struct bv_state st;
	char err[256];

	ck_assert_int_eq(bv_state_read(dfd, &st, NULL, NULL, err, sizeof(err)), 0);
	snprintf(st.mountpoint, sizeof(st.mountpoint), "%s", mnt);
	st.mountpoint_created = true;
	st.mountpoint_dev = sb->st_dev;
	st.mountpoint_ino = sb->st_ino;
	snprintf(st.fsname, sizeof(st.fsname), "%s", fsname);
	snprintf(st.fstype, sizeof(st.fstype), "fuse.bootviewfs");
	st.fuse_conn = (int)conn;
	ck_assert_int_eq(bv_state_write(dfd, &st), 0);
}

/* The view's own mount, as mountinfo shows it (type, source, connection), with a deaf
 * daemon holding the lock and the connection: every rung runs, each on what it proved. */
START_TEST(test_stop_unmounts_aborts_and_kills_the_view_mountinfo_shows)
{
	struct bv_stop_report r;
	char mnt[1024];
	struct stat sb;
	unsigned conn;
	int status;

	if (!private_mounts("test_stop_unmounts_aborts_and_kills_the_view_mountinfo_shows") ||
	    !have_dev_fuse("test_stop_unmounts_aborts_and_kills_the_view_mountinfo_shows"))
		return;
	make_dir("viewmnt");
	path_of(mnt, sizeof(mnt), "rootfs");
	ck_assert_int_eq(mkdir(mnt, 0755), 0);
	ck_assert_int_eq(stat(mnt, &sb), 0);
	int fuse = fuse_fake_mount(mnt, "bootviewfs:c1", &conn);
	pid_t pid = fake_daemon(&(struct fake){ .deaf = true }, NULL);
	close(fuse); /* the daemon holds the connection now */
	state_names_fuse_view(mnt, &sb, "bootviewfs:c1", conn);
	ck_assert_int_eq(bv_stop_run(dir, 200, &r), 0);
	ck_assert(r.lazy_unmounted);
	ck_assert(r.aborted);
	ck_assert(r.killed);
	ck_assert(r.mountpoint_removed);
	ck_assert(!bv_mnt_is_mountpoint(mnt));
	ck_assert_int_ne(lstat(mnt, &sb), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}
END_TEST

/* View A's state.json names view B's mountpoint and connection (with A's own type and
 * source): B is another live view, and stays mounted and connected. */
START_TEST(test_stop_leaves_another_live_view_alone)
{
	struct bv_stop_report r;
	char mnt[1024];
	struct stat sb;
	unsigned conn;

	if (!private_mounts("test_stop_leaves_another_live_view_alone") ||
	    !have_dev_fuse("test_stop_leaves_another_live_view_alone"))
		return;
	make_dir("otherview");
	path_of(mnt, sizeof(mnt), "rootfs-b");
	ck_assert_int_eq(mkdir(mnt, 0755), 0);
	ck_assert_int_eq(stat(mnt, &sb), 0);
	int fuse_b = fuse_fake_mount(mnt, "bootviewfs:b", &conn);
	pid_t pid = fake_daemon(&(struct fake){ .deaf = true }, NULL);
	state_names_fuse_view(mnt, &sb, "bootviewfs:a", conn);
	ck_assert_int_eq(bv_stop_run(dir, 200, &r), 0);
	ck_assert(r.killed); /* A's own daemon */
	ck_assert(!r.lazy_unmounted && !r.aborted && !r.mountpoint_removed);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	ck_assert_int_eq(bv_mnt_find(mnt, "fuse.bootviewfs", "bootviewfs:b",
				     &(struct bv_mnt_entry){ 0 }),
			 0);
	ck_assert(fuse_conn_alive(fuse_b));
	ck_assert_int_eq(umount2(mnt, MNT_DETACH), 0);
	close(fuse_b);
}
END_TEST

static Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("state");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_state_roundtrip_keeps_every_field);
	tcase_add_test(tc, test_state_read_ignores_unknown_fields);
	tcase_add_test(tc, test_state_read_refuses_out_of_range_numbers);
	tcase_add_test(tc, test_state_read_rejects_truncated_file);
	tcase_add_test(tc, test_state_read_rejects_non_object);
	tcase_add_test(tc, test_state_read_missing_is_enoent);
	tcase_add_test(tc, test_state_read_error_quotes_no_content);
	tcase_add_test(tc, test_state_read_raw_is_the_file);
	tcase_add_test(tc, test_state_read_refuses_fifo_without_blocking);
	tcase_add_test(tc, test_state_read_refuses_symlink);
	tcase_add_test(tc, test_state_read_refuses_foreign_owner_and_hard_link);
	tcase_add_test(tc, test_state_temp_names_are_not_predictable);
	tcase_add_test(tc, test_state_dir_is_private);
	tcase_add_test(tc, test_state_dir_refuses_group_or_other_writable);
	tcase_add_test(tc, test_state_dir_refuses_symlink);
	tcase_add_test(tc, test_stop_refuses_dir_of_another_uid_and_touches_nothing);
	tcase_add_test(tc, test_lock_held_by_daemon_and_free_after_exit);
	tcase_add_test(tc, test_lock_survives_files_swapped);
	tcase_add_test(tc, test_lock_pid_holds_only_for_the_holder);
	tcase_add_test(tc, test_stop_lock_refuses_fifo_and_symlink);
	tcase_add_test(tc, test_control_send_without_reader_is_enxio);
	tcase_add_test(tc, test_control_ignores_unknown_lines);
	tcase_add_test(tc, test_control_that_is_a_regular_file_is_refused);
	tcase_add_test(tc, test_mnt_sees_proc_not_tmp);
	tcase_add_test(tc, test_mnt_find_matches_type_source_and_topmost);
	tcase_add_test(tc, test_mnt_detach_never_follows_a_symlink);
	tcase_add_test(tc, test_mnt_detach_unprivileged_falls_back_and_is_refused);
	tcase_add_test(tc, test_stop_absent_dir_succeeds);
	tcase_add_test(tc, test_stop_graceful_daemon_exits_and_state_stopped);
	tcase_add_test(tc, test_stop_kills_deaf_lock_holders_through_pidfd);
	tcase_add_test(tc, test_stop_never_signals_a_pid_that_does_not_hold_the_lock);
	tcase_add_test(tc, test_two_stops_at_once_both_succeed);
	tcase_add_test(tc, test_stop_with_corrupt_state_still_stops_daemon);
	tcase_add_test(tc, test_stop_with_fifo_state_does_not_block);
	tcase_add_test(tc, test_stop_removes_only_the_created_directory);
	tcase_add_test(tc, test_stop_leaves_an_unrelated_mount_alone);
	tcase_add_test(tc, test_stop_unmounts_aborts_and_kills_the_view_mountinfo_shows);
	tcase_add_test(tc, test_stop_leaves_another_live_view_alone);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(state_suite)
