#!/usr/bin/env bash
# make bench: bootviewfs against the kernel's own ext4 (read-only loop device) and fuse2fs
# (-o ro), side by side in one run on one image, medians of RUNS runs (default 5):
#   mount ready     exec of the mount command to the first successful stat of /urunc.json
#                   (caches dropped, then the programs themselves warmed: the image is cold)
#   cold read       the three boot artifacts (64 MiB kernel, 16 MiB initrd, urunc.json)
#                   after echo 3 > /proc/sys/vm/drop_caches
#   warm read       the same again, nothing dropped
#   cold/warm find  `find MNT -ls` of the whole tree (a few thousand files)
#   peak RSS        the daemon's VmHWM at the end of a run (for bootviewfs: its server, the
#                   process that reads; the keeper's is on the next line)
#   warm requests   FUSE requests (read(2) of /dev/fuse) the daemon gets during the warm
#                   re-read, and warm preads: its pread64/splice calls (strace -c);
#                   0 means the kernel answered from its page cache
# Every run mounts afresh, so "cold" is cold for the daemon's own caches too.
# Then the same rows for XFS: the same tree copied into an XFS image through the kernel
# (mkfs.xfs, loop mount, cp -a), bootviewfs against the kernel's xfs (ro,norecovery); no
# fuse2fs there. Skipped with a line saying why when bootviewfs cannot serve XFS, there is
# no mkfs.xfs, or the kernel has no xfs. BENCH_XFS=0 leaves it out.
# Needs root (loop devices, drop_caches). Not a test: nothing here passes or fails.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
bin=$build/bootviewfs
runs=${RUNS:-5}

