#!/usr/bin/env bash
# The commands that read an image without any mount (cmd/cmd_read.c):
#   probe SOURCE                  JSON facts (type, uuid, block size, features, journal)
#   ls [-l] [-a] SOURCE [PATH]    names sorted, long format, errors naming the path
#   cat SOURCE PATH...            content, symlinks followed inside the image only
#   stat [-L] [--json] SOURCE PATH
#   extract SOURCE DESTDIR PATH...  mode (set-id bits dropped), atime/mtime, holes,
#                                 symlinks followed inside the image, nothing written
#                                 outside DESTDIR
# The oracle is the source tree of the matrix, and the kernel's view of the image when
# running as root.
set -uo pipefail
. "$(dirname "$0")/_lib.sh"

[ -x "$bin" ] || skip "$bin not built"
"$bin" probe --help >/dev/null 2>&1 || skip "bootviewfs probe --help does not work yet"
command -v python3 >/dev/null || skip "python3 not installed"
need_images

img=$images/ext4.img
src=$images/src
[ -f "$img" ] || die "no ext4.img in the matrix"
fails=0
check() { # DESCRIPTION COMMAND...: the command must succeed
	local what=$1
	shift
	if "$@" >"$tmp/check.out" 2>&1; then
		echo "ok: $what"
	else
		echo "FAIL: $what"
		sed 's/^/    /' "$tmp/check.out" | head -20
		fails=$((fails + 1))
	fi
}
status_is() { # WANT COMMAND...: exit status WANT, and a message on stderr if not 0
	local want=$1 rc
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne "$want" ]; then
		echo "exit $rc, expected $want: $*"
		head -5 "$tmp/err"
		return 1
	fi
	if [ "$want" -ne 0 ] && ! [ -s "$tmp/err" ]; then
		echo "exit $rc but nothing on stderr: $*"
		return 1
	fi
}
py() { python3 - "$@"; }

# ---- probe ----
probe_has() { # IMAGE PYTHON-EXPRESSION-over-j
	"$bin" probe "$1" >"$tmp/probe.json" || { echo "probe $1 failed"; return 1; }
	py "$tmp/probe.json" "$2" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
if not eval(sys.argv[2]):
    sys.exit("probe: %s is false for %s" % (sys.argv[2], json.dumps(j)))
PY
}
uuid=$(blkid -o value -s UUID "$img" 2>/dev/null || dumpe2fs -h "$img" 2>/dev/null | sed -n 's/^Filesystem UUID: *//p')
check "probe ext4: type, uuid, sizes, features, journal, supported" probe_has "$img" \
	"j['type'] == 'ext4' and j['uuid'] == '$uuid' and j['block_size'] == 4096 and \
	 j['inode_size'] == 256 and 'metadata_csum' in j['features'] and \
	 'extent' in j['features'] and j['journal'] == 'clean' and j['supported'] is True and \
	 j['size'] == $(stat -c %s "$img")"
[ -f "$images/ext2.img" ] && check "probe ext2: type ext2, no journal" probe_has "$images/ext2.img" \
	"j['type'] == 'ext2' and j['journal'] == 'none' and 'has_journal' not in j['features']"
[ -f "$images/ext3.img" ] && check "probe ext3: type ext3" probe_has "$images/ext3.img" \
	"j['type'] == 'ext3' and 'has_journal' in j['features']"
[ -f "$images/1k.img" ] && check "probe 1k: block size 1024" probe_has "$images/1k.img" \
	"j['block_size'] == 1024 and 'ea_inode' in j['features']"
[ -f "$images/bigalloc.img" ] && check "probe bigalloc: cluster size 16384" probe_has \
	"$images/bigalloc.img" "j['cluster_size'] == 16384 and 'bigalloc' in j['features']"
head -c 4M /dev/zero >"$tmp/zeros.img"
probe_refuses() { # the reason is in the JSON ("error"), not necessarily on stderr
	local rc=0
	"$bin" probe "$tmp/zeros.img" >"$tmp/out" 2>&1 || rc=$?
	[ $rc -eq 1 ] || { echo "exit $rc, expected 1"; return 1; }
	py "$tmp/out" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["supported"] is False and j.get("error"), j
PY
}
check "probe of zeros: supported false, an error, exit 1" probe_refuses
check "probe with no SOURCE: exit 2" status_is 2 "$bin" probe
check "probe of a missing file: exit 1" status_is 1 "$bin" probe "$tmp/nonexistent"

