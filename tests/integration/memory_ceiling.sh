#!/usr/bin/env bash
# The daemon's memory ceiling (docs/design.md section 13) over one crafted image that holds
# what costs memory: a journal needing recovery whose log revokes 2^18 distinct blocks (the
# cap: an 8 MiB revoke table at open), a linear directory of 100,000 entries (patched in:
# mkfs -d takes minutes for it), a tree 200 directories deep, 200 files of 40 xattrs each
# (in-inode area and a full xattr block), 20 values in ea_inodes, and some data. The view
# runs under prlimit --as, inherited by the keeper and the confined server (checked); 16
# readers walk the whole mount three times (list, lstat, read and hash every file, list and
# read every xattr, readlink). Asserted: every answer is right or EIO/ENOMEM, the server
# survives, its VmHWM after walk 3 is within 2 MiB of walk 1's and under the ceiling. Then
# the view starts again under limits too tight for it (a quarter to 95 % of its
# VmPeak): it refuses to start cleanly or serves right answers and errors, never crashes.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lib.sh"

# docs/design.md section 13: heap and mappings the server may touch with the default 4
# workers. The address-space limit adds what is reserved but never touched (thread stacks,
# libraries, malloc's arena reservations).
CEILING_KIB=$((64 * 1024))
AS_LIMIT=$((192 << 20))

[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -x "$bin" ] || skip "$bin not built"
for t in mkfs.ext4 debugfs dumpe2fs python3 prlimit; do
	command -v $t >/dev/null || skip "$t not installed"
done
is_root || skip "needs root (a view's server runs as nobody; its /proc is root's to read)"
# AddressSanitizer reserves terabytes of shadow address space and doubles every allocation:
# under a sanitizer build the walks still run (no report, right answers, a live server),
# without the address-space limit and the ceiling; the growth check stays.
sanitized=false
if nm -D "$bin" 2>/dev/null | grep -q __asan_init || ldd "$bin" 2>/dev/null | grep -q libasan; then
	sanitized=true
fi

src=$tmp/src mnt=$tmp/mnt sd=$tmp/state img=$tmp/img
mkdir -p "$src/big" "$src/xa" "$src/data" "$mnt"

python3 - "$src" <<'PY' || die "source tree"
import hashlib, os, sys
root = sys.argv[1]
with open(os.path.join(root, "big", "target"), "wb") as f:
    f.write(b"the one inode behind 100,000 names\n")
d = os.path.join(root, "deep")
for i in range(200):
    d = os.path.join(d, "d")
os.makedirs(d)
with open(os.path.join(d, "bottom"), "w") as f:
    f.write("bottom\n")
os.symlink("deep/" + "d/" * 199 + "d/bottom", os.path.join(root, "deeplink"))
for i in range(200):
    p = os.path.join(root, "xa", "f%03d" % i)
    with open(p, "w") as f:
        f.write("x%d\n" % i)
    for k in range(40):
        os.setxattr(p, "user.attr%02d" % k, (b"%03d-%02d-" % (i, k)) * 8)
for i in range(8):
    with open(os.path.join(root, "data", "f%d" % i), "wb") as f:
        k = 0
        for _ in range((i + 1) * 64):
            f.write(hashlib.sha256(b"%d-%d" % (i, k)).digest() * 128)
            k += 1
PY
mkfs.ext4 -q -F -b 4096 -N 8192 -O ^metadata_csum,ea_inode -J size=8 -d "$src" "$img" 128M \
	>"$tmp/mkfs.log" 2>&1 || { cat "$tmp/mkfs.log"; die "mkfs"; }
head -c 4000 /dev/urandom >"$tmp/eaval"
for i in $(seq 0 19); do echo "ea_set -f $tmp/eaval /xa/f$(printf %03d $i) user.big"; done |
	debugfs -w -f - "$img" >/dev/null 2>&1 || die "debugfs ea_set"

