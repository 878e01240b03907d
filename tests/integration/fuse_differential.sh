#!/usr/bin/env bash
# Differential test: every image of the matrix (scripts/mkimages.sh) is mounted twice, by
# bootviewfs and by the kernel's ext4 on a read-only loop device, and the two trees must
# agree on every field: type, mode, owner, size, blocks, nlink, a/m/ctime in ns, rdev,
# symlink target, xattrs, content hash and inode numbers.
# Exit 0 pass, 1 fail, 77 skip (reason on stdout).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
bin=$build/bootviewfs

skip() { echo "SKIP: fuse_differential: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (loop devices and kernel mounts)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -x "$bin" ] || skip "$bin not built"
for p in losetup python3 mkfs.ext4 getfattr; do
	command -v $p >/dev/null || skip "$p not installed"
done

tmp=$(mktemp -d /tmp/bv-fuse-diff.XXXXXX)
fmnt=$tmp/fuse kmnt=$tmp/kernel loopdev=
mkdir -p "$fmnt" "$kmnt"
cleanup() {
	mountpoint -q "$fmnt" && umount "$fmnt"
	mountpoint -q "$kmnt" && umount "$kmnt"
	[ -n "$loopdev" ] && losetup -d "$loopdev" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# One line per entry, sorted by path; the same for any directory. Used when the shared
# tests/treedump.py and tests/cmptree.py are not there.
dump_inline() {
	python3 - "$1" <<'PY'
import hashlib, os, stat, sys
root = sys.argv[1]
out = []
for dirpath, dirs, files in os.walk(root):
    for name in [""] if dirpath == root else []:
        pass
    names = sorted(dirs + files)
    entries = [(dirpath, "")] if dirpath == root else []
    entries += [(os.path.join(dirpath, n), n) for n in names]
    for path, _ in entries:
        st = os.lstat(path)
        rel = os.path.relpath(path, root)
        f = [repr(os.fsencode(rel)), "%o" % st.st_mode, "ino=%d" % st.st_ino,
             "uid=%d" % st.st_uid, "gid=%d" % st.st_gid, "size=%d" % st.st_size,
             "blocks=%d" % st.st_blocks, "nlink=%d" % st.st_nlink,
             "atime=%d" % st.st_atime_ns, "mtime=%d" % st.st_mtime_ns,
             "ctime=%d" % st.st_ctime_ns]
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            f.append("rdev=%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
        if stat.S_ISLNK(st.st_mode):
            f.append("target=%r" % os.readlink(os.fsencode(path)))
        if stat.S_ISREG(st.st_mode):
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            f.append("sha256=" + h.hexdigest())
        try:
            names_x = sorted(os.listxattr(path, follow_symlinks=False))
        except OSError as e:
            names_x = ["<listxattr error %d>" % e.errno]
        for x in names_x:
            try:
                v = os.getxattr(path, x, follow_symlinks=False).hex()
            except OSError as e:
                v = "<error %d>" % e.errno
            f.append("xattr:%s=%s" % (x, v))
        out.append(" ".join(f))
    # a stable walk: os.walk visits dirs in listing order; sort the output instead
print("\n".join(sorted(out)))
PY
}

dump() { # DIR OUT
	if [ -f "$top/tests/treedump.py" ]; then
		python3 "$top/tests/treedump.py" "$1" >"$2"
	else
		dump_inline "$1" >"$2"
	fi
}

compare() { # A B
	if [ -f "$top/tests/cmptree.py" ]; then
		python3 "$top/tests/cmptree.py" "$1" "$2"
	else
		diff -u "$1" "$2" | head -40
		cmp -s "$1" "$2"
	fi
}

imgdir=$tmp/images
if [ -n "${BV_IMAGES:-}" ] && [ -f "$BV_IMAGES/images.list" ]; then
	list=$BV_IMAGES/images.list # the runner's shared matrix
elif [ -x "$top/scripts/mkimages.sh" ]; then
	"$top/scripts/mkimages.sh" "$imgdir" >"$tmp/mkimages.log" 2>&1 || {
		echo "FAIL: scripts/mkimages.sh failed:"; cat "$tmp/mkimages.log"; exit 1; }
	list=$imgdir/images.list
else
	mkdir -p "$imgdir/src/d" && echo hi >"$imgdir/src/d/f" && ln -s d/f "$imgdir/src/l"
	mkfs.ext4 -q -F -d "$imgdir/src" "$imgdir/small.img" 8M
	printf 'small\t%s\t%s\t-\n' "$imgdir/small.img" "$imgdir/src" >"$imgdir/images.list"
	list=$imgdir/images.list
fi

fails=0 n=0
while IFS=$'\t' read -r name img _src _opts; do
	n=$((n + 1))
	if ! "$bin" "$img" "$fmnt" 2>"$tmp/err"; then
		echo "FAIL: $name: bootviewfs did not mount: $(cat "$tmp/err")"
		fails=$((fails + 1))
		continue
	fi
	loopdev=$(losetup -r -f --show "$img")
	if ! mount -t ext4 -o ro "$loopdev" "$kmnt" 2>"$tmp/err"; then
		# No oracle (64 KiB blocks need a kernel with large block support): bootviewfs
		# must still serve the whole tree readably.
		losetup -d "$loopdev"; loopdev=
		if dump "$fmnt" "$tmp/$name.fuse" && [ -s "$tmp/$name.fuse" ]; then
			echo "ok: $name (no kernel oracle here; $(wc -l <"$tmp/$name.fuse") entries read)"
		else
			echo "FAIL: $name: cannot walk the bootviewfs mount"
			fails=$((fails + 1))
		fi
		umount "$fmnt"
		continue
	fi
	dump "$fmnt" "$tmp/$name.fuse"
	dump "$kmnt" "$tmp/$name.kernel"
	if compare "$tmp/$name.kernel" "$tmp/$name.fuse" >"$tmp/$name.diff" 2>&1 &&
	   [ -s "$tmp/$name.kernel" ]; then
		echo "ok: $name ($(wc -l <"$tmp/$name.kernel") entries agree)"
	else
		echo "FAIL: $name: bootviewfs and the kernel disagree:"
		head -40 "$tmp/$name.diff"
		fails=$((fails + 1))
	fi
	umount "$fmnt"
	umount "$kmnt"
	losetup -d "$loopdev"; loopdev=
done <"$list"

[ $n -gt 0 ] || { echo "FAIL: no images"; exit 1; }
[ $fails -eq 0 ] || { echo "FAIL: $fails of $n images differ"; exit 1; }
echo "PASS: fuse_differential: $n images"
exit 0