# ---- a mistyped command ----
unknown_command() { # WORD WANT-SUGGESTION: exit 2, one line naming it, the hint, no mount tried
	local err
	err=$(cd "$tmp" && "$bin" "$1" "$img" 2>&1 >/dev/null)
	[ $? -eq 2 ] || { echo "exit not 2: $err"; return 1; }
	case $err in *"unknown command '$1'"*"$2"*"try 'bootviewfs --help'"*) ;;
	*) echo "stderr: $err"; return 1 ;; esac
	case $err in *[Mm]ountpoint*) echo "stderr talks of a mountpoint: $err"; return 1 ;; esac
}
check "prob: unknown command, did you mean probe, exit 2" unknown_command prob "did you mean 'probe'"
check "frobnicate: unknown command, the list, exit 2" unknown_command frobnicate "probe ls cat"
bad_mount_line() { # one line saying what is wrong, then the hint; no usage dump
	local err
	err=$("$bin" -o bogus "$img" "$tmp" 2>&1)
	[ $? -eq 2 ] || { echo "exit not 2: $err"; return 1; }
	[ "$err" = "bootviewfs: unknown mount option 'bogus'
try 'bootviewfs mount --help'" ] || { echo "stderr: $err"; return 1; }
}
check "a bad mount option: one line, then try 'bootviewfs mount --help', exit 2" bad_mount_line
mount_help() { grep -q -- "-o OPTS" <<<"$("$bin" mount --help)" && grep -q "mount --help" <<<"$("$bin" --help)"; }
check "bootviewfs mount --help lists the mount options; --help points at it" mount_help
src_word() { # a plain word naming a file in the current directory is still a SOURCE
	local err
	ln -sf "$img" "$tmp/image"
	err=$(cd "$tmp" && "$bin" image "$tmp/nonexistent-mnt" 2>&1)
	case $err in *"unknown command"* | "") echo "stderr: '$err'"; return 1 ;; esac
}
check "a SOURCE in the current directory is not taken for a command" src_word

# ---- ls ----
ls_matches() { # DIR-IN-IMAGE: names, byte-sorted, as the source tree has them
	"$bin" ls "$img" "$1" >"$tmp/ls.out" || return 1
	py "$src$1" "$tmp/ls.out" <<'PY'
import os, sys
names = os.listdir(os.fsencode(sys.argv[1]))
if sys.argv[1].endswith("/"):
    names.append(b"lost+found")   # made by mke2fs, not in the source tree
want = b"".join(n + b"\n" for n in sorted(names))
got = open(sys.argv[2], "rb").read()
if got != want:
    sys.exit("ls differs:\n got %r\nwant %r" % (got[:300], want[:300]))
PY
}
for d in / /sizes /names /links /special /hard/a /bigdir; do
	check "ls $d: the source tree's names, sorted" ls_matches "$d"
done
ls_long() {
	"$bin" ls -l "$img" /links >"$tmp/ls.out" || return 1
	grep -q '^l.* absolute -> /sizes/f61$' "$tmp/ls.out" &&
	grep -q '^l.* 14 .* dangling -> does/not/exist$' "$tmp/ls.out" || { cat "$tmp/ls.out"; return 1; }
	"$bin" ls -l "$img" /special >"$tmp/ls.out" || return 1
	grep -q '^c.* 259, 1048575 .* c-259-1048575$' "$tmp/ls.out" || { cat "$tmp/ls.out"; return 1; }
	"$bin" ls -l "$img" /modes >"$tmp/ls.out" || return 1
	grep -q '^-rwsr-xr-x .* f4755$' "$tmp/ls.out" && grep -q '^drwxrwxrwt .* sticky$' "$tmp/ls.out" ||
		{ cat "$tmp/ls.out"; return 1; }
}
check "ls -l: symlink targets, device numbers, set-id and sticky bits" ls_long
ls_all() {
	"$bin" ls -a "$img" /hard >"$tmp/ls.out" || return 1
	[ "$(cat "$tmp/ls.out")" = "$(printf '.\n..\na\nb\nc')" ] || { cat "$tmp/ls.out"; return 1; }
}
check "ls -a: . and .." ls_all
check "ls of a missing path: exit 1" status_is 1 "$bin" ls "$img" /no/such/dir
check "ls names the missing path" grep -q '/no/such/dir' "$tmp/err"
check "ls with a bad option: exit 2" status_is 2 "$bin" ls --bogus "$img"

