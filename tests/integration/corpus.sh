#!/usr/bin/env bash
# Robustness: every image of the e2fsprogs corpus (../shared/corpus/e2fsprogs, mostly
# corrupt) through build/tests/dumptree, which opens it and walks and reads everything.
# Opening and refusing are both fine (exit 0 or 1, with a message); a signal, a hang
# (timeout 20 s) or a sanitizer report (BUILD=build/san: ASan/UBSan abort on the first
# error) is a failure. Prints how many images opened, opened with errors, and were refused.
set -uo pipefail
. "$(dirname "$0")/_lib.sh"

corpus=${BV_CORPUS:-$top/../shared/corpus/e2fsprogs}
[ -d "$corpus" ] || skip "no corpus at $corpus"
[ -x "$dumptree" ] || skip "$dumptree not built (make $build/tests/dumptree)"
command -v timeout >/dev/null || skip "timeout not installed"

# Harmless for a build without sanitizers; with them, the first error aborts the run.
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:allocator_may_return_null=1:${ASAN_OPTIONS:-}
export UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1:${UBSAN_OPTIONS:-}

opened=0 partial=0 refused=0 fails=0 n=0
for f in "$corpus"/*.image*; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	base=$(basename "$f")
	img=$tmp/image
	case $f in
	*.gz) gzip -dc "$f" >"$img" ;;
	*.bz2) bzip2 -dc "$f" >"$img" ;;
	*) cp "$f" "$img" ;;
	esac || { echo "FAIL: $base: cannot decompress"; fails=$((fails + 1)); continue; }
	timeout -k 5 20 "$dumptree" "$img" >/dev/null 2>"$tmp/err"
	rc=$?
	if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$tmp/err"; then
		echo "FAIL: $base: sanitizer report (exit $rc):"
		grep -E -A12 'ERROR|runtime error' "$tmp/err" | head -30
		fails=$((fails + 1))
		continue
	fi
	case $rc in
	0) opened=$((opened + 1)) ;;
	1)
		if grep -q 'cannot open' "$tmp/err"; then
			refused=$((refused + 1))
			echo "refused: $base: $(grep -m1 'cannot open' "$tmp/err" | sed 's/^dumptree: [^:]*: cannot open: //')"
		else
			partial=$((partial + 1))
			echo "errors:  $base: $(grep -c . "$tmp/err") messages, first: $(head -1 "$tmp/err")"
		fi
		;;
	124 | 137)
		echo "FAIL: $base: hung (killed after 20 s)"
		fails=$((fails + 1))
		;;
	*)
		if [ $rc -gt 128 ]; then
			echo "FAIL: $base: killed by signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null))"
		else
			echo "FAIL: $base: exit $rc"
		fi
		tail -5 "$tmp/err"
		fails=$((fails + 1))
		;;
	esac
done
rm -f "$tmp/image"

[ $n -gt 0 ] || skip "no images in $corpus"
echo "corpus: $n images: $opened opened cleanly, $partial opened with read errors, $refused refused, $fails failures"
[ $fails -eq 0 ] || die "$fails of $n corpus images crashed, hung or tripped a sanitizer"
echo "PASS: $testname: $n images"
