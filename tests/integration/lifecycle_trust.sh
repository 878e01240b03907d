#!/usr/bin/env bash
# `stop` and `status` trust nothing in the state directory (the security review's findings,
# end to end with the real binary). A shim runs them as root, so whatever state.json,
# control, stop.lock or log say, they must not:
#   forged-pid      kill a root process state.json names with its real start time (it
#                   does not hold the view's lock)
#   forged-tmpfs    unmount, abort or rmdir an unrelated tmpfs state.json names with its
#                   connection number
#   forged-view     unmount or abort another live view named the same way
#   empty-dir       rmdir an empty directory the view did not make (no lock, no mount)
#   fifo-*          hang on a FIFO planted as state.json, log, stop.lock or at a temporary
#                   name (every command under `timeout 20`, and quick)
#   symlink-state   print or quote a root-only file state.json links to
#   foreign-dir     act on a directory owned by another uid, writable by group or others,
#                   or reached through a symlink; a user's stop of root's view is refused
#   messages        stay silent on a bad --timeout or a missing directory
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lifecycle.sh"
command -v setpriv >/dev/null || skip "setpriv not installed"
make_image
boot_id=$(cat /proc/sys/kernel/random/boot_id)

n=0
# new_dir: a fresh bundle: $sd (made, 0700) and $mnt (not made) under it.
new_dir() {
	n=$((n + 1))
	sd=$tmp/t$n/bootviewfs mnt=$tmp/t$n/rootfs
	mkdir -p "$sd"
	chmod 700 "$sd"
	_views+=("$sd")
}
# forge KEY=JSON...: writes $sd/state.json, a ready view of this boot, with these fields.
forge() {
	python3 - "$sd/state.json" "$boot_id" "$@" <<'PY'
import json, sys
d = {"version": 1, "status": "ready", "boot_id": sys.argv[2], "fuse_conn": -1}
for kv in sys.argv[3:]:
    k, v = kv.split("=", 1)
    d[k] = json.loads(v)
json.dump(d, open(sys.argv[1], "w"))
PY
}
start_time() { awk '{print $22}' "/proc/$1/stat"; }
dev_of() { stat -c %d "$1"; }
ino_of() { stat -c %i "$1"; }
minor_of() { stat -c %Ld "$1"; }
# timed NAME CMD...: runs CMD under `timeout 20`; $rc its status, $secs how long it took,
# its stdout and stderr in $tmp/NAME.out and $tmp/NAME.err.
timed() {
	local name=$1 t0
	shift
	t0=$(date +%s%N)
	timeout 20 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
	secs=$((($(date +%s%N) - t0) / 1000000000))
}
quick() { [ $rc -ne 124 ] && [ $secs -le 10 ]; }

# ---- forged-pid: a root `sleep` named with its real start time and boot id ----
case=forged-pid
new_dir
sleep 600 &
victim=$!
_pids+=("$victim")
forge pid="$victim" server_pid="$victim" start_time="$(start_time "$victim")"
timed stop "$bin" stop --state-dir "$sd" --timeout 1
[ $rc -eq 0 ] || fail "$case: stop with a free lock: exit $rc: $(cat "$tmp/stop.err")"
pid_gone "$victim" && fail "$case: the root sleep named by state.json was killed"
# With the directory's lock held by someone state.json does not name, every rung runs.
forge pid="$victim" server_pid="$victim" start_time="$(start_time "$victim")"
lock_holder "$sd"
poll 10 lock_held "$sd" || fail "$case: flock did not take the lock"
timed stop "$bin" stop --state-dir "$sd" --timeout 1
[ $rc -eq 1 ] || fail "$case: stop with a stranger holding the lock: exit $rc, want 1"
grep -q "signalled" "$tmp/stop.err" || fail "$case: stop did not say why: $(cat "$tmp/stop.err")"
pid_gone "$victim" && fail "$case: the root sleep was killed while the lock was held"
pid_gone "$holder" && fail "$case: the unnamed lock holder was killed"
kill "$holder" "$victim" 2>/dev/null
wait "$holder" "$victim" 2>/dev/null
ok "$case: a root process that does not hold the view's lock is never signalled"

