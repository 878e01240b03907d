#!/usr/bin/env bash
# Every image of the matrix, read by our reader (build/tests/dumptree) and by the kernel's
# ext4 (a read-only mount of a read-only loop device, dumped with tests/treedump.py): every
# field must agree, inode numbers, nlink, blocks and all three timestamps in ns included.
# An image the kernel will not mount (64 KiB blocks on a kernel without large block
# support) has no oracle here: it is reported and left to matrix_vs_source.
set -uo pipefail
. "$(dirname "$0")/_lib.sh"

is_root || skip "needs root (loop devices and kernel mounts)"
[ -x "$dumptree" ] || skip "$dumptree not built (make $build/tests/dumptree)"
for p in losetup mount python3; do
	command -v $p >/dev/null || skip "$p not installed"
done
grep -qw ext4 /proc/filesystems || modprobe ext4 2>/dev/null || true
grep -qw ext4 /proc/filesystems || skip "the kernel has no ext4"
need_images

n=0 compared=0 fails=0
mnt=$tmp/mnt
while IFS=$'\t' read -r name img _src opts; do
	n=$((n + 1))
	if ! kmount "$img" "$mnt"; then
		echo "no oracle: $name: the kernel will not mount it: $kmount_err"
		continue
	fi
	python3 "$top/tests/treedump.py" "$mnt" >"$tmp/$name.kernel" 2>"$tmp/$name.kerr"
	krc=$?
	kumount "$mnt" || die "cannot unmount $mnt"
	[ $krc -eq 0 ] || { cat "$tmp/$name.kerr"; die "treedump.py of the kernel mount of $name failed"; }
	compared=$((compared + 1))
	if ! "$dumptree" "$img" >"$tmp/$name.dump" 2>"$tmp/$name.err"; then
		echo "FAIL: $name: dumptree: $(head -5 "$tmp/$name.err")"
		fails=$((fails + 1))
		continue
	fi
	if python3 "$top/tests/cmptree.py" "$tmp/$name.kernel" "$tmp/$name.dump" --fields all \
		>"$tmp/$name.diff" 2>&1; then
		echo "ok: $name ($(tail -1 "$tmp/$name.diff"))"
	else
		echo "FAIL: $name ($opts): the reader and the kernel differ (kernel first):"
		head -30 "$tmp/$name.diff"
		fails=$((fails + 1))
	fi
done <"$images/images.list"

[ $n -gt 0 ] || die "no images in the matrix"
[ $compared -gt 0 ] || skip "the kernel mounted none of the $n images"
[ $fails -eq 0 ] || die "$fails of $compared images differ from the kernel"
echo "PASS: $testname: $compared of $n images agree with the kernel"
