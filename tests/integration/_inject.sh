# Sourced by tests that prove a confined process cannot do harm even once an attacker runs
# code inside it (DESIGN.md 7). Gives one function:
#
#   escape_attempts PID WORKDIR [FILE...]
#
# Makes root-owned targets in WORKDIR/escape (which must not exist yet), then, in ONE
# `gdb -p PID -batch -nx` session, makes PID itself call syscall(2) for each attempt below
# (string arguments live in a scratch mmap of PID's; no malloc unless mmap is refused),
# detaches, and checks every side effect from outside. Prints, one line each:
#   ok: <attempt> refused (<ERRNO>)        the call failed and nothing changed
#   FAIL: <attempt> succeeded (<details>)  the call worked, or its side effect is there
#   FAIL: <attempt> not run (<why>)        no proof either way, which fails as well
# plus "status: Uid/CapEff/CapPrm/CapBnd/NoNewPrivs/Seccomp" lines of PID for the record.
# Returns 0 when every attempt was refused, 1 when any succeeded or could not be made, 2
# when nothing could be tried (no root, no gdb, PID gone, attach refused).
#
# The attempts (main thread unless said otherwise):
#   1  open a root-owned 0644 file O_WRONLY|O_APPEND and write to it
#   2  create a file (O_CREAT) in a root-owned dir and fchmod it 04755; fchmod 04755 a
#      root-owned file opened O_RDONLY; fchmod every fd PID holds (04755 for files in
#      WORKDIR and FILE..., the mode it already has for anything else: /dev/null's and
#      /dev/fuse's modes are the host's, never changed even when the call succeeds)
#   3  unlink, and rename, a root-owned file
#   4  umount2 an unrelated tmpfs made here
#   5  open O_RDWR and pwrite64 a read-only loop device, a writable one, a root-owned file
#      and each FILE; pwrite64 one byte on every fd PID holds (regular files at their end,
#      block devices their own byte 0 back, anything else a zero byte at 0). Regular files
#      that grow are truncated back after the verdict.
#   6  socket(AF_UNIX)+connect+send to a root-only 0600 listening socket; socket(AF_INET)
#   8  open /etc/shadow O_RDONLY
#   9  setuid(0), setresuid(0,0,0), capset raising every capability
#   10 flock(fd, LOCK_UN) on every fd; each flock PID held before must still be held
#   7  (last) mount a tmpfs, unshare(CLONE_NEWNS), unshare(CLONE_NEWUSER),
#      ptrace(PTRACE_ATTACH) and kill(0) of a root process started here, fork (a raw
#      clone(SIGCHLD) whose child gets an unmapped stack, so it faults at its first
#      instruction's return and runs nothing), execve("/bin/true") with argv=(char**)1:
#      EFAULT there comes after seccomp, Landlock and the exec permission check, so it
#      means "execve would have run", without replacing the process under test.
#   and in every other thread: open /etc/shadow, open the 0644 file O_WRONLY, socket(AF_INET)
#
# Nothing here assumes PID's uid, user namespace or mount namespace: a path PID cannot
# see is refused (ENOENT/EACCES), which counts as refused. The caller must be root (the
# targets are root-owned; mounts, loop devices). x86_64 and aarch64.
#
# Environment: ESCAPE_GDB_TIMEOUT (s, default 40) bounds the gdb session; ESCAPE_KEEP_LOG=1
# prints gdb's whole output.