# ---- forged-tmpfs: an unrelated tmpfs named as the view's mount ----
case=forged-tmpfs
new_dir
mkdir -p "$mnt"
mount -t tmpfs -o size=64k tmpfs "$mnt" || die "$case: mount tmpfs"
_mounts+=("$mnt")
echo keep >"$mnt/file"
conn=$(minor_of "$mnt")
for words in old-format own-words tmpfs-words; do
	case $words in
	old-format) extra=() ;;
	own-words) extra=(fstype='"fuse.bootviewfs"' fsname='"bootviewfs:forged"') ;;
	tmpfs-words) extra=(fstype='"tmpfs"' fsname='"tmpfs"') ;;
	esac
	forge mountpoint="\"$mnt\"" fuse_conn="$conn" mountpoint_created=true \
		mountpoint_dev="$(dev_of "$mnt")" mountpoint_ino="$(ino_of "$mnt")" "${extra[@]}"
	timed stop "$bin" stop --state-dir "$sd" --timeout 1
	[ $rc -eq 0 ] || fail "$case ($words): stop exit $rc: $(cat "$tmp/stop.err")"
	is_mounted "$mnt" || fail "$case ($words): the tmpfs was unmounted"
	[ "$(cat "$mnt/file" 2>/dev/null)" = keep ] || fail "$case ($words): the tmpfs lost its file"
done
# Again with a stranger holding the lock, so that the abort and kill rungs run too.
forge mountpoint="\"$mnt\"" fuse_conn="$conn" fstype='"fuse.bootviewfs"' fsname='"bootviewfs:forged"'
lock_holder "$sd"
poll 10 lock_held "$sd" || fail "$case: flock did not take the lock"
timed stop "$bin" stop --state-dir "$sd" --timeout 1
is_mounted "$mnt" && [ -d "$mnt" ] || fail "$case (lock held): the tmpfs was touched"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
umount "$mnt" || fail "$case: the tmpfs would not unmount"
ok "$case: an unrelated tmpfs named with its connection stays mounted and present"

# ---- forged-view: another live view named by mountpoint and connection ----
case=forged-view
new_dir
sd_a=$sd
new_dir
sd_b=$sd mnt_b=$mnt
mkdir -p "$mnt_b"
line=$(start_view --state-dir "$sd_b" --id view-b "$img" "$mnt_b")
if [ "$(json_get "$line" status 2>/dev/null)" != ready ]; then
	fail "$case: view B did not start: $line $(cat "$tmp/start.err")"
else
	pid_b=$(json_get "$line" pid)
	sd=$sd_a
	b_dev=$(state_get "$sd_b" mountpoint_dev) b_ino=$(state_get "$sd_b" mountpoint_ino)
	forge mountpoint="\"$mnt_b\"" fuse_conn="$(state_get "$sd_b" fuse_conn)" \
		fstype='"fuse.bootviewfs"' fsname='"bootviewfs:view-a"' mountpoint_created=true \
		mountpoint_dev="${b_dev:-0}" mountpoint_ino="${b_ino:-0}"
	timed stop "$bin" stop --state-dir "$sd_a" --timeout 1
	[ $rc -eq 0 ] || fail "$case: stop of A: exit $rc: $(cat "$tmp/stop.err")"
	is_mounted "$mnt_b" || fail "$case: view B was unmounted by A's stop"
	cmp -s "$kernel_src" "$mnt_b/unikernel/kernel" || fail "$case: view B no longer serves"
	pid_gone "$pid_b" && fail "$case: view B's daemon died"
	"$bin" status --state-dir "$sd_b" >/dev/null || fail "$case: view B not ready"
	"$bin" stop --state-dir "$sd_b" || fail "$case: stop of B: exit $?"
	check_clean "$case" "$sd_b" "$mnt_b" "$pid_b"
	ok "$case: another live view named by mountpoint and connection is left alone"
fi

# ---- empty-dir: an empty directory, no lock, no mount ----
case=empty-dir
new_dir
mkdir -p "$mnt"
forge mountpoint="\"$mnt\"" pid=0
timed stop "$bin" stop --state-dir "$sd"
[ $rc -eq 0 ] || fail "$case: stop exit $rc"
[ -d "$mnt" ] || fail "$case: stop removed a directory the view did not make"
# Even "made by the view", a directory that is not the recorded one stays.
forge mountpoint="\"$mnt\"" mountpoint_created=true mountpoint_dev="$(dev_of "$mnt")" \
	mountpoint_ino="$(($(ino_of "$mnt") + 1))"
