#!/usr/bin/env bash
# Robustness: every image of the e2fsprogs corpus (scripts/fetch-corpus.sh --locate, mostly
# corrupt) through build/tests/dumptree, which opens it and walks and reads everything.
# Opening and refusing are both fine (exit 0 or 1, with a message); a signal, a hang
# (timeout 20 s) or a sanitizer report (BUILD=build/san-address-undefined: ASan/UBSan abort on the first
# error) is a failure. Prints how many images opened, opened with errors, and were refused.
set -uo pipefail
. "$(dirname "$0")/_lib.sh"

# ../shared/corpus/e2fsprogs, else the one scripts/fetch-corpus.sh fetched into build/.
corpus=$("$top/scripts/fetch-corpus.sh" --locate) || skip "$corpus"
[ -x "$dumptree" ] || skip "$dumptree not built (make $build/tests/dumptree)"
command -v timeout >/dev/null || skip "timeout not installed"

# Harmless for a build without sanitizers; with them, the first error aborts the run.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:allocator_may_return_null=1:${ASAN_OPTIONS:-}
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}

# One image: decompress, dump, classify. Writes "STATUS message" to $tmp/res/NAME.
one() {
	local f=$1 base img rc res
	base=$(basename "$f")
	img=$tmp/work.$base
	res=$tmp/res/$base
	case $f in
	*.gz) gzip -dc "$f" >"$img" ;;
	*.bz2) bzip2 -dc "$f" >"$img" ;;
	*) cp "$f" "$img" ;;
	esac || { echo "FAIL cannot decompress" >"$res"; rm -f "$img"; return 0; }
	timeout -k 5 20 "$dumptree" "$img" >/dev/null 2>"$img.err"
	rc=$?
	rm -f "$img"
	if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$img.err"; then
		{ echo "FAIL sanitizer report (exit $rc):"; grep -E -A12 'ERROR|runtime error' "$img.err" | head -30; } >"$res"
	elif [ $rc -eq 0 ]; then
		echo "opened" >"$res"
	elif [ $rc -eq 1 ] && grep -q 'cannot open' "$img.err"; then
		echo "refused $(grep -m1 'cannot open' "$img.err" | sed 's/^dumptree: [^:]*: cannot open: //')" >"$res"
	elif [ $rc -eq 1 ]; then
		echo "partial $(grep -c . "$img.err") messages, first: $(head -1 "$img.err")" >"$res"
	elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "FAIL hung (killed after 20 s)" >"$res"
	elif [ $rc -gt 128 ]; then
		{ echo "FAIL killed by signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null))"; tail -5 "$img.err"; } >"$res"
	else
		{ echo "FAIL exit $rc"; tail -5 "$img.err"; } >"$res"
	fi
	rm -f "$img.err"
}
export -f one
export tmp dumptree
mkdir -p "$tmp/res"
# One job per CPU: decompression and the walk are both CPU bound.
find "$corpus" -maxdepth 1 -type f -name '*.image*' -print0 | sort -z |
	xargs -0 -r -n 1 -P "$(nproc)" bash -c 'one "$1"' _

opened=0 partial=0 refused=0 fails=0 n=0
for res in "$tmp"/res/*; do
	[ -f "$res" ] || continue
	n=$((n + 1))
	base=$(basename "$res")
	read -r status msg <"$res"
	case $status in
	opened) opened=$((opened + 1)) ;;
	refused) refused=$((refused + 1)); echo "refused: $base: $msg" ;;
	partial) partial=$((partial + 1)); echo "errors:  $base: $msg" ;;
	*) fails=$((fails + 1)); echo "FAIL: $base: $(sed "1s/^FAIL //" "$res")" ;;
	esac
done

[ $n -gt 0 ] || skip "no images in $corpus"
echo "corpus: $n images: $opened opened cleanly, $partial opened with read errors, $refused refused, $fails failures"
[ $fails -eq 0 ] || die "$fails of $n corpus images crashed, hung or tripped a sanitizer"
echo "PASS: $testname: $n images"
