# Sourced by tests that run bootviewfs as an ordinary user or rootless, without changing
# the machine for anyone else. Source it after _lifecycle.sh, then call
# `asuser_enter user|rootless` at the top of the test, before anything else happens.
#
# asuser_enter picks a uid/gid that no account and no running process uses ($U:$G, from
# 4242 up) and re-executes the test script, as root, in a private mount namespace
# (unshare --mount --propagation private). The whole test body runs there; only the
# outer copy waits, then sweeps (every process of $U is killed by its pid; any left is a
# FAIL) and checks that the host's /dev/fuse and mounts are as they were. Inside:
#   - /dev/fuse is covered by a bind mount of a 0666 copy of the node (char 10:229, made in
#     a private tmpfs), so $U may open it; the host's node stays 0600;
#   - /etc/passwd and /etc/group are covered by copies that name $U (fusermount3 refuses
#     a uid without a name), the host's files are untouched;
#   - the test's $tmp is made traversable (0711) and $asuser_home ($tmp/u) is $U's;
#   - the binary is copied to $tmp/bin (root's, 0755) so $U may run it wherever it was
#     built; $bin names the copy.
# Then:
#   as_user CMD...      CMD as $U:$G, no supplementary groups, no capabilities (setpriv;
#                       the bounding set is kept so setuid fusermount3 works)
#   as_rootless CMD...  CMD as "root" of a user namespace owned by $U (unshare --user
#                       --map-root-user --mount, made once by a holder process and
#                       entered by every call with nsenter), so start and stop share it
#   as_x CMD...         as_user or as_rootless, whichever mode the test entered
#   asuser_mi           the mountinfo of the namespace $U's mounts live in: checks run as
#                       root in the outer private namespace and read this file
#   asuser_fuse off|on  removes / restores the 0666 /dev/fuse (rootless: a new namespace)
# and leftover checks that accept the daemon as one process or as keeper + server:
#   daemon_pids, view_pids DIR (those and the pids state.json records), lock_held (an
#   flock on DIR itself or on DIR/lock), image_free (by device and inode, any process),
#   is_mounted MNT [MOUNTINFO], check_left WHAT DIR MNT [MOUNTINFO].

command -v setpriv >/dev/null || skip "setpriv not installed (util-linux)"
command -v unshare >/dev/null || skip "unshare not installed (util-linux)"
command -v nsenter >/dev/null || skip "nsenter not installed (util-linux)"
command -v fusermount3 >/dev/null || skip "fusermount3 not installed (fuse3)"
[ -u "$(command -v fusermount3)" ] || skip "fusermount3 is not setuid root here"

# True when some process has ID as a real, effective, saved or filesystem uid or gid.
_id_in_use() {
	awk -v id="$1" '/^(Uid|Gid):/ { for (i = 2; i <= 5; i++) if ($i == id) { f = 1; exit } }
		END { exit !f }' /proc/[0-9]*/status 2>/dev/null
}

_asuser_pick() {
	local id
	for id in $(seq 4242 4342); do
		getent passwd "$id" >/dev/null && continue
		getent group "$id" >/dev/null && continue
		getent passwd "bv$id" >/dev/null && continue
		getent group "bv$id" >/dev/null && continue
		_id_in_use "$id" && continue
		U=$id G=$id
		return 0
	done
	return 1
}

# Every non-zombie process whose real uid is $U, one pid a line.
uid_pids() {
	local s p
	for s in /proc/[0-9]*/status; do
		p=${s#/proc/}
		p=${p%/status}
		awk -v u="$U" '/^State:/ && $2 == "Z" { z = 1 } /^Uid:/ && $2 == u { m = 1 }
			END { exit !(m && !z) }' "$s" 2>/dev/null && echo "$p"
	done
}

# Kills every process of $U by its pid (SIGCONT first, for stopped ones) and waits.
uid_sweep() {
	local p pids
	pids=$(uid_pids)
	[ -z "$pids" ] && return 0
	for p in $pids; do kill -KILL "$p" 2>/dev/null; kill -CONT "$p" 2>/dev/null; done
	poll 10 _uid_none || echo "note: processes of uid $U survive SIGKILL: $(uid_pids | tr '\n' ' ')"
}
_uid_none() { [ -z "$(uid_pids)" ]; }

asuser_enter() {
	asuser_mode=$1
	case $asuser_mode in user | rootless) ;; *) die "asuser_enter user|rootless" ;; esac
	if [ -z "${BV_ASUSER_INNER:-}" ]; then
		_asuser_outer "$@"
		exit $? # not reached
	fi
	_asuser_inner
}

