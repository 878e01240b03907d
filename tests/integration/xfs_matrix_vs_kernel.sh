#!/usr/bin/env bash
# The XFS image matrix (scripts/mkxfsimages.sh), each image mounted twice: by the kernel's
# xfs (mount -o ro,norecovery,loop: a read-only loop device, the log never replayed) and
# by bootviewfs (FUSE). Both trees are dumped with tests/treedump.py and must agree on
# every field tests/cmptree.py knows (type, mode, owner, size, nlink, inode, a/m/ctime in
# ns, rdev, symlink target, xattrs with trusted.* and ACLs, sha256, directory size,
# st_blocks). Also, per image and against the kernel:
#   - SEEK_DATA/SEEK_HOLE at many offsets of every regular file under /special, before
#     anything reads them (sparse, unwritten, 2500-extent files);
#   - FS_IOC_GETFLAGS and FS_IOC_FSGETXATTR (xflags, extsize, project id, cowextsize) of
#     every file and directory, and fsx_nextents (the extent count of the data fork;
#     the kernel's size/16 for a local directory);
#   - statvfs;
#   - `bootviewfs probe`: type xfs, blkid's uuid, xfs_db's block size, log "clean", or
#     "dirty" for the dirty image.
# The dirty-log image is served with -o norecovery; without it bootviewfs must refuse it
# with a sentence naming the log and leave nothing mounted. An image the kernel will not
# mount (v4 on a kernel without CONFIG_XFS_SUPPORT_V4) is compared with its source tree on
# what mkfs.xfs -p carries (type, mode, owner, size, target, sha256, rdev).
# Until bootviewfs can serve XFS (probe says unsupported) it skips.
# BV_XFS_SELFTEST=1 puts a second kernel mount (nouuid) where bootviewfs would be: the
# harness itself must then find no difference at all.
# Runs in a private mount namespace. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
if [ -z "${BV_XFS_NS:-}" ] && [ "$(id -u)" -eq 0 ]; then
	exec unshare --mount --propagation private env BV_XFS_NS=1 bash "$0" "$@"
fi
# shellcheck source=tests/integration/_lib.sh
. "$(dirname "$0")/_lib.sh"

is_root || skip "needs root (loop devices and kernel mounts)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -x "$bin" ] || skip "$bin not built"
for p in mkfs.xfs xfs_db python3 blkid mount; do
	command -v $p >/dev/null || skip "$p not installed"
done
grep -qw xfs /proc/filesystems || modprobe xfs 2>/dev/null || true
grep -qw xfs /proc/filesystems || skip "the kernel has no xfs"

selftest=${BV_XFS_SELFTEST:-0}
# Can this build serve XFS at all? A 32 MiB empty filesystem answers in a blink.
truncate -s 32M "$tmp/probe.img"
TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 mkfs.xfs -q -f "$tmp/probe.img" || die "mkfs.xfs failed"
"$bin" probe "$tmp/probe.img" >"$tmp/probe.json" 2>&1
if [ "$selftest" != 1 ] && ! python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d.get("supported") else 1)' \
	"$tmp/probe.json" 2>/dev/null; then
	echo "bootviewfs probe of an empty XFS filesystem:"
	sed 's/^/  /' "$tmp/probe.json"
	skip "XFS reader not built yet"
fi

# The matrix: the runner's shared one, or one built here.
if [ -n "${BV_XFS_IMAGES:-}" ] && [ -f "$BV_XFS_IMAGES/xfsimages.list" ]; then
	images=$BV_XFS_IMAGES
else
	images=$tmp/xfsimages
	"$top/scripts/mkxfsimages.sh" "$images" >"$tmp/mkxfsimages.log" 2>&1
	rc=$?
	[ $rc -eq 77 ] && skip "mkxfsimages: $(tail -1 "$tmp/mkxfsimages.log")"
	[ $rc -eq 0 ] || { cat "$tmp/mkxfsimages.log"; die "scripts/mkxfsimages.sh failed"; }
fi

cat >"$tmp/probe.py" <<'PY'
import array, errno, fcntl, os, stat, sys

