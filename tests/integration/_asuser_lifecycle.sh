# Sourced by lifecycle_user.sh and lifecycle_rootless.sh once asuser_enter has put the test
# in its namespace: the lifecycle a shim runs, as $U or as rootless "root" (as_x), with
# the leftovers counted after each case (check_left, _asuser.sh). The cases:
#   harness      the harness alone: bootviewfs -f mounts, the caller unmounts (fusermount3
#                -u as the user, umount rootless), the daemon exits 0
#   graceful     start, read, status, stop
#   escape       code run inside the server (gdb, _inject.sh) makes every harmful call an
#                exploit would, and each is refused with no trace left
#   kill         SIGKILL of every daemon process, then stop
#   deaf         the daemon SIGSTOPped: stop --timeout 2 must reach its kill rung
#   mkmountpoint the mountpoint does not exist: bootviewfs makes it (0755, one level, the
#                caller's) and stop removes it; two missing levels are refused
#   no-fuse      /dev/fuse is the host's 0600 node: one sentence naming /dev/fuse, exit 1,
#                nothing left
#   no-fusermount3 (user only) no setuid helper: one sentence naming fusermount3, exit 1,
#                nothing left
#   root-view    `stop` by this caller of a view root started: refused with a message,
#                and the view, its files and its mount are untouched
. "$top/tests/integration/_inject.sh"
make_image
as_user test -r "$img" || die "harness: $U cannot read $img"
cat >"$tmp/bin/starter.py" <<'PY'
# starter.py BIN ARGS...: starts BIN ARGS as a shim does, the write end of a pipe as fd 3;
# prints the ready line ("EOF" if none came in 30 s) and exits with BIN's exit status.
import fcntl, os, select, subprocess, sys
r, w = os.pipe()
r2, w2 = fcntl.fcntl(r, fcntl.F_DUPFD_CLOEXEC, 10), fcntl.fcntl(w, fcntl.F_DUPFD_CLOEXEC, 10)
os.close(r), os.close(w)
os.dup2(w2, 3)
os.close(w2)
p = subprocess.Popen(sys.argv[1:], pass_fds=(3,), stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL)
os.close(3)
line = b""
while not line.endswith(b"\n"):
    if not select.select([r2], [], [], 30)[0]:
        break
    chunk = os.read(r2, 4096)
    if not chunk:
        break
    line += chunk
print(line.decode(errors="replace").strip() or "EOF")
sys.exit(p.wait())
PY
chmod 0644 "$tmp/bin/starter.py"
who=$asuser_mode

