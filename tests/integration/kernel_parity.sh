#!/usr/bin/env bash
# Kernel parity beyond stat (issue 13): the same images mounted by bootviewfs and by the
# kernel's ext4 (read-only loop device) must answer alike
#   - lseek SEEK_DATA / SEEK_HOLE at many offsets of sparse, punched, preallocated
#     (unwritten), inline and block-mapped (ext2) files, before anything reads them;
#   - listxattr as root (trusted.* listed) and as an unused uid (not listed);
#   - statvfs when the superblock's free counters are stale (set with debugfs ssv);
#   - FS_IOC_GETFLAGS, FS_IOC_FSGETXATTR and FS_IOC_GETVERSION (lsattr) on files and
#     directories with chattr flags set;
#   - open_by_handle_at of a handle taken before the caches were dropped;
# and a 1 TiB sparse file (extent-mapped and block-mapped) answers SEEK_DATA/SEEK_HOLE at
# once. Runs in a private mount namespace. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
if [ -z "${BV_PARITY_NS:-}" ] && [ "$(id -u)" -eq 0 ]; then
	exec unshare --mount --propagation private env BV_PARITY_NS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/_lib.sh"

is_root || skip "needs root (loop devices, kernel mounts, drop_caches)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -x "$bin" ] || skip "$bin not built"
for p in losetup python3 mkfs.ext4 mkfs.ext2 debugfs chattr setfattr fallocate setpriv; do
	command -v $p >/dev/null || skip "$p not installed"
done

chmod 0711 "$tmp" # the unprivileged uid walks to the mounts
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# An unused uid for the unprivileged listxattr: no account, no process.
uid=
for id in $(seq 4242 4342); do
	getent passwd "$id" >/dev/null && continue
	awk -v id="$id" '/^Uid:/ { for (i = 2; i <= 5; i++) if ($i == id) f = 1 } END { exit !f }' \
		/proc/[0-9]*/status 2>/dev/null && continue
	uid=$id
	break
done
[ -n "$uid" ] || skip "no unused uid in 4242..4342"
# A python the uid may run (root's may live under /root).
py_user=
for p in /usr/bin/python3 /usr/local/bin/python3; do
	[ -x "$p" ] && setpriv --reuid="$uid" --regid="$uid" --clear-groups "$p" -c '' 2>/dev/null &&
		py_user=$p && break
done
[ -n "$py_user" ] || skip "no python3 that uid $uid can run"

# ---- the images: written by the kernel (rw loop mount), then unmounted ----

# populate DIR: files whose holes, unwritten extents, flags and xattrs the probes look at.
populate() {
	local d=$1
	# The issue's example: 4 KiB, a hole, one byte at 10 MiB.
	head -c 4096 /dev/urandom >"$d/sparse"
	printf x | dd of="$d/sparse" bs=1 seek=$((10 << 20)) conv=notrunc status=none
	# Data, hole, data, with a hole at the end too.
	head -c $((1 << 20)) /dev/urandom >"$d/punched"
	fallocate -p -o $((256 << 10)) -l $((256 << 10)) "$d/punched" 2>/dev/null
	truncate -s $((3 << 20)) "$d/punched"
	# Preallocated (unwritten) with one written block in the middle, and blocks past EOF.
	if fallocate -l $((1 << 20)) "$d/prealloc" 2>/dev/null; then
		head -c 4096 /dev/urandom | dd of="$d/prealloc" bs=4096 seek=64 conv=notrunc status=none
		fallocate -n -o $((1 << 20)) -l $((1 << 20)) "$d/prealloc"
	fi
	: >"$d/empty"
	printf 'small' >"$d/small"
	head -c 5000 /dev/urandom >"$d/odd"
	mkdir "$d/dir" "$d/flags"
	for f in i a d A S; do printf '%s' "$f" >"$d/flags/$f"; done
	chattr +d "$d/flags/d"; chattr +A "$d/flags/A"; chattr +S "$d/flags/S"
	chattr +D "$d/dir" 2>/dev/null; chattr +T "$d/dir" 2>/dev/null
	setfattr -n user.a -v 1 "$d/small"
	setfattr -n trusted.t -v 2 "$d/small"
	setfattr -n trusted.only -v 3 "$d/odd"
	# Last: these refuse further changes.
	chattr +a "$d/flags/a"; chattr +i "$d/flags/i"
}

