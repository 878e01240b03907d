#!/usr/bin/env bash
# Corrupt images through the FUSE layer: every image of the e2fsprogs corpus (mostly
# corrupt, from e2fsprogs' own test suite) is mounted with bootviewfs; where it mounts,
# the whole tree is walked (readdir, lstat, readlink, read of every file, listxattr and
# getxattr). Refusing an image is fine; a request failing with EIO is fine; the daemon
# dying, hanging, or leaving a mount is not.
# Exit 0 pass, 1 fail, 77 skip (reason on stdout).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
bin=$build/bootviewfs

skip() { echo "SKIP: fuse_corpus: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (umount of a wedged mount)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -x "$bin" ] || skip "$bin not built"
# ../shared/corpus/e2fsprogs, else the one scripts/fetch-corpus.sh fetched into build/.
corpus=$("$top/scripts/fetch-corpus.sh" --locate) || skip "$corpus"
command -v python3 >/dev/null || skip "python3 not installed"

tmp=$(mktemp -d /tmp/bv-fuse-corpus.XXXXXX)
mnt=$tmp/mnt
mkdir -p "$mnt"
cleanup() {
	mountpoint -q "$mnt" && umount -l "$mnt"
	rm -rf "$tmp"
}
trap cleanup EXIT

# A sanitizer build's daemon has no stderr once detached: have reports written here.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$tmp/san"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$tmp/san"

walk() { # MNT: touch everything, errors allowed; at most 2000 entries and 4 MiB a file
	python3 - "$1" <<'PY'
import os, sys
n = 0
for dp, ds, fs in os.walk(sys.argv[1], onerror=lambda e: None):
    for name in ds + fs:
        n += 1
        if n > 2000:
            sys.exit(0)
        p = os.path.join(dp, name)
        try:
            st = os.lstat(p)
            for x in os.listxattr(p, follow_symlinks=False):
                try: os.getxattr(p, x, follow_symlinks=False)
                except OSError: pass
            if os.path.islink(p):
                os.readlink(p)
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    f.read(4 << 20)
        except OSError:
            pass
PY
}

total=0 mounted=0 fails=0
for f in "$corpus"/*.image*; do
	total=$((total + 1))
	name=$(basename "$f")
	img=$tmp/img
	case $f in
	*.gz) gzip -dc "$f" >"$img" ;;
	*.bz2) bzip2 -dc "$f" >"$img" ;;
	*) cp "$f" "$img" ;;
	esac
	timeout 20 "$bin" "$img" "$mnt" >/dev/null 2>"$tmp/err"
	rc=$?
	if [ $rc -eq 124 ]; then
		echo "FAIL: $name: mount hung"; fails=$((fails + 1))
	fi
	if [ $rc -ne 0 ]; then
		if mountpoint -q "$mnt"; then
			echo "FAIL: $name: failed (exit $rc) but left a mount"; fails=$((fails + 1))
			umount -l "$mnt"
		elif [ $rc -ne 124 ] && ! [ -s "$tmp/err" ]; then
			echo "FAIL: $name: refused without a message"; fails=$((fails + 1))
		fi
		continue
	fi
	mounted=$((mounted + 1))
	pid=$(pgrep -n -f "bootviewfs $img $mnt")
	if ! timeout 60 bash -c "$(declare -f walk); walk '$mnt'"; then
		echo "FAIL: $name: walking the mount hung or failed"; fails=$((fails + 1))
	fi
	if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null ||
	   [ "$(awk '{print $3}' "/proc/$pid/stat")" = Z ]; then
		echo "FAIL: $name: the daemon died while serving"; fails=$((fails + 1))
	fi
	umount "$mnt" 2>/dev/null || umount -l "$mnt"
done
[ $total -gt 0 ] || skip "no images in $corpus"
for r in "$tmp"/san.*; do
	[ -e "$r" ] || continue
	echo "FAIL: sanitizer report:"; head -30 "$r"; fails=$((fails + 1))
done
echo "fuse_corpus: $total images, $mounted mounted and walked, $((total - mounted)) refused"
[ $fails -eq 0 ] || { echo "FAIL: fuse_corpus: $fails problems"; exit 1; }
echo "PASS: fuse_corpus"
exit 0
