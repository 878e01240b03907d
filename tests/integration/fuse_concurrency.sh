#!/usr/bin/env bash
# Concurrency: 16 reader processes hammer one bootviewfs mount served by 16 worker threads,
# with the page cache dropped for each file before each read (POSIX_FADV_DONTNEED) so that
# the requests reach the daemon's workers at the same time. Three phases:
#   1. whole files, the same and different ones, in chunks of several sizes, each with a
#      walk (readdir + lstat of every entry);
#   2. random files at random offsets and lengths, interleaved with lookups (hits and
#      misses) and full listings of the same two directories (one of 1500 names, htree);
#   3. stop while reading: 16 readers loop until `bootviewfs stop` ends the view under
#      them; each must see the right bytes or an error, none may hang, and the daemon,
#      the mount and the state must all be gone.
# Every byte is compared with the source tree and the daemon must survive phases 1-2.
# With a ThreadSanitizer build (BUILD=build/san-thread, `make tsan`) the daemon's reports
# reach the view's log (DIR/log); halt_on_error makes the first one kill the server, and
# any report fails the test. No suppressions: libfuse gave no report in these runs.
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
command -v timeout >/dev/null || skip "timeout not installed"
if [ "$(id -u)" -ne 0 ] && ! command -v fusermount3 >/dev/null; then
	skip "not root and no fusermount3"
fi

# Harmless without ThreadSanitizer. Reports go to the server's stderr, which the keeper
# copies into DIR/log (the sandbox lets the server open no file of its own).
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}"

