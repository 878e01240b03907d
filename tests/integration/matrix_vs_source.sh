#!/usr/bin/env bash
# Every image of the matrix, read by our reader (build/tests/dumptree), against the source
# tree it was made from (tests/treedump.py): the fields mkfs.ext4 -d and cp -a keep.
#   type, mode, uid, gid, size, mtime (seconds; nanoseconds for kernel-written images),
#   rdev, symlink target, xattrs, content hash, hard-link groups.
# Left out: the root and lost+found (made by mke2fs), kextra/ (only in the kernel image),
# and for mke2fs -d images the mtimes past 2038: mke2fs 1.47.0 -d drops the epoch bits
# (the kernel shows the same wrapped time, which matrix_vs_kernel checks), and with
# inline_data the size of a file ending in a hole (mke2fs 1.47.0 -d stores only up to the
# last data block; the kernel agrees with that size).
set -uo pipefail
. "$(dirname "$0")/_lib.sh"

[ -x "$dumptree" ] || skip "$dumptree not built (make $build/tests/dumptree)"
command -v python3 >/dev/null || skip "python3 not installed"
need_images

fields=type,mode,uid,gid,size,rdev,target,xattrs,sha256,ino
common=(--links-as-groups --exclude '^/$' --exclude '^/lost\+found(/|$)' --exclude '^/kextra(/|$)')
n=0 fails=0
declare -A srcdump
while IFS=$'\t' read -r name img src opts; do
	n=$((n + 1))
	# One dump per source tree.
	if [ -z "${srcdump[$src]:-}" ]; then
		srcdump[$src]=$tmp/src.$n.dump
		python3 "$top/tests/treedump.py" "$src" >"${srcdump[$src]}" ||
			die "treedump.py $src failed"
	fi
	if ! "$dumptree" "$img" >"$tmp/$name.dump" 2>"$tmp/$name.err"; then
		echo "FAIL: $name: dumptree: $(head -5 "$tmp/$name.err")"
		fails=$((fails + 1))
		continue
	fi
	case $opts in
	kernel*) extra=(--fields "$fields,mtime") ;;
	*) extra=(--fields "$fields,mtime_s" --ignore 'mtime_s:^/times/(t2038-01-19|t2038-01-20|t2100|t2400|link-2100)') ;;
	esac
	case $opts in
	*inline_data*) extra+=(--ignore 'size:^/sparse/tail-hole$' --ignore 'sha256:^/sparse/tail-hole$') ;;
	esac
	if python3 "$top/tests/cmptree.py" "${srcdump[$src]}" "$tmp/$name.dump" "${common[@]}" \
		"${extra[@]}" >"$tmp/$name.diff" 2>&1; then
		echo "ok: $name ($(tail -1 "$tmp/$name.diff"))"
	else
		echo "FAIL: $name ($opts): the reader and the source tree differ:"
		head -30 "$tmp/$name.diff"
		fails=$((fails + 1))
	fi
done <"$images/images.list"

# The comparer must be able to fail: one mode bit flipped, one hard link broken.
first=
for k in "${!srcdump[@]}"; do
	case $k in */src) first=${srcdump[$k]} ;; esac
done
[ -n "$first" ] || die "no image was made from the main source tree (src)"
awk -F'\t' -v OFS='\t' '$1 == "/sizes/f4097" { $3 = "0645" } $1 == "/hard/b/tri" { $8 = 1 } 1' \
	"$first" >"$tmp/mutated.dump"
if python3 "$top/tests/cmptree.py" "$first" "$tmp/mutated.dump" --fields mode,ino --links-as-groups \
	>"$tmp/mutated.diff" 2>&1 || [ "$(grep -c ': mode: \|: ino: ' "$tmp/mutated.diff")" -lt 4 ]; then
	cat "$tmp/mutated.diff"
	die "cmptree.py did not report a changed mode and a broken hard-link group"
fi

[ $n -gt 0 ] || die "no images in the matrix"
[ $fails -eq 0 ] || die "$fails of $n images differ from their source tree"
echo "PASS: $testname: $n images"
