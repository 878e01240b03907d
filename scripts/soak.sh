#!/usr/bin/env bash
# Soak: READERS reader processes (default 16) read random files of the bench image
# (scripts/mkbenchimage.sh: a root-fs tree and 80 MiB of boot artifacts) at random offsets
# and lengths through a bootviewfs mount for a while, and compare every byte with the
# same read through the kernel's read-only loop mount of the same image. Each read drops
# the FUSE file's page cache first (POSIX_FADV_DONTNEED), so it reaches the daemon; one
# operation in ten is a directory listing or an lstat, compared the same way.
#
#   scripts/soak.sh [MINUTES]        (default 10; SOAK_SECONDS=N for a short run)
#
# Environment: BUILD (default build), READERS (16), THREADS (FUSE workers, 16), SOAK_SECONDS,
# SOAK_IMAGE (an existing image to use instead of building one).
# Prints the reads, bytes, listings, mismatches and errors, and the daemon's VmHWM (its
# server, the process that reads the image) after the mount and at the end. Exits 1 on
# any mismatch or error, or if the daemon died; 77 when it cannot run here (not root,
# no /dev/fuse, no loop device), saying why. Needs root (loop device, kernel mount).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
bin=$build/bootviewfs
minutes=${1:-10}
secs=${SOAK_SECONDS:-$((minutes * 60))}
readers=${READERS:-16}
threads=${THREADS:-16}

skip() { echo "SKIP: soak: $*"; exit 77; }
die() { echo "FAIL: soak: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || skip "needs root (loop device, kernel mount)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -x "$bin" ] || skip "$bin not built"
for p in mkfs.ext4 losetup python3 timeout; do command -v $p >/dev/null || skip "$p not installed"; done

