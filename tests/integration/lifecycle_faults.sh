#!/usr/bin/env bash
# The fault matrix: whatever happens to the daemon or its starter, `bootviewfs stop` leaves
# nothing behind: no mount in /proc/self/mountinfo, no daemon, the image closed, the
# mountpoint removed if the view made it (kept otherwise), state "stopped". Each case runs
# 3 times:
#   kill-starting   SIGKILL while the daemon is starting (held on a FIFO mounts JSON)
#   stop-starting   `stop --timeout 1` while it is starting: the ladder's pidfd kill
#   stop-queued     `stop` sent while it is starting is obeyed once it serves
#   kill-at-ready   SIGKILL as soon as the ready line arrives
#   kill-serving    SIGKILL after reading through the mount
#   kill-reader     SIGKILL while a reader is mid-file (dd blocked on a full pipe)
#   kill-bind       SIGKILL while a bind mount of an artifact exists
#   stop-reader     graceful stop while a reader is mid-file
#   stop-bind       graceful stop while a bind mount of an artifact exists
#   kill-starter    the starter's process group is killed while the daemon starts: the
#                   daemon lives on, becomes ready, serves, and stops normally
#   sigterm         SIGTERM: the daemon stops by itself; `stop` then removes the mountpoint
# Then: two stops at once, a corrupt state.json, stop of an absent directory, stale state.json whose pid is a
# live process that does not hold the view's lock (never signalled), and a reader blocked in
# the mount (daemon frozen) that must not make stop overrun its timeout.
# A bind mount of the view outlives the daemon (the kernel keeps it, dead): the stop ladder
# can only detach the view itself, so the test, like a shim, unmounts its own binds.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lifecycle.sh"
make_image

n=0
# new_view: fresh bundle paths in $sd and $mnt.
new_view() {
	n=$((n + 1))
	sd=$tmp/v$n/bootviewfs mnt=$tmp/v$n/rootfs-view-mount
	mkdir -p "$mnt"
	_views+=("$sd")
}
# ready_view: a view started with a ready pipe; $pid is the daemon.
ready_view() {
	new_view
	line=$(start_view --state-dir "$sd" --require /unikernel/kernel "$@" "$img" "$mnt")
	[ "$(json_get "$line" status 2>/dev/null)" = ready ] || {
		fail "$case: start: $line $(cat "$tmp/start.err")"
		return 1
	}
	pid=$(json_get "$line" pid)
}
# held_view: a view whose daemon is blocked reading a FIFO mounts JSON ($fifo), started by
# $starter (with setsid when $1 is "setsid").
held_view() {
	new_view
	fifo=$tmp/v$n/mounts.fifo
	mkfifo "$fifo"
	if [ "${1:-}" = setsid ]; then
		setsid "$bin" --state-dir "$sd" --mounts-json "$fifo" "$mnt" 2>>"$tmp/held.err" &
	else
		"$bin" --state-dir "$sd" --mounts-json "$fifo" "$mnt" 2>>"$tmp/held.err" &
	fi
	starter=$!
	_pids+=("$starter")
	poll 10 state_is "$sd" starting || { fail "$case: never reached starting"; return 1; }
	pid=$(state_get "$sd" pid)
}
# reader_mid_file: dd reading the kernel through the mount, stuck on a pipe nobody drains.
reader_mid_file() {
	rm -f "$tmp/slow"
	mkfifo "$tmp/slow"
	exec 7<>"$tmp/slow"
	dd if="$mnt/unikernel/kernel" of="$tmp/slow" bs=4096 status=none 2>/dev/null &
	ddpid=$!
	_pids+=("$ddpid")
	poll 10 dd_started || fail "$case: dd never started reading"
}
# True once a "stop" waits in the FIFO of $sd (FIONREAD through python).
stop_queued() {
	python3 - "$sd/control" <<'PY'
import fcntl, os, struct, sys, termios
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
n = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
sys.exit(0 if n > 0 else 1)
PY
}
dd_started() { [ "$(awk '/^pos/ {print $2}' /proc/$ddpid/fdinfo/0 2>/dev/null)" -gt 0 ] 2>/dev/null; }
reader_end() {
	kill -KILL "$ddpid" 2>/dev/null
	wait "$ddpid" 2>/dev/null
	exec 7>&-
}
bind_artifact() {
	bindk=$tmp/v$n/bind-kernel
	touch "$bindk"
	_binds+=("$bindk")
	mount --bind "$mnt/unikernel/kernel" "$bindk" || fail "$case: bind mount"
	cmp -s "$kernel_src" "$bindk" || fail "$case: bind mount reads wrong"
}
stop_view() {
	local rc
	timeout 60 "$bin" stop --state-dir "$sd"
	rc=$?
	[ $rc -eq 0 ] || fail "$case: stop exit $rc"
}

