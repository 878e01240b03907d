#!/usr/bin/env bash
# The edges of starting a view that the containment review found:
#   full-ready-pipe   a --ready-fd pipe nobody reads and that is already full: the start
#                     still completes (the line is dropped, not blocking), and stop works
#   require-cap       --require paths count against the 64 export paths: 64 --export plus
#                     one --require is a usage error, not a silently missing artifact
#   require-exports   --require alone serves only what is required; --export-all the rest
#   symlink-mnt       a mountpoint that is a symlink is refused; the target stays empty
#   aborted           a connection aborted through fusectl: the keeper unmounts the dead
#                     mount, state "stopped" is true, nothing is left
#   one-per-mnt       a second view on a mountpoint that serves, or on a tmpfs mount, is
#                     refused naming what is there (exit 1, nothing stacked, the first view
#                     untouched); --over-mount stacks on purpose
#   successor         a view unmounted from outside and, before its keeper has ended, a
#                     new view of the same source on the same path: the new mount reuses
#                     the old one's connection number (the kernel hands out the lowest
#                     free), and the old keeper, ending, must leave it alone
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lifecycle.sh"
make_image

# full-ready-pipe: the starter's ready fd is a pipe filled to the brim before the start.
sd=$tmp/full/bv mnt=$tmp/full/mnt
python3 - "$bin" "$sd" "$img" "$mnt" >"$tmp/full.out" 2>&1 <<'PY'
import fcntl, os, subprocess, sys
bin_, sd, img, mnt = sys.argv[1:]
r, w = os.pipe()
fcntl.fcntl(w, fcntl.F_SETFL, os.O_NONBLOCK)
n = 0
try:
    while True:
        n += os.write(w, b"x" * 4096)
except BlockingIOError:
    pass
fcntl.fcntl(w, fcntl.F_SETFL, 0)
p = subprocess.run([bin_, "--state-dir", sd, "--ready-fd", str(w), "--require",
                    "/unikernel/kernel", img, mnt], pass_fds=(w,), timeout=30)
print("exit", p.returncode, "filled", n)
PY
grep -q "^exit 0 " "$tmp/full.out" || fail "full-ready-pipe: start: $(cat "$tmp/full.out")"
state_is "$sd" ready || fail "full-ready-pipe: state '$(state_get "$sd" status)'"
grep -q "ready-fd: the reader's pipe is full" "$sd/log" || fail "full-ready-pipe: not logged: $(cat "$sd/log")"
timeout 20 "$bin" stop --state-dir "$sd" || fail "full-ready-pipe: stop: exit $?"
check_clean full-ready-pipe "$sd" "$mnt" ""
ok "full-ready-pipe: a full --ready-fd pipe neither blocks the start nor the stop"

# require-cap
args=()
for i in $(seq 1 64); do args+=(--export /unikernel/kernel); done
out=$("$bin" "${args[@]}" --require /urunc.json "$img" "$tmp/nomnt" 2>&1)
rc=$?
[ $rc -eq 2 ] || fail "require-cap: exit $rc, want 2 (usage)"
case $out in *"at most 64 paths to export"*) ok "require-cap: 64 exports + 1 require is refused" ;;
*) fail "require-cap: $out" ;; esac

# require-exports
sd=$tmp/req/bv mnt=$tmp/req/mnt
"$bin" --state-dir "$sd" --require /unikernel/kernel "$img" "$mnt" || fail "require-exports: start"
cmp -s "$mnt/unikernel/kernel" "$kernel_src" || fail "require-exports: the kernel differs"
[ -e "$mnt/urunc.json" ] && fail "require-exports: /urunc.json served though not required"
[ "$(ls "$mnt")" = unikernel ] || fail "require-exports: the root lists $(ls "$mnt" | tr '\n' ' ')"
"$bin" stop --state-dir "$sd" || fail "require-exports: stop"
"$bin" --state-dir "$sd" --require /unikernel/kernel --export-all "$img" "$mnt" ||
	fail "require-exports: start with --export-all"
[ -f "$mnt/urunc.json" ] || fail "require-exports: --export-all does not serve /urunc.json"
"$bin" stop --state-dir "$sd" || fail "require-exports: stop"
out=$("$bin" --export /urunc.json --export-all "$img" "$mnt" 2>&1) &&
	fail "require-exports: --export with --export-all accepted"
ok "require-exports: --require alone serves only the required file; --export-all serves all"

# symlink-mnt
mkdir -p "$tmp/target"
ln -s "$tmp/target" "$tmp/link"
out=$("$bin" --state-dir "$tmp/sl/bv" "$img" "$tmp/link" 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "symlink-mnt: exit $rc"
case $out in *"is a symbolic link: refused"*) ;; *) fail "symlink-mnt: $out" ;; esac
is_mounted "$tmp/target" && { fail "symlink-mnt: mounted on the target"; umount -l "$tmp/target"; }
"$bin" stop --state-dir "$tmp/sl/bv" || fail "symlink-mnt: stop"
[ -d "$tmp/target" ] && [ -L "$tmp/link" ] || fail "symlink-mnt: stop removed the target or the link"
ok "symlink-mnt: a symlinked mountpoint is refused and nothing is mounted through it"

