/* state/: state.json, the lock, the control FIFO and the stop ladder, against fake daemons
 * (forked children that hold the lock and the FIFO the way the real daemon does). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "state/control.h"
#include "state/lock.h"
#include "state/proc.h"
#include "state/state.h"
#include "state/stop.h"
#include "tests/testutil.h"

static char dir[4096];

static void make_dir(const char *name)
{
	snprintf(dir, sizeof(dir), "%s/state-%s-%d", bv_test_tmpdir(), name, (int)getpid());
	ck_assert_int_eq(bv_state_dir_make(dir), 0);
}

static void write_file(const char *name, const char *text)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

START_TEST(test_state_roundtrip_keeps_every_field)
{
	struct bv_state st, back;
	char err[256];

	make_dir("roundtrip");
	bv_state_init(&st);
	st.status = BV_STATE_READY;
	st.pid = 4242;
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
	st.fuse_conn = 61;
	st.nartifacts = 2;
	strcpy(st.artifacts[0].path, "/unikernel/kernel");
	st.artifacts[0].size = 64 << 20;
	st.artifacts[0].ino = 12;
	strcpy(st.artifacts[1].path, "/urunc.json");
	st.artifacts[1].size = 321;
	st.artifacts[1].ino = 13;
	ck_assert_int_eq(bv_state_write(dir, &st), 0);
	ck_assert_int_eq(bv_state_read(dir, &back, err, sizeof(err)), 0);
	ck_assert_int_eq(back.status, BV_STATE_READY);
	ck_assert_int_eq(back.pid, 4242);
	ck_assert_uint_eq(back.start_time, 123456789);
	ck_assert_str_eq(back.boot_id, st.boot_id);
	ck_assert_str_eq(back.source.dm_target, "thin");
	ck_assert_uint_eq(back.source.size, 1ull << 40);
	ck_assert_uint_eq(back.source.major, 253);
	ck_assert_str_eq(back.fs.uuid, st.fs.uuid);
	ck_assert_str_eq(back.mountpoint, "/run/x/rootfs view");
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
	ck_assert_int_eq(bv_state_read(dir, &st, err, sizeof(err)), 0);
	ck_assert_int_eq(st.status, BV_STATE_STOPPING);
	ck_assert_int_eq(st.pid, 77);
	ck_assert_str_eq(st.fs.type, "ext2");
	ck_assert_int_eq(st.fuse_conn, -1);
}
END_TEST

START_TEST(test_state_read_rejects_truncated_file)
{
	struct bv_state st;
	char err[256] = "";

	make_dir("truncated");
	write_file("state.json", "{\"version\": 1, \"status\": \"rea");
	ck_assert_int_eq(bv_state_read(dir, &st, err, sizeof(err)), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(err, "corrupt"));
}
END_TEST

START_TEST(test_state_read_rejects_non_object)
{
	struct bv_state st;
	char err[256] = "";

	make_dir("array");
	write_file("state.json", "[1, 2, 3]");
	ck_assert_int_eq(bv_state_read(dir, &st, err, sizeof(err)), -EBADMSG);
}
END_TEST

START_TEST(test_state_read_missing_is_enoent)
{
	struct bv_state st;
	char err[256];

	make_dir("missing");
	ck_assert_int_eq(bv_state_read(dir, &st, err, sizeof(err)), -ENOENT);
}
END_TEST

START_TEST(test_state_dir_is_private)
{
	struct stat sb;

	make_dir("mode");
	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0700);
}
END_TEST

START_TEST(test_proc_start_time_of_self_and_child_differ)
{
	uint64_t mine, child;
	char boot[40];
	pid_t pid = fork();

	if (pid == 0) {
		pause();
		_exit(0);
	}
	ck_assert_int_eq(bv_proc_start_time(getpid(), &mine), 0);
	ck_assert_int_eq(bv_proc_start_time(pid, &child), 0);
	ck_assert_uint_ge(child, mine);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_int_eq(bv_proc_start_time(pid, &child), -ENOENT);
	ck_assert_int_eq(bv_proc_boot_id(boot), 0);
	ck_assert_uint_eq(strlen(boot), 36);
}
END_TEST

/* A fake daemon: takes the lock, opens the FIFO, writes state.json, tells the parent it is
 * ready through a pipe, then obeys "stop" unless DEAF. */