die() { echo "bench: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (loop devices, mount, drop_caches)"
[ -x "$bin" ] || die "$bin is not built"
[ -c /dev/fuse ] || die "no /dev/fuse"
for p in mkfs.ext4 losetup python3 strace; do command -v $p >/dev/null || die "$p missing"; done
have_fuse2fs=1
command -v fuse2fs >/dev/null || { have_fuse2fs=0; echo "bench: fuse2fs not installed: its column is empty"; }

tmp=$(mktemp -d /var/tmp/bootviewfs-bench.XXXXXX)
cleanup() {
	set +e
	for m in "$tmp"/mnt-* "$tmp/xfs-rw"; do mountpoint -q "$m" && umount -l "$m"; done
	for i in "$tmp/image.ext4" "$tmp/image.xfs"; do
		[ -e "$i" ] && losetup -j "$i" -O NAME -n | xargs -r -n1 losetup -d
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "bench: building the image in $tmp"
info=$("$top/scripts/mkbenchimage.sh" "$tmp")
img=$tmp/image.ext4
src=$tmp/src # the tree mkbenchimage.sh made the image from
echo "bench: $info; $runs runs each"

# table IMAGE FSTYPE HAVE_FUSE2FS: the contenders on IMAGE, medians, ratios.
table() {
BV=$bin IMG=$1 FSTYPE=$2 TMP=$tmp RUNS=$runs HAVE_FUSE2FS=$3 python3 - <<'PY'
import os, re, shutil, signal, statistics, subprocess, sys, time

BV, IMG, TMP = os.environ["BV"], os.environ["IMG"], os.environ["TMP"]
FSTYPE = os.environ["FSTYPE"]
RUNS = int(os.environ["RUNS"])
ARTIFACTS = ["unikernel/kernel", "unikernel/initrd", "urunc.json"]

def sh(*cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)

def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")

# One reused 1 MiB buffer, as dd or a VMM loading a kernel would: a fresh allocation per
# read(2) would time the allocator and page faults, not the filesystem.
BUF = bytearray(1 << 20)

def read_all(mnt):
    for a in ARTIFACTS:
        fd = os.open(os.path.join(mnt, a), os.O_RDONLY)
        try:
            while os.readv(fd, [BUF]):
                pass
        finally:
            os.close(fd)

TOOLS = [BV, "mount", "losetup", "umount", "fuse2fs", "find"]
TOOL_FILES = None

def tool_files():
    """Every tool's executable and the shared libraries ldd lists for it."""
    files = set()
    for t in TOOLS:
        path = t if "/" in t else shutil.which(t)
        if not path:
            continue
        files.add(os.path.realpath(path))
        out = subprocess.run(["ldd", path], capture_output=True, text=True).stdout
        for m in re.finditer(r"(/\S+) \(0x", out):
            files.add(os.path.realpath(m.group(1)))
    return sorted(files)

def warm_tools():
    """Puts the tools wholly in the page cache, as on a runtime's host where they run all
    day. Running `--version` is not enough: it faults in only the pages it needs, and the
    rest of each binary would then be read from disk inside the timed mount."""
    global TOOL_FILES
    if TOOL_FILES is None:
        TOOL_FILES = tool_files()
    for f in TOOL_FILES:
        with open(f, "rb") as fh:
            while fh.read(1 << 20):
                pass
    for cmd in ([BV, "--version"], ["mount", "--version"], ["losetup", "--version"],
                ["umount", "--version"], ["fuse2fs", "-V"], ["find", "--version"]):
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def timed(fn):
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000

def find_ls(mnt):
    sh("find", mnt, "-ls", stdout=subprocess.DEVNULL)

def wait_stat(path, limit=30):
    end = time.monotonic() + limit
    while True:
        try:
            os.stat(path)
            return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.001)

def vmhwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")

def pss(pid):
    # Proportional set size: shared pages (libraries, and the pages a forked server still
    # shares with its keeper) divided among their users, so that two processes add up.
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")

def daemon_pid(pattern, oldest=False):
    out = subprocess.run(["pgrep", "-o" if oldest else "-n", "-f", pattern],
                         capture_output=True, text=True)
    return int(out.stdout.split()[0]) if out.stdout.strip() else None

def count_syscalls(pid, fn):
    """(requests, preads) of daemon PID while FN runs, by strace -c on all its threads:
    each FUSE request is one read(2) of /dev/fuse (both daemons read the image with
    pread64 or splice only), each pread64 or splice is I/O on the image."""
    log = os.path.join(TMP, "strace.out")
    st = subprocess.Popen(["strace", "-f", "-c", "-e", "trace=read,pread64,preadv,preadv2,splice",
                           "-o", log, "-p", str(pid)], stderr=subprocess.DEVNULL)
    time.sleep(0.3)  # let strace attach to every thread
    fn()
    time.sleep(0.1)
    st.send_signal(signal.SIGINT)
    st.wait()
    n = {"read": 0, "pread": 0}
    for line in open(log):
        m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(read|pread64|preadv2?|splice)\s*$", line)
        if m:
            n["read" if m.group(2) == "read" else "pread"] += int(m.group(1))
    return n["read"], n["pread"]

class Contender:
    def __init__(self, name):
        self.name, self.mnt = name, os.path.join(TMP, "mnt-" + name)
        os.makedirs(self.mnt, exist_ok=True)
        self.pid, self.loop = None, None
    def found(self):
        pass

# mount() is timed: exec of the mount command(s) to the first successful stat of
# /urunc.json, nothing else (the daemon's pid is looked up afterwards, in found()).
class BootviewFS(Contender):
    def mount(self):
        sh(BV, IMG, self.mnt)  # returns once the mount answers
        os.stat(os.path.join(self.mnt, "urunc.json"))
    def found(self):
        # Two processes: the server (the newest, it answers FUSE and reads the image) and
        # the keeper that forked it (mounts, unmounts, reads nothing).
        self.pid = daemon_pid("bootviewfs %s %s" % (IMG, self.mnt))
        self.keeper = daemon_pid("bootviewfs %s %s" % (IMG, self.mnt), oldest=True)
    def umount(self):
        sh("umount", self.mnt)

class Kernel(Contender):
    def mount(self):
        t = time.perf_counter()
        self.loop = subprocess.run(["losetup", "-r", "-f", "--show", IMG], check=True,
                                   capture_output=True, text=True).stdout.strip()
        self.losetup_ms = (time.perf_counter() - t) * 1000
        sh("mount", "-t", FSTYPE, "-o", "ro,norecovery" if FSTYPE == "xfs" else "ro",
           self.loop, self.mnt)
        os.stat(os.path.join(self.mnt, "urunc.json"))
    def umount(self):
        sh("umount", self.mnt)
        sh("losetup", "-d", self.loop)

class Fuse2fs(Contender):
    def mount(self):
        sh("fuse2fs", "-o", "ro", IMG, self.mnt, stdout=subprocess.DEVNULL,
           stderr=subprocess.DEVNULL)
        wait_stat(os.path.join(self.mnt, "urunc.json"))
    def found(self):
        self.pid = daemon_pid("fuse2fs.*%s" % self.mnt)
    def umount(self):
        sh("umount", self.mnt)
        if self.pid:  # wait for the daemon so the next run starts clean
            for _ in range(200):
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.01)

contenders = [BootviewFS("bootviewfs"), Kernel("kernel")]
if os.environ["HAVE_FUSE2FS"] == "1":
    contenders.append(Fuse2fs("fuse2fs"))

METRICS = ["mount ready (ms)", "  of which losetup (ms)", "cold read artifacts (ms)", "warm re-read (ms)",
           "cold find -ls (ms)", "warm find -ls (ms)", "daemon peak RSS (MiB)",
           "  keeper peak RSS (MiB)", "daemon PSS, all processes (MiB)",
           "warm re-read requests", "warm re-read preads"]
res = {c.name: {m: [] for m in METRICS} for c in contenders}

for run in range(RUNS):
    for c in contenders:
        # The image cold, the programs warm: a runtime has its tools in the page cache.
        drop_caches()
        warm_tools()
        r = res[c.name]
        r["mount ready (ms)"].append(timed(c.mount))
        c.found()
        if c.loop:
            r["  of which losetup (ms)"].append(c.losetup_ms)
        drop_caches()
        r["cold read artifacts (ms)"].append(timed(lambda: read_all(c.mnt)))
        r["warm re-read (ms)"].append(timed(lambda: read_all(c.mnt)))
        if c.pid and run == 0:  # strace slows the reads: count once, time the others
            req, pr = count_syscalls(c.pid, lambda: read_all(c.mnt))
            r["warm re-read requests"].append(req)
            r["warm re-read preads"].append(pr)
        drop_caches()
        r["cold find -ls (ms)"].append(timed(lambda: find_ls(c.mnt)))
        r["warm find -ls (ms)"].append(timed(lambda: find_ls(c.mnt)))
        if c.pid:
            r["daemon peak RSS (MiB)"].append(vmhwm(c.pid))
        if getattr(c, "keeper", None) and c.keeper != c.pid:
            r["  keeper peak RSS (MiB)"].append(vmhwm(c.keeper))
        if c.pid:
            both = {c.pid, getattr(c, "keeper", None) or c.pid}
            r["daemon PSS, all processes (MiB)"].append(sum(pss(p) for p in both))
        c.umount()
    print("bench: run %d/%d done" % (run + 1, RUNS), file=sys.stderr)

def med(c, m):
    v = res[c][m]
    return statistics.median(v) if v else None

def fmt(x):
    if x is None:
        return "-"
    return "%.0f" % x if x >= 100 else "%.1f" % x

names = [c.name for c in contenders]
cols = names + ["bv/kernel"] + (["bv/fuse2fs"] if "fuse2fs" in names else [])
print()
print("%s: %s" % (FSTYPE, os.path.basename(IMG)))
print("%-28s" % ("median of %d runs" % RUNS) + "".join("%13s" % n for n in cols))
for m in METRICS:
    row = [med(n, m) for n in names]
    line = "%-28s" % m + "".join("%13s" % fmt(x) for x in row)
    bv = row[0]
    for other in ["kernel", "fuse2fs"]:
        if other not in names:
            continue
        o = med(other, m)
        line += "%13s" % ("%.2fx" % (bv / o) if bv is not None and o else "-")
    print(line)
print()
print("ratios: bootviewfs / other; below 1 is faster (or smaller) than the other.")
PY
}
table "$img" ext4 "$have_fuse2fs"