# aborted
sd=$tmp/ab/bv mnt=$tmp/ab/mnt
"$bin" --state-dir "$sd" --require /unikernel/kernel "$img" "$mnt" || fail "aborted: start"
conn=$(state_get "$sd" fuse_conn)
grep -q fusectl /proc/self/mountinfo || mount -t fusectl fusectl /sys/fs/fuse/connections
echo 1 >"/sys/fs/fuse/connections/$conn/abort" || fail "aborted: cannot abort connection $conn"
poll 10 state_is "$sd" stopped || fail "aborted: state '$(state_get "$sd" status)'"
is_mounted "$mnt" && fail "aborted: the dead mount is left"
grep -q "connection was aborted" "$sd/log" || fail "aborted: log: $(cat "$sd/log")"
"$bin" stop --state-dir "$sd" || fail "aborted: stop"
check_clean aborted "$sd" "$mnt" "$(state_get "$sd" pid)"
ok "aborted: an aborted connection is unmounted by the keeper; state stopped is true"

# one-per-mnt
sda=$tmp/op/a sdb=$tmp/op/b mnt=$tmp/op/mnt fails0=$fails
mkdir -p "$mnt"
"$bin" --state-dir "$sda" "$img" "$mnt" || fail "one-per-mnt: start a"
nmounts() { awk -v m="$mnt" '$5 == m' /proc/self/mountinfo | wc -l; }
out=$("$bin" --state-dir "$sdb" "$img" "$mnt" 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "one-per-mnt: second view exit $rc, want 1"
case $out in *"is mounted there already"*"--over-mount"*) ;; *) fail "one-per-mnt: '$out'" ;; esac
[ "$(nmounts)" = 1 ] || fail "one-per-mnt: $(nmounts) mounts at $mnt"
state_is "$sdb" failed || fail "one-per-mnt: second state '$(state_get "$sdb" status)'"
state_is "$sda" ready && cmp -s "$mnt/unikernel/kernel" "$kernel_src" ||
	fail "one-per-mnt: the first view was disturbed"
"$bin" --state-dir "$sdb" --over-mount "$img" "$mnt" || fail "one-per-mnt: --over-mount"
[ "$(nmounts)" = 2 ] || fail "one-per-mnt: --over-mount gave $(nmounts) mounts"
"$bin" stop --state-dir "$sdb" || fail "one-per-mnt: stop b"
"$bin" stop --state-dir "$sda" || fail "one-per-mnt: stop a"
[ "$(nmounts)" = 0 ] || fail "one-per-mnt: $(nmounts) mounts left"
mount -t tmpfs -o size=1m bvtmp "$mnt" || fail "one-per-mnt: tmpfs"
out=$("$bin" "$img" "$mnt" 2>&1) && fail "one-per-mnt: mounted over tmpfs"
case $out in *"bvtmp (tmpfs) is mounted there already"*) ;; *) fail "one-per-mnt: over tmpfs: '$out'" ;; esac
umount "$mnt"
[ $fails -eq $fails0 ] && ok "one-per-mnt: one view per mountpoint unless --over-mount"

# successor: the first keeper is held stopped (SIGSTOP) across the unmount and the second
# start, so that it ends only once the second view is up, as a slow keeper would.
sda=$tmp/su/a sdb=$tmp/su/b mnt=$tmp/su/mnt fails0=$fails
mkdir -p "$mnt"
"$bin" --state-dir "$sda" "$img" "$mnt" || fail "successor: start a"
ka=$(state_get "$sda" pid) conna=$(state_get "$sda" fuse_conn)
kill -STOP "$ka"
umount "$mnt" || fail "successor: umount a"
"$bin" --state-dir "$sdb" "$img" "$mnt" || fail "successor: start b"
connb=$(state_get "$sdb" fuse_conn)
kill -CONT "$ka"
poll 10 pid_gone "$ka" || fail "successor: the first keeper did not end"
[ "$conna" = "$connb" ] ||
	echo "note: successor: connection numbers $conna and $connb differ; the reuse was not hit"
is_mounted "$mnt" || fail "successor: the first keeper unmounted the second view"
cmp -s "$mnt/unikernel/kernel" "$kernel_src" || fail "successor: the second view does not serve"
state_is "$sdb" ready || fail "successor: second view's state '$(state_get "$sdb" status)'"
state_is "$sda" stopped || fail "successor: first view's state '$(state_get "$sda" status)'"
"$bin" stop --state-dir "$sdb" || fail "successor: stop b"
check_clean successor "$sdb" "$mnt" "$(state_get "$sdb" pid)"
[ $fails -eq $fails0 ] && ok "successor: a keeper ending late leaves a new view on its path alone"
finish
