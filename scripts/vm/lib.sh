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
wait_until() {
	local n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

finish() {
	echo "BVVM: INFO $bv_passed passed, $bv_failed failed"
	[ $bv_failed -eq 0 ] && exit 0
	exit 1
}
