#!/usr/bin/env bash
# The urunc shim's whole sequence with bootviewfs, as a shim would play it:
#   1. a urunc-style image (/unikernel/kernel, /unikernel/initrd, /urunc.json) and the
#      mounts array containerd's blockfile snapshotter returns for a View of it
#   2. Create: start one daemon for the container, in export mode, with a ready pipe on
#      fd 3, and wait for its ready line (EOF or a timeout means it failed)
#   3. bind the artifacts into BUNDLE/monitor-rootfs, "run" (read them, decode urunc.json)
#   4. Delete: unbind (the shim's own mounts), `bootviewfs stop`, `rm -rf BUNDLE`
#   5. check nothing is left: no mount, no daemon, the image not open
# Exit 0 when the sequence worked and left nothing, 1 otherwise (also when it cannot run
# here: it needs root, /dev/fuse and a built bootviewfs). BUILD names the build directory.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
bin=$build/bootviewfs

say() { echo "== $*"; }
die() { echo "FAIL: shim-sequence: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (FUSE mounts with allow_other, bind mounts)"
[ -c /dev/fuse ] || die "no /dev/fuse"
[ -x "$bin" ] || die "$bin is not built (run make)"

tmp=$(mktemp -d /tmp/bv-shim.XXXXXX)
bundle=$tmp/bundle
state=$bundle/bootviewfs view=$bundle/rootfs-view-mount mon=$bundle/monitor-rootfs
cleanup() {
	set +e
	for m in "$mon/unikernel/kernel" "$mon/unikernel/initrd" "$mon/urunc.json"; do
		mountpoint -q "$m" 2>/dev/null && umount -l "$m"
	done
	[ -d "$state" ] && "$bin" stop --state-dir "$state" --timeout 2 >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

say "1. image and containerd mounts"
src=$tmp/rootfs
mkdir -p "$src/unikernel" "$src/etc"
head -c 5000000 /dev/urandom >"$src/unikernel/kernel"
head -c 700000 /dev/urandom >"$src/unikernel/initrd"
b64() { printf %s "$1" | base64 -w0; }
cat >"$src/urunc.json" <<JSON
{"com.urunc.unikernel.binary":"$(b64 /unikernel/kernel)","com.urunc.unikernel.initrd":"$(b64 /unikernel/initrd)","com.urunc.unikernel.hypervisor":"$(b64 qemu)"}
JSON
echo "not for the host" >"$src/etc/shadow"
img=$tmp/snapshot.img
truncate -s 32M "$img"
mkfs.ext4 -q -F -d "$src" "$img" || die "mkfs.ext4"
printf '[{"type":"ext4","source":"%s","options":["loop","ro"]}]\n' "$img" >"$tmp/mounts.json"
cat "$tmp/mounts.json"

say "2. Create: start the view and wait for its ready line"
mkdir -p "$view" "$mon"
mkfifo "$tmp/ready"
"$bin" --state-dir "$state" --ready-fd 3 --id test --require /unikernel/kernel \
	--require /urunc.json --export /unikernel/kernel:/urunc.json:/unikernel/initrd \
	--mounts-json "$tmp/mounts.json" "$view" 3>"$tmp/ready" 2>"$tmp/start.err" &
starter=$!
line=
read -r -t 30 line <"$tmp/ready"
wait $starter
rc=$?
echo "ready line: ${line:-(none)}"
[ -n "$line" ] || die "no ready line (EOF or timeout): $(cat "$tmp/start.err")"
[ $rc -eq 0 ] || die "starter exit $rc: $(cat "$tmp/start.err")"
eval "$(python3 - "$line" <<'PY'
import json, shlex, sys
r = json.loads(sys.argv[1])
if r.get("status") != "ready":
    print("die %s" % shlex.quote("not ready: %s" % r.get("error")))
else:
    print("pid=%d" % r["pid"])
    print("ready_mnt=%s" % shlex.quote(r["mountpoint"]))
    print("arts=%s" % shlex.quote(" ".join("%s:%d" % (a["path"], a["size"]) for a in r["artifacts"])))
PY
)"
[ "$ready_mnt" = "$view" ] || die "ready mountpoint $ready_mnt, want $view"
echo "daemon pid $pid, artifacts: $arts"
"$bin" status --state-dir "$state" --human || die "status says not ready"

say "3. bind the artifacts into the monitor's rootfs and run"
mkdir -p "$mon/unikernel"
for f in unikernel/kernel unikernel/initrd urunc.json; do
	touch "$mon/$f"
	mount --bind "$view/$f" "$mon/$f" || die "bind $f"
done
for f in unikernel/kernel unikernel/initrd urunc.json; do
	cmp "$src/$f" "$mon/$f" || die "$f differs through the bind mount"
done
python3 - "$mon/urunc.json" <<'PY' || die "urunc.json does not decode"
import base64, json, sys
for k, v in json.load(open(sys.argv[1])).items():
    print("   %-36s %s" % (k, base64.b64decode(v).decode()))
PY
[ -e "$view/etc" ] && die "export mode shows /etc"

say "4. Delete: unbind, stop, remove the bundle"
for f in unikernel/kernel unikernel/initrd urunc.json; do
	umount "$mon/$f" || die "unbind $f"
done
"$bin" stop --state-dir "$state" || die "bootviewfs stop failed"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["status"]; sys.exit(s != "stopped")' \
	"$state/state.json" || die "state.json is not stopped"
rm -rf "$bundle" || die "rm -rf of the bundle failed"

say "5. nothing left"
grep -q " $tmp" /proc/self/mountinfo && die "mounts left: $(grep " $tmp" /proc/self/mountinfo)"
[ -e "/proc/$pid" ] && [ "$(awk '{print $3}' /proc/$pid/stat)" != Z ] && die "daemon $pid still runs"
for f in /proc/[0-9]*/fd/*; do
	[ "$(readlink "$f" 2>/dev/null)" = "$img" ] && die "$f still holds the image"
done
echo "PASS: shim-sequence"
exit 0
