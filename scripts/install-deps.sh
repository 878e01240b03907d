#!/usr/bin/env bash
# Installs what bootviewfs needs to build and test on Debian 12 (bookworm).
#
#   scripts/install-deps.sh              install every package below (as root)
#   scripts/install-deps.sh --if-missing do nothing when all are present (used by make check)
#
# Idempotent: apt-get only runs when a package is missing, and `apt-get update` only then.
set -euo pipefail

# The one list of packages, by group.
PKGS=(
	# build: compiler, make, pkg-config and the libraries the Makefile links
	build-essential pkg-config libfuse3-dev libdevmapper-dev libjansson-dev libblkid-dev
	# make tsan: gcc's ThreadSanitizer runtime (build-essential brings it; named here as used)
	libtsan2
	# unit tests: the Check framework
	check
	# runtime: the FUSE mount helper (fusermount3) and /dev/fuse user space
	fuse3
	# test images: mkfs.ext4 -d, debugfs, and fuse2fs as the benchmark floor
	e2fsprogs fuse2fs
	# the source tree of the image matrix: setfattr/getfattr, setfacl, losetup/mount
	attr acl util-linux
	# test scripts: tree dumper and comparer, module loading (loop, fuse), corpus decompression
	# (the e2fsprogs images, the fuzz corpora in tests/fuzz/corpus/*.tar.xz),
	# ss for the daemon's sockets,
	# code injected into a confined daemon (sandbox_escape.sh)
	python3 kmod gzip bzip2 xz-utils gdb iproute2
	# unit tests that count syscalls (one pread per contiguous run), device-mapper tests
	strace dmsetup
	# dm-thin tests in a VM (scripts/vm-test.sh): qemu, a static busybox initramfs
	qemu-system-x86 busybox-static cpio
	# other filesystems, for "refuse clearly" tests
	xfsprogs squashfs-tools
	# the shim client (examples/shim): Go and containerd's Go client library, the same
	# version as Debian's containerd that the VM test runs (apt-get download, not installed)
	golang-go golang-github-containerd-containerd-dev
	# make fuzz: clang with libFuzzer, ASan and UBSan runtimes
	clang libclang-rt-14-dev
)

if_missing=0
case "${1:-}" in
--if-missing) if_missing=1 ;;
"") ;;
-h | --help)
	sed -n '2,7p' "$0"
	exit 0
	;;
*)
	echo "usage: $0 [--if-missing]" >&2
	exit 2
	;;
esac

# dpkg-query is cheap: one call for the whole list.
missing=()
for p in "${PKGS[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	[ $if_missing -eq 1 ] || echo "install-deps: all ${#PKGS[@]} packages are installed"
	exit 0
fi

echo "install-deps: missing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run it as root to install them: sudo $0" >&2
	exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: no apt-get here (Debian 12 expected); install the packages above by hand" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: installed: ${missing[*]}"