# The host's mounts this harness could have left: under $tmp, on /dev/fuse or /etc (other
# tests may mount and unmount elsewhere meanwhile).
_ours_mounted() {
	awk -v t="$tmp/" 'index($5, t) == 1 || $5 == "/dev/fuse" || $5 ~ /^\/etc\// { print $5, $9, $10 }' \
		/proc/self/mountinfo | sort
}

_asuser_outer() {
	local rc mi_before mi_after fuse_before
	_asuser_pick || skip "no unused uid/gid between 4242 and 4342"
	chmod 0711 "$tmp"
	mi_before=$(_ours_mounted)
	fuse_before=$(stat -c '%a %u %g %t:%T %i' /dev/fuse)
	BV_ASUSER_INNER=1 BV_ASUSER_TMP=$tmp BV_ASUSER_U=$U BV_ASUSER_G=$G BUILD=$build \
		unshare --mount --propagation private -- bash "$(readlink -f "$0")"
	rc=$?
	if [ -n "$(uid_pids)" ]; then
		echo "FAIL: $testname: left running as uid $U: $(for p in $(uid_pids); do
			tr '\0' ' ' <"/proc/$p/cmdline"; echo -n "; "; done)"
		uid_sweep
		[ $rc -eq 77 ] || rc=1
	fi
	mi_after=$(_ours_mounted)
	if [ "$mi_before" != "$mi_after" ]; then
		echo "FAIL: $testname: the host's mount table changed:"
		diff <(echo "$mi_before") <(echo "$mi_after")
		rc=1
	fi
	if [ "$(stat -c '%a %u %g %t:%T %i' /dev/fuse)" != "$fuse_before" ]; then
		echo "FAIL: $testname: the host's /dev/fuse changed: $(ls -l /dev/fuse)"
		rc=1
	fi
	exit $rc
}

_asuser_inner() {
	rmdir "$tmp" # the one _lib.sh made for this copy: use the outer's
	tmp=$BV_ASUSER_TMP U=$BV_ASUSER_U G=$BV_ASUSER_G
	trap _asuser_cleanup EXIT
	cd /
	mkdir -p "$tmp/priv" "$tmp/bin"
	mount -t tmpfs -o mode=0755,size=256k bv-asuser "$tmp/priv" || die "harness: tmpfs"
	# A name for $U: fusermount3 refuses a uid without one.
	{ cat /etc/passwd; echo "bv$U:x:$U:$G:bootviewfs test user:/nonexistent:/usr/sbin/nologin"; } >"$tmp/priv/passwd"
	{ cat /etc/group; echo "bv$U:x:$G:"; } >"$tmp/priv/group"
	chmod 0644 "$tmp/priv/passwd" "$tmp/priv/group"
	mount --bind "$tmp/priv/passwd" /etc/passwd || die "harness: bind /etc/passwd"
	mount --bind "$tmp/priv/group" /etc/group || die "harness: bind /etc/group"
	mknod -m 0666 "$tmp/priv/fuse" c 10 229 || die "harness: mknod"
	chmod 0666 "$tmp/priv/fuse"
	asuser_fuse on
	install -m 0755 "$bin" "$tmp/bin/bootviewfs" || die "harness: cannot copy $bin"
	bin=$tmp/bin/bootviewfs
	asuser_home=$tmp/u
	mkdir -p "$asuser_home"
	chown "$U:$G" "$asuser_home"
	chmod 0755 "$asuser_home"
	asuser_mi=/proc/self/mountinfo
	[ "$asuser_mode" = rootless ] && _rootless_ns

	# The harness itself: the identity it promises, and nothing more.
	[ "$(as_user id -u):$(as_user id -g):$(as_user id -G)" = "$U:$G:$G" ] ||
		die "harness: as_user runs as $(as_user id)"
	[ "$(as_user awk '/^CapEff/ { print $2 }' /proc/self/status)" = 0000000000000000 ] ||
		die "harness: as_user has capabilities"
	as_user sh -c ': </dev/fuse' 2>/dev/null || die "harness: $U cannot open the 0666 /dev/fuse"
	as_user sh -c ": <$asuser_home" 2>/dev/null || die "harness: $U cannot reach $asuser_home"
	if [ "$asuser_mode" = rootless ]; then
		[ "$(as_rootless id -u)" = 0 ] || die "harness: as_rootless is uid $(as_rootless id -u)"
		[ "$(as_rootless awk '$1 == 0 { print $2, $3 }' /proc/self/uid_map)" = "$U 1" ] ||
			die "harness: as_rootless uid_map: $(as_rootless cat /proc/self/uid_map)"
		as_rootless sh -c 'echo x >/etc/bv-asuser-probe' 2>/dev/null &&
			{ rm -f /etc/bv-asuser-probe; die "harness: as_rootless could write /etc"; }
	fi
	echo "harness: uid $U gid $G, mode $asuser_mode, private mount namespace $(readlink /proc/self/ns/mnt)"
}

