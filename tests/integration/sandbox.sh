#!/usr/bin/env bash
# The process that parses the image (the server, cmd/daemon/server.c) is confined before it
# reads it (DESIGN.md 7, cmd/daemon/sandbox.c): every task shows uid and gid 65534, NoNewPrivs 1,
# Seccomp 2, no capability at all and an empty bounding set; confined, it still serves
# every file byte for byte, and the view stops cleanly, exit 0, by fusermount3 -u, by
# umount and by SIGTERM to the keeper (which unmounts: the server cannot).
# BOOTVIEWFS_NO_SANDBOX=1 leaves the server unconfined.
# Exit 0 pass, 1 fail, 77 skip (reason on stdout).
set -uo pipefail
. "$(dirname "$0")/_lib.sh"

is_root || skip "needs root (a root-started server must become nobody)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -x "$bin" ] || skip "$bin not built"
for p in mkfs.ext4 fusermount3 sha256sum mkfifo; do
	command -v $p >/dev/null || skip "$p not installed"
done

fails=0
fail() { echo "FAIL: $testname: $*"; fails=$((fails + 1)); }

src=$tmp/src mnt=$tmp/mnt img=$tmp/img
mkdir -p "$src/unikernel/deep/er" "$mnt"
head -c 5000000 /dev/urandom >"$src/unikernel/kernel"
head -c 70000 /dev/urandom >"$src/unikernel/deep/er/initrd"
echo '{"com.urunc.unikernel.binary":"L3VuaWtlcm5lbC9rZXJuZWw="}' >"$src/urunc.json"
: >"$src/empty"
ln "$src/urunc.json" "$src/hardlink"
ln -s unikernel/kernel "$src/link"
for i in $(seq 1 50); do echo "file $i" >"$src/unikernel/deep/f$i"; done
truncate -s 32M "$img"
mkfs.ext4 -q -F -d "$src" "$img" || die "mkfs.ext4"
_mounts+=("$mnt")

field() { # STATUS-FILE NAME
	awk -v n="$2:" '$1 == n { print $2 }' "$1" 2>/dev/null
}

# Confinement comes right after readiness: wait (at most 5 s) for the main task's filter.
wait_confined() { # PID
	local i
	for i in $(seq 1 100); do
		[ "$(field "/proc/$1/status" Seccomp)" = 2 ] && return 0
		sleep 0.05
	done
	return 1
}

# The server is the keeper's only child.
server_of() { # KEEPER-PID
	pgrep -P "$1" | head -1
}

tasks_check() { # KEEPER-PID HOW
	local t n=0 id s
	s=$(server_of "$1")
	[ -n "$s" ] || { fail "$2: keeper $1 has no server process"; return; }
	wait_confined "$s" || { fail "$2: server $s never showed Seccomp 2"; return; }
	for t in /proc/$s/task/*; do
		id=${t##*/}
		n=$((n + 1))
		[ "$(field "$t/status" NoNewPrivs)" = 1 ] || fail "$2: task $id: NoNewPrivs not 1"
		[ "$(field "$t/status" Seccomp)" = 2 ] || fail "$2: task $id: Seccomp not 2"
		[ "$(field "$t/status" Uid)" = 65534 ] || fail "$2: task $id: Uid $(field "$t/status" Uid)"
		[ "$(field "$t/status" Gid)" = 65534 ] || fail "$2: task $id: Gid $(field "$t/status" Gid)"
		for c in CapEff CapPrm CapInh CapAmb CapBnd; do
			[ "$(field "$t/status" $c)" = 0000000000000000 ] ||
				fail "$2: task $id: $c $(field "$t/status" $c)"
		done
	done
	# main, the session loop's workers, the channel thread
	[ $n -ge 3 ] || fail "$2: only $n tasks in the server"
	# The keeper keeps CAP_SYS_ADMIN (21, to mount and unmount), CAP_KILL (5, to end the
	# server) and CAP_DAC_READ_SEARCH (2, to look up the required files): 0x200024.
	[ "$(field "/proc/$1/status" CapEff)" = 0000000000200024 ] ||
		fail "$2: keeper CapEff $(field "/proc/$1/status" CapEff), want 0000000000200024"
}

sums() { # DIR
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}
sums "$src" >"$tmp/want"

content_check() { # HOW
	sums "$mnt" >"$tmp/got" 2>"$tmp/got.err" || fail "$1: reading the mount: $(cat "$tmp/got.err")"
	cmp -s "$tmp/want" "$tmp/got" || fail "$1: contents differ: $(diff "$tmp/want" "$tmp/got" | head -3)"
	[ "$(readlink "$mnt/link")" = unikernel/kernel ] || fail "$1: symlink"
	ls -laR "$mnt" >/dev/null 2>&1 || fail "$1: ls -R"
}