FS_IOC_GETFLAGS = 0x80086601
FS_IOC_FSGETXATTR = 0x801C581F
SEEK_DATA, SEEK_HOLE = 3, 4

def err(e):
    return errno.errorcode.get(e.errno, str(e.errno))

def seek_probe(path):
    out = []
    fd = os.open(path, os.O_RDONLY)
    size = os.fstat(fd).st_size
    offs = {0, 1, 4095, 4096, 4097, 65536, size - 1, size, size + 1, size // 2, 1 << 62}
    pos = 0
    for _ in range(64):  # walk the answers; each boundary is probed at -1, 0, +1
        try:
            d = os.lseek(fd, pos, SEEK_DATA)
            pos = os.lseek(fd, d, SEEK_HOLE)
        except OSError:
            break
        offs.update({d - 1, d, d + 1, pos - 1, pos, pos + 1})
        if pos >= size:
            break
    for o in sorted(x for x in offs if x >= 0):
        for w, name in ((SEEK_DATA, "data"), (SEEK_HOLE, "hole")):
            try:
                r = str(os.lseek(fd, o, w))
            except OSError as e:
                r = err(e)
            out.append("%s %s(%d)=%s" % (path, name, o, r))
    os.close(fd)
    return out

def ioctl_probe(path, nextents):
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    out = []
    buf = array.array("I", [0, 0])
    try:
        fcntl.ioctl(fd, FS_IOC_GETFLAGS, buf, True)
        out.append("%s flags=%#x" % (path, buf[0]))
    except OSError as e:
        out.append("%s flags=%s" % (path, err(e)))
    buf = array.array("I", [0] * 7)
    try:
        fcntl.ioctl(fd, FS_IOC_FSGETXATTR, buf, True)
        x = buf.tolist()
        if nextents:
            out.append("%s fsx_nextents=%d" % (path, x[2]))
        else:
            out.append("%s xflags=%#x extsize=%d projid=%d cowextsize=%d" %
                       (path, x[0], x[1], x[3], x[4]))
    except OSError as e:
        out.append("%s fsgetxattr=%s" % (path, err(e)))
    os.close(fd)
    return out

def walk(root):
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            yield os.path.relpath(p, root)
    yield "."

def main(mode, root):
    os.chdir(root)
    lines = []
    if mode == "seek":
        if os.path.isdir("special"):
            for rel in sorted(walk("special")):
                p = os.path.join("special", rel)
                if stat.S_ISREG(os.lstat(p).st_mode):
                    lines += seek_probe(p)
    elif mode in ("ioctl", "nextents"):
        for rel in sorted(walk(".")):
            m = os.lstat(rel).st_mode
            if stat.S_ISREG(m) or stat.S_ISDIR(m):
                lines += ioctl_probe(rel, mode == "nextents")
    elif mode == "statfs":
        s = os.statvfs(".")
        lines.append("bsize=%d frsize=%d blocks=%d bfree=%d bavail=%d files=%d ffree=%d "
                     "favail=%d namemax=%d" % (s.f_bsize, s.f_frsize, s.f_blocks, s.f_bfree,
                     s.f_bavail, s.f_files, s.f_ffree, s.f_favail, s.f_namemax))
    print("\n".join(lines))

main(sys.argv[1], sys.argv[2])
PY

# The 1 TiB sparse file is hashed over its data segments (SEEK_DATA/SEEK_HOLE), not read.
seekhash=(--seek-hash "/sparse-1t$")
fmnt=$tmp/fuse kmnt=$tmp/kernel
mkdir -p "$fmnt" "$kmnt"
chmod 0755 "$tmp"
fails=0 n=0 compared=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# agree NAME WHAT: $tmp/k.out (kernel) against $tmp/f.out (bootviewfs).
agree() {
	if [ -s "$tmp/k.out" ] && cmp -s "$tmp/k.out" "$tmp/f.out" && ! grep -q Traceback "$tmp/k.out"; then
		echo "ok: $1: $2 ($(wc -l <"$tmp/k.out") answers agree)"
	else
		fail "$1: $2: the kernel (-) and bootviewfs (+) differ:"
		diff "$tmp/k.out" "$tmp/f.out" | grep '^[<>]' | head -20 | sed 's/^</  kernel:/; s/^>/  ours:  /'
	fi
}

fumount() {
	umount "$fmnt" 2>/dev/null || fusermount3 -u "$fmnt" 2>/dev/null || umount -l "$fmnt"
}

json() { # FILE KEY: one value of a probe's JSON ("" when absent)
	python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2], ""); print(v)' "$1" "$2" 2>/dev/null
}