# The 100,000-entry directory: /big's i_block becomes one extent over a free run, written
# here as a linear directory whose entries all name /big/target.
ino_of() { debugfs -R "stat $1" "$img" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p'; }
big=$(ino_of /big) target=$(ino_of /big/target)
[ -n "$big" ] && [ -n "$target" ] || die "inode numbers"
nblocks=$(python3 -c 'print(-(-(100000 * 16 + 24) // 4096))')
start=$(dumpe2fs "$img" 2>/dev/null | python3 -c '
import re, sys
runs = []
for line in re.findall(r"^  Free blocks: (.*)$", sys.stdin.read(), re.M):
    for r in line.split(", "):
        if "-" in r:
            a, b = map(int, r.split("-"))
            runs.append((b - a + 1, a))
n, a = max(runs)
print(a if n >= int(sys.argv[1]) else "")' "$nblocks")
[ -n "$start" ] || die "no free run of $nblocks blocks"
debugfs -w -f - "$img" >/dev/null 2>&1 <<EOF || die "debugfs sif"
sif /big size $((nblocks * 4096))
sif /big flags 0x80000
sif /big block[0] 0x0001F30A
sif /big block[1] 4
sif /big block[2] 0
sif /big block[3] 0
sif /big block[4] $nblocks
sif /big block[5] $start
EOF

# The journal: 257 revoke blocks naming 2^18 distinct blocks, a commit, RECOVER set.
debugfs -R "ex <8>" "$img" >"$tmp/jext" 2>/dev/null || die "journal extents"
python3 - "$img" "$start" "$nblocks" "$big" "$target" "$tmp/jext" <<'PY' || die "patching"
import re, struct, sys
img, (start, nblocks, big, target), jext = sys.argv[1], map(int, sys.argv[2:6]), sys.argv[6]
exts = [tuple(map(int, m)) for m in
        re.findall(r"^\s*\d+/\s*\d+\s+\d+/\s*\d+\s+(\d+) -\s*(\d+)\s+(\d+) -", open(jext).read(), re.M)]
def jmap(lb):
    for a, b, p in exts:
        if a <= lb <= b:
            return p + lb - a
    raise SystemExit("log block %d unmapped" % lb)
BS, N, SEQ = 4096, 100000, 77
f = open(img, "r+b")
def ent(ino, name, rec):
    return struct.pack("<IHBB", ino, rec, len(name), 2 if name[0:1] == b"." else 1) + \
        name + b"\0" * (rec - 8 - len(name))
names = [b".", b".."] + [b"e%06d" % i for i in range(N)]
inos = [big, 2] + [target] * N
blocks, cur = [], []
for name, ino in zip(names, inos):
    rec = 12 if name in (b".", b"..") else 16
    if sum(len(e) for e in cur) + rec > BS:
        blocks.append(cur); cur = []
    cur.append(ent(ino, name, rec))
blocks.append(cur)
assert len(blocks) <= nblocks
blocks += [[]] * (nblocks - len(blocks))
for i, es in enumerate(blocks):
    if not es:
        b = struct.pack("<IHBB", 0, BS, 0, 0) + b"\0" * (BS - 8)
    else:
        used = sum(len(e) for e in es[:-1])
        last = es[-1]
        ino, _, nl, ft = struct.unpack("<IHBB", last[:8])
        last = struct.pack("<IHBB", ino, BS - used, nl, ft) + last[8:8 + nl]
        b = b"".join(es[:-1]) + last
        b += b"\0" * (BS - len(b))
    f.seek((start + i) * BS); f.write(b)
# journal superblock: log from block 1, sequence SEQ, only the revoke feature
f.seek(jmap(0) * BS); jsb = bytearray(f.read(BS))
assert struct.unpack(">I", jsb[0:4])[0] == 0xC03B3998
struct.pack_into(">III", jsb, 0x14, 1, SEQ, 1)          # s_first, s_sequence, s_start
struct.pack_into(">III", jsb, 0x24, 0, 1, 0)            # compat, incompat (revoke), ro
f.seek(jmap(0) * BS); f.write(jsb)
per = (BS - 16) // 4
total, blk, lb = 1 << 18, 0, 1
while blk < total:
    k = min(per, total - blk)
    b = struct.pack(">IIII", 0xC03B3998, 5, SEQ, 16 + 4 * k)
    b += b"".join(struct.pack(">I", 1000000 + x) for x in range(blk, blk + k))
    f.seek(jmap(lb) * BS); f.write(b + b"\0" * (BS - len(b)))
    blk += k; lb += 1
f.seek(jmap(lb) * BS); f.write(struct.pack(">III", 0xC03B3998, 2, SEQ) + b"\0" * (BS - 12))
f.seek(jmap(lb + 1) * BS); f.write(b"\0" * BS)
# the filesystem needs recovery
f.seek(1024 + 0x60); inc = struct.unpack("<I", f.read(4))[0]
f.seek(1024 + 0x60); f.write(struct.pack("<I", inc | 0x4))
f.close()
PY

# The view, under the limit; the command returns once it is ready.
limit=(prlimit --as=$AS_LIMIT)
# No quarantine: freed memory is reused at once, so VmHWM still says whether use grows.
$sanitized && limit=(env ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0)
"${limit[@]}" "$bin" "$img" "$mnt" --state-dir "$sd" >"$tmp/start.log" 2>&1 ||
	{ cat "$tmp/start.log"; die "start"; }
stop_view() { "$bin" stop --state-dir "$sd" >/dev/null 2>&1; }
trap 'stop_view; _cleanup' EXIT
server=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["server_pid"])' \
	"$sd/state.json") || die "no server_pid in state.json"
keeper=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$sd/state.json")
grep -q "replayed" "$sd/log" || grep -rq "replayed" "$sd"/log* || die "journal not replayed: $(cat "$sd/log")"
for p in $keeper $server; do
	$sanitized && break
	lim=$(awk '/^Max address space/ {print $4}' /proc/$p/limits)
	[ "$lim" = "$AS_LIMIT" ] || die "pid $p: address-space limit $lim, not $AS_LIMIT"
done
# The server is what reads: it holds the image open, the keeper does not.
ls -l /proc/$server/fd 2>/dev/null | grep -q " $img\$" || die "the server does not hold $img"
ls -l /proc/$keeper/fd 2>/dev/null | grep -q " $img\$" && die "the keeper holds $img"

hwm() { awk '/^VmHWM/ {print $2}' /proc/$server/status; }
# walk [tight]: tight tolerates any number of EIO/ENOMEM answers (a too-small limit).
walk() {
	python3 - "$mnt" "$src" "${1:-}" <<'PY'
import errno, hashlib, os, queue, sys, threading
mnt, src, tight = sys.argv[1], sys.argv[2], sys.argv[3] == "tight"
ok_errs = (errno.EIO, errno.ENOMEM)
target = open(os.path.join(src, "big", "target"), "rb").read()
def want_dir(rel):
    if rel == "big":
        return set(["e%06d" % i for i in range(100000)])
    if rel == "lost+found":
        return set()
    return set(os.listdir(os.path.join(src, rel)))
def want_data(rel):
    if rel.startswith("big/"):
        return target
    return open(os.path.join(src, rel), "rb").read()
q, lock = queue.Queue(), threading.Lock()
stats = {"entries": 0, "files": 0, "xattrs": 0, "failed": 0, "bad": []}
def bad(msg):
    with lock:
        stats["bad"].append(msg)
def tolerated(e, what):
    if e.errno in ok_errs:
        with lock:
            stats["failed"] += 1
            k = "failed_" + errno.errorcode[e.errno]
            stats[k] = stats.get(k, 0) + 1
        return True
    bad("%s: %s" % (what, e))
    return False
def visit_file(rel):
    p = os.path.join(mnt, rel)
    try:
        with open(p, "rb") as f:
            data = f.read()
        if data != want_data(rel):
            bad("%s: wrong content" % rel)
        names = os.listxattr(p)
        for n in names:
            v = os.getxattr(p, n)
            if n.startswith("user.attr") and v != os.getxattr(os.path.join(src, rel), n):
                bad("%s: %s wrong" % (rel, n))
        if rel.startswith("xa/") and sum(n.startswith("user.attr") for n in names) != 40:
            bad("%s: %d xattrs" % (rel, len(names)))
        with lock:
            stats["files"] += 1
            stats["xattrs"] += len(names)
            top = rel.split("/")[0]
            stats[top] = stats.get(top, 0) + 1
    except OSError as e:
        tolerated(e, rel)
def worker():
    while True:
        rel = q.get()
        if rel is None:
            return
        try:
            p = os.path.join(mnt, rel) if rel else mnt
            names = os.listdir(p)
            if set(names) != (want_dir(rel) | {"lost+found"} if not rel else want_dir(rel)):
                bad("%s: %d names, want %d" % (rel, len(names), len(want_dir(rel))))
            for n in names:
                c = os.path.join(rel, n) if rel else n
                st = os.lstat(os.path.join(mnt, c))
                with lock:
                    stats["entries"] += 1
                if os.path.isdir(os.path.join(mnt, c)) and not os.path.islink(os.path.join(mnt, c)):
                    q.put(c)
                elif os.path.islink(os.path.join(mnt, c)):
                    os.readlink(os.path.join(mnt, c))
                elif rel != "big" or int(n[1:]) % 97 == 0:
                    visit_file(c)
        except OSError as e:
            tolerated(e, rel or "/")
        except Exception as e:
            bad("%s: %r" % (rel or "/", e))
        finally:
            q.task_done()
ts = [threading.Thread(target=worker) for _ in range(16)]
for t in ts:
    t.start()
q.put("")
q.join()
for t in ts:
    q.put(None)
for t in ts:
    t.join()
print("entries %(entries)d files %(files)d xattrs %(xattrs)d failed %(failed)d" % stats +
      "".join(" (%s %d)" % (k[7:], v) for k, v in sorted(stats.items()) if k.startswith("failed_")))
# 1031 names of /big (every 97th), 200 xattr files, 8 data files, the deep one
if not tight and stats["files"] + stats["failed"] < 1240:
    bad("%d files read right, %d failed, of 1240" % (stats["files"], stats["failed"]))
for m in stats["bad"][:10]:
    print("BAD " + m)
sys.exit(1 if stats["bad"] else 0)
PY
}

declare -a h
for i in 1 2 3; do
	t0=$(date +%s.%N)
	out=$(walk) || { echo "$out"; die "walk $i: wrong answers"; }
	kill -0 "$server" 2>/dev/null || die "walk $i: the server died"
	h[$i]=$(hwm)
	echo "walk $i: $out; $(python3 -c "print('%.1f' % ($(date +%s.%N) - $t0))") s; server VmHWM ${h[$i]} KiB"
done
[ "${h[3]}" -le $((h[1] + 2048)) ] || die "VmHWM grew from ${h[1]} to ${h[3]} KiB over the walks"
$sanitized || [ "${h[3]}" -le "$CEILING_KIB" ] || die "VmHWM ${h[3]} KiB over the ${CEILING_KIB} KiB ceiling"
peak=$(awk '/^VmPeak/ {print $2}' /proc/$server/status)
stop_view || die "stop"
kill -0 "$server" 2>/dev/null && die "the server outlived stop"
$sanitized && { echo "PASS: memory_ceiling: server VmHWM ${h[1]} -> ${h[3]} KiB (sanitizer build: no address-space limit, no ceiling)"; exit 0; }
echo "ok: server VmHWM ${h[1]} -> ${h[3]} KiB, VmPeak $peak KiB (ceiling ${CEILING_KIB} KiB), AS limit $((AS_LIMIT >> 20)) MiB"

# Too little memory: address-space limits from a quarter of the server's VmPeak up to
# 95 %. At each, the view either refuses to start (a non-zero exit, a sentence,
# nothing mounted, no process left) or serves: every answer right or EIO/ENOMEM, the
# server alive after a walk, ENOMEM logged once at most however many requests got it,
# and stop leaves nothing. Never a crash.
refused=0 served=0
for tenths in 25 40 55 65 75 85 95; do
	as=$((peak * 1024 * tenths / 100))
	rm -rf "$sd"
	if prlimit --as=$as "$bin" "$img" "$mnt" --state-dir "$sd" >"$tmp/tight.log" 2>&1; then
		server=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["server_pid"])' \
			"$sd/state.json") || die "AS $((as >> 20)) MiB: no server_pid"
		out=$(walk tight) || { echo "$out"; tail -5 "$sd/log"; die "AS $((as >> 20)) MiB: wrong answers"; }
		kill -0 "$server" 2>/dev/null ||
			die "AS $((as >> 20)) MiB: the server died: $(tail -5 "$sd/log")"
		# Requests refused memory are logged once at most, whatever their number (never
		# once each). Not always once: libfuse's own reply path (its per-thread splice
		# pipe, its copy buffer) can answer ENOMEM without telling us.
		nomem=$(grep -c 'out of memory' "$sd/log")
		[ "$nomem" -le 1 ] || { echo "$out"; tail -8 "$sd/log"; die "AS $((as >> 20)) MiB: 'out of memory' logged $nomem times"; }
		echo "ok: AS $((as >> 20)) MiB: serves; $out; out of memory logged $nomem times"
		served=$((served + 1))
		stop_view || die "AS $((as >> 20)) MiB: stop"
		kill -0 "$server" 2>/dev/null && die "AS $((as >> 20)) MiB: the server outlived stop"
	else
		[ -s "$tmp/tight.log" ] || die "AS $((as >> 20)) MiB: refused without a word"
		grep -qiE 'sanitizer|segmentation|core dumped|abort' "$tmp/tight.log" &&
			die "AS $((as >> 20)) MiB: crashed: $(cat "$tmp/tight.log")"
		echo "ok: AS $((as >> 20)) MiB: refused: $(head -c 200 "$tmp/tight.log" | head -1)"
		refused=$((refused + 1))
		[ -d "$sd" ] && "$bin" stop --state-dir "$sd" >/dev/null 2>&1
	fi
	mountpoint -q "$mnt" && die "AS $((as >> 20)) MiB: $mnt is still mounted"
	pgrep -f "$bin $img $mnt" >/dev/null && die "AS $((as >> 20)) MiB: a process is left"
done
echo "PASS: memory_ceiling: VmHWM ${h[1]} -> ${h[3]} KiB under $((AS_LIMIT >> 20)) MiB; under tighter limits $served served right, $refused refused cleanly"
