#!/usr/bin/env bash
# Concurrency: 16 reader processes hammer one bootviewfs mount for a bounded number of
# rounds, over different files and the same file, with the page cache dropped for each
# file before each read (POSIX_FADV_DONTNEED) so that the READs reach the daemon's worker
# threads at the same time. Every checksum must be right and the daemon must survive.
# Exit 0 pass, 1 fail, 77 skip (reason on stdout).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
bin=$build/bootviewfs

skip() { echo "SKIP: fuse_concurrency: $*"; exit 77; }
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -x "$bin" ] || skip "$bin not built"
command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 not installed"
command -v python3 >/dev/null || skip "python3 not installed"
if [ "$(id -u)" -ne 0 ] && ! command -v fusermount3 >/dev/null; then
	skip "not root and no fusermount3"
fi

tmp=$(mktemp -d /tmp/bv-fuse-conc.XXXXXX)
mnt=$tmp/mnt
cleanup() {
	mountpoint -q "$mnt" && { fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt"; }
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/src/d" "$mnt"

# Deterministic content, sizes chosen to cross block, extent and 1 MiB request boundaries.
python3 - "$tmp/src" <<'PY'
import hashlib, os, sys
root = sys.argv[1]
sizes = [1, 4095, 4097, 65537, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 7, 8 << 20, 24 << 20]
for i, n in enumerate(sizes):
    with open(os.path.join(root, "d", "f%d" % i), "wb") as f:
        seed, k = b"conc%d" % i, 0
        while n > 0:
            b = hashlib.sha256(seed + k.to_bytes(8, "little")).digest() * 2048
            f.write(b[:n]); n -= min(n, len(b)); k += 1
# a sparse file: data, hole, data
with open(os.path.join(root, "d", "sparse"), "wb") as f:
    f.write(b"A" * 10000); f.seek(5 << 20); f.write(b"B" * 10000)
PY
mkfs.ext4 -q -F -b 4096 -d "$tmp/src" "$tmp/img" 96M || { echo "FAIL: mkfs"; exit 1; }
(cd "$tmp/src" && sha256sum d/*) >"$tmp/sums"

"$bin" "$tmp/img" "$mnt" || { echo "FAIL: mount"; exit 1; }
pid=$(pgrep -f -n "bootviewfs $tmp/img") || { echo "FAIL: no daemon"; exit 1; }

python3 - "$mnt" "$tmp/sums" <<'PY'
import hashlib, os, sys
mnt, sums = sys.argv[1], sys.argv[2]
want = {}
for line in open(sums):
    h, p = line.split()
    want[p] = h
names = sorted(want)
WORKERS, ROUNDS = 16, 6
chunks = [4096, 65536, 131072, 1 << 20, 3 * 4096 + 17]

def work(w):
    bad = 0
    for r in range(ROUNDS):
        # Half the workers share the biggest file every round; the rest spread out.
        name = names[-1] if w % 2 == 0 and r % 2 == 0 else names[(w + r) % len(names)]
        path = os.path.join(mnt, name)
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            h, csz, off = hashlib.sha256(), chunks[(w + r) % len(chunks)], 0
            while True:
                b = os.pread(fd, csz, off)
                if not b:
                    break
                h.update(b); off += len(b)
        finally:
            os.close(fd)
        if h.hexdigest() != want[name]:
            print("worker %d round %d: %s: checksum mismatch" % (w, r, name), flush=True)
            bad += 1
        # Metadata in parallel too: a walk with lstat of every entry.
        for dp, ds, fs in os.walk(mnt):
            for n in fs + ds:
                os.lstat(os.path.join(dp, n))
    return bad

pids = []
for w in range(WORKERS):
    pid = os.fork()
    if pid == 0:
        try:
            os._exit(1 if work(w) else 0)
        except Exception as e:
            print("worker %d: %r" % (w, e), flush=True)
            os._exit(2)
    pids.append(pid)
failed = 0
for pid in pids:
    _, st = os.waitpid(pid, 0)
    if not (os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0):
        failed += 1
print("%d of %d workers failed" % (failed, WORKERS))
sys.exit(1 if failed else 0)
PY
rc=$?
if ! kill -0 "$pid" 2>/dev/null || [ "$(awk '{print $3}' /proc/$pid/stat)" = Z ]; then
	echo "FAIL: the daemon died under load"
	exit 1
fi
[ $rc -eq 0 ] || { echo "FAIL: fuse_concurrency: wrong data under concurrent reads"; exit 1; }
echo "PASS: fuse_concurrency: 16 workers x 6 rounds, every checksum right"
exit 0
