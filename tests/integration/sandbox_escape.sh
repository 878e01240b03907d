#!/usr/bin/env bash
# Code execution inside a ready, confined view must not be able to do harm (DESIGN.md 7).
# A real view is started as root and serves some reads; then, as an attacker who took over
# the process that parses the image would, gdb makes that process (state.json "server_pid"
# when non-zero, else "pid") call syscall(2) for every attempt in _inject.sh: writing,
# creating, chmod'ing, unlinking and renaming root-owned files, unmounting an unrelated
# tmpfs, opening a loop device and the image O_RDWR, pwrite64 and flock(LOCK_UN) on every
# fd it holds, connecting to a root-only unix socket, AF_INET, exec, fork, mount, unshare,
# ptrace, kill, reading /etc/shadow, setuid/capset. Each must fail and leave no trace.
# Afterwards the image is byte-identical, the life lock is still held, the view still
# serves, and `bootviewfs stop` leaves nothing mounted.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lifecycle.sh"
. "$(dirname "$0")/_inject.sh"

command -v gdb >/dev/null || skip "gdb not installed (scripts/install-deps.sh)"
[ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null || echo 0)" = 3 ] &&
	skip "ptrace is off on this host (kernel.yama.ptrace_scope = 3)"
for p in sha256sum losetup mountpoint; do
	command -v $p >/dev/null || skip "$p not installed"
done

src=$tmp/src sd=$tmp/b/bv mnt=$tmp/b/mnt img=$tmp/img.ext4
mkdir -p "$src/unikernel" "$src/etc" "$mnt"
head -c 2000000 /dev/urandom >"$src/unikernel/kernel"
for i in $(seq 1 20); do head -c $((i * 1000)) /dev/urandom >"$src/etc/f$i"; done
truncate -s 16M "$img"
mkfs.ext4 -q -F -d "$src" "$img" || die "mkfs.ext4"
chmod 644 "$img"
img_sum=$(sha256sum <"$img")
_views+=("$sd")

line=$(start_view --state-dir "$sd" --id esc --require /unikernel/kernel --export-all "$img" "$mnt")
[ "$(json_get "$line" status 2>/dev/null)" = ready ] ||
	die "view not ready: $line $(cat "$tmp/start.err")"
pid=$(state_get "$sd" server_pid)
case $pid in '' | 0 | None) pid=$(state_get "$sd" pid) ;; esac
[ -n "$pid" ] && [ -d "/proc/$pid" ] || die "no server process: state.json: $(cat "$sd/state.json")"
echo "view ready: the process that parses the image is $pid ($(cat /proc/$pid/comm))"

# Confinement may come just after readiness: give it 5 s to show, then attack anyway.
confined() { awk '$1 == "Seccomp:" && $2 == 2 { f = 1 } END { exit !f }' "/proc/$pid/status"; }
poll 5 confined || echo "note: $pid shows no seccomp filter 5 s after ready"

# Serve first: parallel reads (libfuse starts its workers) and a listing.
sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
sums "$src" >"$tmp/want"
serves() { sums "$mnt" >"$tmp/got" 2>&1 && cmp -s "$tmp/want" "$tmp/got"; }
readers=()
for f in "$mnt"/etc/f* "$mnt/unikernel/kernel"; do
	cat "$f" >/dev/null &
	readers+=($!)
done
for r in "${readers[@]}"; do wait "$r" || fail "reading through the mount (reader $r)"; done
serves || fail "the view does not serve the image's bytes: $(diff "$tmp/want" "$tmp/got" | head -3)"
ls -laR "$mnt" >/dev/null || fail "ls -R of the view"

# The life lock: today on DIR/lock, in the new state contract on DIR itself.
lockp=
if ! flock -n "$sd" true 2>/dev/null; then
	lockp=$sd
elif [ -e "$sd/lock" ] && ! flock -n "$sd/lock" true 2>/dev/null; then
	lockp=$sd/lock
else
	fail "no life lock held on $sd or $sd/lock before the attempts"
fi

mkdir -m 755 "$tmp/esc"
escape_attempts "$pid" "$tmp/esc" "$img" >"$tmp/esc.out"
rc=$?
cat "$tmp/esc.out"
case $rc in
0) ok "every attempt from inside $pid was refused and left no trace" ;;
1)
	n=$(grep -c '^FAIL:' "$tmp/esc.out")
	fail "$n attempts from inside $pid succeeded or could not be made (details above); in short:"
	# One line per kind: fds and threads counted, not listed.
	grep '^FAIL:' "$tmp/esc.out" | sed -E 's/^FAIL: //; s/ (succeeded|not run) \(.*$/ \1/
		s/\(fd [0-9]+ -> [^)]*\)/(a fd it holds)/; s/thread [0-9]+: /other threads: /' |
		sort -s -n -k1,1 | uniq -c | sed -E 's/^ *([0-9]+) (.*)/    \2 (x\1)/; s/ \(x1\)$//'
	;;
*) fail "the attempts could not be made in $pid (escape_attempts exit $rc)" ;;
esac

# The view's own state, seen from outside.
[ "$(sha256sum <"$img")" = "$img_sum" ] && ok "the image is byte-identical" ||
	fail "the image changed"
if [ -n "$lockp" ]; then
	flock -n "$lockp" true 2>/dev/null && fail "the life lock on $lockp is no longer held" ||
		ok "the life lock on $lockp is still held"
fi
if pid_gone "$pid"; then
	fail "process $pid is gone after the attempts"
elif serves; then
	ok "the view still serves every byte"
else
	fail "the view no longer serves after the attempts: $(head -3 "$tmp/got")"
fi

"$bin" stop --state-dir "$sd" >"$tmp/stop.out" 2>&1 || fail "bootviewfs stop: exit $?: $(cat "$tmp/stop.out")"
is_mounted "$mnt" && fail "$mnt still mounted after stop"
left=$(awk -v t="$tmp/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo)
[ -z "$left" ] || fail "still mounted under $tmp: $left"
poll 5 pid_gone "$pid" || fail "process $pid still running after stop"
[ $fails -eq 0 ] && ok "stopped; nothing left mounted"
finish
