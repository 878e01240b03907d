#!/usr/bin/env bash
# A pre-mounted FUSE fd (docs/integration.md, "Pre-mounted FUSE fd"): a privileged helper
# opens /dev/fuse, mounts it with mount(2) and hands the fd to an unprivileged bootviewfs as
# the mountpoint /dev/fd/N. bootviewfs serves on it without any mount right (as uid 4242,
# with no access to /dev/fuse and no fusermount3 call), `stop` ends the server and closes
# the device, and the helper then unmounts. A /dev/fd/N that is not a FUSE device is
# refused. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lifecycle.sh"
command -v setpriv >/dev/null || skip "setpriv not installed"

uid=4242
make_image
work=$tmp/u
mkdir -p "$work/mnt"
cp "$img" "$work/img.ext4"
img=$work/img.ext4
chown -R $uid:$uid "$work"
chmod 755 "$tmp"
# The binary must be reachable by the user: copy it out of a possibly private build dir.
cp "$bin" "$work/bootviewfs"
chmod 755 "$work/bootviewfs"

# The helper: mount(2) a fresh /dev/fuse fd on MNT for uid, then run the view as that user
# with the fd as its mountpoint, and close its own copy so that the connection ends with
# the server.
cat >"$tmp/helper.py" <<'PY'
import ctypes, os, subprocess, sys
uid, mnt, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open("/dev/fuse", os.O_RDWR)
opts = f"fd={fd},rootmode=40000,user_id={uid},group_id={uid},allow_other,default_permissions"
MS_RDONLY, MS_NOSUID, MS_NODEV = 1, 2, 4
if libc.mount(b"bootviewfs:premounted", mnt.encode(), b"fuse.bootviewfs",
              MS_RDONLY | MS_NOSUID | MS_NODEV, opts.encode()) != 0:
    sys.exit("mount: " + os.strerror(ctypes.get_errno()))
r, w = os.pipe()
p = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                    f"{work}/bootviewfs", "--state-dir", f"{work}/bv", "--id", "pre",
                    "--ready-fd", str(w), "--require", "/unikernel/kernel",
                    f"{work}/img.ext4", f"/dev/fd/{fd}"], pass_fds=(fd, w))
os.close(w)
print(os.read(r, 4096).decode().strip() or "EOF")
os.close(fd)
sys.exit(p.returncode)
PY

line=$(python3 "$tmp/helper.py" $uid "$work/mnt" "$work" 2>"$tmp/helper.err")
rc=$?
[ $rc -eq 0 ] || fail "start as uid $uid on /dev/fd/N: exit $rc: $(cat "$tmp/helper.err")"
[ "$(json_get "$line" status 2>/dev/null)" = ready ] || fail "ready line: $line"
is_mounted "$work/mnt" || die "the helper's mount is gone"
cmp -s "$work/mnt/unikernel/kernel" "$kernel_src" || fail "the kernel read through the mount differs"
[ -e "$work/mnt/urunc.json" ] && fail "--require without --export-all serves more than the required path"
server=$(state_get "$work/bv" server_pid)
[ "$(awk '/^Uid:/ {print $2}' /proc/"$server"/status 2>/dev/null)" = $uid ] ||
	fail "the server does not run as uid $uid"
[ "$(state_get "$work/bv" mountpoint)" = "" ] || fail "state.json names a mountpoint for a /dev/fd view"
ok "uid $uid serves a pre-mounted /dev/fd/N"

setpriv --reuid=$uid --regid=$uid --clear-groups "$work/bootviewfs" stop --state-dir "$work/bv" ||
	fail "stop as uid $uid: exit $?"
state_is "$work/bv" stopped || fail "state '$(state_get "$work/bv" status)' after stop"
poll 5 image_free || fail "the image is still open after stop"
lock_held "$work/bv" && fail "the life lock is still held"
# The connection is gone with the server: the helper's mount answers ENOTCONN, and the
# helper (who mounted it) unmounts it.
stat "$work/mnt/unikernel" >/dev/null 2>"$tmp/stat.err" && fail "the mount still answers after stop"
grep -q "not connected" "$tmp/stat.err" || fail "after stop: $(cat "$tmp/stat.err")"
umount "$work/mnt" || fail "the helper cannot unmount"
ok "stop ends the server and closes the device; the helper unmounts"

# Bad input: an fd that is not /dev/fuse.
out=$(setpriv --reuid=$uid --regid=$uid --clear-groups "$work/bootviewfs" \
	"$work/img.ext4" /dev/fd/0 </dev/null 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "/dev/fd/0 (not FUSE): exit $rc"
case $out in *"not an open /dev/fuse fd"*) ok "a /dev/fd/N that is not /dev/fuse is refused" ;;
*) fail "/dev/fd/0: $out" ;; esac
finish
