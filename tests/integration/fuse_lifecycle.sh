#!/usr/bin/env bash
# Lifecycle of a bootviewfs mount: ready on return, the default options, EROFS, unmount by
# fusermount3 -u, umount and umount -l (also while a file is held open), SIGTERM, and bad
# sources and options that must fail fast, with a message, leaving nothing mounted.
# Exit 0 pass, 1 fail, 77 skip (reason on stdout).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
bin=$build/bootviewfs

skip() { echo "SKIP: fuse_lifecycle: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (umount, default allow_other, /proc of the daemon)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -x "$bin" ] || skip "$bin not built"
for p in mkfs.ext4 debugfs fusermount3 python3 timeout; do
	command -v $p >/dev/null || skip "$p not installed"
done

tmp=$(mktemp -d /tmp/bv-fuse-life.XXXXXX)
mnt=$tmp/mnt
cleanup() {
	exec 3<&- 2>/dev/null
	mountpoint -q "$mnt" && umount -l "$mnt"
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/src/unikernel" "$mnt"
echo '{"com.urunc.unikernel.binary":"L3VuaWtlcm5lbC9rZXJuZWw="}' >"$tmp/src/urunc.json"
head -c 3000000 /dev/urandom >"$tmp/src/unikernel/kernel"
img=$tmp/img
truncate -s 32M "$img"
mkfs.ext4 -q -F -d "$tmp/src" "$img" || { echo "FAIL: mkfs"; exit 1; }

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# "ok" only when the section added no failure.
f0=0
section() { f0=$fails; }
ok() { [ $fails -eq $f0 ] && echo "ok: $*"; section; }

# The daemon's pid: the newest bootviewfs serving $mnt.
daemon_pid() { pgrep -n -f "bootviewfs .*$mnt\$"; }
# True once PID has exited (a zombie waiting for a slow reaper counts as exited).
wait_exit() { # PID
	local i
	for i in $(seq 1 100); do
		[ -e "/proc/$1" ] || return 0
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
		sleep 0.05
	done
	return 1
}
# True when no process has the image open.
image_free() {
	local f
	for f in /proc/[0-9]*/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = "$img" ] && return 1
	done
	return 0
}

# 1. Ready on return: the very next command sees the image's root and data, every time.
for i in 1 2 3 4 5; do
	"$bin" "$img" "$mnt" || { fail "mount $i"; break; }
	ino=$(stat -c %i "$mnt")
	if [ "$ino" != 2 ] || ! cmp -s "$tmp/src/unikernel/kernel" "$mnt/unikernel/kernel"; then
		fail "mount $i: not serving when the command returned (root ino $ino)"
	fi
	pid=$(daemon_pid)
	umount "$mnt" || fail "umount $i"
	wait_exit "$pid" || fail "daemon $pid still running after umount"
done
ok "ready when the command returns (5 mounts)"

# 1b. --require checks the paths before mounting, reports ready on --ready-fd, and pushes
#     the required files into the page cache (prefetch): the bytes must be the image's.
exec 5>"$tmp/ready.json"
"$bin" --ready-fd 5 --require /unikernel/kernel --require urunc.json "$img" "$mnt" ||
	fail "mount with --require"
exec 5>&-
grep -q '"status":"ready"' "$tmp/ready.json" || fail "--ready-fd: $(cat "$tmp/ready.json")"
cmp -s "$tmp/src/unikernel/kernel" "$mnt/unikernel/kernel" || fail "prefetched kernel differs"
cmp -s "$tmp/src/urunc.json" "$mnt/urunc.json" || fail "prefetched urunc.json differs"
pid=$(daemon_pid)
umount "$mnt" || fail "umount"
wait_exit "$pid" || fail "daemon still running after umount"
ok "--require and --ready-fd; prefetched files read right"

# 2. Default options, mountinfo, and EROFS for writes.
"$bin" "$img" "$mnt" || fail "mount"
line=$(awk -v m="$mnt" '$5 == m' /proc/self/mountinfo)
case $line in
*" - fuse.bootviewfs bootviewfs:$img "*) ;;
*) fail "mountinfo type/source: $line" ;;
esac
for o in ro nosuid nodev; do
	echo "$line" | awk '{print $6}' | tr , '\n' | grep -qx $o || fail "mount option $o missing: $line"