_asuser_cleanup() {
	local m p
	for p in "${_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
	uid_sweep
	# Whatever is still mounted in this namespace under $tmp, innermost first.
	for m in $(awk -v t="$tmp/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	# $tmp itself is the outer copy's to remove.
}

# The holder of the rootless namespace: $U runs `unshare --user --map-root-user --mount`;
# every as_rootless call enters its namespaces.
_rootless_ns() {
	local old=${rootless_holder:-}
	if [ -n "$old" ]; then
		kill -KILL "$old" 2>/dev/null
		poll 5 pid_gone "$old"
	fi
	# One simple command in the background, so that $! is the pid that ends up as sleep
	# (setpriv exec's unshare, which exec's sleep).
	setpriv --reuid="$U" --regid="$G" --clear-groups --inh-caps=-all -- \
		unshare --user --map-root-user --mount -- sleep 3600 2>"$tmp/holder.err" &
	rootless_holder=$!
	disown "$rootless_holder" # killed by the sweep: no "Killed" job notice
	poll 10 _holder_ready || {
		grep -qi 'operation not permitted\|no space' "$tmp/holder.err" &&
			skip "unprivileged user namespaces are not allowed here: $(cat "$tmp/holder.err")"
		die "harness: no user namespace: $(cat "$tmp/holder.err")"
	}
	asuser_mi=/proc/$rootless_holder/mountinfo
}
_holder_ready() {
	[ "$(readlink "/proc/$rootless_holder/ns/user" 2>/dev/null)" != "$(readlink /proc/self/ns/user)" ] &&
		[ "$(readlink "/proc/$rootless_holder/exe" 2>/dev/null)" = "$(readlink -f "$(command -v sleep)")" ]
}

as_user() {
	setpriv --reuid="$U" --regid="$G" --clear-groups --inh-caps=-all -- \
		env HOME=/nonexistent USER="bv$U" LOGNAME="bv$U" "$@"
}

# nsenter as $U itself (it owns the namespace), keeping its credentials, then setuid 0
# inside: a plain nsenter would call setgroups, which a --map-root-user namespace denies.
as_rootless() {
	as_user nsenter --preserve-credentials -t "$rootless_holder" -U -m -- \
		setpriv --reuid=0 --regid=0 --keep-groups -- env HOME=/root USER=root LOGNAME=root "$@"
}

as_x() {
	if [ "$asuser_mode" = rootless ]; then as_rootless "$@"; else as_user "$@"; fi
}

asuser_fuse() {
	case $1 in
	on) mount --bind "$tmp/priv/fuse" /dev/fuse || die "harness: bind /dev/fuse" ;;
	off) umount /dev/fuse || die "harness: umount /dev/fuse" ;;
	esac
	[ "$asuser_mode" = rootless ] && [ -n "${rootless_holder:-}" ] && _rootless_ns
	return 0
}

