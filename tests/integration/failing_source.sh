#!/usr/bin/env bash
# A failing source: bootviewfs serving an ext4 image from a dm device whose table is
# swapped under it. This kernel may have no device-mapper, so the test boots Debian's
# cloud kernel under qemu (scripts/vm-test.sh) and runs scripts/vm/failing-source.sh there,
# once, for four cases: an `error` table, a `flakey` table, `dmsetup suspend` (with a stop
# while suspended) and `dmsetup remove --force`. See docs/vm-tests.md.
# Exit 0 pass, 1 fail, 77 skip (reason on stdout).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
bin=$build/bootviewfs

skip() { echo "SKIP: failing_source: $*"; exit 77; }
[ -x "$bin" ] || skip "$bin not built"
command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 not installed"
command -v sha256sum >/dev/null || skip "sha256sum not installed"

tmp=$(mktemp -d /tmp/bv-failsrc.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Files of a few MiB, so that reads go to the device in many requests (and many blocks),
# not only to caches; one per thing a case reads uncached, a few spare for flakey rounds.
src=$tmp/src
mkdir -p "$src/d/e"
for i in 1 2 3 4 5 6 7 8; do
	head -c $((1536 * 1024 + i * 4096 * 37)) /dev/urandom >"$src/d/f$i"
done
echo "small" >"$src/d/e/small"
(cd "$src" && sha256sum d/f? d/e/small) >"$tmp/failsrc.sha256" || skip "sha256sum failed"
mkfs.ext4 -q -F -b 4096 -d "$src" "$tmp/img" 32M >"$tmp/mkfs.log" 2>&1 ||
	{ cat "$tmp/mkfs.log"; echo "FAIL: failing_source: mkfs.ext4 failed"; exit 1; }

start=$(date +%s)
"$top/scripts/vm-test.sh" --timeout "${VM_TIMEOUT:-150}" --log "$tmp/console.log" \
	--disk "$tmp/img" --file "$tmp/failsrc.sha256" \
	"$top/scripts/vm/failing-source.sh" /dev/vda
rc=$?
echo "failing_source: $(($(date +%s) - start)) s in the VM"
case $rc in
0) echo "PASS: failing_source" ;;
77) ;;
*) echo "FAIL: failing_source (vm-test exit $rc)"; rc=1 ;;
esac
exit $rc