# escape_attempts runs in a subshell of its own: its traps undo what it made whatever
# happens, without touching the caller's.
escape_attempts() (
	set -u +e
	local pid=$1 work=$2
	shift 2
	local files=("$@")
	local E=$work/escape bad=0 a

	_esc_fail() { echo "FAIL: $1 succeeded ($2)"; bad=1; }
	_esc_notrun() { echo "FAIL: $1 not run ($2)"; bad=1; }
	_esc_ok() { echo "ok: $1 refused ($2)"; }

	[ "$(id -u)" -eq 0 ] || { echo "escape_attempts: needs root"; return 2; }
	command -v gdb >/dev/null || { echo "escape_attempts: gdb not installed"; return 2; }
	command -v python3 >/dev/null || { echo "escape_attempts: python3 not installed"; return 2; }
	[ -d "/proc/$pid/task" ] || { echo "escape_attempts: no process $pid"; return 2; }
	mkdir -m 755 "$E" || { echo "escape_attempts: cannot make $E"; return 2; }

	# ---- syscall numbers and constants (the ones that differ between architectures) ----
	local -A NR
	case $(uname -m) in
	x86_64)
		NR=([openat]=257 [write]=1 [close]=3 [pwrite64]=18 [fchmod]=91 [unlinkat]=263
			[renameat]=264 [umount2]=166 [socket]=41 [connect]=42 [sendto]=44 [execve]=59
			[clone]=56 [mount]=165 [unshare]=272 [ptrace]=101 [kill]=62 [setuid]=105
			[setresuid]=117 [capset]=126 [flock]=73 [mmap]=9 [gettid]=186) ;;
	aarch64)
		NR=([openat]=56 [write]=64 [close]=57 [pwrite64]=68 [fchmod]=52 [unlinkat]=35
			[renameat]=38 [umount2]=39 [socket]=198 [connect]=203 [sendto]=206 [execve]=221
			[clone]=220 [mount]=40 [unshare]=97 [ptrace]=117 [kill]=129 [setuid]=146
			[setresuid]=147 [capset]=91 [flock]=32 [mmap]=222 [gettid]=178) ;;
	*) echo "escape_attempts: no syscall table for $(uname -m)"; return 2 ;;
	esac
	local AT_FDCWD=-100 O_RDONLY=0 O_WRONLY=1 O_RDWR=2 O_CREAT=64 O_EXCL=128 O_APPEND=1024
	local O_CLOEXEC=524288 SIGCHLD=17 CLONE_NEWNS=131072 CLONE_NEWUSER=268435456
	local PTRACE_ATTACH=16 PTRACE_DETACH=17 LOCK_UN=8 AF_UNIX=1 AF_INET=2 SOCK_STREAM=1

	local -A ERRNAME
	while read -r n name; do ERRNAME[$n]=$name; done < <(python3 -c '
import errno
for n, name in sorted(errno.errorcode.items()): print(n, name)')

	# ---- what the attempts aim at, all root-owned ----
	local listener_pid= sleeper_pid= loop_ro= loop_rw= tmpfs_ok=0 sockdir=$E
	# sun_path holds 108 bytes: a long WORKDIR gets its socket in a short directory.
	[ ${#E} -gt 90 ] && sockdir=$(mktemp -d /tmp/bvesc.XXXXXX) && chmod 755 "$sockdir"
	_esc_cleanup() {
		[ "$sockdir" != "$E" ] && rm -rf "$sockdir"
		[ -n "$listener_pid" ] && kill "$listener_pid" 2>/dev/null
		[ -n "$sleeper_pid" ] && kill -KILL "$sleeper_pid" 2>/dev/null
		mountpoint -q "$E/tmpfs" 2>/dev/null && umount "$E/tmpfs"
		mountpoint -q "$E/mnt-target" 2>/dev/null && umount "$E/mnt-target"
		[ -n "$loop_ro" ] && losetup -d "$loop_ro" 2>/dev/null
		[ -n "$loop_rw" ] && losetup -d "$loop_rw" 2>/dev/null
	}
	trap _esc_cleanup EXIT
	trap 'exit 130' INT TERM

	mkdir -m 755 "$E/dir" "$E/tmpfs" "$E/mnt-target"
	echo "bootviewfs escape test: must stay as it is" >"$E/dir/append"
	cp -p "$E/dir/append" "$E/append.want"
	for f in modefile victim victim2; do echo "$f" >"$E/dir/$f"; done
	chmod 644 "$E/dir/"*
	head -c 1048576 /dev/urandom >"$E/disk.img"
	head -c 1048576 /dev/urandom >"$E/loop-ro.img"
	head -c 1048576 /dev/urandom >"$E/loop-rw.img"
	chmod 644 "$E/disk.img" "$E/loop-ro.img" "$E/loop-rw.img"
	mount -t tmpfs -o size=64k,mode=755 bvescape "$E/tmpfs" 2>"$E/tmpfs.err" && tmpfs_ok=1
	loop_ro=$(losetup -r -f --show "$E/loop-ro.img" 2>"$E/loop.err")
	loop_rw=$(losetup -f --show "$E/loop-rw.img" 2>>"$E/loop.err")
	# Every file whose bytes must not change, with its hash now.
	local sumfiles=("$E/disk.img" "$E/loop-ro.img" "$E/loop-rw.img" "${files[@]}")
	local -A SUM
	for f in "${sumfiles[@]}"; do SUM[$f]=$(sha256sum <"$f" | cut -d' ' -f1); done

	# A root-only stream socket that logs every connection it gets.
	python3 - "$sockdir/sock" "$E/sock.log" "$E/sock.ready" <<'PY' >"$E/listener.err" 2>&1 &
import os, socket, sys
path, log, ready = sys.argv[1:4]
os.umask(0o177)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(16)
open(ready, "w").close()
s.settimeout(300)
with open(log, "a", buffering=1) as f:
    while True:
        c, _ = s.accept()
        c.settimeout(2)
        data = b""
        try:
            while not data.startswith(b"BVQUIT"):
                b = c.recv(4096)
                if not b:
                    break
                data += b
        except socket.timeout:
            pass
        c.close()
        if data.startswith(b"BVQUIT"):
            break
        f.write("a connection, %d bytes: %r\n" % (len(data), data[:64]))
PY
	listener_pid=$!
	sleep 600 </dev/null >/dev/null 2>&1 &
	sleeper_pid=$!
	disown -a # no "Killed" notices when the cleanup ends them

	local deadline=$((SECONDS + 10))
	until [ -e "$E/sock.ready" ]; do
		if [ $SECONDS -ge $deadline ] || ! kill -0 "$listener_pid" 2>/dev/null; then
			echo "escape_attempts: the unix socket listener did not start: $(cat "$E/listener.err")"
			return 2
		fi
		sleep 0.02
	done

	# ---- PID before: the record, its fds, their locks ----
	local st_before f t
	st_before=$(grep -E '^(Uid|CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):' "/proc/$pid/status")
	echo "escape: process $pid ($(cat /proc/$pid/comm 2>/dev/null)), $(ls /proc/$pid/task | wc -l) threads"
	sed 's/^/status: /; s/\t/ /g' <<<"$st_before"
	local mntns_before=$(readlink "/proc/$pid/ns/mnt")
	local vis_tmpfs=0
	awk -v m="$E/tmpfs" '$5 == m { f = 1 } END { exit !f }' "/proc/$pid/mountinfo" && vis_tmpfs=1

	local fds=() n
	local -A FD_TARGET FD_TYPE FD_MODE FD_SIZE FD_LOCKED FD_CHMOD FD_PWOFF FD_PWBYTE
	for n in $(ls "/proc/$pid/fd" | sort -n); do
		f=/proc/$pid/fd/$n
		t=$(readlink "$f") || continue
		fds+=("$n")
		FD_TARGET[$n]=$t
		IFS='|' read -r FD_TYPE[$n] FD_MODE[$n] FD_SIZE[$n] < <(stat -L -c '%F|%a|%s' "$f" 2>/dev/null)
		FD_LOCKED[$n]=0
		grep -q '^lock:.*FLOCK' "/proc/$pid/fdinfo/$n" 2>/dev/null && FD_LOCKED[$n]=1
		# fchmod: 04755 only for what the caller owns here, its mode again elsewhere.
		FD_CHMOD[$n]=$((8#${FD_MODE[$n]:-0}))
		case ${FD_TYPE[$n]} in
		regular*)
			case $t in "$work"/* | "$E"/*) FD_CHMOD[$n]=$((8#4755)) ;; esac
			for a in "${files[@]}"; do [ "$t" = "$a" ] && FD_CHMOD[$n]=$((8#4755)); done
			FD_PWOFF[$n]=${FD_SIZE[$n]} FD_PWBYTE[$n]=88 # 'X', one byte past the end
			;;
		block*)
			FD_PWOFF[$n]=0
			FD_PWBYTE[$n]=$(dd if="$f" bs=1 count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
			FD_PWBYTE[$n]=${FD_PWBYTE[$n]:-0}
			;;
		*) FD_PWOFF[$n]=0 FD_PWBYTE[$n]=0 ;;
		esac
	done
	local ntasks=$(ls "/proc/$pid/task" | wc -l)
	local tracer_before=$(awk '$1 == "TracerPid:" { print $2 }' "/proc/$sleeper_pid/status")

	# ---- the gdb session ----
	local ex=() soff=64
	local -A S
	# str NAME VALUE: VALUE, NUL-terminated, at $m+S[NAME] in PID's scratch memory.
	_esc_str() {
		local len=$(printf '%s' "$2" | wc -c) q=${2//\\/\\\\}
		q=${q//\"/\\\"}
		S[$1]=$soff
		ex+=(-ex "set {char[$((len + 1))]}(\$m+$soff) = \"$q\"")
		soff=$(((soff + len + 1 + 15) / 16 * 16))
	}
	# call KEY NR ARG...: $v_KEY = syscall(NR, ARG...) in the selected thread, and a
	# "RES KEY ret errno" line (errno only means something when ret is -1).
	_esc_call() {
		local key=$1 nr=$2 args= x
		shift 2
		for x; do args+=", (long)($x)"; done
		ex+=(-ex "printf \"TRY $key\\n\""
			-ex "set \$v_$key = (long)syscall((long)$nr$args)"
			-ex "set \$e_$key = (int)*(int*)__errno_location()"
			-ex "printf \"RES $key %ld %d\\n\", \$v_$key, \$e_$key")
	}
	_esc_close() { ex+=(-ex "set \$junk = (long)syscall((long)${NR[close]}, (long)\$v_$1)"); }

	ex+=(-iex 'set debuginfod enabled off' -ex 'set pagination off' -ex 'set confirm off'
		-ex 'set width 0' -ex 'set print thread-events off' -ex 'set print inferior-events off'
		-ex 'set unwindonsignal on' -ex 'handle SIGSYS stop print nopass'
		-ex 'set scheduler-locking on' -ex 'thread 1'
		-ex "shell ls /proc/$pid/fd >$E/fds.attached"
		-ex "set \$m = (long)syscall((long)${NR[mmap]}, (long)0, (long)65536, (long)3, (long)34, (long)-1, (long)0)"
		-ex 'set $m = ($m == -1 || $m == 0) ? (long)malloc(65536) : $m'
		-ex 'printf "RES scratch %ld 0\n", $m'
		-ex "printf \"RES maintid %ld 0\\n\", (long)syscall((long)${NR[gettid]})")
	_esc_str append "$E/dir/append"
	_esc_str created "$E/dir/created"
	_esc_str modefile "$E/dir/modefile"
	_esc_str victim "$E/dir/victim"
	_esc_str victim2 "$E/dir/victim2"
	_esc_str renamed "$E/dir/renamed"
	_esc_str tmpfs "$E/tmpfs"
	_esc_str mnttarget "$E/mnt-target"
	_esc_str tmpfstype tmpfs
	_esc_str shadow /etc/shadow
	_esc_str true /bin/true
	_esc_str data BVESCAPE
	_esc_str diskimg "$E/disk.img"
	[ -n "$loop_ro" ] && _esc_str loopro "$loop_ro"
	[ -n "$loop_rw" ] && _esc_str looprw "$loop_rw"
	local i=0
	for f in "${files[@]}"; do _esc_str "file$i" "$f"; i=$((i + 1)); done
	# struct sockaddr_un {AF_UNIX, path}
	local salen=$((2 + $(printf '%s' "$sockdir/sock" | wc -c) + 1))
	ex+=(-ex "set {unsigned short}(\$m+$soff) = $AF_UNIX")
	S[sa]=$soff
	soff=$((soff + 2)) && _esc_str sapath "$sockdir/sock"
	# capset: header {_LINUX_CAPABILITY_VERSION_3, pid 0}, data[2] {eff, prm, inh} all set
	S[caphdr]=$soff S[capdata]=$((soff + 16))
	ex+=(-ex "set {unsigned int[2]}(\$m+${S[caphdr]}) = {0x20080522, 0}"
		-ex "set {unsigned int[6]}(\$m+${S[capdata]}) = {0xffffffff, 0xffffffff, 0, 0xffffffff, 0xffffffff, 0}")
	soff=$((soff + 48))
	for n in "${fds[@]}"; do
		S[pw$n]=$soff
		ex+=(-ex "set {unsigned char}(\$m+$soff) = ${FD_PWBYTE[$n]}")
		soff=$((soff + 16))
	done
	if [ $soff -gt 60000 ]; then
		echo "escape_attempts: too many paths or fds for the scratch page"
		return 2
	fi
	local M='$m'

	# 1
	_esc_call ap_open "${NR[openat]}" $AT_FDCWD "$M+${S[append]}" $((O_WRONLY | O_APPEND | O_CLOEXEC))
	_esc_call ap_write "${NR[write]}" '$v_ap_open' "$M+${S[data]}" 8
	_esc_close ap_open
	# 2
	_esc_call cr_open "${NR[openat]}" $AT_FDCWD "$M+${S[created]}" $((O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC)) $((8#644))
	_esc_call cr_fchmod "${NR[fchmod]}" '$v_cr_open' $((8#4755))
	_esc_close cr_open
	_esc_call md_open "${NR[openat]}" $AT_FDCWD "$M+${S[modefile]}" $((O_RDONLY | O_CLOEXEC))
	_esc_call md_fchmod "${NR[fchmod]}" '$v_md_open' $((8#4755))
	_esc_close md_open
	for n in "${fds[@]}"; do _esc_call "fchmod$n" "${NR[fchmod]}" "$n" "${FD_CHMOD[$n]}"; done
	# 3
	_esc_call unlink "${NR[unlinkat]}" $AT_FDCWD "$M+${S[victim]}" 0
	_esc_call rename "${NR[renameat]}" $AT_FDCWD "$M+${S[victim2]}" $AT_FDCWD "$M+${S[renamed]}"
	# 4
	_esc_call umount "${NR[umount2]}" "$M+${S[tmpfs]}" 0
	# 5
	local rw_keys=(disk) rw_names=("$E/disk.img")
	[ -n "$loop_ro" ] && rw_keys+=(loopro) rw_names+=("read-only loop device $loop_ro")
	[ -n "$loop_rw" ] && rw_keys+=(looprw) rw_names+=("writable loop device $loop_rw")
	S[disk]=${S[diskimg]}
	i=0
	for f in "${files[@]}"; do
		S[f$i]=${S[file$i]}
		rw_keys+=("f$i") rw_names+=("$f")
		i=$((i + 1))
	done
	for a in "${rw_keys[@]}"; do
		_esc_call "${a}_open" "${NR[openat]}" $AT_FDCWD "$M+${S[$a]}" $((O_RDWR | O_CLOEXEC))
		_esc_call "${a}_pw" "${NR[pwrite64]}" "\$v_${a}_open" "$M+${S[data]}" 8 0
		_esc_close "${a}_open"
	done
	for n in "${fds[@]}"; do
		_esc_call "pw$n" "${NR[pwrite64]}" "$n" "$M+${S[pw$n]}" 1 "${FD_PWOFF[$n]}"
	done
	# 6
	_esc_call un_sock "${NR[socket]}" $AF_UNIX $((SOCK_STREAM | O_CLOEXEC)) 0
	_esc_call un_conn "${NR[connect]}" '$v_un_sock' "$M+${S[sa]}" $salen
	_esc_call un_send "${NR[sendto]}" '$v_un_sock' "$M+${S[data]}" 8 0 0 0
	_esc_close un_sock
	_esc_call in_sock "${NR[socket]}" $AF_INET $((SOCK_STREAM | O_CLOEXEC)) 0
	_esc_close in_sock
	# 8
	_esc_call shadow "${NR[openat]}" $AT_FDCWD "$M+${S[shadow]}" $((O_RDONLY | O_CLOEXEC))
	_esc_close shadow
	# 9
	_esc_call setuid "${NR[setuid]}" 0
	_esc_call setresuid "${NR[setresuid]}" 0 0 0
	_esc_call capset "${NR[capset]}" "$M+${S[caphdr]}" "$M+${S[capdata]}"
	# 10
	for n in "${fds[@]}"; do _esc_call "flock$n" "${NR[flock]}" "$n" $LOCK_UN; done
	# 7, last: each of these may change the process for good when it works.
	_esc_call mount "${NR[mount]}" "$M+${S[tmpfstype]}" "$M+${S[mnttarget]}" "$M+${S[tmpfstype]}" 0 0
	_esc_call ptrace "${NR[ptrace]}" $PTRACE_ATTACH "$sleeper_pid" 0 0
	_esc_call ptrace_detach "${NR[ptrace]}" $PTRACE_DETACH "$sleeper_pid" 0 0
	_esc_call kill "${NR[kill]}" "$sleeper_pid" 0
	_esc_call fork "${NR[clone]}" $SIGCHLD 8 0 0 0
	_esc_call unshare_user "${NR[unshare]}" $CLONE_NEWUSER
	_esc_call unshare_ns "${NR[unshare]}" $CLONE_NEWNS
	_esc_call execve "${NR[execve]}" "$M+${S[true]}" 1 0
	# every other thread
	for ((i = 2; i <= ntasks; i++)); do
		ex+=(-ex "thread $i" -ex "printf \"RES tid$i %ld 0\\n\", (long)syscall((long)${NR[gettid]})")
		_esc_call "t${i}_shadow" "${NR[openat]}" $AT_FDCWD "$M+${S[shadow]}" $((O_RDONLY | O_CLOEXEC))
		_esc_close "t${i}_shadow"
		_esc_call "t${i}_append" "${NR[openat]}" $AT_FDCWD "$M+${S[append]}" $((O_WRONLY | O_APPEND | O_CLOEXEC))
		_esc_close "t${i}_append"
		_esc_call "t${i}_inet" "${NR[socket]}" $AF_INET $((SOCK_STREAM | O_CLOEXEC)) 0
		_esc_close "t${i}_inet"
	done
	ex+=(-ex 'thread 1' -ex 'printf "RES done 0 0\n"')

	local t0=$SECONDS
	timeout -k 5 "${ESCAPE_GDB_TIMEOUT:-40}" gdb -p "$pid" -batch -nx -q "${ex[@]}" \
		</dev/null >"$E/gdb.log" 2>&1
	local gdb_rc=$?
	[ "${ESCAPE_KEEP_LOG:-0}" = 1 ] && sed 's/^/gdb: /' "$E/gdb.log"
	echo "escape: gdb session: exit $gdb_rc, $((SECONDS - t0)) s"

	local -A R ER
	local tag key r e
	# "RES KEY Value can't be converted..." is a call abandoned on a signal: no result.
	while read -r tag key r e; do
		[ "$tag" = RES ] && [[ $r =~ ^-?[0-9]+$ && $e =~ ^-?[0-9]+$ ]] && R[$key]=$r ER[$key]=$e
	done <"$E/gdb.log"
	if [ -z "${R[scratch]:-}" ]; then
		echo "escape_attempts: could not run anything in $pid (gdb exit $gdb_rc):"
		grep -v '^RES\|^TRY' "$E/gdb.log" | tail -8 | sed 's/^/  gdb: /'
		return 2
	fi
	# The process may have killed itself (a seccomp filter that kills) or exec'd.
	grep -q 'executing new program' "$E/gdb.log" && _esc_fail execve "PID $pid runs a new program"
	if [ "${R[scratch]}" = -1 ] || [ "${R[scratch]}" = 0 ]; then
		_esc_notrun "everything" "no scratch memory in $pid: mmap and malloc refused"
		return 1
	fi
	[ "${R[maintid]:-}" = "$pid" ] || echo "note: the calls ran in thread ${R[maintid]:-?}, not $pid"
	cmp -s <(printf '%s\n' "${fds[@]}" | sort) <(sort "$E/fds.attached") ||
		echo "note: the fds of $pid changed between listing and attaching: $(tr '\n' ' ' <"$E/fds.attached")"
	# Whatever this session could not tell must fail: "why" is gdb's first complaint.
	_esc_why() {
		awk -v k="TRY $1" '$0 == k { on = 1; next } on && /^TRY / { exit }
			on && !/^RES / && NF { print; exit }' "$E/gdb.log"
	}
	# ran KEY LABEL: KEY's call came back (else "not run" is reported)
	_esc_ran() {
		[ -n "${R[$1]:-}" ] && return 0
		local why=$(_esc_why "$1")
		case $why in
		*SIGSYS*) R[$1]=-1 ER[$1]=SIGSYS; return 0 ;;
		esac
		_esc_notrun "$2" "${why:-no result from gdb}"
		return 1
	}
	_esc_err() { # KEY: errno name of a refused call
		[ "${ER[$1]}" = SIGSYS ] && { echo SIGSYS; return; }
		echo "${ERRNAME[${ER[$1]}]:-errno ${ER[$1]}}"
	}
	_esc_refused() { [ "${R[$1]}" = -1 ]; }
	# simple KEY LABEL [SIDE-EFFECT-MESSAGE]: refused unless the call returned non-negative
	# or a side effect was seen (message non-empty)
	_esc_simple() {
		_esc_ran "$1" "$2" || return
		if ! _esc_refused "$1"; then
			_esc_fail "$2" "returned ${R[$1]}${3:+; $3}"
		elif [ -n "${3:-}" ]; then
			_esc_fail "$2" "$3, though it returned -1 $(_esc_err "$1")"
		else
			_esc_ok "$2" "$(_esc_err "$1")"
		fi
	}
	# steps LABEL SIDE-EFFECT-MESSAGE KEY...: calls in sequence, each using the one before;
	# the first refused one is the refusal, and what comes after it does not matter.
	_esc_steps() {
		local label=$1 side=$2 k done_=
		shift 2
		for k; do
			_esc_ran "$k" "$label ($k)" || return
			if _esc_refused "$k"; then
				if [ -n "$side" ]; then
					_esc_fail "$label" "$side, though $k returned -1 $(_esc_err "$k")"
				else
					_esc_ok "$label" "$(_esc_err "$k") at $k${done_:+, after ${done_% }}"
				fi
				return
			fi
			done_+="$k=${R[$k]} "
		done
		_esc_fail "$label" "${done_% }${side:+; $side}"
	}

	local side
	# 1
	side=
	cmp -s "$E/dir/append" "$E/append.want" ||
		side="the file grew from $(stat -c %s "$E/append.want") to $(stat -c %s "$E/dir/append") bytes, now ending \"$(tail -c 8 "$E/dir/append" | tr -c '[:print:]' .)\""
	_esc_steps "1 open a root-owned 0644 file O_WRONLY|O_APPEND and write" "$side" ap_open ap_write
	# 2
	side=
	[ -e "$E/dir/created" ] && side="$E/dir/created exists, mode $(stat -c %a "$E/dir/created")"
	_esc_steps "2 create a file (O_CREAT) in a root-owned dir" "$side" cr_open
	if [ -n "${R[cr_fchmod]:-}" ] && ! _esc_refused cr_open; then
		_esc_simple cr_fchmod "2 fchmod the created file 04755" \
			"$([ "$(stat -c %a "$E/dir/created" 2>/dev/null)" = 4755 ] && echo "it is 04755")"
	fi
	side=
	[ "$(stat -c %a "$E/dir/modefile")" = 644 ] || side="its mode is now $(stat -c %a "$E/dir/modefile")"
	_esc_steps "2 open a root-owned 0644 file O_RDONLY and fchmod it 04755" "$side" md_open md_fchmod
	chmod 644 "$E/dir/modefile"
	for n in "${fds[@]}"; do
		side=
		t=${FD_TARGET[$n]}
		if [ -e "/proc/$pid/fd/$n" ]; then
			a=$(stat -L -c %a "/proc/$pid/fd/$n" 2>/dev/null)
			[ "$a" = "${FD_MODE[$n]}" ] || side="mode ${FD_MODE[$n]} -> $a"
			[ -n "$side" ] && chmod "${FD_MODE[$n]}" "/proc/$pid/fd/$n" 2>/dev/null
		fi
		_esc_simple "fchmod$n" "2 fchmod(fd $n -> $t, 0$(printf %o "${FD_CHMOD[$n]}"))" "$side"
	done
	# 3
	side=
	[ -e "$E/dir/victim" ] || side="$E/dir/victim is gone"
	_esc_simple unlink "3 unlink a root-owned file" "$side"
	side=
	[ -e "$E/dir/victim2" ] && [ ! -e "$E/dir/renamed" ] || side="$E/dir/victim2 was renamed"
	_esc_simple rename "3 rename a root-owned file" "$side"
	# 4
	if [ $tmpfs_ok = 1 ]; then
		side=
		mountpoint -q "$E/tmpfs" || side="$E/tmpfs is no longer mounted"
		[ $vis_tmpfs = 1 ] && ! awk -v m="$E/tmpfs" '$5 == m { f = 1 } END { exit !f }' \
			"/proc/$pid/mountinfo" 2>/dev/null && side="$E/tmpfs is gone from $pid's mount namespace"
		_esc_simple umount "4 umount2 an unrelated tmpfs" "$side"
	else
		_esc_notrun "4 umount2 an unrelated tmpfs" "mount -t tmpfs: $(cat "$E/tmpfs.err")"
	fi
	# 5
	local sum_after
	for f in "${sumfiles[@]}"; do
		sum_after=$(sha256sum <"$f" | cut -d' ' -f1)
		[ "$sum_after" = "${SUM[$f]}" ] || SUM[$f]=changed
	done
	i=0
	for a in "${rw_keys[@]}"; do
		side= f=
		case $a in
		disk) f=$E/disk.img ;;
		loopro) f=$E/loop-ro.img ;;
		looprw) f=$E/loop-rw.img ;;
		f*) f=${files[${a#f}]} ;;
		esac
		[ "${SUM[$f]}" = changed ] && side="the bytes of $f changed"
		_esc_steps "5 open ${rw_names[$i]} O_RDWR and pwrite64" "$side" "${a}_open" "${a}_pw"
		i=$((i + 1))
	done
	[ -z "$loop_ro" ] && _esc_notrun "5 open a read-only loop device O_RDWR" "losetup -r: $(head -1 "$E/loop.err")"
	[ -z "$loop_rw" ] && _esc_notrun "5 open a writable loop device O_RDWR" "losetup: $(tail -1 "$E/loop.err")"
	for n in "${fds[@]}"; do
		side=
		t=${FD_TARGET[$n]}
		case ${FD_TYPE[$n]} in
		regular*)
			# through /proc: $t may name another file in this mount namespace
			a=$(stat -L -c %s "/proc/$pid/fd/$n" 2>/dev/null)
			if [ -n "$a" ] && [ "$a" != "${FD_SIZE[$n]}" ]; then
				side="it grew from ${FD_SIZE[$n]} to $a bytes (truncated back)"
				[ "$a" -gt "${FD_SIZE[$n]}" ] && truncate -s "${FD_SIZE[$n]}" "/proc/$pid/fd/$n"
			fi
			;;
		esac
		_esc_simple "pw$n" "5 pwrite64(fd $n -> $t, 1 byte at ${FD_PWOFF[$n]})" "$side"
	done
	# 6
	printf BVQUIT | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read()); s.close()' "$sockdir/sock"
	deadline=$((SECONDS + 10))
	while kill -0 "$listener_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.02; done
	side=
	if kill -0 "$listener_pid" 2>/dev/null; then
		side="the listener did not finish: cannot tell"
	elif [ -s "$E/sock.log" ]; then
		side="the root-only socket got $(head -1 "$E/sock.log")"
	fi
	listener_pid=
	_esc_steps "6 socket(AF_UNIX)+connect+send to a root-only 0600 socket" "$side" un_sock un_conn un_send
	_esc_simple in_sock "6 socket(AF_INET)"
	# 8
	_esc_simple shadow "8 open /etc/shadow O_RDONLY"
	# 9
	local st_after=$(grep -E '^(Uid|CapEff|CapPrm):' "/proc/$pid/status" 2>/dev/null)
	side=
	[ "$st_after" = "$(grep -E '^(Uid|CapEff|CapPrm):' <<<"$st_before")" ] ||
		side="now $(tr '\t\n' '  ' <<<"$st_after")"
	_esc_simple setuid "9 setuid(0)" "$side"
	_esc_simple setresuid "9 setresuid(0,0,0)" "$side"
	_esc_simple capset "9 capset raising every capability" "$side"
	# 10
	for n in "${fds[@]}"; do
		side=
		if [ "${FD_LOCKED[$n]}" = 1 ]; then
			grep -q '^lock:.*FLOCK' "/proc/$pid/fdinfo/$n" 2>/dev/null || side="its flock is gone"
			case ${FD_TYPE[$n]} in
			regular* | directory)
				flock -n "/proc/$pid/fd/$n" true 2>/dev/null && side="its flock is gone (flock -n got it)" ;;
			esac
		fi
		_esc_simple "flock$n" "10 flock(fd $n -> ${FD_TARGET[$n]}, LOCK_UN)$([ "${FD_LOCKED[$n]}" = 1 ] && echo ' (held lock)')" "$side"
	done
	# 7
	side=
	mountpoint -q "$E/mnt-target" && side="$E/mnt-target is mounted" && umount "$E/mnt-target"
	if awk -v m="$E/mnt-target" '$5 == m { f = 1 } END { exit !f }' "/proc/$pid/mountinfo" 2>/dev/null; then
		side="$E/mnt-target is mounted in $pid's mount namespace"
		command -v nsenter >/dev/null && nsenter -t "$pid" -m umount "$E/mnt-target"
	fi
	_esc_simple mount "7 mount a tmpfs" "$side"
	side=
	[ "$(awk '$1 == "TracerPid:" { print $2 }' "/proc/$sleeper_pid/status")" = "$tracer_before" ] ||
		side="pid $sleeper_pid is traced by $pid"
	_esc_simple ptrace "7 ptrace(PTRACE_ATTACH, root pid $sleeper_pid)" "$side"
	_esc_simple kill "7 kill(root pid $sleeper_pid, 0)"
	# A child pid as the result: that child got an unmapped stack and died at once.
	_esc_simple fork "7 fork (clone(SIGCHLD) without CLONE_THREAD)"
	_esc_simple unshare_user "7 unshare(CLONE_NEWUSER)"
	side=
	[ "$(readlink "/proc/$pid/task/$pid/ns/mnt" 2>/dev/null)" = "$mntns_before" ] ||
		side="thread $pid is now in mount namespace $(readlink "/proc/$pid/task/$pid/ns/mnt")"
	_esc_simple unshare_ns "7 unshare(CLONE_NEWNS)" "$side"
	if _esc_ran execve "7 execve(\"/bin/true\")"; then
		if _esc_refused execve && [ "${ER[execve]}" != 14 ]; then
			_esc_ok "7 execve(\"/bin/true\")" "$(_esc_err execve)"
		else
			_esc_fail "7 execve(\"/bin/true\")" "it got as far as copying argv (EFAULT): seccomp, Landlock and the exec permission let it through"
		fi
	fi
	# every other thread
	local tids=" ${R[maintid]:-} " tid
	for ((i = 2; i <= ntasks; i++)); do
		tid=${R[tid$i]:-}
		if [ -z "$tid" ] || [[ $tids == *" $tid "* ]]; then
			_esc_notrun "thread #$i: open /etc/shadow, open O_WRONLY, socket(AF_INET)" \
				"gdb could not select thread $i (it may have exited)"
			continue
		fi
		tids+="$tid "
		_esc_simple "t${i}_shadow" "8 thread $tid: open /etc/shadow O_RDONLY"
		_esc_simple "t${i}_append" "1 thread $tid: open a root-owned 0644 file O_WRONLY|O_APPEND"
		_esc_simple "t${i}_inet" "6 thread $tid: socket(AF_INET)"
	done
	[ -n "${R[done]:-}" ] || _esc_notrun "the whole session" "gdb did not reach its end (exit $gdb_rc): $(grep -v '^RES\|^TRY' "$E/gdb.log" | tail -1)"
	return $bad
)