check_probe() { # NAME IMG FLAGS
	local name=$1 img=$2 flags=$3 want_log=clean got uuid bs
	[ "$flags" = dirty ] && want_log=dirty
	"$bin" probe "$img" >"$tmp/p.json" 2>&1
	uuid=$(blkid -p -s UUID -o value "$img" 2>/dev/null || blkid -s UUID -o value "$img")
	bs=$(xfs_db -r -c "sb 0" -c "print blocksize" "$img" | sed -n 's/^blocksize = //p')
	got="type=$(json "$tmp/p.json" type) uuid=$(json "$tmp/p.json" uuid) block_size=$(json "$tmp/p.json" block_size) log=$(json "$tmp/p.json" journal)"
	if [ "$got" = "type=xfs uuid=$uuid block_size=$bs log=$want_log" ]; then
		echo "ok: $name: probe: $got"
	else
		fail "$name: probe says '$got', want 'type=xfs uuid=$uuid block_size=$bs log=$want_log'"
		sed 's/^/  /' "$tmp/p.json" | head -30
	fi
}

# serve OPTIONS... IMG: bootviewfs on $fmnt (or, for the self-test, the kernel again).
serve() {
	if [ "$selftest" = 1 ]; then
		local o=ro,norecovery,loop,nouuid
		[ "$1" = -o ] && shift 2
		mount -t xfs -o $o "$1" "$fmnt"
	else
		"$bin" "$@" "$fmnt"
	fi
}