# --- XFS: the same tree, written by the kernel into an XFS image ----------------------------
xfs_skip=
if [ "${BENCH_XFS:-1}" = 0 ]; then
	xfs_skip="BENCH_XFS=0"
elif ! command -v mkfs.xfs >/dev/null; then
	xfs_skip="mkfs.xfs not installed"
elif ! grep -qw xfs /proc/filesystems && ! modprobe xfs 2>/dev/null; then
	xfs_skip="the kernel has no xfs"
fi
ximg=$tmp/image.xfs
if [ -z "$xfs_skip" ]; then
	# As large as the ext4 image (mkfs.xfs 6.1 wants 300 MiB at least).
	size_mb=$(( $(stat -c %s "$img") / 1048576 ))
	truncate -s "$((size_mb < 320 ? 320 : size_mb))M" "$ximg"
	mkfs.xfs -q -f "$ximg"
	if ! "$bin" probe "$ximg" 2>/dev/null | grep -q '"supported": true'; then
		why=$("$bin" probe "$ximg" 2>&1 | sed -n 's/.*"error": "\(.*\)".*/\1/p' || true)
		xfs_skip="XFS reader not built yet ($bin probe: $why)"
	fi
fi
if [ -n "$xfs_skip" ]; then
	echo
	echo "bench: SKIP the XFS rows: $xfs_skip"
	exit 0
fi
mkdir -p "$tmp/xfs-rw"
mount -t xfs -o loop "$ximg" "$tmp/xfs-rw"
cp -a "$src/." "$tmp/xfs-rw/"
umount "$tmp/xfs-rw"
echo
echo "bench: the same tree in an XFS image (mkfs.xfs defaults, written by the kernel)"
table "$ximg" xfs 0