for round in 1 2 3; do
	case=kill-starting
	if held_view; then
		kill -KILL "$pid"
		wait "$starter"
		rc=$?
		[ $rc -ne 0 ] || fail "$case: starter exit 0 though the daemon died"
		stop_view
		check_clean "$case" "$sd" "$mnt" "$pid"
		ok "$case ($round)"
	fi

	case=stop-starting
	if held_view; then
		timeout 60 "$bin" stop --state-dir "$sd" --timeout 1 || fail "$case: stop exit $?"
		wait "$starter"
		[ $? -ne 0 ] || fail "$case: starter exit 0 though the daemon never served"
		check_clean "$case" "$sd" "$mnt" "$pid"
		ok "$case ($round)"
	fi

	case=stop-queued
	if held_view; then
		[ -p "$sd/control" ] || fail "$case: no control FIFO while starting"
		timeout 60 "$bin" stop --state-dir "$sd" --timeout 30 & stopper=$!
		poll 10 stop_queued || fail "$case: stop never wrote to the FIFO"
		mounts_json "$fifo"
		wait $stopper || fail "$case: stop exit $?"
		wait "$starter"
		check_clean "$case" "$sd" "$mnt" "$pid"
		grep -q '"stop" on the control FIFO' "$sd/log" && grep -q 'stopped: .* closed' "$sd/log" ||
			fail "$case: the daemon did not obey the queued stop: $(cat "$sd/log")"
		ok "$case ($round)"
	fi

	case=kill-at-ready
	if ready_view; then
		kill -KILL "$pid"
		stop_view
		check_clean "$case" "$sd" "$mnt" "$pid"
		ok "$case ($round)"
	fi

	case=kill-serving
	if ready_view; then
		cmp -s "$kernel_src" "$mnt/unikernel/kernel" || fail "$case: kernel differs"
		kill -KILL "$pid"
		stop_view
		check_clean "$case" "$sd" "$mnt" "$pid"
		ok "$case ($round)"
	fi

	case=kill-reader
	if ready_view; then
		reader_mid_file
		kill -KILL "$pid"
		stop_view
		check_clean "$case" "$sd" "$mnt" "$pid"
		reader_end
		ok "$case ($round)"
	fi

	case=kill-bind
	if ready_view; then
		bind_artifact
		kill -KILL "$pid"
		stop_view
		umount -l "$bindk" || fail "$case: umount of the dead bind"
		check_clean "$case" "$sd" "$mnt" "$pid"
		ok "$case ($round)"
	fi

	case=stop-reader
	if ready_view; then
		reader_mid_file
		stop_view
		check_clean "$case" "$sd" "$mnt" "$pid"
		grep -q '"stop" on the control FIFO' "$sd/log" && grep -q 'stopped: .* closed' "$sd/log" ||
			fail "$case: the daemon did not stop by itself: $(cat "$sd/log")"
		reader_end
		ok "$case ($round)"
	fi

	case=stop-bind
	if ready_view; then
		bind_artifact
		stop_view
		check_clean "$case" "$sd" "$mnt" "$pid"
		grep -q '"stop" on the control FIFO' "$sd/log" && grep -q 'stopped: .* closed' "$sd/log" ||
			fail "$case: the daemon did not stop by itself: $(cat "$sd/log")"
		umount -l "$bindk" || fail "$case: umount of the bind"
		ok "$case ($round)"
	fi

	case=kill-starter
	if held_view setsid; then
		kill -KILL -- -"$starter"
		wait "$starter" 2>/dev/null
		pid_gone "$pid" && fail "$case: the daemon died with its starter"
		mounts_json "$fifo"
		poll 20 state_is "$sd" ready || fail "$case: not ready after the starter died: $(state_get "$sd" status)"
		cmp -s "$kernel_src" "$mnt/unikernel/kernel" || fail "$case: kernel differs"
		stop_view
		check_clean "$case" "$sd" "$mnt" "$pid"
		ok "$case ($round)"
	fi

	case=sigterm
	if ready_view; then
		kill -TERM "$pid"
		poll 10 pid_gone "$pid" || fail "$case: daemon still running after SIGTERM"
		state_is "$sd" stopped || fail "$case: state $(state_get "$sd" status) after SIGTERM"
		is_mounted "$mnt" && fail "$case: still mounted after SIGTERM"
		stop_view
		check_clean "$case" "$sd" "$mnt" "$pid"
		ok "$case ($round)"
	fi
done

