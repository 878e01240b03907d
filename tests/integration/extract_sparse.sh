#!/usr/bin/env bash
# extract keeps holes and skips them whole: a 1 TiB sparse file with data only at its end
# comes out in moments with the same size and bytes, taking almost no space. Reading the
# hole's zeros a chunk at a time would take many minutes: the timeout below catches that.
set -uo pipefail
. "$(dirname "$0")/_lib.sh"
testname=extract_sparse
bin=${BUILD:-build}/bootviewfs
[ -x "$bin" ] || skip "$bin not built"

tmp=$(mktemp -d /tmp/bv-extract-sparse.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src" "$tmp/out"
truncate -s $((1 << 40)) "$tmp/src/huge" || skip "the scratch filesystem cannot hold a 1 TiB sparse file"
printf 'tail-bytes' | dd of="$tmp/src/huge" bs=1 seek=$(((1 << 40) - 10)) conv=notrunc status=none
head -c 4096 /dev/urandom > "$tmp/src/small"
mkfs.ext4 -q -F -b 4096 -d "$tmp/src" "$tmp/img" 64M || die "mkfs.ext4 failed"

timeout 60 "$bin" extract "$tmp/img" "$tmp/out" /huge /small || die "extract failed or took over 60 s"
[ "$(stat -c %s "$tmp/out/huge")" = $((1 << 40)) ] || die "size $(stat -c %s "$tmp/out/huge")"
[ "$(tail -c 10 "$tmp/out/huge")" = tail-bytes ] || die "the bytes at the end differ"
used=$(du -k "$tmp/out/huge" | cut -f1)
[ "$used" -lt 1024 ] || die "the hole was written out: $used KiB allocated"
cmp -s "$tmp/src/small" "$tmp/out/small" || die "small file differs"
echo "PASS: $testname: 1 TiB sparse file extracted, ${used} KiB allocated"
exit 0