tmp=$(mktemp -d /tmp/bv-fuse-conc.XXXXXX)
mnt=$tmp/mnt
state=$tmp/state
cleanup() {
	"$bin" stop --state-dir "$state" >/dev/null 2>&1
	mountpoint -q "$mnt" && { fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt"; }
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/src/d" "$tmp/src/many" "$mnt"

# Deterministic content, sizes chosen to cross block, extent and 1 MiB request boundaries;
# many/ is a 1500-name htree directory of small files.
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
for i in range(1500):
    with open(os.path.join(root, "many", "name-%04d" % i), "wb") as f:
        f.write(b"%d\n" % i * (i % 50))
PY
mkfs.ext4 -q -F -b 4096 -d "$tmp/src" "$tmp/img" 96M || { echo "FAIL: mkfs"; exit 1; }
(cd "$tmp/src" && sha256sum d/* many/*) >"$tmp/sums"

"$bin" --state-dir "$state" -o threads=16 "$tmp/img" "$mnt" || { echo "FAIL: mount"; exit 1; }
pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$state/state.json" 2>/dev/null) ||
	pid=$(pgrep -f -n "bootviewfs --state-dir $state") || { echo "FAIL: no daemon"; exit 1; }

# The confined server cannot open its own binary to symbolize (Landlock): the frames say
# (bootviewfs+0xOFFSET), which addr2line turns into function and line here.
tsan_reports() {
	local line off
	grep -h -A40 'ThreadSanitizer' "$state"/log* 2>/dev/null | head -80 |
		while IFS= read -r line; do
			echo "$line"
			off=$(echo "$line" | sed -n 's/.*(bootviewfs+\(0x[0-9a-f]*\)).*/\1/p')
			[ -n "$off" ] && command -v addr2line >/dev/null &&
				echo "        = $(addr2line -f -C -p -e "$bin" "$off")"
		done
}
alive() {
	kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" != Z ]
}

# Phases 1 and 2. A reader that hangs is a failure: the whole run has 10 minutes (under
# ThreadSanitizer it takes about a minute).
timeout -k 5 600 python3 - "$mnt" "$tmp/src" "$tmp/sums" <<'PY'
import hashlib, os, random, sys
mnt, src, sums = sys.argv[1], sys.argv[2], sys.argv[3]
want = {}
for line in open(sums):
    h, p = line.split()
    want[p] = h
big = sorted(p for p in want if p.startswith("d/"))
many = sorted(os.listdir(os.path.join(src, "many")))
WORKERS = 16
chunks = [4096, 65536, 131072, 1 << 20, 3 * 4096 + 17]

def phase1(w):
    bad = 0
    for r in range(6):
        # Half the workers share the biggest file every round; the rest spread out.
        name = big[-1] if w % 2 == 0 and r % 2 == 0 else big[(w + r) % len(big)]
        fd = os.open(os.path.join(mnt, name), os.O_RDONLY)
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
            print("phase 1: worker %d round %d: %s: checksum mismatch" % (w, r, name), flush=True)
            bad += 1
        # Metadata in parallel too: a walk with lstat of every entry.
        for dp, ds, fs in os.walk(os.path.join(mnt, "d")):
            for n in fs + ds:
                os.lstat(os.path.join(dp, n))
    return bad

def phase2(w):
    rnd, bad = random.Random(w), 0
    srcfd = {}
    for i in range(300):
        op = rnd.randrange(10)
        if op < 5:
            name = rnd.choice(big) if op < 4 else "many/" + rnd.choice(many)
            size = os.path.getsize(os.path.join(src, name))
            off = rnd.randrange(size + 4096)
            ln = rnd.choice([1, 17, 4096, 4097, 65536, 200000, 1 << 20])
            fd = os.open(os.path.join(mnt, name), os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                got = os.pread(fd, ln, off)
            finally:
                os.close(fd)
            if name not in srcfd:
                srcfd[name] = os.open(os.path.join(src, name), os.O_RDONLY)
            if got != os.pread(srcfd[name], ln, off):
                print("phase 2: worker %d: %s: %d bytes at %d differ" % (w, name, ln, off), flush=True)
                bad += 1
        elif op < 8:
            # Lookups in the same directory from every worker: hits, then a miss.
            n = rnd.choice(many)
            st = os.lstat(os.path.join(mnt, "many", n))
            if st.st_size != os.lstat(os.path.join(src, "many", n)).st_size:
                print("phase 2: worker %d: many/%s: wrong size" % (w, n), flush=True)
                bad += 1
            try:
                os.lstat(os.path.join(mnt, "many", "x" + n))
                print("phase 2: worker %d: many/x%s exists" % (w, n), flush=True)
                bad += 1
            except FileNotFoundError:
                pass
        else:
            # Whole listings of the same directories at once.
            d = rnd.choice(["many", "d"])
            if sorted(os.listdir(os.path.join(mnt, d))) != sorted(os.listdir(os.path.join(src, d))):
                print("phase 2: worker %d: listing of %s differs" % (w, d), flush=True)
                bad += 1
    for fd in srcfd.values():
        os.close(fd)
    return bad

failed = 0
for phase in (phase1, phase2):
    pids, before = [], failed
    for w in range(WORKERS):
        pid = os.fork()
        if pid == 0:
            try:
                os._exit(1 if phase(w) else 0)
            except Exception as e:
                print("%s: worker %d: %r" % (phase.__name__, w, e), flush=True)
                os._exit(2)
        pids.append(pid)
    for pid in pids:
        _, st = os.waitpid(pid, 0)
        if not (os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0):
            failed += 1
    print("%s: %d of %d workers failed" % (phase.__name__, failed - before, WORKERS), flush=True)
sys.exit(1 if failed else 0)
PY
rc=$?
fails=0
if ! alive; then
	echo "FAIL: the daemon died under load"
	fails=$((fails + 1))
fi
[ $rc -eq 0 ] || { echo "FAIL: wrong data, an error or a hang under concurrent requests (rc $rc)"; fails=$((fails + 1)); }
[ $fails -eq 0 ] && echo "ok: phases 1-2: 16 workers, every byte, lookup and listing right"

# Phase 3: stop while reading. The readers say when each has read once (a byte on a
# pipe); only then does the stop start, so it always lands in the middle of reads.
if [ $fails -eq 0 ]; then
	timeout -k 5 120 python3 - "$mnt" "$tmp/src" "$bin" "$state" <<'PY'
import os, subprocess, sys
mnt, src, bin, state = sys.argv[1:5]
names = ["d/f%d" % i for i in range(9)]
r, w = os.pipe()
pids = []
for k in range(16):
    pid = os.fork()
    if pid == 0:
        os.close(r)
        told, reads = False, 0
        srcfds = {n: os.open(os.path.join(src, n), os.O_RDONLY) for n in names}
        try:
            while True:
                n = names[(k + reads) % len(names)]
                fd = os.open(os.path.join(mnt, n), os.O_RDONLY)
                try:
                    off = (reads * 1048573 + k * 4096) % max(1, os.fstat(srcfds[n]).st_size)
                    got = os.pread(fd, 131072, off)
                finally:
                    os.close(fd)
                if got != os.pread(srcfds[n], len(got), off):
                    print("phase 3: reader %d: %s at %d: wrong bytes" % (k, n, off), flush=True)
                    os._exit(1)
                reads += 1
                if not told:
                    os.write(w, b"x"); told = True
        except OSError:
            # ENOTCONN, ENOENT (the empty mountpoint, or none), EIO: the view is gone.
            if not told:
                os.write(w, b"x")
            os._exit(0)
    pids.append(pid)
os.close(w)
started = 0
while started < 16:
    b = os.read(r, 16)
    if not b:
        break
    started += len(b)
stop = subprocess.run([bin, "stop", "--state-dir", state], capture_output=True, text=True)
bad = 0
for pid in pids:
    _, st = os.waitpid(pid, 0)
    if not (os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0):
        bad += 1
print("phase 3: %d readers started, stop exit %d, %d readers failed" % (started, stop.returncode, bad))
if stop.returncode != 0:
    print(stop.stdout + stop.stderr)
sys.exit(1 if bad or stop.returncode != 0 or started < 16 else 0)
PY
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "FAIL: stop while reading: a reader got wrong bytes or hung, or stop failed (rc $rc)"
		fails=$((fails + 1))
	fi
	if alive; then
		echo "FAIL: the daemon (pid $pid) is still running after stop"
		fails=$((fails + 1))
	fi
	if grep -qs " $mnt " /proc/self/mountinfo; then
		echo "FAIL: $mnt is still mounted after stop"
		fails=$((fails + 1))
	fi
	[ $fails -eq 0 ] && echo "ok: phase 3: stopped under 16 readers; no daemon, no mount left"
fi

reports=$(tsan_reports)
if [ -n "$reports" ]; then
	echo "FAIL: ThreadSanitizer reports in the daemon's log:"
	echo "$reports"
	fails=$((fails + 1))
fi
[ $fails -eq 0 ] || { echo "FAIL: fuse_concurrency: $fails problems"; exit 1; }
echo "PASS: fuse_concurrency: 16 workers x 16 threads, every byte right, stopped under load"
exit 0
