#!/usr/bin/env bash
# Runs every tests/integration/*.sh (files starting with _ are helpers, not tests) and
# prints PASS, FAIL or SKIP for each with the reason, then "N passed, N failed, N skipped".
#
# A test exits 0 to pass, 77 to skip (its last "SKIP: ..." line says why), anything else
# to fail. Exit status: 1 when any test failed or when every test skipped (CI must not be
# all skips), else 0.
#
# Environment: BUILD (default build) names the build directory, e.g. build/san-address-undefined. The image
# matrix (scripts/mkimages.sh) is built once here and shared through BV_IMAGES; a test run
# alone builds its own. BV_KEEP=1 keeps the logs and images.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
export BUILD=${BUILD:-build}
cd "$top"

work=$(mktemp -d /tmp/bv-integration.XXXXXX)
cleanup() {
	if [ "${BV_KEEP:-0}" = 1 ]; then
		echo "(kept $work)"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pass=0 fail=0 skip=0
tests=()
for t in tests/integration/*.sh; do
	case $(basename "$t") in _*) continue ;; esac
	[ -f "$t" ] && tests+=("$t")
done

# The shared image matrix: built once, used read-only by the tests that want it.
if "$top/scripts/mkimages.sh" "$work/images" >"$work/mkimages.log" 2>&1; then
	export BV_IMAGES=$work/images
	echo "   (image matrix: $(tail -1 "$work/mkimages.log"))"
else
	echo "FAIL mkimages: scripts/mkimages.sh failed:"
	sed 's/^/    /' "$work/mkimages.log" | tail -20
	fail=$((fail + 1))
	# Tests that need it build their own and report what is wrong.
fi

for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	log=$work/$name.log
	start=$SECONDS
	bash "$t" >"$log" 2>&1
	rc=$?
	secs=$((SECONDS - start))
	case $rc in
	0)
		pass=$((pass + 1))
		echo "PASS $name (${secs} s)"
		;;
	77)
		skip=$((skip + 1))
		why=$(grep -E '^SKIP' "$log" | tail -1 | sed -E "s/^SKIP:? *($name: *)?//")
		echo "SKIP $name: ${why:-no reason given}"
		;;
	*)
		fail=$((fail + 1))
		echo "FAIL $name (exit $rc, ${secs} s; log lines saying FAIL, then the last lines):"
		grep -E '^FAIL' "$log" | head -20 | sed 's/^/    /'
		echo "    ..."
		tail -25 "$log" | sed 's/^/    /'
		;;
	esac
done

rc=0
[ $fail -eq 0 ] || rc=1
if [ $pass -eq 0 ] && [ $fail -eq 0 ]; then
	echo "FAIL: every test skipped, and CI must run something"
	rc=1
fi
echo "$pass passed, $fail failed, $skip skipped"
exit $rc
