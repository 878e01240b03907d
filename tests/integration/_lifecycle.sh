# Sourced by tests/integration/lifecycle_*.sh: a urunc-style image, a shim-like starter
# with a ready pipe, and the checks that a stopped view left nothing behind.
. "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

is_root || skip "needs root (mounts, bind mounts, /proc of the daemon)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -x "$bin" ] || skip "$bin not built"
for p in mkfs.ext4 python3 flock timeout; do
	command -v $p >/dev/null || skip "$p not installed"
done

fails=0
fail() { echo "FAIL: $testname: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
finish() {
	[ $fails -eq 0 ] || { echo "FAIL: $testname: $fails checks failed"; exit 1; }
	echo "PASS: $testname"
	exit 0
}

# Whatever a failed check leaves: views stopped, bind mounts and readers gone.
_views=() _binds=() _pids=()
_lifecycle_cleanup() {
	local d m p
	for p in "${_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	for m in "${_binds[@]}"; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
	for d in "${_views[@]}"; do
		timeout 30 "$bin" stop --state-dir "$d" --timeout 2 >/dev/null 2>&1
	done
	_cleanup
}
trap _lifecycle_cleanup EXIT

# poll SECONDS CMD...: true as soon as CMD is, false past the deadline.
poll() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.02
	done
}

# make_image: $img holds /unikernel/kernel, /urunc.json, a directory /boot, and symlinks
# that lead out of the image if the host resolved them (/etc/hostname is not in it).
make_image() {
	local src=$tmp/src
	mkdir -p "$src/unikernel" "$src/etc" "$src/boot" "$src/usr/lib"
	head -c 3000000 /dev/urandom >"$src/unikernel/kernel"
	echo '{"com.urunc.unikernel.binary":"L3VuaWtlcm5lbC9rZXJuZWw="}' >"$src/urunc.json"
	echo "image secret" >"$src/etc/shadow"
	echo "lib" >"$src/usr/lib/libc.so"
	ln -s /etc/hostname "$src/unikernel/escape-abs"
	ln -s ../../../../../../etc/hostname "$src/unikernel/escape-rel"
	ln -s /unikernel/kernel "$src/unikernel/kernel-abs"
	ln -s ../unikernel/kernel "$src/boot/vmlinuz"
	ln -s /boot "$src/unikernel/bootdir"
	img=$tmp/img.ext4
	truncate -s 32M "$img"
	mkfs.ext4 -q -F -d "$src" "$img" || die "mkfs.ext4"
	kernel_src=$src/unikernel/kernel
}

# mounts_json FILE: the blockfile snapshotter's View mounts for $img.
mounts_json() {
	printf '[{"type":"ext4","source":"%s","options":["loop","ro"]}]\n' "$img" >"$1"
}

# start_view ARGS...: starts bootviewfs ARGS as a shim does, with a ready pipe; prints the
# ready line ("EOF" if none came in 30 s) and returns the starter's exit status. The
# starter's stderr goes to $tmp/start.err.
start_view() {
	python3 - "$bin" "$@" 2>"$tmp/start.err" <<'PY'
import os, select, subprocess, sys
r, w = os.pipe()
p = subprocess.Popen([sys.argv[1], "--ready-fd", str(w)] + sys.argv[2:], pass_fds=(w,),
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
os.close(w)
line = b""
while not line.endswith(b"\n"):
    if not select.select([r], [], [], 30)[0]:
        break
    chunk = os.read(r, 4096)
    if not chunk:
        break
    line += chunk
print(line.decode(errors="replace").strip() or "EOF")
sys.exit(p.wait())
PY
}

# json_get JSON KEY.KEY...: one field of a JSON document (state.json or a ready line).
json_get() {
	python3 -c '
import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$1" "$2"
}
state_get() { json_get "$(cat "$1/state.json" 2>/dev/null || echo '{}')" "$2" 2>/dev/null; }
state_is() { [ "$(state_get "$1" status)" = "$2" ]; }

# The life lock is an flock on the state directory itself (state/state.h); a shared try
# is refused only while the daemon holds its exclusive lock.
lock_held() { [ -d "$1" ] && ! flock -s -n "$1" true 2>/dev/null; }
# lock_holder DIR: a stranger (a sleep, $holder, added to $_pids) holding DIR's flock, and
# DIR/lock's (the life lock before it moved to the directory): whatever lock the code
# under test trusts, someone holds it.
lock_holder() {
	bash -c 'exec 9<"$1" 8>"$1/lock" && flock 9 && flock 8 && exec sleep 600' _ "$1" &
	holder=$!
	_pids+=("$holder")
}
image_free() {
	local f
	for f in /proc/[0-9]*/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = "$img" ] && return 1
	done
	return 0
}
is_mounted() { awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }
# True once PID is gone (or a zombie: exited, waiting for its parent).
pid_gone() {
	[ -e "/proc/$1" ] || return 0
	[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# check_clean WHAT DIR MNT PID: after `bootviewfs stop`, nothing of the view is left.
check_clean() {
	local what=$1 dir=$2 mnt=$3 pid=$4 st
	is_mounted "$mnt" && fail "$what: $mnt still mounted"
	lock_held "$dir" && fail "$what: the daemon's lock is still held"
	# The lock is released before the process is gone (a sanitizer build still checks
	# for leaks at exit): give it the same 5 s as the image.
	[ -n "$pid" ] && ! poll 5 pid_gone "$pid" && fail "$what: daemon $pid still running"
	poll 5 image_free || fail "$what: the image is still open"
	# stop removes the mountpoint only when the view made it; one made for it stays.
	if [ "$(state_get "$dir" mountpoint_created)" = True ]; then
		[ -e "$mnt" ] && fail "$what: mountpoint $mnt (made by the view) not removed"
	else
		[ -d "$mnt" ] || fail "$what: mountpoint $mnt (not made by the view) was removed"
	fi
	st=$(state_get "$dir" status)
	[ "$st" = stopped ] || fail "$what: state is '$st', want stopped"
}
