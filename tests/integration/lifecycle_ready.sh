#!/usr/bin/env bash
# A view started as a shim starts it: the ready line arrives on the ready pipe and parses,
# state.json says ready with the right facts, the artifacts read right and can be
# bind-mounted, `status` exit codes follow the state, a second daemon on the same state
# directory is refused, and `stop` ends it all. Also from a containerd mounts JSON.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lifecycle.sh"
command -v ss >/dev/null || skip "ss (iproute2) not installed"

# socket_is_peer_of socket:[N] PID: the other end of unix socket N is one of PID's fds.
socket_is_peer_of() {
	local n=${1#socket:[} peer f
	n=${n%]}
	peer=$(ss -xaH | awk -v n="$n" '$6 == n { print $8 }' | head -1)
	[ -n "$peer" ] || return 1
	for f in /proc/$2/fd/*; do
		[ "$(readlink "$f")" = "socket:[$peer]" ] && return 0
	done
	return 1
}
make_image

for how in plain mounts-json; do
	sd=$tmp/bundle-$how/bootviewfs mnt=$tmp/bundle-$how/rootfs-view-mount
	mkdir -p "$mnt"
	_views+=("$sd")
	if [ $how = plain ]; then
		src_args=("$img")
		# A log at its size cap: the daemon's first line rotates it to log.1.
		mkdir -m 700 "$sd"
		head -c 1048570 /dev/zero | tr '\0' x >"$sd/log"
	else
		mounts_json "$tmp/mounts.json"
		src_args=(--mounts-json "$tmp/mounts.json")
	fi
	line=$(start_view --state-dir "$sd" --id "view-$how" --require /unikernel/kernel \
		--require /urunc.json "${src_args[@]}" "$mnt")
	rc=$?
	[ $rc -eq 0 ] || fail "$how: starter exit $rc: $(cat "$tmp/start.err")"
	[ "$(json_get "$line" status 2>/dev/null)" = ready ] || fail "$how: ready line: $line"
	[ "$(json_get "$line" mountpoint)" = "$mnt" ] || fail "$how: ready mountpoint: $line"
	[ "$(json_get "$line" fs)" = ext4 ] || fail "$how: ready fs: $line"
	[ "$(json_get "$line" artifacts.0.path)" = /unikernel/kernel ] &&
		[ "$(json_get "$line" artifacts.0.size)" = 3000000 ] &&
		[ "$(json_get "$line" artifacts.0.ino)" = "$(stat -c %i "$mnt/unikernel/kernel")" ] &&
		[ "$(json_get "$line" artifacts.1.path)" = /urunc.json ] ||
		fail "$how: ready artifacts: $line"
	pid=$(json_get "$line" pid)
	[ "$(state_get "$sd" pid)" = "$pid" ] || fail "$how: state.json pid is not the ready line's"
	[ "$(cat /proc/$pid/comm)" = bootviewfs ] || fail "$how: pid $pid is not the daemon"
	[ "$(awk '{print $6}' /proc/$pid/stat)" = "$pid" ] || fail "$how: daemon is not a session leader"
	for f in status:ready id:view-$how source.path:$img source.size:33554432 fs.type:ext4 \
		fs.journal:clean fs.block_size:1024 mountpoint:$mnt \
		start_time:"$(awk '{print $22}' /proc/$pid/stat)" \
		boot_id:"$(cat /proc/sys/kernel/random/boot_id)"; do
		got=$(state_get "$sd" "${f%%:*}")
		[ "$got" = "${f#*:}" ] || fail "$how: state.json ${f%%:*} = '$got', want '${f#*:}'"
	done
	conn=$(state_get "$sd" fuse_conn)
	[ "$conn" = "$(( $(stat -c %d "$mnt") & 0xfffff ))" ] || fail "$how: fuse_conn $conn is not the mount's"
	if grep -q " /sys/fs/fuse/connections fusectl" /proc/mounts; then
		[ -d "/sys/fs/fuse/connections/$conn" ] || fail "$how: no /sys/fs/fuse/connections/$conn"
	fi
	[ "$(stat -c %a "$sd")" = 700 ] || fail "$how: state dir mode $(stat -c %a "$sd")"
	[ -p "$sd/control" ] && [ "$(stat -c %a "$sd/control")" = 600 ] || fail "$how: control FIFO"
	lock_held "$sd" || fail "$how: lock not held by the daemon"
	grep -q "serving" "$sd/log" || fail "$how: DIR/log does not say it is serving"
	if [ $how = plain ]; then
		[ "$(stat -c %s "$sd/log.1" 2>/dev/null)" = 1048570 ] && [ "$(stat -c %s "$sd/log")" -lt 4096 ] ||
			fail "$how: DIR/log was not rotated at 1 MiB"
	fi
	awk -v m="$mnt" '$5 == m' /proc/self/mountinfo | grep -q " bootviewfs:view-$how " ||
		fail "$how: fsname is not bootviewfs:<id>"
	# The daemon holds none of the starter's descriptors: only what it opened itself. Its two
	# processes share one socket pair: a socket is theirs when its peer is the other's. The
	# keeper alone holds the mountpoint and its connection's fusectl file (its handle on it).
	server=$(state_get "$sd" server_pid)
	[ -n "$server" ] && [ -d "/proc/$server" ] || fail "$how: no server process ($server)"
	for p in $pid $server; do
		other=$server
		[ "$p" = "$server" ] && other=$pid
		for f in /proc/$p/fd/*; do
			t=$(readlink "$f")
			case $t in
			/dev/null | /dev/fuse | "$img" | "$sd" | "$sd"/* | anon_inode:* | pipe:*) ;;
			"$mnt" | "$(dirname "$mnt")" | "/sys/fs/fuse/connections/$conn/waiting")
				[ "$p" = "$pid" ] || fail "$how: the server holds $t" ;;
			socket:*) socket_is_peer_of "$t" "$other" || fail "$how: pid $p holds $t" ;;
			*) fail "$how: pid $p holds $t" ;;
			esac
		done
	done
	"$bin" status --state-dir "$sd" >/dev/null || fail "$how: status of a ready view: exit $?"

	# Artifacts: read, and bind-mounted as the runtime does.
	cmp -s "$kernel_src" "$mnt/unikernel/kernel" || fail "$how: kernel differs"
	bindk=$tmp/bind-kernel-$how
	touch "$bindk"
	_binds+=("$bindk")
	mount --bind "$mnt/unikernel/kernel" "$bindk" || fail "$how: bind mount"
	cmp -s "$kernel_src" "$bindk" || fail "$how: bind-mounted kernel differs"
	umount "$bindk" || fail "$how: umount bind"

	# A second daemon on the same state directory is refused and changes nothing.
	mkdir -p "$tmp/mnt2"
	line2=$(start_view --state-dir "$sd" "$img" "$tmp/mnt2")
	rc=$?
	[ $rc -ne 0 ] || fail "$how: second daemon on the same state dir started"
	grep -q "in use" "$tmp/start.err" || fail "$how: second daemon: $(cat "$tmp/start.err")"
	[ "$(json_get "$line2" status)" = error ] || fail "$how: second daemon's ready line: $line2"
	is_mounted "$tmp/mnt2" && { fail "$how: second daemon mounted"; umount -l "$tmp/mnt2"; }
	state_is "$sd" ready && [ "$(state_get "$sd" pid)" = "$pid" ] ||
		fail "$how: the second daemon touched state.json"

	"$bin" stop --state-dir "$sd" || fail "$how: stop exit $?"
	check_clean "$how" "$sd" "$mnt" "$pid"
	"$bin" status --state-dir "$sd" >/dev/null
	[ $? -eq 1 ] || fail "$how: status of a stopped view should exit 1"
	grep -q "stop" "$sd/log" || fail "$how: DIR/log does not record the stop"
	rm -rf "$tmp/bundle-$how" || fail "$how: rm -rf of the bundle"
	"$bin" status --state-dir "$sd" >/dev/null
	[ $? -eq 2 ] || fail "$how: status of an absent view should exit 2"
	ok "$how: ready line, state.json, artifacts, bind mount, lock, status, stop"
done
finish
