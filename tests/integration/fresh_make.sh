#!/usr/bin/env bash
# README's two commands on a fresh machine: the Makefile is parsed as it would be there
# (PKG_CONFIG finds nothing; a fresh Debian 12 has no pkg-config at all), with `make -n`,
# so nothing is installed or built. It checks that
#   - make demo / make check reach scripts/install-deps.sh --if-missing before anything
#     can stop them, and then re-run make (which, with the libraries still missing under
#     -n, gives the clear message: after the install line, never before it);
#   - once install-deps has done its work (a stub PKG_CONFIG that finds nothing in the top
#     make and defers to the real pkg-config in the sub-make), they go on to compile;
#   - make deps / help / clean parse and run without the libraries;
#   - plain make and make all stop at once with the clear message naming the libraries
#     and scripts/install-deps.sh.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lib.sh"

command -v make >/dev/null || skip "make not installed"

fails=0
fail() { echo "FAIL: $testname: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# A stub that finds nothing, and one that finds nothing only in the top-level make.
mkdir -p "$tmp/bin"
cat >"$tmp/bin/pkg-config-none" <<'EOF'
#!/bin/sh
exit 1
EOF
cat >"$tmp/bin/pkg-config-after-install" <<'EOF'
#!/bin/sh
[ "${MAKELEVEL:-0}" -ge 1 ] && exec pkg-config "$@"
exit 1
EOF
chmod +x "$tmp/bin/"*

# fmake PKG_CONFIG ARGS...: make -n in the source tree as a fresh shell would run it (no
# MAKEFLAGS from an outer make, a build directory that does not exist); output in $out,
# exit status in $rc.
fmake() {
	local pc=$1
	shift
	out=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u SAN -u V -u BV_AFTER_INSTALL \
		PKG_CONFIG="$pc" BUILD="$tmp/build" make -C "$top" --no-print-directory -n "$@" 2>&1)
	rc=$?
}
clear_msg='missing libraries: fuse3 devmapper jansson blkid. Run: sudo scripts/install-deps.sh'
# line_of TEXT: the first line of $out containing TEXT (0 if none). A here-string, not a
# pipe: with pipefail, a reader that stops at the first match can make the writer die of
# SIGPIPE and the whole line print "N" and then "0".
line_of() { awk -v t="$1" 'index($0, t) { print NR; f = 1; exit } END { if (!f) print 0 }' <<<"$out"; }

for pc in "$tmp/bin/pkg-config-none" "$tmp/no/such/pkg-config" false; do
	pcn=$(basename "$pc")
	for goal in demo check; do
		fmake "$pc" "$goal"
		inst=$(line_of 'scripts/install-deps.sh --if-missing')
		msg=$(line_of 'missing libraries')
		if [ "$inst" -eq 0 ]; then
			fail "make $goal ($pcn): never reaches install-deps: $(printf '%s' "$out" | head -3)"
		elif [ "$inst" -ne 1 ]; then
			fail "make $goal ($pcn): something before install-deps: $(printf '%s' "$out" | head -3)"
		elif [ "$msg" -ne 0 ] && [ "$msg" -lt "$inst" ]; then
			fail "make $goal ($pcn): stops before install-deps: $out"
		else
			ok "make $goal ($pcn): install-deps first"
		fi
		[ "$(line_of 'no-print-directory')" -gt "$inst" ] ||
			fail "make $goal ($pcn): does not re-run make after install-deps"
		grep -q 'not found' <<<"$out" && fail "make $goal ($pcn): noise: $out"
	done
	for goal in deps help clean; do
		fmake "$pc" "$goal"
		[ $rc -eq 0 ] || fail "make $goal ($pcn): exit $rc: $out"
		[ "$(line_of 'missing libraries')" -eq 0 ] || fail "make $goal ($pcn): $out"
		[ $rc -eq 0 ] && ok "make $goal ($pcn): works without the libraries"
	done
	for goal in "" all; do
		fmake "$pc" $goal
		if [ $rc -ne 0 ] && [ "$(line_of "$clear_msg")" -eq 1 ]; then
			ok "make ${goal:-(no goal)} ($pcn): the clear message"
		else
			fail "make ${goal:-(no goal)} ($pcn): exit $rc, want the clear message first: $(printf '%s' "$out" | head -3)"
		fi
	done
done

# After install-deps: the re-run make compiles (only when this machine has the libraries).
if pkg-config --exists fuse3 devmapper jansson blkid 2>/dev/null; then
	for goal in demo check; do
		fmake "$tmp/bin/pkg-config-after-install" "$goal"
		inst=$(line_of 'scripts/install-deps.sh --if-missing')
		cc=$(line_of 'cmd/main.c')
		if [ $rc -eq 0 ] && [ "$inst" -eq 1 ] && [ "$cc" -gt 1 ]; then
			ok "make $goal: after install-deps the re-run make builds"
		else
			fail "make $goal after install-deps: exit $rc, install line $inst, compile line $cc: $(printf '%s' "$out" | head -5)"
		fi
	done
else
	echo "note: no libraries here, so the build after install-deps is not checked"
fi
[ -e "$tmp/build" ] && fail "make -n created $tmp/build"

[ $fails -eq 0 ] || { echo "FAIL: $testname: $fails checks failed"; exit 1; }
echo "PASS: $testname"