# The leftover checks. Every one accepts today's daemon (one process, DIR/lock) and the
# keeper + confined server (flock on DIR itself, "server_pid" in state.json).
_bin_id() { stat -L -c %d:%i "$bin"; }
# Non-zombie processes of $U running $bin (matched by device and inode of the executable).
daemon_pids() {
	local p id
	id=$(_bin_id)
	for p in $(uid_pids); do
		[ "$(stat -L -c %d:%i "/proc/$p/exe" 2>/dev/null)" = "$id" ] && echo "$p"
	done
}
# view_pids DIR: daemon_pids, and the live pids state.json records ("pid", and "server_pid"
# of the keeper + server daemon), whatever uid they run as.
view_pids() {
	local p
	{
		daemon_pids
		for p in $(state_get "$1" pid) $(state_get "$1" server_pid); do
			[ "$p" -gt 0 ] 2>/dev/null && ! pid_gone "$p" && echo "$p"
		done
	} | sort -un
}
_no_daemon() { [ -z "$(view_pids "${1:-/nonexistent}")" ]; }
lock_held() {
	{ [ -d "$1" ] && ! flock -n "$1" true 2>/dev/null; } ||
		{ [ -e "$1/lock" ] && ! flock -n "$1/lock" true 2>/dev/null; }
}
_lock_free() { ! lock_held "$1"; }
image_free() {
	python3 - "$img" <<'PY'
import os, sys
st = os.stat(sys.argv[1])
want = (st.st_dev, st.st_ino)
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        fds = os.listdir("/proc/%s/fd" % p)
    except OSError:
        continue
    for fd in fds:
        try:
            s = os.stat("/proc/%s/fd/%s" % (p, fd))
        except OSError:
            continue
        if (s.st_dev, s.st_ino) == want:
            print("pid %s fd %s" % (p, fd))
            sys.exit(1)
PY
}
is_mounted() { awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' "${2:-$asuser_mi}"; }
_unmounted() { ! is_mounted "$1" "$2"; }

# True while NAME is an entry of directory DIR (a dead FUSE mount on it makes stat fail
# with ENOTCONN, but readdir of its parent still lists it).
in_dir() { python3 -c 'import os, sys; sys.exit(sys.argv[2] not in os.listdir(sys.argv[1]))' "$1" "$2" 2>/dev/null; }

# check_left WHAT DIR MNT [MI]: after stop, nothing of the view is left.
check_left() {
	local what=$1 dir=$2 mnt=$3 mi=${4:-$asuser_mi} st fails0=$fails
	poll 5 _unmounted "$mnt" "$mi" && ok "$what: nothing mounted at the mountpoint" ||
		fail "$what: still mounted (ls: $(as_x ls -a "$mnt" 2>&1 | head -1 | sed 's/^ls: //')): $(awk -v m="$mnt" '$5 == m { print $9, $10, $11 }' "$mi")"
	poll 5 _no_daemon "$dir" && ok "$what: no daemon process" ||
		fail "$what: daemon processes left: $(view_pids "$dir" | tr '\n' ' ')"
	poll 5 _lock_free "$dir" && ok "$what: the life lock is free" ||
		fail "$what: the life lock of $dir is still held"
	poll 5 image_free >/dev/null && ok "$what: the image is not open" ||
		fail "$what: the image is still open ($(image_free))"
	in_dir "$(dirname "$mnt")" "$(basename "$mnt")" && fail "$what: mountpoint $mnt not removed" ||
		ok "$what: mountpoint removed"
	st=$(state_get "$dir" status)
	[ "$st" = stopped ] && ok "$what: state stopped" || fail "$what: state is '$st', want stopped"
	[ $fails -eq $fails0 ] || [ ! -f "$dir/log" ] || tail -n 6 "$dir/log" | sed 's/^/    daemon log: /'
}

# leftovers_away: after a case, whatever it left is removed so the next case starts clean.
leftovers_away() {
	local m
	for p in $(daemon_pids); do kill -KILL "$p" 2>/dev/null; kill -CONT "$p" 2>/dev/null; done
	poll 5 _no_daemon
	for m in "$@"; do
		is_mounted "$m" /proc/self/mountinfo && umount -l "$m"
		[ "$asuser_mode" = rootless ] && is_mounted "$m" "$asuser_mi" &&
			nsenter -t "$rootless_holder" -m umount -l "$m"
	done
	return 0
}