# ---- cat ----
cat_matches() { # PATH-IN-IMAGE HOST-FILE
	"$bin" cat "$img" "$1" >"$tmp/cat.out" || return 1
	cmp "$tmp/cat.out" "$2"
}
for f in "$src"/sizes/* "$src"/sparse/* "$src"/hard/a/tri "$src/names/new
line"; do
	rel=${f#"$src"}
	check "cat ${rel//$'\n'/\\n}: the source's bytes" cat_matches "$rel" "$f"
done
check "cat of a relative symlink follows it in the image" cat_matches /links/relative "$src/sizes/f4097"
check "cat of an absolute symlink resolves at the image's root" cat_matches /links/absolute "$src/sizes/f61"
cat_two() {
	"$bin" cat "$img" /sizes/f1 /sizes/f59 >"$tmp/cat.out" || return 1
	cat "$src/sizes/f1" "$src/sizes/f59" | cmp - "$tmp/cat.out"
}
check "cat of two files concatenates them" cat_two
check "cat of a directory: exit 1" status_is 1 "$bin" cat "$img" /sizes
check "cat of a dangling symlink: exit 1" status_is 1 "$bin" cat "$img" /links/dangling
check "cat of a symlink loop: exit 1" status_is 1 "$bin" cat "$img" /links/loop-a
check "cat with no PATH: exit 2" status_is 2 "$bin" cat "$img"

# An image whose symlinks try to leave it: they must resolve inside it.
esc=$tmp/escape-src
mkdir -p "$esc/etc" "$esc/a/b"
echo "the image's hostname" >"$esc/etc/hostname"
ln -s /etc/hostname "$esc/abs"
ln -s ../../../../../../../../etc/hostname "$esc/a/b/up"
ln -s ../../.. "$esc/a/b/root"
mkfs.ext4 -q -F -b 4096 -d "$esc" "$tmp/escape.img" 8M >/dev/null 2>&1 || die "mkfs of escape.img failed"
for p in /abs /a/b/up /a/b/root/etc/hostname /a/b/root/../../etc/hostname; do
	if out=$("$bin" cat "$tmp/escape.img" "$p" 2>&1) && [ "$out" = "the image's hostname" ]; then
		echo "ok: cat $p resolves inside the image"
	else
		echo "FAIL: cat $p: got: ${out:0:200}"
		fails=$((fails + 1))
	fi
done

# ---- stat ----
# The oracle: the kernel's lstat of the same image when we can mount it, else the source
# tree (whose inode numbers, ctimes and link counts of directories differ).
oracle=$src kernel=0
if is_root && kmount "$img" "$tmp/kmnt" 2>/dev/null; then
	oracle=$tmp/kmnt kernel=1
fi
stat_matches() { # PATH-IN-IMAGE [-L]
	"$bin" stat ${2:-} --json "$img" "$1" >"$tmp/stat.json" || return 1
	py "$tmp/stat.json" "$oracle" "$1" "$kernel" "${2:-}" <<'PY'
import json, os, stat, sys
j = json.load(open(sys.argv[1]))
full, kernel, follow = os.fsencode(sys.argv[2] + sys.argv[3]), sys.argv[4] == "1", sys.argv[5] == "-L"
st = os.stat(full) if follow else os.lstat(full)
want = {"mode": stat.S_IMODE(st.st_mode), "uid": st.st_uid, "gid": st.st_gid,
        "mtime": {"sec": st.st_mtime_ns // 10**9, "nsec": st.st_mtime_ns % 10**9}}
if not stat.S_ISDIR(st.st_mode):
    want["size"] = st.st_size
if kernel:
    want.update(ino=st.st_ino, nlink=st.st_nlink, blocks=st.st_blocks,
                ctime={"sec": st.st_ctime_ns // 10**9, "nsec": st.st_ctime_ns % 10**9})
if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
    want["rdev"] = {"major": os.major(st.st_rdev), "minor": os.minor(st.st_rdev)}
if stat.S_ISLNK(st.st_mode):
    want["target"] = os.readlink(full).decode("utf-8", "surrogateescape")
bad = {k: (j.get(k), v) for k, v in want.items() if j.get(k) != v}
if bad:
    sys.exit("stat --json %s: (got, want): %r" % (sys.argv[3], bad))
PY
}
for p in /sizes/f4097 /special/c-259-1048575 /special/b-4095-1048575 /owners/u100000 \
	/modes/f6711 /modes/sticky /times/t1960-01-01 /links/len61 /hard/b/tri /xattr/large /; do
	check "stat --json $p matches $([ $kernel = 1 ] && echo the kernel || echo the source tree)" stat_matches "$p"
done
check "stat -L --json /links/relative is the target's" stat_matches /links/relative -L
stat_text() {
	"$bin" stat "$img" /sizes/f4097 >"$tmp/stat.txt" || return 1
	local ino
	ino=$(stat -c %i "$oracle/sizes/f4097")
	grep -q 'Size: 4097 ' "$tmp/stat.txt" &&
	{ [ $kernel = 0 ] || grep -q "Inode: $ino " "$tmp/stat.txt"; } || { cat "$tmp/stat.txt"; return 1; }
}
check "stat (text): size and inode" stat_text
check "stat of a missing path: exit 1" status_is 1 "$bin" stat "$img" /nope
check "stat with no PATH: exit 2" status_is 2 "$bin" stat "$img"
[ $kernel = 1 ] && kumount "$tmp/kmnt"

# ---- extract ----
dest=$tmp/dest
mkdir -p "$dest"
deepleaf=/deep/$(seq -s/ -f 'd%g' 1 60)/leaf
if "$bin" extract "$img" "$dest" /sizes/f4097 /sizes/f0 /modes/f4755 /modes/f0400 \
	/times/t1960-01-01 /times/t2100-01-01 /sparse/mid-hole /links/relative "$deepleaf" \
	>"$tmp/out" 2>"$tmp/err"; then
	echo "ok: extract of 9 paths exits 0"
else
	echo "FAIL: extract exited $?: $(head -5 "$tmp/err")"
	fails=$((fails + 1))
fi
extract_ok() {
	py "$dest" "$src" "$deepleaf" <<'PY'
import os, stat, sys
dest, src, deep = sys.argv[1], sys.argv[2], sys.argv[3]
errs = []
def same(rel, srcrel=None, mode=None):
    d, s = os.path.join(dest, rel), os.path.join(src, srcrel or rel)
    try:
        dst = os.lstat(d)
    except OSError as e:
        errs.append("%s: %s" % (rel, e)); return
    sst = os.stat(s)
    if not stat.S_ISREG(dst.st_mode):
        errs.append("%s: not a regular file" % rel); return
    if open(d, "rb").read() != open(s, "rb").read():
        errs.append("%s: content differs" % rel)
    want = stat.S_IMODE(sst.st_mode) if mode is None else mode
    if stat.S_IMODE(dst.st_mode) != want:
        errs.append("%s: mode %o, want %o" % (rel, stat.S_IMODE(dst.st_mode), want))
    # mke2fs -d keeps whole seconds; the image's mtime is the source's.
    if dst.st_mtime_ns // 10**9 != sst.st_mtime_ns // 10**9 and not rel.startswith("times/t2100"):
        errs.append("%s: mtime %d, want %d" % (rel, dst.st_mtime_ns, sst.st_mtime_ns))
    return dst
same("sizes/f4097")
same("sizes/f0")
same("modes/f4755", mode=0o755)      # set-user-ID dropped
same("modes/f0400")
same("times/t1960-01-01")             # before 1970: a negative mtime
same("times/t2100-01-01")
st = same("sparse/mid-hole")
if st and st.st_blocks * 512 >= st.st_size:
    errs.append("sparse/mid-hole: holes were filled (%d blocks for %d bytes)" % (st.st_blocks, st.st_size))
same("links/relative", "sizes/f4097")  # followed inside the image: a file, not a link
same(deep.lstrip("/"))
for dirpath, dirs, files in os.walk(dest):
    for f in files:
        if f.startswith(".bootviewfs-extract"):
            errs.append("temporary file left: " + os.path.join(dirpath, f))
if errs:
    sys.exit("\n".join(errs))
PY
}
check "extract: content, mode without set-id bits, mtimes, holes, symlink followed, 60 levels" extract_ok

dest_missing() { # a missing DESTDIR: exit 1, named as the destination
	local err
	err=$("$bin" extract "$img" "$tmp/no-such-dest" /sizes/f1 2>&1)
	[ $? -eq 1 ] || { echo "exit not 1: $err"; return 1; }
	case $err in *"destination $tmp/no-such-dest: No such file"*) ;; *) echo "$err"; return 1 ;; esac
}
check "extract into a missing DESTDIR: exit 1, 'destination ...'" dest_missing

# Nothing is written outside DESTDIR.
out=$tmp/outside
mkdir -p "$out" "$tmp/d2" "$tmp/d3" "$tmp/d4/sizes"
ln -s "$out" "$tmp/d2/sizes"
check "extract through a symlinked directory in DESTDIR fails" \
	status_is 1 "$bin" extract "$img" "$tmp/d2" /sizes/f1
check "... and writes nothing where it points" test ! -e "$out/f1"
check "extract of a path with .. stays inside DESTDIR" \
	"$bin" extract "$img" "$tmp/d3" /sizes/../../../../sizes/f1
check "... landing at DESTDIR/sizes/f1" cmp "$tmp/d3/sizes/f1" "$src/sizes/f1"
check "... and nothing above DESTDIR" test ! -e "$tmp/sizes"
echo precious >"$out/precious"
ln -s "$out/precious" "$tmp/d4/sizes/f1"
check "extract over a symlink in DESTDIR replaces the link" \
	"$bin" extract "$img" "$tmp/d4" /sizes/f1
check "... without writing through it" test "$(cat "$out/precious")" = precious
check "... leaving a regular file" test -f "$tmp/d4/sizes/f1" -a ! -L "$tmp/d4/sizes/f1"
mkdir -p "$tmp/d5"
extract_escape() {
	"$bin" extract "$tmp/escape.img" "$tmp/d5" /abs /a/b/up || return 1
	[ "$(cat "$tmp/d5/abs")" = "the image's hostname" ] &&
	[ "$(cat "$tmp/d5/a/b/up")" = "the image's hostname" ]
}
check "extract follows escaping symlinks inside the image only" extract_escape
check "extract of a directory: exit 1" status_is 1 "$bin" extract "$img" "$dest" /sizes
check "extract of a missing path: exit 1" status_is 1 "$bin" extract "$img" "$dest" /nope
check "extract into a missing DESTDIR: exit 1" status_is 1 "$bin" extract "$img" "$tmp/none" /sizes/f1
check "extract with no PATH: exit 2" status_is 2 "$bin" extract "$img" "$dest"

# The mount form names what a source it cannot serve holds, as probe does, and a failed
# start's status names the source it was given.
mount_names_squashfs() {
	local out
	mkdir -p "$tmp/sqd" "$tmp/xmnt" && head -c 8192 /dev/urandom >"$tmp/sqd/f" &&
		mksquashfs "$tmp/sqd" "$tmp/sq.img" -quiet -noappend >/dev/null || return 1
	out=$("$bin" --state-dir "$tmp/xst" "$tmp/sq.img" "$tmp/xmnt" 2>&1) && return 1
	rm -f "$tmp/sq.img"
	grep -q "holds squashfs, not an ext2/3/4 or xfs filesystem" <<<"$out" ||
		{ echo "said: $out"; return 1; }
	grep -q "^failed: $tmp/sq.img on " <<<"$("$bin" status --state-dir "$tmp/xst" --human)"
}
if command -v mksquashfs >/dev/null; then
	check "the mount form of a squashfs image says it holds squashfs; status names the source" mount_names_squashfs
else
	echo "SKIP (one check): mksquashfs not installed"
fi
check "status of an absent directory: exit 2, one line on stderr" status_is 2 "$bin" status --state-dir "$tmp/absent"
check "--help states status's own exit codes" grep -q "except status" <<<"$("$bin" --help)"

[ $fails -eq 0 ] || die "$fails checks failed"
echo "PASS: $testname"
