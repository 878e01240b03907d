#!/usr/bin/env bash
# Measures `bootviewfs extract` against `debugfs -R dump` pulling a 64 MiB file out of a
# 1 GiB ext4 image, side by side in one run. Prints medians and the ratio.
#
#   scripts/bench-extract.sh [RUNS]       (default 7 runs each; BUILD=build)
#
# "cold" drops the page cache before each run (needs root; skipped otherwise), "warm"
# reads with the image already cached. A ratio below 1.00 means bootviewfs is faster.
set -euo pipefail

runs=${1:-7}
bin=${BUILD:-build}/bootviewfs
[ -x "$bin" ] || { echo "bench-extract: build first (make)" >&2; exit 2; }
command -v debugfs >/dev/null || { echo "bench-extract: debugfs missing (e2fsprogs)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/src/unikernel" "$work/out"
head -c $((64 << 20)) /dev/urandom > "$work/src/unikernel/kernel"
for i in $(seq 1 200); do head -c $((i * 100)) /dev/urandom > "$work/src/unikernel/f$i"; done
mkfs.ext4 -q -F -d "$work/src" "$work/img" 1G
want=$(sha256sum < "$work/src/unikernel/kernel")

can_drop=0
[ "$(id -u)" = 0 ] && [ -w /proc/sys/vm/drop_caches ] && can_drop=1

now_ns() { date +%s%N; }

# run_one NAME COLD: prints elapsed nanoseconds of one extraction, checks the content.
run_one() {
	local name=$1 cold=$2 t0 t1
	rm -f "$work/out/kernel" "$work/out/unikernel/kernel"
	if [ "$cold" = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
	t0=$(now_ns)
	case $name in
	bootviewfs) "$bin" extract "$work/img" "$work/out" /unikernel/kernel ;;
	debugfs) debugfs -R "dump /unikernel/kernel $work/out/kernel" "$work/img" 2>/dev/null ;;
	esac
	t1=$(now_ns)
	local got out=$work/out/kernel
	[ "$name" = bootviewfs ] && out=$work/out/unikernel/kernel
	got=$(sha256sum < "$out")
	[ "$got" = "$want" ] || { echo "bench-extract: $name produced wrong content" >&2; exit 1; }
	echo $((t1 - t0))
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-6s %14s %14s %8s\n' cache "bootviewfs ms" "debugfs ms" ratio
for cold in 1 0; do
	[ "$cold" = 1 ] && [ "$can_drop" = 0 ] && { echo "cold   SKIP (not root)"; continue; }
	# Interleave the two tools so drift in the machine hits both alike.
	: > "$work/bv"; : > "$work/dbg"
	for _ in $(seq 1 "$runs"); do
		run_one bootviewfs "$cold" >> "$work/bv"
		run_one debugfs "$cold" >> "$work/dbg"
	done
	bv=$(median < "$work/bv"); dbg=$(median < "$work/dbg")
	awk -v c="$([ "$cold" = 1 ] && echo cold || echo warm)" -v a="$bv" -v b="$dbg" \
		'BEGIN { printf "%-6s %14.1f %14.1f %8.2f\n", c, a / 1e6, b / 1e6, a / b }'
done
