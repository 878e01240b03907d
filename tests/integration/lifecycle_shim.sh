#!/usr/bin/env bash
# The shim's whole sequence (scripts/shim-sequence.sh): view from a containerd mounts JSON,
# ready line, artifacts bound into a monitor rootfs, unbind, stop, rm -rf of the bundle,
# nothing left. Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
[ "$(id -u)" -eq 0 ] || { echo "SKIP: lifecycle_shim: needs root"; exit 77; }
[ -c /dev/fuse ] || { echo "SKIP: lifecycle_shim: no /dev/fuse"; exit 77; }
[ -x "$build/bootviewfs" ] || { echo "SKIP: lifecycle_shim: $build/bootviewfs not built"; exit 77; }
for p in mkfs.ext4 python3; do
	command -v $p >/dev/null || { echo "SKIP: lifecycle_shim: $p not installed"; exit 77; }
done
BUILD=$build "$top/scripts/shim-sequence.sh"