# mkimage NAME MKFS-ARGS...: a 64 MiB image populated through a rw kernel mount.
mkimage() {
	local name=$1 img=$tmp/$1.img dev mnt=$tmp/rw
	shift
	"$@" -q -F "$img" 64M || die "$* failed"
	dev=$(losetup -f --show "$img") || die "losetup $img"
	mkdir -p "$mnt"
	mount -t ext4 "$dev" "$mnt" || { losetup -d "$dev"; die "cannot mount $name read-write"; }
	populate "$mnt"
	umount "$mnt"
	losetup -d "$dev"
}

mkimage ext4 mkfs.ext4 -b 4096
mkimage inline mkfs.ext4 -b 4096 -O inline_data
mkimage ext2 mkfs.ext2 -b 1024
mkimage ext3 mkfs.ext3 -b 4096
# Stale superblock counters, as in an image copied from a live mount: the descriptors are
# right, the superblock says something else.
cp "$tmp/ext4.img" "$tmp/stale.img"
debugfs -w -R "ssv free_blocks_count 12345" "$tmp/stale.img" >/dev/null 2>&1 &&
	debugfs -w -R "ssv free_inodes_count 777" "$tmp/stale.img" >/dev/null 2>&1 ||
	die "debugfs ssv failed"
# The 1 TiB sparse files (mke2fs -d writes extents for ext4, an indirect map for ext2).
mkdir -p "$tmp/hsrc"
truncate -s $((1 << 40)) "$tmp/hsrc/huge" || skip "the scratch filesystem cannot hold a 1 TiB sparse file"
printf 'tail-bytes' | dd of="$tmp/hsrc/huge" bs=1 seek=$(((1 << 40) - 10)) conv=notrunc status=none
mkfs.ext4 -q -F -b 4096 -d "$tmp/hsrc" "$tmp/huge4.img" 64M || die "mkfs.ext4 -d huge"
mkfs.ext2 -q -F -b 4096 -d "$tmp/hsrc" "$tmp/huge2.img" 64M || die "mkfs.ext2 -d huge"
rm -f "$tmp/hsrc/huge"

# ---- the probes ----

cat >"$tmp/probe.py" <<'PY'
import array, ctypes, errno, fcntl, os, stat, sys

FS_IOC_GETFLAGS = 0x80086601
FS_IOC_GETVERSION = 0x80087601
FS_IOC_FSGETXATTR = 0x801C581F
SEEK_DATA, SEEK_HOLE = 3, 4