n=0
# new_bundle: a bundle directory of the caller's, $sd and $mnt in it; the mountpoint is
# not made: the view makes it, and so removes it at stop (one it did not make it leaves).
new_bundle() {
	n=$((n + 1))
	b=$asuser_home/c$n sd=$asuser_home/c$n/bv mnt=$asuser_home/c$n/rootfs-view-mount
	as_x mkdir "$b" || die "harness: $who cannot mkdir $b"
}
# start_x: the shim's start, as the caller; $line, $rc, $pid; stderr in $tmp/start.err.
start_x() {
	line=$(as_x python3 "$tmp/bin/starter.py" "$bin" --state-dir "$sd" --ready-fd 3 \
		--id "c$n" --require /unikernel/kernel --export /unikernel:/urunc.json \
		"$img" "$mnt" 2>"$tmp/start.err")
	rc=$?
	pid=$(json_get "$line" pid 2>/dev/null)
}
started() {
	if [ $rc -eq 0 ] && [ "$(json_get "$line" status 2>/dev/null)" = ready ]; then
		ok "$case: started as $who: ready line on fd 3"
		return 0
	fi
	fail "$case: start as $who: exit $rc, ready line '$line', stderr: $(tr '\n' ' ' <"$tmp/start.err")"
	return 1
}
reads() {
	as_x cmp -s "$kernel_src" "$mnt/unikernel/kernel" &&
		[ "$(as_x cat "$mnt/urunc.json")" = "$(cat "$tmp/src/urunc.json")" ] &&
		ok "$case: reads the artifacts through the mount as $who" ||
		fail "$case: reading through the mount as $who: $(as_x ls -la "$mnt" "$mnt/unikernel" 2>&1 | tr '\n' ' ')"
	as_x test -e "$mnt/etc/shadow" && fail "$case: export shows /etc/shadow"
}
status_x() {
	as_x "$bin" status --state-dir "$sd" >"$tmp/status.out" 2>&1 &&
		ok "$case: status exit 0" ||
		fail "$case: status exit $?: $(tr '\n' ' ' <"$tmp/status.out")"
}
# stop_x [ARGS]: the shim's stop, as the caller; $stop_rc, $stop_secs, $tmp/stop.err.
stop_x() {
	local t0=$SECONDS
	as_x timeout 60 "$bin" stop --state-dir "$sd" "$@" 2>"$tmp/stop.err"
	stop_rc=$? stop_secs=$((SECONDS - t0))
	[ $stop_rc -eq 0 ] && ok "$case: stop exit 0 in $stop_secs s" ||
		fail "$case: stop exit $stop_rc: $(tr '\n' ' ' <"$tmp/stop.err")"
	[ $stop_rc -eq 0 ] && [ -s "$tmp/stop.err" ] && echo "    stop said: $(tr '\n' ' ' <"$tmp/stop.err")"
	return 0
}
end_case() {
	leftovers_away "$mnt"
	echo "-- $case done"
}

# The harness itself, without the lifecycle: the daemon in the foreground, ended by the
# caller's own unmount (fusermount3 -u as the user, umount as rootless root). A failure
# here means the cases below test the harness, not bootviewfs.
case=harness
new_bundle
as_x mkdir "$mnt" || die "harness: $who cannot mkdir $mnt"
as_x "$bin" -f "$img" "$mnt" 2>"$tmp/fg.err" &
fg=$!
if poll 10 is_mounted "$mnt"; then
	as_x cmp -s "$kernel_src" "$mnt/unikernel/kernel" && ok "$case: $who mounts and reads" ||
		fail "$case: $who cannot read its own mount"
	if [ "$who" = user ]; then umnt=(fusermount3 -u "$mnt"); else umnt=(umount "$mnt"); fi
	as_x "${umnt[@]}" && ok "$case: $who unmounts with ${umnt[0]}" || fail "$case: ${umnt[*]}: exit $?"
	poll 10 pid_gone "$fg" && wait "$fg" && ok "$case: the foreground daemon exits 0" ||
		fail "$case: the foreground daemon did not exit 0: $(tr '\n' ' ' <"$tmp/fg.err")"
	_unmounted "$mnt" "$asuser_mi" || fail "$case: still mounted after ${umnt[*]}"
else
	fail "$case: $who could not mount in the foreground: $(tr '\n' ' ' <"$tmp/fg.err")"
fi
end_case

case=graceful
new_bundle
start_x
if started; then
	reads
	status_x
	stop_x
	check_left "$case" "$sd" "$mnt"
fi
end_case

# The server as this user cannot be turned against the host: code run inside it through
# gdb (tests/integration/_inject.sh, as sandbox_escape.sh does for a root-started view) is
# refused every harmful call, and leaves no trace.
case=escape
new_bundle
start_x
if started; then
	reads
	server=$(state_get "$sd" server_pid)
	if ! command -v gdb >/dev/null; then
		fail "$case: gdb is not installed (scripts/install-deps.sh installs it)"
	elif [ -z "$server" ] || [ "$server" = 0 ]; then
		fail "$case: state.json names no server process"
	else
		mkdir -p "$tmp/escape-$n"
		escape_attempts "$server" "$tmp/escape-$n" "$img" >"$tmp/escape.log" 2>&1
		erc=$?
		if [ $erc -eq 0 ]; then
			ok "$case: $(grep -c '^ok:' "$tmp/escape.log") attempts from inside the server refused"
		else
			fail "$case: escape_attempts exit $erc: $(grep -E '^FAIL|^escape_attempts' "$tmp/escape.log" | head -5 | tr '\n' ' ')"
		fi
	fi
	reads
	stop_x
	check_left "$case" "$sd" "$mnt"
