#!/usr/bin/env bash
# --require failures are start failures: a missing artifact, a directory, and symlinks
# that would lead out of the image if the host resolved them (in the image they lead
# nowhere). Each must leave state "failed" with the reason, an error line on the ready
# pipe, no mount, no control FIFO, no daemon, the image closed, and a non-zero exit.
# Symlinks that stay in the image (absolute or relative) are followed inside it.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lifecycle.sh"
make_image
[ -e /etc/hostname ] || echo "note: /etc/hostname is absent here; the escape cases still must fail"

n=0
for case in "missing:/unikernel/initrd:No such file" "directory:/boot:directory" \
	"escape-abs:/unikernel/escape-abs:No such file" \
	"escape-rel:/unikernel/escape-rel:No such file" \
	"escape-dir:/unikernel/bootdir/../../etc/hostname:No such file"; do
	what=${case%%:*} rest=${case#*:}
	path=${rest%%:*} want=${rest#*:}
	n=$((n + 1))
	sd=$tmp/b$n/bootviewfs mnt=$tmp/b$n/mnt
	mkdir -p "$mnt"
	line=$(start_view --state-dir "$sd" --require /urunc.json --require "$path" "$img" "$mnt")
	rc=$?
	[ $rc -ne 0 ] || fail "$what: starter exit 0"
	[ "$(json_get "$line" status 2>/dev/null)" = error ] || fail "$what: ready line '$line'"
	case $(json_get "$line" error 2>/dev/null) in
	*"$path"*"$want"*) ;;
	*) fail "$what: ready error '$line' does not name $path and '$want'" ;;
	esac
	grep -q "$want" "$tmp/start.err" || fail "$what: stderr '$(cat "$tmp/start.err")'"
	state_is "$sd" failed || fail "$what: state '$(state_get "$sd" status)', want failed"
	case $(state_get "$sd" error) in *"$path"*) ;; *) fail "$what: state.json error: $(state_get "$sd" error)" ;; esac
	is_mounted "$mnt" && { fail "$what: left a mount"; umount -l "$mnt"; }
	[ -e "$sd/control" ] && fail "$what: left the control FIFO"
	lock_held "$sd" && fail "$what: a daemon still holds the lock"
	pid=$(state_get "$sd" pid)
	poll 5 pid_gone "$pid" || fail "$what: daemon $pid still running"
	poll 5 image_free || fail "$what: image still open"
	"$bin" stop --state-dir "$sd" || fail "$what: stop of a failed view: exit $?"
	state_is "$sd" failed || fail "$what: stop changed the failed state"
	ok "$what: $path refused: $(json_get "$line" error)"
done

# Symlinks that stay inside the image are followed there, absolute or relative.
sd=$tmp/ok/bootviewfs mnt=$tmp/ok/mnt
mkdir -p "$mnt"
_views+=("$sd")
# --require implies export mode, where one directory may not show under two names
# (/boot and /unikernel/bootdir): refused, saying so. --export-all serves the whole image.
line=$(start_view --state-dir "$sd" --require /unikernel/kernel-abs --require boot/vmlinuz \
	--require /unikernel/bootdir/vmlinuz "$img" "$mnt")
case $(json_get "$line" error 2>/dev/null) in
*"already shown under another name"*) ;;
*) fail "in-image symlinks in export mode: $line" ;;
esac
"$bin" stop --state-dir "$sd" >/dev/null || fail "stop of the refused view"
line=$(start_view --state-dir "$sd" --require /unikernel/kernel-abs --require boot/vmlinuz \
	--require /unikernel/bootdir/vmlinuz --export-all "$img" "$mnt")
[ "$(json_get "$line" status)" = ready ] || fail "in-image symlinks: $line $(cat "$tmp/start.err")"
kino=$(stat -c %i "$mnt/unikernel/kernel")
for i in 0 1 2; do
	[ "$(json_get "$line" artifacts.$i.ino)" = "$kino" ] || fail "artifact $i is not the kernel: $line"
done
"$bin" stop --state-dir "$sd" || fail "stop"
check_clean "in-image symlinks" "$sd" "$mnt" "$(json_get "$line" pid)"
ok "symlinks inside the image are followed inside it"
finish