def seek_probe(path):
    """SEEK_DATA and SEEK_HOLE at offsets around every block boundary that matters."""
    out = []
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    offs = {0, 1, 4095, 4096, 4097, size - 1, size, size + 1, size // 2, -1, 1 << 62}
    # Walk the answers too: every boundary found is probed at -1, 0, +1.
    pos = 0
    for _ in range(64):
        for w in (SEEK_DATA, SEEK_HOLE):
            try:
                p = os.lseek(fd, pos, w)
            except OSError:
                continue
            offs.update({p - 1, p, p + 1})
        try:
            d = os.lseek(fd, pos, SEEK_DATA)
            pos = os.lseek(fd, d, SEEK_HOLE)
        except OSError:
            break
        if pos >= size:
            break
    for o in sorted(offs):
        for w, name in ((SEEK_DATA, "data"), (SEEK_HOLE, "hole")):
            try:
                r = str(os.lseek(fd, o, w))
            except OSError as e:
                r = errno.errorcode.get(e.errno, str(e.errno))
            out.append("%s %s(%d)=%s" % (path, name, o, r))
    os.close(fd)
    return out

def ioctl_probe(path):
    out = []
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    for cmd, name, n in ((FS_IOC_GETFLAGS, "getflags", 1), (FS_IOC_GETVERSION, "getversion", 1),
                         (FS_IOC_FSGETXATTR, "fsgetxattr", 7)):
        buf = array.array("I", [0] * max(n, 2))
        try:
            fcntl.ioctl(fd, cmd, buf, True)
            r = "%s" % ([hex(x) for x in buf[:n]] if n > 1 else hex(buf[0]))
        except OSError as e:
            r = errno.errorcode.get(e.errno, str(e.errno))
        out.append("%s %s=%s" % (path, name, r))
    os.close(fd)
    return out

def xattr_probe(path):
    try:
        return ["%s listxattr=%s" % (path, sorted(os.listxattr(path, follow_symlinks=False)))]
    except OSError as e:
        return ["%s listxattr=%s" % (path, errno.errorcode.get(e.errno))]

def walk(root):
    for dp, dns, fns in os.walk(root):
        dns.sort()
        for n in sorted(dns) + sorted(fns):
            p = os.path.join(dp, n)
            yield os.path.relpath(p, root), p
    yield ".", root

def main(mode, root):
    os.chdir(root)
    lines = []
    for rel, p in sorted(walk(".")):
        st = os.lstat(rel)
        if mode == "seek" and stat.S_ISREG(st.st_mode):
            lines += seek_probe(rel)
        elif mode == "ioctl" and (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            lines += ioctl_probe(rel)
        elif mode == "xattr":
            lines += xattr_probe(rel)
    if mode == "statfs":
        s = os.statvfs(".")
        lines.append("bsize=%d frsize=%d blocks=%d bfree=%d bavail=%d files=%d ffree=%d "
                     "favail=%d namemax=%d" % (s.f_bsize, s.f_frsize, s.f_blocks, s.f_bfree,
                     s.f_bavail, s.f_files, s.f_ffree, s.f_favail, s.f_namemax))
    print("\n".join(lines))

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
PY

cat >"$tmp/handle.py" <<'PY'
# handle.py MOUNT REL...: takes a handle of each path, drops the caches, opens each by its
# handle and prints a digest of what it reads (or the errno).
import ctypes, errno, hashlib, os, sys
libc = ctypes.CDLL(None, use_errno=True)
class FH(ctypes.Structure):
    _fields_ = [("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                ("f_handle", ctypes.c_ubyte * 128)]
root, rels = sys.argv[1], sys.argv[2:]
hs = []
for r in rels:
    fh, mid = FH(), ctypes.c_int()
    fh.handle_bytes = 128
    if libc.name_to_handle_at(-100, os.path.join(root, r).encode(), ctypes.byref(fh),
                              ctypes.byref(mid), 0) != 0:
        hs.append(errno.errorcode.get(ctypes.get_errno()))
    else:
        hs.append(fh)
os.sync()
with open("/proc/sys/vm/drop_caches", "w") as f:
    f.write("3\n")
mfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
for r, fh in zip(rels, hs):
    if isinstance(fh, str):
        print("%s name_to_handle_at=%s" % (r, fh))
        continue
    fd = libc.open_by_handle_at(mfd, ctypes.byref(fh), os.O_RDONLY)
    if fd < 0:
        print("%s open_by_handle_at=%s" % (r, errno.errorcode.get(ctypes.get_errno())))
        continue
    if os.path.isdir("/proc/self/fd/%d" % fd):
        what = "dir " + " ".join(sorted(os.listdir(fd)))
    else:
        what = hashlib.sha256(os.read(fd, 1 << 24)).hexdigest()
    print("%s open_by_handle_at=ok %s" % (r, what))
    os.close(fd)
PY

fmnt=$tmp/fuse kmnt=$tmp/kernel
mkdir -p "$fmnt" "$kmnt"

# both IMG: mounts IMG twice; returns 1 (after a FAIL line) when either will not mount.
both() {
	if ! "$bin" "$1" "$fmnt" 2>"$tmp/err"; then
		fail "$(basename "$1"): bootviewfs did not mount: $(cat "$tmp/err")"
		return 1
	fi
	_mounts+=("$fmnt")
	if ! kmount "$1" "$kmnt"; then
		umount "$fmnt"
		fail "$(basename "$1"): the kernel did not mount it: $kmount_err"
		return 1
	fi
}
unmount_both() {
	umount "$fmnt"
	kumount "$kmnt"
}

# agree WHAT: compares $tmp/k.out (kernel) and $tmp/f.out (bootviewfs).
agree() {
	if cmp -s "$tmp/k.out" "$tmp/f.out" && [ -s "$tmp/k.out" ] &&
	   ! grep -q "Traceback\|denied" "$tmp/k.out"; then
		echo "ok: $1 ($(wc -l <"$tmp/k.out") answers agree)"
	else
		fail "$1: bootviewfs (+) and the kernel (-) differ:"
		diff "$tmp/k.out" "$tmp/f.out" | head -20
	fi
}

for name in ext4 inline ext2 ext3; do
	img=$tmp/$name.img
	both "$img" || continue
	# SEEK_* first, on a kernel mount nothing has read yet: the kernel counts pages of
	# unwritten extents that sit in its page cache as data (iomap's seek looks there).
	python3 "$tmp/probe.py" seek "$kmnt" >"$tmp/k.out" 2>&1
	python3 "$tmp/probe.py" seek "$fmnt" >"$tmp/f.out" 2>&1
	agree "$name: SEEK_DATA/SEEK_HOLE"
	python3 "$tmp/probe.py" ioctl "$kmnt" >"$tmp/k.out" 2>&1
	python3 "$tmp/probe.py" ioctl "$fmnt" >"$tmp/f.out" 2>&1
	agree "$name: FS_IOC_GETFLAGS/FSGETXATTR/GETVERSION"
	# Sorted: listings come in another order (docs/ondisk.md section 8).
	(cd "$kmnt" && lsattr -R -a . 2>&1 | sort) >"$tmp/k.out"
	(cd "$fmnt" && lsattr -R -a . 2>&1 | sort) >"$tmp/f.out"
	agree "$name: lsattr -R -a"
	python3 "$tmp/probe.py" xattr "$kmnt" >"$tmp/k.out" 2>&1
	python3 "$tmp/probe.py" xattr "$fmnt" >"$tmp/f.out" 2>&1
	agree "$name: listxattr as root"
	grep -q "trusted.t" "$tmp/f.out" || fail "$name: root does not see trusted.t"
	setpriv --reuid="$uid" --regid="$uid" --clear-groups \
		"$py_user" "$tmp/probe.py" xattr "$kmnt" >"$tmp/k.out" 2>&1
	setpriv --reuid="$uid" --regid="$uid" --clear-groups \
		"$py_user" "$tmp/probe.py" xattr "$fmnt" >"$tmp/f.out" 2>&1
	agree "$name: listxattr as uid $uid"
	grep -q "trusted" "$tmp/f.out" && fail "$name: uid $uid sees trusted.* names"
	grep -q "small listxattr=\['user.a'\]" "$tmp/f.out" || fail "$name: uid $uid: no user.a"
	python3 "$tmp/probe.py" statfs "$kmnt" >"$tmp/k.out" 2>&1
	python3 "$tmp/probe.py" statfs "$fmnt" >"$tmp/f.out" 2>&1
	agree "$name: statvfs"
	python3 "$tmp/handle.py" "$kmnt" small dir flags/i sparse >"$tmp/k.out" 2>&1
	python3 "$tmp/handle.py" "$fmnt" small dir flags/i sparse >"$tmp/f.out" 2>&1
	if [ "$name" = inline ]; then
		# The kernel cannot reconnect an inline directory's handle (ext4_get_parent finds
		# no ".." in inline data: ESTALE); ours opens. docs/ondisk.md section 15.
		grep -q "^dir open_by_handle_at=ok dir $" "$tmp/f.out" || fail "inline: dir handle"
		grep -v "^dir " "$tmp/k.out" >"$tmp/k2.out"; mv "$tmp/k2.out" "$tmp/k.out"
		grep -v "^dir " "$tmp/f.out" >"$tmp/f2.out"; mv "$tmp/f2.out" "$tmp/f.out"
	fi
	agree "$name: open_by_handle_at after drop_caches"
	[ "$(grep -c "=ok" "$tmp/f.out")" -ge 3 ] || fail "$name: handles did not open"
	unmount_both
done

# Stale superblock counters: the kernel shows the descriptors' sums, and so must we.
if both "$tmp/stale.img"; then
	python3 "$tmp/probe.py" statfs "$kmnt" >"$tmp/k.out" 2>&1
	python3 "$tmp/probe.py" statfs "$fmnt" >"$tmp/f.out" 2>&1
	agree "stale superblock counters: statvfs"
	grep -q "bfree=12345 " "$tmp/k.out" && fail "the kernel showed the superblock's counter (test is vacuous)"
	unmount_both
fi

# 1 TiB sparse files: every answer at once (the work is the map's runs, not the size).
for name in huge4 huge2; do
	"$bin" "$tmp/$name.img" "$fmnt" 2>"$tmp/err" || { fail "$name: did not mount: $(cat "$tmp/err")"; continue; }
	_mounts+=("$fmnt")
	start=$(date +%s%N)
	got=$(timeout 30 python3 - "$fmnt/huge" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
print(os.lseek(fd, 0, 3), os.lseek(fd, 0, 4), os.lseek(fd, size - 10, 4),
      os.lseek(fd, size - 5000, 3), os.pread(fd, 10, size - 10).decode())
PY
	)
	ms=$((($(date +%s%N) - start) / 1000000))
	want="$(((1 << 40) - 4096)) 0 $((1 << 40)) $(((1 << 40) - 4096)) tail-bytes"
	if [ "$got" = "$want" ]; then
		echo "ok: $name: 1 TiB sparse file: SEEK_DATA/SEEK_HOLE right (${ms} ms for all)"
	else
		fail "$name: 1 TiB sparse file: got '$got', want '$want' (${ms} ms)"
	fi
	umount "$fmnt"
done

[ $fails -eq 0 ] || die "$fails differences"
echo "PASS: $testname"
exit 0