fi
end_case

case=kill
new_bundle
start_x
if started; then
	reads
	pids=$(view_pids "$sd")
	[ -n "$pids" ] || fail "$case: no daemon process of uid $U running $bin"
	kill -KILL $pids
	poll 5 _no_daemon "$sd" || fail "$case: daemon processes survive SIGKILL"
	ok "$case: killed $(echo $pids)"
	stop_x
	check_left "$case" "$sd" "$mnt"
fi
end_case

case=deaf
new_bundle
start_x
if started; then
	reads
	pids=$(view_pids "$sd")
	kill -STOP $pids
	ok "$case: stopped (SIGSTOP) $(echo $pids)"
	stop_x --timeout 2
	[ $stop_secs -le 15 ] || fail "$case: stop --timeout 2 took $stop_secs s"
	check_left "$case" "$sd" "$mnt"
fi
end_case

case=mkmountpoint
new_bundle
start_x
if started; then
	# The directory under the mount, seen through a bind of the bundle (a bind does not
	# carry the mounts below it).
	mkdir -p "$tmp/peek"
	mount --bind "$b" "$tmp/peek" || die "harness: bind $b"
	m=$(stat -c '%F %a %u:%g' "$tmp/peek/$(basename "$mnt")" 2>&1)
	umount "$tmp/peek"
	[ "$m" = "directory 755 $U:$G" ] && ok "$case: mountpoint made: $m" ||
		fail "$case: mountpoint made as '$m', want 'directory 755 $U:$G'"
	reads
	stop_x
	check_left "$case" "$sd" "$mnt"
	[ -d "$b" ] && ok "$case: the bundle directory stays" || fail "$case: stop removed $b"
else
	in_dir "$b" "$(basename "$mnt")" && fail "$case: a failed start left $mnt"
fi
end_case

# One level only: a mountpoint whose parent is missing too is refused, nothing made.
case=mkmountpoint-2
new_bundle
mnt=$b/missing/rootfs-view-mount
start_x
[ $rc -eq 1 ] && [ "$(json_get "$line" status 2>/dev/null)" = error ] &&
	ok "$case: refused: $(json_get "$line" error)" ||
	fail "$case: start with a missing parent of the mountpoint: exit $rc, '$line'"
[ -e "$b/missing" ] && fail "$case: made $b/missing" || ok "$case: made no directory"
end_case

case=no-fuse
asuser_fuse off
new_bundle
start_x
[ $rc -eq 1 ] && ok "$case: start exit 1" || fail "$case: start exit $rc, want 1 (ready line '$line')"
nl=$(grep -c . "$tmp/start.err")
if [ "$nl" -eq 1 ] && grep -q /dev/fuse "$tmp/start.err"; then
	ok "$case: one line naming /dev/fuse: $(cat "$tmp/start.err")"
else
	fail "$case: want one line naming /dev/fuse, got $nl lines: $(tr '\n' '|' <"$tmp/start.err")"
fi
case $(json_get "$line" status 2>/dev/null) in
error) ok "$case: ready line says error" ;;
*) fail "$case: ready line '$line', want status error" ;;
esac
is_mounted "$mnt" && fail "$case: left a mount" || ok "$case: no mount"
poll 5 _no_daemon "$sd" && ok "$case: no daemon" || fail "$case: daemon left: $(view_pids "$sd")"
lock_held "$sd" && fail "$case: the life lock is held" || ok "$case: lock free"
poll 5 image_free >/dev/null && ok "$case: image closed" || fail "$case: image open ($(image_free))"
[ -e "$sd/control" ] && fail "$case: control FIFO left"
st=$(state_get "$sd" status)
case $st in failed | "") ok "$case: state '${st:-none}'" ;; *) fail "$case: state '$st'" ;; esac
asuser_fuse on
end_case

