#!/usr/bin/env bash
# make demo: what urunc does with bootviewfs, end to end, on a small urunc-style image.
#   1. build an ext4 image holding /unikernel/kernel, /unikernel/initrd and /urunc.json
#   2. serve it read-only with bootviewfs (no kernel mount of the image, no copy)
#   3. list the boot artifacts and their sha256 through the mount, decode /urunc.json
#   4. bind-mount the kernel elsewhere, as the runtime does into the container bundle
#   5. unmount everything; the daemon exits and the image is released
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
bin=$build/bootviewfs

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

[ -x "$bin" ] || { echo "demo: $bin is not built (run make)" >&2; exit 1; }
[ -c /dev/fuse ] || { echo "demo: no /dev/fuse here: FUSE is not available" >&2; exit 1; }

tmp=$(mktemp -d /tmp/bootviewfs-demo.XXXXXX)
view=$tmp/bundle/rootfs-view-mount
bind=$tmp/bundle/unikernel-kernel
cleanup() {
	set +e
	mountpoint -q "$bind" 2>/dev/null && umount "$bind"
	mountpoint -q "$view" 2>/dev/null && { fusermount3 -u "$view" 2>/dev/null || umount -l "$view"; }
	rm -rf "$tmp"
}
trap cleanup EXIT

say "1. A urunc-style container image: a unikernel, an initrd and /urunc.json"
src=$tmp/rootfs
mkdir -p "$src/unikernel" "$src/etc" "$src/usr/lib" "$src/var/log" "$tmp/initrd-tree/bin"
# A kernel-like binary: a real ELF executable, padded to 4 MiB.
cp "$bin" "$src/unikernel/kernel"
truncate -s 4M "$src/unikernel/kernel"
# An initrd: a gzipped newc cpio, as a unikernel monitor would load it.
echo 'echo hello from the initrd' >"$tmp/initrd-tree/bin/init"
if command -v cpio >/dev/null; then
	(cd "$tmp/initrd-tree" && find . | cpio -o -H newc --quiet | gzip -9) >"$src/unikernel/initrd"
else
	tar -C "$tmp/initrd-tree" -czf "$src/unikernel/initrd" . # no cpio here: a tarball will do
fi
b64() { printf %s "$1" | base64 -w0; }
cat >"$src/urunc.json" <<JSON
{
  "com.urunc.unikernel.binary": "$(b64 /unikernel/kernel)",
  "com.urunc.unikernel.initrd": "$(b64 /unikernel/initrd)",
  "com.urunc.unikernel.type": "$(b64 unikraft)",
  "com.urunc.unikernel.hypervisor": "$(b64 qemu)",
  "com.urunc.unikernel.cmdline": "$(b64 'console=ttyS0 -- /bin/init')"
}
JSON
echo "demo image" >"$src/etc/hostname"
img=$tmp/image.ext4
truncate -s 32M "$img"
run mkfs.ext4 -q -F -L urunc-demo -d "$src" "$img"
run "$bin" probe "$img" | head -20 || true

say "2. Serve it read-only at the bundle's rootfs-view-mount (returns once it answers)"
mkdir -p "$view"
run "$bin" "$img" "$view"
grep " $view " /proc/self/mountinfo | sed 's/^/   mountinfo: /'

say "3. The boot artifacts, read through the mount"
run ls -l "$view" "$view/unikernel"
run sha256sum "$view/unikernel/kernel" "$view/unikernel/initrd" "$view/urunc.json"
echo "   the same bytes as the files that went into the image:"
(cd "$src" && sha256sum unikernel/kernel unikernel/initrd urunc.json) | sed 's/^/   /'
(cd "$src" && sha256sum unikernel/kernel unikernel/initrd urunc.json) |
	sed "s| | $view/|" | sed "s|$view/ |$view/|" >"$tmp/sums"
(cd / && sha256sum --quiet -c "$tmp/sums") && echo "   checksums match"
echo "   /urunc.json, decoded:"
python3 - "$view/urunc.json" <<'PY'
import base64, json, sys
for k, v in json.load(open(sys.argv[1])).items():
    print("     %-34s %s" % (k, base64.b64decode(v).decode()))
PY
run file -b "$view/unikernel/kernel" 2>/dev/null || true

say "4. Bind-mount the kernel into the bundle, as the runtime does"
if [ "$(id -u)" -eq 0 ]; then
	: >"$bind"
	run mount --bind -o ro "$view/unikernel/kernel" "$bind"
	run sha256sum "$bind"
	grep " $bind " /proc/self/mountinfo | sed 's/^/   mountinfo: /'
	run umount "$bind"
else
	echo "   (skipped: bind mounts need root)"
fi

say "5. Unmount: the daemon exits and closes the image"
pid=$(pgrep -n -f "bootviewfs .*$view") || true
run fusermount3 -u "$view"
for _ in $(seq 1 100); do
	[ -n "$pid" ] && [ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat")" != Z ] || break
	sleep 0.05
done
if mountpoint -q "$view"; then echo "   still mounted?"; exit 1; fi
echo "   $view is no longer a mount point; daemon ${pid:-?} has exited"
say "Done."
