# Helpers for the guest test scripts (sourced by /vm/test inside the VM).
# Each check prints one "BVVM: PASS|FAIL|SKIP name[: detail]" line; finish exits 0 when
# nothing failed, 1 otherwise.

bv_failed=0
bv_passed=0

pass() { echo "BVVM: PASS $1"; bv_passed=$((bv_passed + 1)); }
fail() { echo "BVVM: FAIL $1${2:+: $2}"; bv_failed=$((bv_failed + 1)); }
info() { echo "BVVM: INFO $*"; }
# skip_all REASON: the whole test cannot run here.
skip_all() { echo "BVVM: SKIP $*"; exit 77; }

# check NAME CMD...: runs CMD, passes when it exits 0; the output is kept for a failure.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "$* -> $(echo "$out" | tail -n 3 | tr '\n' ' ')"
		return 1
	fi
}

# must CMD...: a set-up step; its failure ends the test.
must() {
	local out
	if ! out=$("$@" 2>&1); then
		fail "setup" "$* -> $(echo "$out" | tail -n 3 | tr '\n' ' ')"
		finish
	fi
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s; 0 once it succeeds, 1 at the deadline.
# CMD is always tried once, so `wait_until 0 CMD` is CMD now.
wait_until() {
	local n=$(($1 * 10))
	shift
	while ! "$@"; do
		[ $n -gt 0 ] || return 1
		sleep 0.1
		n=$((n - 1))
	done
}

# Milliseconds since boot, from /proc/uptime (busybox date has no %N everywhere).
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

# PIDs of every bootviewfs process (keeper and server), one a line. By comm, not exe: a
# process on its way out (a server stuck closing a suspended device) has no exe any more.
bv_pids() {
	local p c
	for p in /proc/[0-9]*; do
		c=$(cat "$p/comm" 2>/dev/null) || continue
		[ "$c" = bootviewfs ] && echo "${p#/proc/}"
	done
}

# --- devices, mounts and trees --------------------------------------------------------

# "MAJ:MIN" of a block device, in the hex stat prints.
devno() { stat -L -c '%t:%T' "$1" 2>/dev/null; }

# Prints "PID FD" for every open fd on block device $1, in any process.
holders() {
	local want l p
	want=$(devno "$1")
	[ -n "$want" ] || return 0
	for l in /proc/[0-9]*/fd/*; do
		[ -b "$l" ] || continue
		[ "$(devno "$l")" = "$want" ] || continue
		p=${l#/proc/}
		echo "${p%%/*} ${l##*/}"
	done
}

no_holders() { [ -z "$(holders "$1")" ]; }

# Any FUSE mount at all (fusectl aside), in this mount namespace.
fuse_mounted() { grep -Eq ' - fuse(blk|\.[^ ]*)? ' /proc/self/mountinfo; }

# busybox-static has no mountpoint applet.
is_mounted() { awk -v d="$1" '$2 == d { f = 1 } END { exit !f }' /proc/mounts; }

not_mounted() { ! is_mounted "$1"; }

open_count() { dmsetup info -c --noheadings -o open "$1" 2>/dev/null | tr -d ' '; }

# Used data blocks of pool $1 (default "pool"): a write to a snapshot's shared block allocates a new one.
pool_used() { dmsetup status "${1:-pool}" | awk '{ split($6, a, "/"); print a[1] }'; }

# check_daemon_ro NAME DEV: every process holding DEV is bootviewfs, with DEV open O_RDONLY.
check_daemon_ro() {
	local name=$1 dev=$2 bad='' all='' n=0 pid fd flags exe
	holders "$dev" >/tmp/holders
	while read -r pid fd; do
		n=$((n + 1))
		exe=$(readlink "/proc/$pid/exe")
		flags=$(awk '/^flags:/ { print $2 }' "/proc/$pid/fdinfo/$fd")
		all="$all $flags"
		case $exe in */bootviewfs) ;; *) bad="$bad pid $pid is $exe;" ;; esac
		# flags is octal with a leading 0; O_ACCMODE is the low two bits.
		[ $((0$flags & 3)) -eq 0 ] || bad="$bad pid $pid fd $fd flags $flags;"
	done </tmp/holders
	if [ $n -eq 0 ]; then
		fail "$name" "nobody holds $dev"
	elif [ -n "$bad" ]; then
		fail "$name" "$bad"
	else
		pass "$name"
		info "$name: $n fd(s) on $dev, flags$all"
	fi
}

# check_files NAME DIR LIST: every file in LIST (sha256sum format) has that hash under DIR.
check_files() {
	check "$1" sh -c "cd '$2' && sha256sum -c -s '$3'"
}

# Sorted "sha256 path" for every regular file, "L target path" for symlinks, under $1.
tree_sums() {
	(cd "$1" && find . -path ./lost+found -prune -o \( -type f -o -type l \) -print |
		sort | while read -r f; do
			if [ -L "$f" ]; then echo "L $(readlink "$f") $f"
			else sha256sum "$f"; fi
		done)
}

# Sorted "mode uid gid links size mtime ino 'name' -> 'target'" of every entry under $1,
# and the sha256 of every regular file: what two views of one tree must agree on. find
# runs stat and sha256sum on many names at once (a fork per file is slow in the VM).
tree_meta() {
	(cd "$1" && {
		find . -path ./lost+found -prune -o -exec stat -c '%f %u %g %h %s %Y %i %N' {} +
		find . -path ./lost+found -prune -o -type f -exec sha256sum {} +
	} | LC_ALL=C sort)
}

# Sorted "TYPE path" (f, d or l) of every entry under $1, lost+found aside: the shape of a
# tree, which the host can print the same way for a tree it made.
tree_types() {
	(cd "$1" && for t in f d l; do
		find . -path ./lost+found -prune -o -type $t -print | sed "s|^|$t |"
	done | LC_ALL=C sort)
}

# not CMD...: succeeds when CMD fails.
not() { ! "$@"; }

finish() {
	echo "BVVM: INFO $bv_passed passed, $bv_failed failed"
	[ $bv_failed -eq 0 ] && exit 0
	exit 1
}