# no-fusermount3 (as a user only: rootless root mounts FUSE itself): /dev/null bound over
# the helper, in this private mount namespace.
if [ "$asuser_mode" = user ]; then
	case=no-fusermount3
	hidden=()
	for h in /usr/bin/fusermount3 /bin/fusermount3 /usr/local/bin/fusermount3; do
		[ -e "$h" ] && mount --bind /dev/null "$h" && hidden+=("$h")
	done
	new_bundle
	start_x
	[ $rc -eq 1 ] && ok "$case: start exit 1" || fail "$case: start exit $rc, want 1 ('$line')"
	nl=$(grep -c . "$tmp/start.err")
	if [ "$nl" -eq 1 ] && grep -q "fusermount3 is not installed" "$tmp/start.err"; then
		ok "$case: one line naming fusermount3: $(cat "$tmp/start.err")"
	else
		fail "$case: want one line naming fusermount3, got $nl: $(tr '\n' '|' <"$tmp/start.err")"
	fi
	is_mounted "$mnt" && fail "$case: left a mount" || ok "$case: no mount"
	poll 5 _no_daemon "$sd" && ok "$case: no daemon" || fail "$case: daemon left: $(view_pids "$sd")"
	poll 5 image_free >/dev/null && ok "$case: image closed" || fail "$case: image open"
	for h in "${hidden[@]}"; do umount "$h"; done
	end_case
fi

case=root-view
n=$((n + 1))
rb=$tmp/r$n sd=$tmp/r$n/bv mnt=$tmp/r$n/rootfs-view-mount
mkdir -p "$rb"
chmod 0755 "$rb"
line=$(python3 "$tmp/bin/starter.py" "$bin" --state-dir "$sd" --ready-fd 3 --id "r$n" \
	--require /unikernel/kernel "$img" "$mnt" 2>"$tmp/start.err")
rc=$?
rpid=$(json_get "$line" pid 2>/dev/null)
[ -n "$rpid" ] && _pids+=("$rpid")
if [ $rc -eq 0 ] && [ "$(json_get "$line" status 2>/dev/null)" = ready ]; then
	snap() { ls -la --time-style=+%s.%N "$sd" "$rb"; sha256sum "$sd/state.json"; }
	before=$(snap)
	as_x timeout 60 "$bin" stop --state-dir "$sd" 2>"$tmp/stop.err"
	stop_rc=$?
	if [ $stop_rc -ne 0 ] && [ -s "$tmp/stop.err" ]; then
		ok "$case: stop as $who refused, exit $stop_rc: $(tr '\n' ' ' <"$tmp/stop.err")"
	else
		fail "$case: stop as $who of root's view: exit $stop_rc, stderr '$(tr '\n' ' ' <"$tmp/stop.err")'"
	fi
	[ "$(snap)" = "$before" ] && ok "$case: root's state dir and bundle untouched" ||
		fail "$case: root's files changed: $(diff <(echo "$before") <(snap) | tr '\n' ' ')"
	is_mounted "$mnt" /proc/self/mountinfo && cmp -s "$kernel_src" "$mnt/unikernel/kernel" &&
		ok "$case: root's mount still serves" || fail "$case: root's mount is gone or broken"
	! pid_gone "$rpid" && lock_held "$sd" && ok "$case: root's daemon alive, lock held" ||
		fail "$case: root's daemon $rpid died or let go of its lock"
	timeout 60 "$bin" stop --state-dir "$sd" || fail "$case: root's own stop: exit $?"
	check_left "$case (root's stop)" "$sd" "$mnt" /proc/self/mountinfo
	pid_gone "$rpid" || fail "$case: root's daemon $rpid still running"
else
	fail "$case: root could not start its view: exit $rc, '$line' $(cat "$tmp/start.err")"
fi
leftovers_away "$mnt"
pid_gone "${rpid:-0}" || kill -KILL "$rpid"
echo "-- $case done"
finish