wait_gone() { # PID
	local i
	for i in $(seq 1 100); do
		[ -e "/proc/$1" ] || return 0
		[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
		sleep 0.05
	done
	return 1
}

# Foreground daemon (our child, so its exit status is ours to see), ready on a FIFO.
fifo=$tmp/ready
mkfifo "$fifo"
fg_start() { # HOW
	local line
	"$bin" -f --ready-fd 3 "$img" "$mnt" 3>"$fifo" 2>"$tmp/daemon.err" &
	fpid=$!
	read -r line <"$fifo"
	case $line in
	*'"status":"ready"'*) return 0 ;;
	*) fail "$1: not ready: $line $(cat "$tmp/daemon.err")"; return 1 ;;
	esac
}
fg_stop_check() { # HOW
	local rc
	wait "$fpid"
	rc=$?
	[ $rc -eq 0 ] || fail "$1: daemon exit status $rc: $(tail -3 "$tmp/daemon.err")"
	mountpoint -q "$mnt" && { fail "$1: still mounted"; umount -l "$mnt"; }
}

# 1. Background daemon, the usual way; stopped with fusermount3 -u.
if "$bin" "$img" "$mnt"; then
	pid=$(pgrep -o -f "bootviewfs $img $mnt\$")
	tasks_check "$pid" daemon
	content_check daemon
	tasks_check "$pid" "daemon after reading" # workers spawned by load are confined too
	fusermount3 -u "$mnt" || fail "daemon: fusermount3 -u"
	wait_gone "$pid" || fail "daemon: $pid still running after fusermount3 -u"
	mountpoint -q "$mnt" && fail "daemon: still mounted"
else
	fail "daemon: mount failed"
fi
[ $fails -eq 0 ] && echo "ok: background daemon confined, serves every file, fusermount3 -u"

# 2. The three ways to stop, each with a confined daemon that must exit 0.
f0=$fails
if fg_start fusermount3; then
	tasks_check "$fpid" fusermount3
	content_check fusermount3
	fusermount3 -u "$mnt" || fail "fusermount3 -u"
	fg_stop_check fusermount3
fi
if fg_start umount; then
	tasks_check "$fpid" umount
	content_check umount
	umount "$mnt" || fail "umount"
	fg_stop_check umount
fi
if fg_start SIGTERM; then
	tasks_check "$fpid" SIGTERM
	content_check SIGTERM
	kill -TERM "$fpid"
	# The keeper unmounts on SIGTERM; the server never could.
	fg_stop_check SIGTERM
fi
[ $fails -eq $f0 ] && echo "ok: confined daemon exits 0 after fusermount3 -u, umount, SIGTERM"

# 2b. A starter that blocks every signal and ignores SIGTERM and every real-time signal (a
#     shim's runtime can leave any of these to its children) changes nothing: the server
#     is confined, and SIGTERM still stops the view (the keeper resets both at start). The
#     old daemon, which confined its threads by signalling them, served unconfined here.
f0=$fails
python3 - "$bin" "$img" "$mnt" <<'PY' >"$tmp/blocked.out" 2>&1
import signal, subprocess, sys
for s in list(range(signal.SIGRTMIN, signal.SIGRTMAX + 1)) + [signal.SIGTERM, signal.SIGHUP]:
    signal.signal(s, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.Signals) - {signal.SIGKILL, signal.SIGSTOP})
sys.exit(subprocess.run(sys.argv[1:]).returncode)
PY
rc=$?
if [ $rc -eq 0 ]; then
	pid=$(pgrep -o -f "bootviewfs $img $mnt\$")
	tasks_check "$pid" "blocked-starter"
	content_check "blocked-starter"
	kill -TERM "$pid"
	wait_gone "$pid" || fail "blocked-starter: SIGTERM did not stop the keeper"
	mountpoint -q "$mnt" && { fail "blocked-starter: still mounted after SIGTERM"; umount -l "$mnt"; }
else
	fail "blocked-starter: start exit $rc: $(cat "$tmp/blocked.out")"
fi
[ $fails -eq $f0 ] && echo "ok: a starter with every signal blocked or ignored cannot stop confinement or SIGTERM"

# 3. BOOTVIEWFS_NO_SANDBOX=1: the debugging switch leaves the daemon unconfined.
f0=$fails
export BOOTVIEWFS_NO_SANDBOX=1
if fg_start no-sandbox; then
	for i in $(seq 1 100); do
		grep -q 'sandbox disabled' "$tmp/daemon.err" && break
		sleep 0.05
	done
	grep -q 'sandbox disabled' "$tmp/daemon.err" || fail "no-sandbox: no warning logged"
	[ "$(field "/proc/$(server_of "$fpid")/status" Seccomp)" = 0 ] || fail "no-sandbox: a filter is on"
	content_check no-sandbox
	kill -TERM "$fpid"
	fg_stop_check no-sandbox
fi
unset BOOTVIEWFS_NO_SANDBOX
[ $fails -eq $f0 ] && echo "ok: BOOTVIEWFS_NO_SANDBOX=1 leaves the daemon unconfined"

[ $fails -eq 0 ] || exit 1
echo "PASS: $testname"