done
for o in default_permissions allow_other; do
	echo "$line" | awk '{print $NF}' | tr , '\n' | grep -qx $o || fail "super option $o missing: $line"
done
touch "$mnt/new" 2>"$tmp/err" && fail "touch succeeded on a read-only mount"
grep -q "Read-only file system" "$tmp/err" || fail "touch: want EROFS, got: $(cat "$tmp/err")"
rm -f "$mnt/urunc.json" 2>/dev/null && fail "rm succeeded"
cat "$mnt/missing" 2>/dev/null && fail "missing file read"
ok "mountinfo shows fuse.bootviewfs, ro,nosuid,nodev,default_permissions,allow_other; writes are EROFS"

# 3. fusermount3 -u while a file is held open is refused (busy) and the mount keeps
#    serving; -u after the close ends the daemon and frees the image.
pid=$(daemon_pid)
exec 3<"$mnt/unikernel/kernel"
fusermount3 -u "$mnt" 2>/dev/null && fail "fusermount3 -u succeeded on a busy mount"
mountpoint -q "$mnt" || fail "busy mount vanished"
head -c 100 <&3 >/dev/null || fail "held file unreadable"
exec 3<&-
fusermount3 -u "$mnt" || fail "fusermount3 -u"
wait_exit "$pid" || fail "daemon still running after fusermount3 -u"
image_free || fail "image still open after fusermount3 -u"
ok "fusermount3 -u: refused while busy, then the daemon exits and frees the image"

# 4. umount -l while a file is held open: the mount leaves the namespace at once, the held
#    file still reads (it pins the filesystem), and closing it ends the daemon.
"$bin" "$img" "$mnt" || fail "mount"
pid=$(daemon_pid)
exec 3<"$mnt/unikernel/kernel"
umount -l "$mnt" || fail "umount -l"
mountpoint -q "$mnt" && fail "still mounted after umount -l"
cmp -s <(cat <&3) "$tmp/src/unikernel/kernel" || fail "held file wrong after umount -l"
exec 3<&-
wait_exit "$pid" || fail "daemon still running after umount -l and close"
image_free || fail "image still open after umount -l and close"
ok "umount -l with a file held: served until closed, then the daemon exits and frees the image"

# 5. Foreground: exit status 0 after umount; SIGTERM unmounts and exits 0.
for how in umount sigterm; do
	mkfifo "$tmp/ready.$how"
	"$bin" -f --ready-fd 5 "$img" "$mnt" 5>"$tmp/ready.$how" 2>"$tmp/fg.err" &
	fpid=$!
	read -r status <"$tmp/ready.$how"
	case $status in *'"status":"ready"'*) ;; *) fail "-f --ready-fd: got '$status'" ;; esac
	[ "$(stat -c %i "$mnt")" = 2 ] || fail "-f: not serving after ready"
	if [ $how = umount ]; then umount "$mnt"; else kill -TERM $fpid; fi
	wait $fpid; rc=$?
	[ $rc -eq 0 ] || fail "-f after $how: exit $rc: $(cat "$tmp/fg.err")"
	mountpoint -q "$mnt" && { fail "-f after $how: still mounted"; umount -l "$mnt"; }
done
image_free || fail "image still open after the foreground runs"
ok "-f: exit 0 after umount and after SIGTERM, nothing left mounted"

