#!/usr/bin/env bash
# The mount helper: after `make install` with the default PREFIX (/usr/local),
# `mount -t fuse.bootviewfs IMG MNT` works (mount(8) runs /sbin/mount.fuse.bootviewfs, the
# absolute link make install puts there whatever PREFIX is), so does an fstab line
# (`mount -T FSTAB MNT`), and mount.fuse3's way (`bootviewfs IMG MNT -o OPTS` via the
# shell); umount ends it. mount(8) looks for helpers only in /sbin and clears PATH, so the
# install goes to a temporary DESTDIR, laid over /usr/local and /sbin (or /usr/sbin, where
# /sbin leads) with read-only overlays inside a private mount namespace: the host is never
# touched.
# Exit 0 pass, 1 fail, 77 skip (reason on stdout).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
bin=$build/bootviewfs

skip() { echo "SKIP: fuse_mount_helper: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (mount namespaces, mount(8))"
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -x "$bin" ] || skip "$bin not built"
for p in unshare mount.fuse3 mkfs.ext4 make; do
	command -v $p >/dev/null || skip "$p not installed"
done
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
grep -qw overlay /proc/filesystems || skip "no overlayfs to lay the install over /usr"

tmp=$(mktemp -d /tmp/bv-fuse-helper.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
mkdir -p "$tmp/src/unikernel" "$tmp/mnt"
echo '{"com.urunc.unikernel.hypervisor":"cWVtdQ=="}' >"$tmp/src/urunc.json"
echo kernel >"$tmp/src/unikernel/kernel"
truncate -s 16M "$tmp/img"
mkfs.ext4 -q -F -d "$tmp/src" "$tmp/img" || { echo "FAIL: mkfs"; exit 1; }

if ! make -s -C "$top" install DESTDIR="$dest" BUILD="$build" >"$tmp/make.log" 2>&1; then
	echo "FAIL: make install:"; cat "$tmp/make.log"; exit 1
fi
link=$dest/sbin/mount.fuse.bootviewfs
if [ "$(readlink "$link")" != /usr/local/bin/bootviewfs ] || [ ! -x "$dest/usr/local/bin/bootviewfs" ]; then
	echo "FAIL: $link does not lead to /usr/local/bin/bootviewfs: $(ls -l "$link")"; exit 1
fi

# Everything below runs in a private mount namespace; its mounts vanish with it.
unshare -m --propagation private bash -s "$dest" "$tmp" <<'NS'
set -uo pipefail
dest=$1 tmp=$2 mnt=$tmp/mnt img=$tmp/img fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
mkdir -p /usr/local
mount -t overlay overlay -o "lowerdir=$dest/usr/local:/usr/local" /usr/local || exit 77
sbin=$(readlink -f /sbin) # /usr/sbin on a merged /usr, else /sbin itself
mount -t overlay overlay -o "lowerdir=$dest/sbin:$sbin" "$sbin" || exit 77

daemon_gone() { # PID: exited (or a zombie awaiting its reaper) within 5 s
	for i in $(seq 1 100); do
		[ -e "/proc/$1" ] || return 0
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
		sleep 0.05
	done
	return 1
}
check_mounted() { # HOW
	local line
	line=$(awk -v m="$mnt" '$5 == m' /proc/self/mountinfo)
	case $line in *" - fuse.bootviewfs bootviewfs:$img "*) ;; *) fail "$1: mountinfo: $line" ;; esac
	[ "$(cat "$mnt/unikernel/kernel" 2>&1)" = kernel ] || fail "$1: not serving on return"
	pid=$(pgrep -n -f "bootviewfs .*$mnt")
	umount "$mnt" || fail "$1: umount"
	daemon_gone "$pid" || fail "$1: daemon still running after umount"
	mountpoint -q "$mnt" && umount -l "$mnt"
	[ $fails -eq 0 ] && echo "ok: $1"
}

mount -t fuse.bootviewfs "$img" "$mnt" || fail "mount -t fuse.bootviewfs"
check_mounted "mount -t fuse.bootviewfs IMG MNT (through sbin/mount.fuse.bootviewfs)"

mount -t fuse.bootviewfs -o noexec,nofail,x-test=1,_netdev "$img" "$mnt" ||
	fail "mount -t fuse.bootviewfs -o noexec,nofail,x-test=1,_netdev"
awk -v m="$mnt" '$5 == m {print $6}' /proc/self/mountinfo | tr , '\n' | grep -qx noexec ||
	fail "noexec not applied"
check_mounted "fstab-style options (noexec,nofail,x-*,_netdev)"

# An fstab line, as a newcomer writes it, through mount(8)'s fstab lookup.
printf '%s %s fuse.bootviewfs ro,noexec 0 0\n' "$img" "$mnt" >"$tmp/fstab"
mount -T "$tmp/fstab" "$mnt" || fail "mount -T FSTAB MNT"
check_mounted "an fstab line (mount -T FSTAB MNT)"

# mount.fuse3 adds dev,suid for root; they are accepted and the mount stays nodev,nosuid.
mount.fuse3 "$img" "$mnt" -t fuse.bootviewfs -o ro || fail "mount.fuse3"
awk -v m="$mnt" '$5 == m {print $6}' /proc/self/mountinfo | tr , '\n' | grep -qx nodev ||
	fail "mount.fuse3: nodev lost"
check_mounted "mount.fuse3 IMG MNT -t fuse.bootviewfs (bootviewfs IMG MNT -o ...)"

if mount -t fuse.bootviewfs "$tmp/nonexistent" "$mnt" 2>"$tmp/err"; then
	fail "a missing source mounted"
elif ! grep -q "nonexistent" "$tmp/err"; then
	fail "missing source: no message naming it: $(cat "$tmp/err")"
else
	echo "ok: a missing source fails: $(head -1 "$tmp/err")"
fi
mountpoint -q "$mnt" && fail "a failed mount left a mount"
exit $((fails > 0))
NS
rc=$?
[ $rc -eq 77 ] && skip "cannot lay the install over /usr in a mount namespace"
[ $rc -eq 0 ] || { echo "FAIL: fuse_mount_helper"; exit 1; }
echo "PASS: fuse_mount_helper"
exit 0
