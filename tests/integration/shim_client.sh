#!/usr/bin/env bash
# bvshim, the shim client of examples/shim, without containerd: `--source IMG` stands for
# the View (the mounts array is the one containerd's blockfile snapshotter gives), and
# everything else is what runs against containerd in the VM (containerd.sh): bootviewfs
# started with a ready pipe, the ready line parsed, the artifacts bound read-only into the
# monitor's rootfs; at Delete the binds unmounted, `bootviewfs stop`, nothing left. Also:
# the daemon SIGKILLed while serving, the client SIGKILLed right after ready (a second
# run's delete cleans up), a start that fails (nothing left), and the Go blocks of
# docs/integration.md are the program's code, verbatim.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lifecycle.sh"

shim=${SHIM:-$top/build/bvshim}
[ -x "$shim" ] || skip "$shim not built (make shim)"

# The image: the urunc-style two-layer image of the VM test, merged, as an ext4 file.
python3 "$top/scripts/mkociimage.py" --rootfs "$tmp/rootfs" --sums "$tmp/sums" \
	"$tmp/image.tar" >/dev/null 2>"$tmp/mkoci.log" ||
	die "scripts/mkociimage.py failed: $(tail -n 3 "$tmp/mkoci.log")"
img=$tmp/img.ext4
truncate -s 64M "$img"
mkfs.ext4 -q -F -d "$tmp/rootfs" "$img" || die "mkfs.ext4 -d failed"
arts=(--artifact /unikernel/kernel --artifact /unikernel/initrd --artifact /urunc.json)

# shim CMD ID ARGS...: bvshim CMD for container ID, bundle $tmp/b-ID.
shim() {
	local cmd=$1 id=$2
	shift 2
	"$shim" "$cmd" --bundle "$tmp/b-$id" --id "$id" --bootviewfs "$bin" "$@"
}
create() { shim create "$1" --source "$img" "${arts[@]}" "${@:2}"; }
# --source tells delete there is no View and no lease to release.
delete() { shim delete "$1" --source "$img"; }

# check_gone WHAT ID: after Delete, nothing of container ID is left: no mount below the
# bundle, no daemon holding the view's lock, the image closed, the bundle removable.
check_gone() {
	local what=$1 b=$tmp/b-$2
	grep -q " $b" /proc/self/mountinfo && fail "$what: still mounted below $b"
	lock_held "$b/bootviewfs" && fail "$what: the daemon's lock is still held"
	poll 5 image_free || fail "$what: the image is still open"
	[ -e "$b/monitor-rootfs" ] && fail "$what: monitor-rootfs left behind"
	rm -rf "$b" || fail "$what: rm -rf of the bundle failed"
}

# --- Create and Delete --------------------------------------------------------------
_views+=("$tmp/b-c1/bootviewfs")
if line=$(create c1 2>"$tmp/err"); then
	ok "create"
	[ "$(json_get "$line" status)" = ready ] || fail "create: ready line $line"
	[ "$(json_get "$line" artifacts.1.path)" = /unikernel/initrd ] ||
		fail "create: artifacts in the ready line: $line"
	(cd "$tmp/b-c1/monitor-rootfs" && sha256sum -c --quiet "$tmp/sums") ||
		fail "create: the bound artifacts are not the image's"
	for a in unikernel/kernel unikernel/initrd urunc.json; do
		m=$tmp/b-c1/monitor-rootfs/$a
		_binds+=("$m")
		grep -q " $m .*ro," /proc/self/mountinfo || fail "create: $a not bound read-only"
	done
	echo x 2>/dev/null >>"$tmp/b-c1/monitor-rootfs/urunc.json" &&
		fail "create: a bound artifact could be written"
	state_is "$tmp/b-c1/bootviewfs" ready || fail "create: state is not ready"
	[ "$(state_get "$tmp/b-c1/bootviewfs" id)" = c1 ] || fail "create: --id not recorded"
else
	fail "create: $(cat "$tmp/err")"
fi
delete c1 || fail "delete exited $?"
check_gone "delete" c1
delete c1 || fail "delete of a deleted container exited $?"

# --- crashes ------------------------------------------------------------------------
# The daemon SIGKILLed while serving: the binds are dead, delete still ends everything.
_views+=("$tmp/b-c2/bootviewfs")
if create c2 >/dev/null 2>"$tmp/err"; then
	pid=$(state_get "$tmp/b-c2/bootviewfs" pid)
	kill -KILL "$pid"
	poll 5 pid_gone "$pid" || fail "killed-daemon: $pid still there"
	delete c2 || fail "killed-daemon: delete exited $?"
	check_gone "killed-daemon" c2
else
	fail "killed-daemon: create: $(cat "$tmp/err")"
fi

# The client SIGKILLed right after ready, binds made: a second run's delete (a restarted
# shim's Stop) finds the view, the binds and the mounts file by bundle and id.
_views+=("$tmp/b-c3/bootviewfs")
# exec: the background job is bvshim itself, so the SIGKILL below kills the client.
(exec "$shim" create --bundle "$tmp/b-c3" --id c3 --bootviewfs "$bin" --source "$img" \
	"${arts[@]}" --hold) >"$tmp/c3.out" 2>&1 &
client=$!
_pids+=("$client")
if poll 30 grep -q '"status":"ready"' "$tmp/c3.out"; then
	kill -KILL "$client"
	wait "$client" 2>/dev/null
	poll 5 pid_gone "$client" || fail "killed-client: bvshim $client still running"
	"$bin" status --state-dir "$tmp/b-c3/bootviewfs" >/dev/null ||
		fail "killed-client: the view died with its client"
	(cd "$tmp/b-c3/monitor-rootfs" && sha256sum -c --quiet "$tmp/sums") ||
		fail "killed-client: the binds do not serve"
	delete c3 || fail "killed-client: delete exited $?"
	check_gone "killed-client" c3
else
	fail "killed-client: no ready line: $(cat "$tmp/c3.out")"
fi

# --- a start that fails leaves nothing ---------------------------------------------
_views+=("$tmp/b-c4/bootviewfs")
if create c4 --artifact /no/such/file >"$tmp/out" 2>"$tmp/err"; then
	fail "missing artifact: create succeeded: $(cat "$tmp/out")"
else
	grep -q "/no/such/file" "$tmp/err" || fail "missing artifact: error does not name it: $(cat "$tmp/err")"
	[ "$(grep -c . "$tmp/err")" -eq 1 ] || fail "missing artifact: more than one line: $(cat "$tmp/err")"
	check_gone "missing artifact" c4
fi

# --- the doc quotes the program --------------------------------------------------------
# Every ```go block of docs/integration.md is a verbatim part of examples/shim/*.go.
python3 - "$top/docs/integration.md" "$top"/examples/shim/*.go <<'PY' || fail "docs/integration.md has Go that is not the program's"
import re, sys
doc = open(sys.argv[1]).read()
code = "".join(open(f).read() for f in sys.argv[2:])
blocks = re.findall(r"^```go\n(.*?)^```$", doc, re.S | re.M)
if not blocks:
    sys.exit("no ```go block in " + sys.argv[1])
bad = [b.splitlines()[0] for b in blocks if b not in code]
for b in bad:
    print("not in examples/shim:", b)
sys.exit(1 if bad else 0)
PY

finish