static pid_t fake_daemon(bool deaf, bool wrong_start_time)
{
	int ready[2];
	char c;

	ck_assert_int_eq(pipe(ready), 0);
	pid_t pid = fork();
	if (pid == 0) {
		int lock = bv_lock_take(dir, "lock", 0);
		int ctl = bv_control_open(dir);
		struct bv_state st;
		if (lock < 0 || ctl < 0)
			_exit(3);
		bv_state_init(&st);
		st.status = BV_STATE_READY;
		st.pid = getpid();
		bv_proc_start_time(st.pid, &st.start_time);
		if (wrong_start_time)
			st.start_time += 1000; /* as if the pid now belonged to another process */
		bv_proc_boot_id(st.boot_id);
		bv_state_write(dir, &st);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		for (;;) {
			struct pollfd p = { .fd = ctl, .events = POLLIN };
			bool stop = false;
			if (poll(&p, 1, -1) > 0 && !deaf)
				bv_control_drain(ctl, &stop);
			if (stop)
				_exit(0);
			if (deaf)
				pause();
		}
	}
	close(ready[1]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

START_TEST(test_lock_held_by_daemon_and_free_after_exit)
{
	make_dir("lock");
	ck_assert(!bv_lock_is_held(dir, "lock"));
	pid_t pid = fake_daemon(false, false);
	ck_assert(bv_lock_is_held(dir, "lock"));
	ck_assert_int_eq(bv_lock_take(dir, "lock", 0), -EWOULDBLOCK);
	ck_assert_int_eq(bv_control_send(dir, "stop"), 0);
	waitpid(pid, NULL, 0);
	ck_assert(!bv_lock_is_held(dir, "lock"));
}
END_TEST

START_TEST(test_control_send_without_reader_is_enxio)
{
	make_dir("enxio");
	pid_t pid = fake_daemon(false, false);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_int_eq(bv_control_send(dir, "stop"), -ENXIO);
}
END_TEST

START_TEST(test_control_ignores_unknown_lines)
{
	bool stop = false;

	make_dir("lines");
	int fd = bv_control_open(dir);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bv_control_send(dir, "reload"), 0);
	ck_assert_int_eq(bv_control_drain(fd, &stop), 0);
	ck_assert(!stop);
	ck_assert_int_eq(bv_control_send(dir, "stop"), 0);
	ck_assert_int_eq(bv_control_drain(fd, &stop), 0);
	ck_assert(stop);
	close(fd);
}
END_TEST

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
	pid_t pid = fake_daemon(false, false);
	ck_assert_int_eq(bv_stop_run(dir, 5000, &r), 0);
	ck_assert(r.was_running);
	ck_assert(r.graceful);
	ck_assert(!r.killed);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(bv_state_read(dir, &st, err, sizeof(err)), 0);
	ck_assert_int_eq(st.status, BV_STATE_STOPPED);
	/* Idempotent: again, nothing to do, still success. */
	ck_assert_int_eq(bv_stop_run(dir, 100, &r), 0);
	ck_assert(!r.was_running);
}
END_TEST

START_TEST(test_stop_kills_deaf_daemon_through_pidfd)
{
	struct bv_stop_report r;
	int status;

	make_dir("deaf");
	pid_t pid = fake_daemon(true, false);
	ck_assert_int_eq(bv_stop_run(dir, 200, &r), 0);
	ck_assert(!r.graceful);
	ck_assert(r.killed);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}
END_TEST

START_TEST(test_stop_never_signals_reused_pid)
{
	struct bv_stop_report r;
	int status;

	make_dir("reuse");
	pid_t pid = fake_daemon(true, true);
	ck_assert_int_eq(bv_stop_run(dir, 200, &r), -EBUSY);
	ck_assert(r.refused_kill);
	ck_assert(!r.killed);
	/* Still alive: the stop did not signal it. */
	ck_assert_int_eq(waitpid(pid, &status, WNOHANG), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
END_TEST

START_TEST(test_two_stops_at_once_both_succeed)
{
	int status;

	make_dir("twice");
	pid_t daemon = fake_daemon(false, false);
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
	ck_assert(!bv_lock_is_held(dir, "lock"));
}
END_TEST

START_TEST(test_stop_with_corrupt_state_still_stops_daemon)
{
	struct bv_stop_report r;

	make_dir("corrupt");
	pid_t pid = fake_daemon(false, false);
	write_file("state.json", "{ garbage");
	ck_assert_int_eq(bv_stop_run(dir, 5000, &r), 0);
	ck_assert(r.graceful);
	waitpid(pid, NULL, 0);
}
END_TEST

START_TEST(test_is_mounted_sees_proc_not_tmp)
{
	ck_assert(bv_is_mounted("/proc"));
	ck_assert(!bv_is_mounted(bv_test_tmpdir()));
}
END_TEST

static Suite *state_suite(void)
{
	Suite *s = suite_create("state");
	TCase *tc = tcase_create("state");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_state_roundtrip_keeps_every_field);
	tcase_add_test(tc, test_state_read_ignores_unknown_fields);
	tcase_add_test(tc, test_state_read_rejects_truncated_file);
	tcase_add_test(tc, test_state_read_rejects_non_object);
	tcase_add_test(tc, test_state_read_missing_is_enoent);
	tcase_add_test(tc, test_state_dir_is_private);
	tcase_add_test(tc, test_proc_start_time_of_self_and_child_differ);
	tcase_add_test(tc, test_lock_held_by_daemon_and_free_after_exit);
	tcase_add_test(tc, test_control_send_without_reader_is_enxio);
	tcase_add_test(tc, test_control_ignores_unknown_lines);
	tcase_add_test(tc, test_stop_absent_dir_succeeds);
	tcase_add_test(tc, test_stop_graceful_daemon_exits_and_state_stopped);
	tcase_add_test(tc, test_stop_kills_deaf_daemon_through_pidfd);
	tcase_add_test(tc, test_stop_never_signals_reused_pid);
	tcase_add_test(tc, test_two_stops_at_once_both_succeed);
	tcase_add_test(tc, test_stop_with_corrupt_state_still_stops_daemon);
	tcase_add_test(tc, test_is_mounted_sees_proc_not_tmp);
	suite_add_tcase(s, tc);
	return s;
}
BV_SUITE(state_suite)