tmp=$(mktemp -d /var/tmp/bootviewfs-soak.XXXXXX)
kmnt=$tmp/kernel
bmnt=$tmp/bootviewfs
state=$tmp/state
loop=
cleanup() {
	"$bin" stop --state-dir "$state" >/dev/null 2>&1
	mountpoint -q "$bmnt" && umount -l "$bmnt"
	mountpoint -q "$kmnt" && umount "$kmnt"
	[ -n "$loop" ] && losetup -d "$loop" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$kmnt" "$bmnt"

if [ -n "${SOAK_IMAGE:-}" ]; then
	img=$SOAK_IMAGE
else
	info=$("$top/scripts/mkbenchimage.sh" "$tmp") || die "mkbenchimage.sh failed"
	rm -rf "$tmp/src"
	img=$tmp/image.ext4
	echo "soak: image: $info"
fi
loop=$(losetup -r -f --show "$img" 2>/dev/null) || skip "no loop device"
mount -t ext4 -o ro,noload "$loop" "$kmnt" || die "the kernel will not mount $img"
"$bin" --state-dir "$state" -o "threads=$threads" "$img" "$bmnt" || die "bootviewfs did not mount"
# Two processes match: the keeper (oldest) and the server (newest), which reads the image.
server=$(pgrep -n -f "bootviewfs --state-dir $state") || die "no daemon"
hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$server/status" 2>/dev/null; }
hwm_before=$(hwm)
echo "soak: $readers readers for $secs s, server pid $server ($threads FUSE workers), VmHWM $hwm_before kB"

timeout -k 10 $((secs + 120)) python3 - "$kmnt" "$bmnt" "$secs" "$readers" <<'PY'
import os, random, sys, time
kmnt, bmnt, secs, readers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
files, dirs = [], []
for dp, ds, fs in os.walk(kmnt):
    rel = os.path.relpath(dp, kmnt)
    dirs.append(rel)
    for n in fs:
        p = os.path.join(rel, n)
        st = os.lstat(os.path.join(kmnt, p))
        if os.path.isfile(os.path.join(kmnt, p)) and not os.path.islink(os.path.join(kmnt, p)):
            files.append((p, st.st_size))
# Big files are few but hold most bytes: pick them a quarter of the time.
big = [f for f in files if f[1] >= 1 << 20]
deadline = time.monotonic() + secs

def reader(k):
    rnd = random.Random(k * 7919 + int(time.time()))
    n = {"reads": 0, "bytes": 0, "lists": 0, "mismatch": 0, "errors": 0}
    while time.monotonic() < deadline:
        op = rnd.randrange(10)
        try:
            if op == 0:
                d = rnd.choice(dirs)
                n["lists"] += 1
                a = sorted(os.listdir(os.path.join(kmnt, d)))
                b = sorted(os.listdir(os.path.join(bmnt, d)))
                if a != b:
                    print("reader %d: listing of %s differs" % (k, d), flush=True)
                    n["mismatch"] += 1
                else:
                    for name in rnd.sample(a, min(3, len(a))):
                        sa = os.lstat(os.path.join(kmnt, d, name))
                        sb = os.lstat(os.path.join(bmnt, d, name))
                        if (sa.st_mode, sa.st_size, sa.st_ino, sa.st_mtime_ns) != \
                           (sb.st_mode, sb.st_size, sb.st_ino, sb.st_mtime_ns):
                            print("reader %d: lstat of %s/%s differs" % (k, d, name), flush=True)
                            n["mismatch"] += 1
                continue
            path, size = rnd.choice(big) if big and op < 3 else rnd.choice(files)
            off = rnd.randrange(size + 1) if size else 0
            ln = min(int(2 ** rnd.uniform(0, 21)), 1 << 21)
            fb = os.open(os.path.join(bmnt, path), os.O_RDONLY)
            try:
                os.posix_fadvise(fb, 0, 0, os.POSIX_FADV_DONTNEED)
                got = os.pread(fb, ln, off)
            finally:
                os.close(fb)
            fk = os.open(os.path.join(kmnt, path), os.O_RDONLY)
            try:
                want = os.pread(fk, ln, off)
            finally:
                os.close(fk)
            n["reads"] += 1
            n["bytes"] += len(got)
            if got != want:
                print("reader %d: %s: %d bytes at %d differ (%d vs %d bytes)" %
                      (k, path, ln, off, len(got), len(want)), flush=True)
                n["mismatch"] += 1
        except OSError as e:
            print("reader %d: %r" % (k, e), flush=True)
            n["errors"] += 1
            if n["errors"] > 10:
                break
    return n

r, w = os.pipe()
pids = []
for k in range(readers):
    pid = os.fork()
    if pid == 0:
        os.close(r)
        n = reader(k)
        os.write(w, ("%d %d %d %d %d\n" % (n["reads"], n["bytes"], n["lists"], n["mismatch"],
                                             n["errors"])).encode())
        os._exit(0)
    pids.append(pid)
os.close(w)
out = b""
while True:
    b = os.read(r, 4096)
    if not b:
        break
    out += b
for pid in pids:
    os.waitpid(pid, 0)
tot = [0] * 5
rows = out.decode().split("\n")
for line in rows:
    if line:
        for i, v in enumerate(line.split()):
            tot[i] += int(v)
done = len([l for l in rows if l])
print("soak: %d readers done: %d reads, %.1f MiB, %d listings, %d mismatches, %d errors, %.0f reads/s"
      % (done, tot[0], tot[1] / 1048576.0, tot[2], tot[3], tot[4], tot[0] / max(secs, 1)))
sys.exit(0 if tot[3] == 0 and tot[4] == 0 and done == readers else 1)
PY
rc=$?
fails=0
if ! kill -0 "$server" 2>/dev/null || [ "$(awk '{print $3}' "/proc/$server/stat" 2>/dev/null)" = Z ]; then
	echo "FAIL: soak: the daemon died"
	grep -h 'error\|ThreadSanitizer\|AddressSanitizer' "$state"/log* 2>/dev/null | tail -20
	fails=1
fi
echo "soak: server VmHWM $hwm_before kB after the mount, $(hwm) kB at the end"
if grep -qs 'ThreadSanitizer\|AddressSanitizer\|runtime error' "$state"/log*; then
	echo "FAIL: soak: sanitizer report in the daemon's log:"
	grep -h -A30 'Sanitizer\|runtime error' "$state"/log* | head -60
	fails=1
fi
[ $rc -eq 0 ] || { echo "FAIL: soak: mismatches, errors or a hang (rc $rc)"; fails=1; }
[ $fails -eq 0 ] || exit 1
echo "PASS: soak: every byte equal to the kernel's"
exit 0
