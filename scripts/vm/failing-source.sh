#!/bin/sh
# Guest side of tests/integration/failing_source.sh, run by scripts/vm-test.sh as /vm/test.
#
# A dm device over the image disk, served by bootviewfs, then made to fail under the
# serving daemon, one case each (a fresh device and daemon per case):
#   error    `dmsetup reload` of an error table: uncached reads get EIO (counted), a file
#            already in the page cache and cached metadata still read, the daemon
#            answers, its log says so once;
#   flakey   a flakey table (up 1 s, down 1 s): reads succeed or get EIO, and every one
#            that succeeds has the image's bytes;
#   suspend  `dmsetup suspend`: a reader waits and completes after resume; `stop` while
#            suspended ends the view within a bound (timed), and after resume nothing
#            is left;
#   remove   `dmsetup remove --force --deferred` (error table, removal on last close):
#            EIO, the daemon alive, stop, then the device is gone.
# After each: no bootviewfs process, no FUSE mount, the device closed, state `stopped`.
#
# Argument: the image disk. /vm/files/failsrc.sha256 lists its files (sha256sum format).
. /vm/lib.sh

img=$1
sums=/vm/files/failsrc.sha256
wait_until 5 test -b "$img" || skip_all "no disk $img"
sectors=$(blockdev --getsz "$img")
mnt=/mnt/v
mkdir -p $mnt
tag='reading the source failed'

# The page cache (FUSE's and the device's) and the dentries: reads must reach the device.
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# The image's sha256 of d/NAME.
want() { sed -n "s|^\([0-9a-f]*\)  d/$1\$|\1|p" $sums; }

# sums_ok NAME: the file reads whole through the view with the image's bytes.
sums_ok() { sha256sum "$mnt/d/$1" 2>/dev/null | grep -q "^$(want "$1") "; }

state_get() { sed -n "s/.*\"$2\": *\"\{0,1\}\([^\",]*\).*/\1/p" "$1/state.json" | head -n1; }

# serve NAME CASE TABLE: dm device NAME with TABLE, served at $mnt, state dir /run/CASE.
serve() {
	must dmsetup create "$1" --table "$3"
	must timeout 30 bootviewfs --state-dir "/run/$2" "/dev/mapper/$1" "$mnt"
	drop_caches
}

# eio_reads CASE FILE...: reads each file in 64 KiB blocks past failures (dd's noerror);
# prints how many blocks failed with EIO. Any other error is kept in /tmp/CASE.other.
eio_reads() {
	local c=$1 f
	shift
	: >"/tmp/$c.err"
	for f in "$@"; do
		dd if="$mnt/d/$f" of=/dev/null bs=64k conv=noerror 2>>"/tmp/$c.err"
	done
	grep -v -e 'Input/output error' -e 'records' -e 'bytes' "/tmp/$c.err" >"/tmp/$c.other"
	grep -c 'Input/output error' "/tmp/$c.err"
}

# The daemon lives and answers: status says ready, and a STATFS (never cached by the
# kernel) and a LOOKUP of a name never asked (its directory block is in the daemon's
# cache) are answered by the server.
check_alive() {
	check "$1-daemon-alive" bootviewfs status --state-dir "/run/$1"
	check "$1-daemon-answers-statfs" stat -f "$mnt"
	check "$1-daemon-answers-lookup" sh -c "ls $mnt/d/no-such-name 2>&1 | grep -q 'No such file'"
}

# check_logged_once CASE: one log line for the EIO kind, however many reads failed.
check_logged_once() {
	local n
	n=$(grep -c "$tag" "/run/$1/log")
	if [ "$n" = 1 ] && grep "$tag" "/run/$1/log" | grep -q 'Input/output error'; then
		pass "$1-logged-once"
	else
		fail "$1-logged-once" "$n lines: $(grep "$tag" "/run/$1/log" | head -n 3 | tr '\n' ' ')"
	fi
}

# timed_stop CASE: bootviewfs stop, its exit status checked and its time reported.
timed_stop() {
	local t0 rc
	t0=$(now_ms)
	timeout 60 bootviewfs stop --state-dir "/run/$1" >"/tmp/$1.stop" 2>&1
	rc=$?
	stop_ms=$(($(now_ms) - t0))
	info "$1: stop exit $rc in $stop_ms ms $(tr '\n' ' ' <"/tmp/$1.stop" | cut -c1-300)"
	check "$1-stop" test $rc = 0
}

no_daemon() { test -z "$(bv_pids)"; }

# check_gone CASE NAME [SECS [STATUS]]: nothing of the view is left (within SECS when
# given: the stop returned earlier and something finishes on its own); state.json says
# STATUS (default stopped).
check_gone() {
	local c=$1 n=$2 w=${3:-0} oc
	check "$c-no-daemon" wait_until "$w" no_daemon ||
		info "$c: left: $(for p in $(bv_pids); do grep State /proc/$p/status; done | tr '\n' ' ')"
	check "$c-no-fuse-mount" not fuse_mounted
	check "$c-no-holder" wait_until "$w" no_holders "/dev/mapper/$n"
	if dmsetup info "$n" >/dev/null 2>&1; then
		oc=$(open_count "$n")
		check "$c-device-closed" test "$oc" = 0
	fi
	check "$c-state-${4:-stopped}" test "$(state_get "/run/$c" status)" = "${4:-stopped}"
}

