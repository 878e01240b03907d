#!/usr/bin/env bash
# Real containerd: the devmapper snapshotter of Debian's containerd 1.6.20 makes a View of
# an urunc-style two-layer image, and bvshim (examples/shim, on containerd's Go client)
# does the shim's Create and Delete around bootviewfs, in the qemu guest of
# scripts/vm-test.sh (this kernel has no device-mapper). scripts/vm/containerd.sh says
# what the guest checks.
#
# The host builds the image (scripts/mkociimage.py), its expected artifact sums and the
# paths of its merged tree; containerd and ctr come from Debian's package, downloaded and
# unpacked under build/vm/debs/, never installed. BV_CONTAINERD_BENCH=1 also runs the
# timing of docs/bench.md in the guest.
# The same boot then repeats the View with fs_type = "xfs" (a second pool, mkfs.xfs from
# the host): skipped, with the reason in the guest's lines, while bootviewfs cannot serve
# XFS or the host has no mkfs.xfs.
# Exit 0 pass, 1 fail, 77 skip (reason on stdout).
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
shim=${SHIM:-$top/build/bvshim}

skip() { echo "SKIP: containerd: $*"; exit 77; }
[ -x "$build/bootviewfs" ] || skip "$build/bootviewfs not built"
[ -x "$shim" ] || skip "$shim not built (make shim)"
mkfs=$(command -v mkfs.ext4) || skip "mkfs.ext4 not installed"

tmp=$(mktemp -d /tmp/bv-containerd.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

ref=$(python3 "$top/scripts/mkociimage.py" --rootfs "$tmp/rootfs" --sums "$tmp/image.sha256" \
	"$tmp/image.tar" 2>"$tmp/mkoci.log") ||
	{ cat "$tmp/mkoci.log"; echo "FAIL: containerd: scripts/mkociimage.py failed"; exit 1; }
# The merged tree's shape, printed as the guest's tree_types prints the served one.
(cd "$tmp/rootfs" && for t in f d l; do
	find . -path ./lost+found -prune -o -type $t -print | sed "s|^|$t |"
done | LC_ALL=C sort) >"$tmp/image.paths"
# The pool: all-zero metadata is a new pool; data sparse, written only where used.
truncate -s 64M "$tmp/meta"
truncate -s 1G "$tmp/data"

mode=
[ "${BV_CONTAINERD_BENCH:-0}" = 1 ] && mode=bench

# The XFS part: its own pool on two more disks, mkfs.xfs for the snapshotter.
xfs_args=(xfs-skip "mkfs.xfs not installed on the host") xfs_vm=()
if mkfsxfs=$(command -v mkfs.xfs); then
	truncate -s 32M "$tmp/probe-xfs.img"
	if TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 mkfs.xfs -q -f "$tmp/probe-xfs.img" &&
		"$build/bootviewfs" probe "$tmp/probe-xfs.img" 2>/dev/null | grep -q '"supported": true'; then
		truncate -s 64M "$tmp/meta-xfs"
		truncate -s 2G "$tmp/data-xfs"
		xfs_args=(xfs /dev/vdc /dev/vdd)
		xfs_vm=(--disk "$tmp/meta-xfs" --disk "$tmp/data-xfs" --bin "$mkfsxfs:/sbin/mkfs.xfs")
	else
		xfs_args=(xfs-skip "XFS reader not built yet")
	fi
	rm -f "$tmp/probe-xfs.img"
fi
echo "containerd: xfs part: ${xfs_args[*]}"
"$top/scripts/vm-test.sh" --mem 1536 --timeout "${VM_TIMEOUT:-400}" --log "$tmp/console.log" \
	--disk "$tmp/meta" --disk "$tmp/data" "${xfs_vm[@]}" \
	--bin "$shim:/usr/bin/bvshim" --bin "$mkfs:/sbin/mkfs.ext4" \
	--deb containerd:/usr/bin/containerd --deb containerd:/usr/bin/ctr \
	--file "$tmp/image.tar" --file "$tmp/image.sha256" --file "$tmp/image.paths" \
	"$top/scripts/vm/containerd.sh" /dev/vda /dev/vdb "$ref" $mode "${xfs_args[@]}"
rc=$?
case $rc in
0) echo "PASS: containerd" ;;
77) ;;
*) echo "FAIL: containerd (vm-test exit $rc)"; rc=1 ;;
esac
exit $rc