while IFS=$'\t' read -r name img src flags _opts desc; do
	n=$((n + 1))
	t0=$SECONDS
	echo "== $name: $desc"
	[ "$selftest" = 1 ] || check_probe "$name" "$img" "$flags"
	bvopts=()
	if [ "$flags" = dirty ] && [ "$selftest" != 1 ]; then
		# Without norecovery: refused, one sentence naming the log, nothing mounted.
		out=$("$bin" "$img" "$fmnt" 2>&1)
		rc=$?
		if mountpoint -q "$fmnt"; then
			fumount
			fail "$name: served a dirty log without -o norecovery (exit $rc)"
		elif [ $rc -eq 0 ] || ! echo "$out" | grep -qi "log"; then
			fail "$name: without -o norecovery: exit $rc, '$out' (want a refusal naming the log)"
		else
			echo "ok: $name: refused without -o norecovery: $out"
		fi
	fi
	[ "$flags" = dirty ] && bvopts=(-o norecovery)
	if ! serve "${bvopts[@]}" "$img" 2>"$tmp/err"; then
		if [ "$selftest" = 1 ]; then
			echo "selftest: the kernel will not mount $name: $(head -1 "$tmp/err")"
			continue
		fi
		fail "$name: bootviewfs ${bvopts[*]} did not mount it: $(head -3 "$tmp/err")"
		continue
	fi
	_mounts+=("$fmnt")
	if ! mount -t xfs -o ro,norecovery,loop "$img" "$kmnt" 2>"$tmp/kerr"; then
		# No oracle here (v4 on a kernel without v4 support): the source tree, on what
		# mkfs.xfs -p carries.
		echo "no kernel oracle for $name: $(head -1 "$tmp/kerr"); $(dmesg 2>/dev/null | grep -i xfs | tail -1)"
		if [ "$src" = - ]; then
			fail "$name: the kernel will not mount it and it has no source tree"
		else
			python3 "$top/tests/treedump.py" "${seekhash[@]}" "$fmnt" >"$tmp/$name.fuse" 2>"$tmp/$name.ferr" ||
				fail "$name: walking the bootviewfs mount: $(head -3 "$tmp/$name.ferr")"
			python3 "$top/tests/treedump.py" "$src" >"$tmp/$name.src" 2>/dev/null
			if python3 "$top/tests/cmptree.py" "$tmp/$name.src" "$tmp/$name.fuse" \
				--fields type,mode,uid,gid,size,target,sha256,rdev --exclude '/socket$' \
				>"$tmp/$name.diff" 2>&1; then
				echo "ok: $name: agrees with its source tree ($(tail -1 "$tmp/$name.diff"))"
			else
				fail "$name: the source tree and bootviewfs differ (source first):"
				head -30 "$tmp/$name.diff"
			fi
		fi
		fumount
		continue
	fi
	_mounts+=("$kmnt")
	compared=$((compared + 1))
	# SEEK_* first: nothing has read the files yet on either side.
	python3 "$tmp/probe.py" seek "$kmnt" >"$tmp/k.out" 2>&1
	python3 "$tmp/probe.py" seek "$fmnt" >"$tmp/f.out" 2>&1
	grep -q . "$tmp/k.out" && agree "$name" "SEEK_DATA/SEEK_HOLE over /special"
	python3 "$tmp/probe.py" ioctl "$kmnt" >"$tmp/k.out" 2>&1
	python3 "$tmp/probe.py" ioctl "$fmnt" >"$tmp/f.out" 2>&1
	agree "$name" "FS_IOC_GETFLAGS, FS_IOC_FSGETXATTR flags and project ids"
	python3 "$tmp/probe.py" nextents "$kmnt" >"$tmp/k.out" 2>&1
	python3 "$tmp/probe.py" nextents "$fmnt" >"$tmp/f.out" 2>&1
	agree "$name" "fsx_nextents of every file and directory"
	python3 "$tmp/probe.py" statfs "$kmnt" >"$tmp/k.out" 2>&1
	python3 "$tmp/probe.py" statfs "$fmnt" >"$tmp/f.out" 2>&1
	agree "$name" "statvfs"
	python3 "$top/tests/treedump.py" "${seekhash[@]}" "$kmnt" >"$tmp/$name.kernel" 2>"$tmp/$name.kerr"
	python3 "$top/tests/treedump.py" "${seekhash[@]}" "$fmnt" >"$tmp/$name.fuse" 2>"$tmp/$name.ferr"
	if ! cmp -s <(sed 's/^treedump: [^ ]* //' "$tmp/$name.kerr" | sort) \
		<(sed 's/^treedump: [^ ]* //' "$tmp/$name.ferr" | sort); then
		fail "$name: reading errors differ: kernel: $(head -3 "$tmp/$name.kerr" | tr '\n' ' '); ours: $(head -3 "$tmp/$name.ferr" | tr '\n' ' ')"
	fi
	if python3 "$top/tests/cmptree.py" "$tmp/$name.kernel" "$tmp/$name.fuse" --fields all \
		>"$tmp/$name.diff" 2>&1 && [ -s "$tmp/$name.kernel" ]; then
		echo "ok: $name: every entry agrees with the kernel ($(tail -1 "$tmp/$name.diff"))"
	else
		fail "$name: the kernel and bootviewfs differ (path: field: kernel != ours):"
		head -30 "$tmp/$name.diff"
		[ "$(wc -l <"$tmp/$name.diff")" -le 31 ] || echo "  ... ($(tail -1 "$tmp/$name.diff"))"
	fi
	umount "$kmnt" || die "cannot unmount $kmnt"
	fumount
	echo "   ($name: $((SECONDS - t0)) s)"
done <"$images/xfsimages.list"

mountpoint -q "$fmnt" && die "$fmnt is still mounted"
mountpoint -q "$kmnt" && die "$kmnt is still mounted"
[ $n -gt 0 ] || die "no images in $images/xfsimages.list"
[ $compared -gt 0 ] || die "the kernel mounted none of the $n images"
[ $fails -eq 0 ] || die "$fails differences from the kernel over $n images"
echo "PASS: $testname: $compared of $n images agree with the kernel"