# ---- 1. error: the table swapped for `error` under a serving daemon ------------------
c=error n=bv-error
serve $n $c "0 $sectors linear $img 0"
check "$c-read-before" sums_ok f1
ls -l $mnt/d $mnt/d/e >/tmp/ls.before 2>&1
must dmsetup reload $n --table "0 $sectors error"
must dmsetup resume $n
eio=$(eio_reads $c f2 f3 f4 f5 f6 f7 f8)
info "$c: $eio reads of 64 KiB failed with EIO over 7 uncached files"
check "$c-eio" test "$eio" -ge 7
check "$c-only-eio" not test -s /tmp/$c.other
check "$c-cached-file-reads" sums_ok f1
check "$c-cached-metadata" sh -c "ls -l $mnt/d $mnt/d/e 2>&1 | diff /tmp/ls.before -"
check "$c-stat" stat "$mnt/d/f5"
check_alive $c
check_logged_once $c
timed_stop $c
check_gone $c $n
must dmsetup remove $n

# ---- 2. flakey: reads fail or succeed, never wrong bytes -----------------------------
# Up 1 s, down 1 s (every bio fails while down). Rounds of uncached whole-file reads
# until both outcomes were seen three times, for at most 15 s.
c=flakey n=bv-flakey
serve $n $c "0 $sectors flakey $img 0 1 1"
ok=0 eio=0 wrong=0 other=0 rounds=0
end=$(($(now_ms) + 15000))
while [ "$(now_ms)" -lt $end ] && { [ $ok -lt 3 ] || [ $eio -lt 3 ]; }; do
	drop_caches
	rounds=$((rounds + 1))
	for f in f1 f2 f3 f4 f5 f6 f7 f8; do
		if out=$(sha256sum "$mnt/d/$f" 2>/tmp/$c.err); then
			if [ "${out%% *}" = "$(want $f)" ]; then
				ok=$((ok + 1))
			else
				wrong=$((wrong + 1))
				info "$c: $f read with wrong bytes: $(stat -c %s "$mnt/d/$f") bytes"
			fi
		elif grep -q 'Input/output error' /tmp/$c.err; then
			eio=$((eio + 1))
		else
			other=$((other + 1))
			info "$c: $f: $(cat /tmp/$c.err)"
		fi
	done
done
info "$c: $rounds rounds: $ok whole files read right, $eio EIO, $wrong wrong, $other other errors"
check "$c-some-reads-succeed" test $ok -ge 1
check "$c-some-reads-fail" test $eio -ge 1
check "$c-never-wrong-bytes" test $wrong = 0
check "$c-only-eio" test $other = 0
check_alive $c
check_logged_once $c
timed_stop $c
check_gone $c $n
must dmsetup remove $n

# ---- 3. suspend: readers wait; stop while suspended is bounded -----------------------
c=suspend n=bv-suspend
serve $n $c "0 $sectors linear $img 0"
spid=$(state_get /run/$c server_pid)
# A server thread waiting for the device shows as D (the page lock waits are killable).
server_waits() { grep -q '^State:.*D' /proc/$spid/task/*/status 2>/dev/null; }
reader() { (sha256sum "$mnt/d/$1" >/tmp/$1.out 2>&1; echo $? >/tmp/$1.rc) & }

must dmsetup suspend $n
reader f3
check "$c-server-waits" wait_until 10 server_waits
check "$c-reader-blocked" not wait_until 1 test -e /tmp/f3.rc
must dmsetup resume $n
check "$c-reader-completes" wait_until 20 test -e /tmp/f3.rc
check "$c-reader-right-bytes" grep -q "^$(want f3) " /tmp/f3.out

# Stop while suspended, with a reader waiting on the device.
drop_caches
must dmsetup suspend $n
reader f4
check "$c-server-waits-again" wait_until 10 server_waits
timed_stop $c
check "$c-stop-bounded" test $stop_ms -lt 15000
check "$c-unmounted-while-suspended" not is_mounted $mnt
check "$c-reader-ends-while-suspended" wait_until 10 test -e /tmp/f4.rc
info "$c: the reader ended with exit $(cat /tmp/f4.rc 2>/dev/null): $(tr '\n' ' ' </tmp/f4.out | cut -c1-200)"
info "$c: while suspended: processes $(bv_pids | tr '\n' ' '), open count $(open_count $n), state $(state_get /run/$c status)"
# The killed server cannot finish exiting while its read is queued: the keeper says so
# (failed, not stopped: the device is still open) instead of waiting for it.
check "$c-state-says-server-stuck" grep -q 'did not end: it still holds' /run/$c/state.json
check "$c-log-says-aborted" grep -q 'aborted: its readers get an error' /run/$c/log
must dmsetup resume $n
check_gone $c $n 10 failed
must dmsetup remove $n

# ---- 4. remove --force: the device goes away under the daemon ------------------------
c=remove n=bv-remove
serve $n $c "0 $sectors linear $img 0"
check "$c-read-before" sums_ok f1
dmsetup remove --force --deferred $n >/tmp/$c.rm 2>&1
info "$c: dmsetup remove --force --deferred exit $?; table now: $(dmsetup table $n 2>&1)"
check "$c-table-error" sh -c "dmsetup table $n | grep -q ' error'"
eio=$(eio_reads $c f2 f3 f4)
info "$c: $eio reads of 64 KiB failed with EIO over 3 uncached files"
check "$c-eio" test "$eio" -ge 3
check "$c-only-eio" not test -s /tmp/$c.other
check "$c-cached-file-reads" sums_ok f1
check_alive $c
check_logged_once $c
timed_stop $c
check "$c-device-gone" wait_until 5 not dmsetup info $n
check_gone $c $n

finish