case=two-stops
if ready_view; then
	"$bin" stop --state-dir "$sd" & s1=$!
	"$bin" stop --state-dir "$sd" & s2=$!
	wait $s1 || fail "$case: first stop exit $?"
	wait $s2 || fail "$case: second stop exit $?"
	check_clean "$case" "$sd" "$mnt" "$pid"
	ok "$case: both succeed"
fi

# A corrupt state.json never stops `stop`: the lock and the FIFO still reach the daemon,
# which rewrites the file as it goes.
case=corrupt-state
if ready_view; then
	printf '{"version":1,"status":"rea' >"$sd/state.json"
	"$bin" status --state-dir "$sd" >/dev/null 2>"$tmp/status.err"
	rc=$?
	[ $rc -eq 1 ] && grep -q corrupt "$tmp/status.err" || fail "$case: status exit $rc: $(cat "$tmp/status.err")"
	stop_view
	check_clean "$case" "$sd" "$mnt" "$pid"
	ok "$case: status says corrupt, stop still ends the view"
fi

case=absent
"$bin" stop --state-dir "$tmp/no/such/dir" || fail "$case: stop of an absent dir: exit $?"
[ -e "$tmp/no" ] && fail "$case: stop created something"
ok "$case: stop of an absent state dir succeeds"

# Stale state.json: its pid is a live process that is not the daemon, recorded with its
# real start time and boot id (all the old ladder checked). It holds no lock: never signalled.
case=stale-pid
new_view
mkdir -p "$sd"
sleep 600 &
victim=$!
_pids+=("$victim")
python3 - "$sd/state.json" "$victim" "$mnt" <<'PY'
import json, sys
st = open("/proc/%s/stat" % sys.argv[2]).read().rsplit(")", 1)[1].split()
json.dump({"version": 1, "status": "ready", "pid": int(sys.argv[2]),
           "server_pid": int(sys.argv[2]), "start_time": int(st[19]),
           "boot_id": open("/proc/sys/kernel/random/boot_id").read().strip(),
           "mountpoint": sys.argv[3], "fuse_conn": -1}, open(sys.argv[1], "w"))
PY
"$bin" stop --state-dir "$sd" --timeout 1 || fail "$case: stop with a free lock: exit $?"
pid_gone "$victim" && fail "$case: the unrelated process was killed (free lock)"
# Even with the directory's lock held (here by a flock that state.json does not name),
# the named pid does not hold it and is spared; stop says so and fails.
state_is "$sd" stopped || fail "$case: state not stopped after the first stop"
python3 - "$sd/state.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["status"] = "ready"
json.dump(d, open(sys.argv[1], "w"))
PY
lock_holder "$sd"
poll 10 lock_held "$sd" || fail "$case: flock did not take the lock"
"$bin" stop --state-dir "$sd" --timeout 1 2>"$tmp/stale.err"
rc=$?
[ $rc -eq 1 ] || fail "$case: stop with the lock held by a stranger: exit $rc, want 1"
grep -q "not signalled\|nothing was signalled" "$tmp/stale.err" ||
	fail "$case: stop did not say why: $(cat "$tmp/stale.err")"
pid_gone "$holder" && fail "$case: the lock holder (not named) was killed"
pid_gone "$victim" && fail "$case: the unrelated process was killed"
kill "$holder" "$victim" 2>/dev/null
wait "$holder" "$victim" 2>/dev/null
ok "$case: a pid that does not hold the view's lock is never signalled"

# A reader blocked in the mount (the daemon frozen by SIGSTOP) must not make stop hang.
case=blocked-reader
new_view
line=$(start_view --state-dir "$sd" "$img" "$mnt")
pid=$(json_get "$line" pid)
kill -STOP "$pid"
cat "$mnt/unikernel/kernel" >/dev/null 2>&1 &
rpid=$!
_pids+=("$rpid")
blocked() { grep -q fuse "/proc/$rpid/stack" 2>/dev/null || grep -q fuse "/proc/$rpid/wchan" 2>/dev/null; }
poll 5 blocked || echo "note: could not see the reader blocked in fuse; going on"
t0=$(date +%s.%N)
timeout 60 "$bin" stop --state-dir "$sd" --timeout 2
rc=$?
secs=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 1))" "$t0" "$(date +%s.%N)")
[ $rc -eq 0 ] || fail "$case: stop exit $rc"
python3 -c "import sys; sys.exit(float(sys.argv[1]) > 9)" "$secs" ||
	fail "$case: stop took $secs s with --timeout 2"
poll 10 pid_gone "$rpid" || fail "$case: the blocked reader is still blocked"
check_clean "$case" "$sd" "$mnt" "$pid"
ok "$case: stop --timeout 2 returned in $secs s"
finish