timed stop "$bin" stop --state-dir "$sd"
[ -d "$mnt" ] || fail "$case: stop removed a directory with another inode"
ok "$case: an empty directory the view did not make (or not that one) survives stop"

# ---- FIFOs under the state files' names ----
case=fifo-state
new_dir
mkfifo "$sd/state.json"
timed status "$bin" status --state-dir "$sd"
quick && [ $rc -eq 1 ] && grep -q FIFO "$tmp/status.err" ||
	fail "$case: status exit $rc in $secs s: $(cat "$tmp/status.err")"
timed stop "$bin" stop --state-dir "$sd"
quick && [ $rc -eq 0 ] || fail "$case: stop exit $rc in $secs s: $(cat "$tmp/stop.err")"
ok "$case: a FIFO as state.json hangs neither status nor stop"

case=fifo-stoplock
new_dir
forge pid=0
mkfifo "$sd/stop.lock"
timed stop "$bin" stop --state-dir "$sd"
quick && [ $rc -eq 1 ] && grep -q stop.lock "$tmp/stop.err" ||
	fail "$case: stop exit $rc in $secs s: $(cat "$tmp/stop.err")"
timed status "$bin" status --state-dir "$sd"
quick || fail "$case: status took $secs s (exit $rc)"
ok "$case: a FIFO as stop.lock is refused at once"

case=fifo-temp
new_dir
forge pid=0
# stop rewrites state.json ("stopped"): FIFOs at every name a pid-based temporary could
# have for the next few hundred processes (made by one process, which uses up no pid).
python3 - "$sd" <<'PY'
import os, sys
last = int(open("/proc/sys/kernel/ns_last_pid").read())
top = int(open("/proc/sys/kernel/pid_max").read())
for i in range(1, 401):
    os.mkfifo("%s/.state.json.%d" % (sys.argv[1], (last + i) % top), 0o600)
PY
timed stop "$bin" stop --state-dir "$sd"
quick && [ $rc -eq 0 ] || fail "$case: stop exit $rc in $secs s: $(cat "$tmp/stop.err")"
state_is "$sd" stopped || fail "$case: state is $(state_get "$sd" status), want stopped"
[ "$(find "$sd" -name '.state.json.*' -type p | wc -l)" = 400 ] ||
	fail "$case: the planted FIFOs were touched"
ok "$case: FIFOs at pid-based temporary names do not hang stop"

case=fifo-log
new_dir
mkdir -p "$mnt"
line=$(start_view --state-dir "$sd" "$img" "$mnt")
if [ "$(json_get "$line" status 2>/dev/null)" != ready ]; then
	fail "$case: start: $line $(cat "$tmp/start.err")"
else
	pid=$(json_get "$line" pid)
	rm -f "$sd/log" "$sd/log.1"
	mkfifo "$sd/log" "$sd/log.1"
	timed status "$bin" status --state-dir "$sd"
	quick && [ $rc -eq 0 ] || fail "$case: status exit $rc in $secs s"
	timed stop "$bin" stop --state-dir "$sd"
	quick && [ $rc -eq 0 ] || fail "$case: stop exit $rc in $secs s: $(cat "$tmp/stop.err")"
	check_clean "$case" "$sd" "$mnt" "$pid"
	ok "$case: a FIFO as log hangs neither status nor stop"
fi

# ---- symlink-state: state.json links to a root-only file ----
case=symlink-state
new_dir
secret=$tmp/secret.json
printf '{"status": "ready", "error": "TOPSECRET-%s"}\n' $$ >"$secret"
chmod 600 "$secret"
for target in "$secret" /etc/shadow; do
	rm -f "$sd/state.json"
	ln -s "$target" "$sd/state.json"
	for h in "" --human; do
		timed status "$bin" status --state-dir "$sd" $h
		[ $rc -eq 1 ] || fail "$case: status $h of a link to $target: exit $rc"
		if grep -q "TOPSECRET\|near '" "$tmp/status.out" "$tmp/status.err"; then
			fail "$case: status $h printed what $target holds"
		fi
		if [ -s /etc/shadow ] && grep -qF "$(head -1 /etc/shadow | cut -d: -f1):" \
			"$tmp/status.out" "$tmp/status.err"; then
			fail "$case: status $h quoted /etc/shadow"
		fi
		grep -q "symbolic link" "$tmp/status.err" || fail "$case: status $h: $(cat "$tmp/status.err")"
	done
	timed stop "$bin" stop --state-dir "$sd"
	grep -q "TOPSECRET" "$tmp/stop.out" "$tmp/stop.err" && fail "$case: stop printed the secret"
	[ -L "$sd/state.json" ] || fail "$case: stop replaced the link"
