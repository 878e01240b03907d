# Sourced by the integration tests (files starting with _ are not run as tests).
#
# Gives: $top, $build, $dumptree, $bin, $tmp (removed at exit), skip/fail helpers,
# need_images (the matrix: $images/images.list), kmount/kumount (read-only kernel mounts
# on loop devices, undone at exit whatever happens).
# Exit protocol: 0 pass, 77 skip (last "SKIP: ..." line says why), anything else fail.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
dumptree=$build/tests/dumptree
bin=$build/bootviewfs
testname=$(basename "$0" .sh)

skip() { echo "SKIP: $testname: $*"; exit 77; }
die() { echo "FAIL: $testname: $*"; exit 1; }

tmp=$(mktemp -d "/tmp/bv-$testname.XXXXXX")
_mounts=() _loops=()
_cleanup() {
	local m d
	for m in "${_mounts[@]}"; do
		mountpoint -q "$m" && umount "$m"
	done
	for d in "${_loops[@]}"; do
		losetup "$d" >/dev/null 2>&1 && losetup -d "$d"
	done
	rm -rf "$tmp"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

is_root() { [ "$(id -u)" -eq 0 ]; }

# The image matrix: the runner's shared one, or one built here.
need_images() {
	if [ -n "${BV_IMAGES:-}" ] && [ -f "$BV_IMAGES/images.list" ]; then
		images=$BV_IMAGES
		return 0
	fi
	images=$tmp/images
	"$top/scripts/mkimages.sh" "$images" >"$tmp/mkimages.log" 2>&1 || {
		cat "$tmp/mkimages.log"
		die "scripts/mkimages.sh failed"
	}
}

# kmount IMAGE DIR: read-only kernel mount through a read-only loop device. Returns 1 (with
# the kernel's reason in $kmount_err) when the kernel will not mount it.
kmount() {
	local dev
	kmount_err=
	dev=$(losetup -r -f --show "$1" 2>"$tmp/losetup.err") || {
		kmount_err="losetup: $(cat "$tmp/losetup.err")"
		return 1
	}
	_loops+=("$dev")
	mkdir -p "$2"
	if ! mount -t ext4 -o ro "$dev" "$2" 2>"$tmp/mount.err"; then
		kmount_err="mount: $(cat "$tmp/mount.err"); $(dmesg 2>/dev/null | tail -1)"
		losetup -d "$dev"
		return 1
	fi
	_mounts+=("$2")
	kmount_dev=$dev
}

# kumount DIR: undoes kmount (the loop device goes with it).
kumount() {
	umount "$1" || return 1
	losetup -d "$kmount_dev" 2>/dev/null || true
}