# 6. Bad sources and options: non-zero exit within seconds, a message naming the problem,
#    nothing mounted, no daemon left.
mkdir "$tmp/adir"
head -c 4M /dev/zero >"$tmp/zeros"
cp "$img" "$tmp/encrypt.img" && debugfs -w -R "feature encrypt" "$tmp/encrypt.img" >/dev/null 2>&1
cp "$img" "$tmp/incompat.img"
# Set an incompat bit nobody knows (0x80000000) by hand; fix the superblock checksum
# after, or the checksum, not the feature, would be what is refused.
python3 - "$tmp/incompat.img" <<'PY'
import struct, sys
p = sys.argv[1]
with open(p, "r+b") as f:
    f.seek(1024); sb = bytearray(f.read(1024))
    inc = struct.unpack_from("<I", sb, 0x60)[0] | 0x80000000
    struct.pack_into("<I", sb, 0x60, inc)
    ro = struct.unpack_from("<I", sb, 0x64)[0]
    if ro & 0x400:  # metadata_csum: crc32c over the first 1020 bytes
        def crc32c(data, crc=0xffffffff):
            for b in data:
                crc ^= b
                for _ in range(8):
                    crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
            return crc
        struct.pack_into("<I", sb, 0x3fc, crc32c(bytes(sb[:0x3fc])))
    f.seek(1024); f.write(sb)
PY
check_bad() { # WHAT WANT-IN-MESSAGE ARGS...
	local what=$1 want=$2 rc
	shift 2
	timeout 20 "$bin" "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
	if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then
		fail "$what: exit $rc"
	elif ! grep -qi -- "$want" "$tmp/err"; then
		fail "$what: message '$(cat "$tmp/err")' does not say '$want'"
	else
		ok "$what: exit $rc: $(head -1 "$tmp/err")"
	fi
	if mountpoint -q "$mnt"; then fail "$what: left a mount"; umount -l "$mnt"; fi
	pgrep -f "bootviewfs .*$mnt\$" >/dev/null && fail "$what: left a daemon"
}
check_bad "missing source" "no such file" "$tmp/nonexistent" "$mnt"
check_bad "directory source" "directory" "$tmp/adir" "$mnt"
check_bad "not a filesystem" "$tmp/zeros" "$tmp/zeros" "$mnt"
check_bad "encrypt feature" "encrypt" "$tmp/encrypt.img" "$mnt"
check_bad "unknown incompat bit" "incompat" "$tmp/incompat.img" "$mnt"
check_bad "missing mountpoint" "$tmp/nomnt" "$img" "$tmp/nomnt"
check_bad "unknown option" "'bogus'" -o ro,bogus "$img" "$mnt"
check_bad "required path missing" "/unikernel/initrd" --require /unikernel/initrd "$img" "$mnt"

# 7. rw is accepted and mounted read-only (mount(8) passes rw by default).
"$bin" -o rw "$img" "$mnt" || fail "-o rw refused"
awk -v m="$mnt" '$5 == m {print $6}' /proc/self/mountinfo | tr , '\n' | grep -qx ro ||
	fail "-o rw: not mounted ro"
umount "$mnt"
ok "-o rw mounts read-only"

# 8. Usual options pass through: fsname, subtype, max_read (which libfuse wants echoed at
#    INIT), noexec, noatime, allow_root instead of the default allow_other.
"$bin" -o fsname=view1,subtype=bvtest,max_read=131072,noexec,noatime,allow_root "$img" "$mnt" ||
	fail "mount with pass-through options"
line=$(awk -v m="$mnt" '$5 == m' /proc/self/mountinfo)
case $line in *" - fuse.bvtest view1 "*max_read=131072*) ;; *) fail "options not applied: $line" ;; esac
echo "$line" | awk '{print $6}' | tr , '\n' | grep -qx noexec || fail "noexec not applied: $line"
cmp -s "$tmp/src/unikernel/kernel" "$mnt/unikernel/kernel" || fail "max_read=128k: data differs"
umount "$mnt"
ok "fsname, subtype, max_read, noexec, noatime, allow_root pass through"

[ $fails -eq 0 ] || { echo "FAIL: fuse_lifecycle: $fails checks failed"; exit 1; }
echo "PASS: fuse_lifecycle"
exit 0