done
grep -q TOPSECRET "$secret" || fail "$case: the secret file was changed"
ok "$case: a symlinked state.json is refused, its target never printed"

# ---- foreign-dir ----
case=foreign-dir
new_dir
forge pid=0
chown -R 4242:4242 "$sd"
timed stop "$bin" stop --state-dir "$sd"
[ $rc -eq 1 ] && grep -q "uid 4242" "$tmp/stop.err" || fail "$case: stop of uid 4242's dir: exit $rc: $(cat "$tmp/stop.err")"
[ -e "$sd/stop.lock" ] && fail "$case: stop created stop.lock in another user's dir"
state_is "$sd" ready || fail "$case: stop changed another user's state.json"
"$bin" status --state-dir "$sd" >/dev/null 2>"$tmp/status.err"
[ $? -eq 1 ] && [ ! -s "$tmp/status.err" ] || fail "$case: root's status of uid 4242's view: $(cat "$tmp/status.err")"
chown -R 0:0 "$sd"
chmod 770 "$sd"
for cmd in stop status; do
	timed $cmd "$bin" $cmd --state-dir "$sd"
	[ $rc -eq 1 ] && grep -q writable "$tmp/$cmd.err" || fail "$case: $cmd of a group-writable dir: exit $rc"
done
chmod 700 "$sd"
ln -s "$sd" "$tmp/t$n/link"
for cmd in stop status; do
	timed $cmd "$bin" $cmd --state-dir "$tmp/t$n/link/"
	[ $rc -eq 1 ] && grep -q "symbolic link" "$tmp/$cmd.err" ||
		fail "$case: $cmd through a symlink: exit $rc: $(cat "$tmp/$cmd.err")"
done
# A user's stop of a view root started: refused, clearly, and the view serves on.
new_dir
mkdir -p "$mnt"
chmod 755 "$tmp" "$tmp/t$n"
line=$(start_view --state-dir "$sd" "$img" "$mnt")
if [ "$(json_get "$line" status 2>/dev/null)" != ready ]; then
	fail "$case: start: $line $(cat "$tmp/start.err")"
else
	pid=$(json_get "$line" pid)
	timed stop setpriv --reuid 65534 --regid 65534 --clear-groups "$bin" stop --state-dir "$sd"
	[ $rc -eq 1 ] && grep -q "not to you" "$tmp/stop.err" ||
		fail "$case: nobody's stop of root's view: exit $rc: $(cat "$tmp/stop.err")"
	state_is "$sd" ready && is_mounted "$mnt" && ! pid_gone "$pid" ||
		fail "$case: nobody's stop touched root's view"
	"$bin" stop --state-dir "$sd" || fail "$case: root's stop: exit $?"
	check_clean "$case" "$sd" "$mnt" "$pid"
fi
chmod 700 "$tmp"
ok "$case: another uid's, a group-writable or a symlinked state dir is refused"

# ---- messages ----
case=messages
timed stop "$bin" stop --state-dir "$tmp/absent" --timeout abc
[ $rc -eq 2 ] && grep -q "timeout" "$tmp/stop.err" && grep -q "abc" "$tmp/stop.err" &&
	! grep -q "^Usage" "$tmp/stop.err" || fail "$case: stop --timeout abc: exit $rc: $(cat "$tmp/stop.err")"
timed status "$bin" status --state-dir "$tmp/absent"
[ $rc -eq 2 ] && [ "$(wc -l <"$tmp/status.err")" = 1 ] && [ ! -s "$tmp/status.out" ] ||
	fail "$case: status of an absent dir: exit $rc, stderr '$(cat "$tmp/status.err")'"
ok "$case: a bad --timeout and an absent dir are each one clear line"
finish
