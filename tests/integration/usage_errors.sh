#!/usr/bin/env bash
# Exit statuses are what the help says, and a bad command line reads the same everywhere.
#   - For every command, the code of "bad command line" is the same in its --help, in the
#     man page's EXIT STATUS and in the top-level --help (its "except ..." clause, or the
#     general rule); the parsed codes come from the texts, not from this script.
#   - Several bad command lines per command (unknown long and short option, a short one
#     inside a cluster, an option without its argument, a missing or extra operand) exit
#     with that code, print nothing on stdout and exactly two lines on stderr: one naming
#     what is wrong, then "try 'bootviewfs COMMAND --help'". No usage dump.
#   - Outcomes documented in the help texts: probe of ext4 and of zeros, ls of a missing
#     path, stop of an absent view (idempotent: 0), status of an absent view ("no view",
#     one line on stderr; --human: one line on stdout) and of a failed start ("not
#     ready"), stop and status of a directory others may write ("refused").
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lib.sh"

[ -x "$bin" ] || skip "$bin not built"
command -v python3 >/dev/null || skip "python3 not installed"
command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 not installed"

fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

cmds="mount probe ls cat stat extract stop status"
for c in $cmds; do
	"$bin" $c --help >"$tmp/help.$c" 2>&1 || fail "bootviewfs $c --help exited $?"
done
"$bin" --help >"$tmp/help.top" 2>&1 || fail "bootviewfs --help exited $?"

# One line per command: COMMAND, then its codes as "CODE=MEANING" words from its --help
# (spaces in meanings as _), then the bad-command-line code of the man page and of the
# top-level --help.
python3 - "$tmp" "$top/docs/bootviewfs.1" $cmds >"$tmp/codes" <<'PY' || die "cannot read the exit statuses"
import re, sys
tmp, man_path, cmds = sys.argv[1], sys.argv[2], sys.argv[3:]

def codes(text):
    """'0 a, 1 b or c, 2 bad command line.' -> {'a': 0, ...}, meanings lower-cased."""
    text = " ".join(text.split()).rstrip(".")
    out = {}
    for item in re.split(r"[,;]\s+(?=\d )", text):
        m = re.match(r"(\d) (.+)", item)
        if m:
            out[m.group(2).strip().rstrip(".").lower()] = int(m.group(1))
    return out

def bad_line(c):
    return [v for k, v in c.items() if k.startswith("bad command line")]

# The man page: EXIT STATUS entries, each a .TP tag naming commands, then its codes.
man = open(man_path).read()
sec = man.split(".SH EXIT STATUS", 1)[1].split("\n.SH ", 1)[0]
man_codes = {}
for entry in sec.split(".TP\n")[1:]:
    tag, _, body = entry.partition("\n")
    tag = re.sub(r'^\.[A-Z]+ |\\f[BIRP]|"', "", tag)
    body = re.sub(r"^\.[A-Z]+ ?", "", body, flags=re.M)
    names = ["mount"] if "mount form" in tag else re.findall(r"[a-z]+", tag)
    for n in names:
        man_codes[n] = codes(body)

top = " ".join(open(tmp + "/help.top").read().split())
top = top.split("Exit status:", 1)[1]
general, *excepts = re.split(r";\s*except\s+", top)
top_codes = {}
for e in excepts:
    name, _, rest = e.partition(":")
    top_codes[name.strip()] = codes(re.sub(r"\(.*?\)\.?$", "", rest))

for c in cmds:
    h = open("%s/help.%s" % (tmp, c)).read()
    if "Exit status:" not in h:
        sys.exit("bootviewfs %s --help states no exit status" % c)
    hc = codes(h.split("Exit status:", 1)[1])
    want = bad_line(hc)
    if len(want) != 1:
        sys.exit("bootviewfs %s --help: no one code for a bad command line: %s" % (c, hc))
    if c not in man_codes:
        sys.exit("the man page's EXIT STATUS has no entry for %s" % c)
    tc = top_codes.get(c, codes(general))
    print(c, " ".join("%d=%s" % (v, k.replace(" ", "_")) for k, v in hc.items()),
          "man=%s" % ",".join(map(str, bad_line(man_codes[c]))),
          "top=%s" % ",".join(map(str, bad_line(tc))))
PY
cat "$tmp/codes"

# code COMMAND MEANING: the code COMMAND's --help gives to the meaning that starts so.
code() {
	awk -v c="$1" -v m="$2" '$1 == c { for (i = 2; i <= NF; i++) {
		split($i, kv, "="); if (index(kv[2], m) == 1) { print kv[1]; exit } } }' "$tmp/codes"
}
for c in $cmds; do
	want=$(code $c bad_command_line)
	line=$(grep "^$c " "$tmp/codes")
	[ "${line##* man=}" = "$want top=$want" ] ||
		fail "$c: bad command line is exit $want in its --help, but: ${line#* man=}"
done

# bad COMMAND ARGS...: a bad command line of COMMAND (the mount form: COMMAND is mount,
# and "mount" is not passed) gives its code, two lines on stderr, nothing on stdout.
bad() {
	local c=$1 rc want err
	shift
	want=$(code $c bad_command_line)
	if [ $c = mount ]; then "$bin" "$@"; else "$bin" $c "$@"; fi >"$tmp/out" 2>"$tmp/err"
	rc=$?
	err=$(cat "$tmp/err")
	if [ "$rc" != "$want" ]; then
		fail "bootviewfs $c $*: exit $rc, its --help says $want: $err"
	elif [ -s "$tmp/out" ]; then
		fail "bootviewfs $c $*: printed on stdout: $(head -3 "$tmp/out")"
	elif [ "$(wc -l <"$tmp/err")" != 2 ] || [[ $(head -1 "$tmp/err") != "bootviewfs: "* ]] ||
		[ "$(tail -1 "$tmp/err")" != "try 'bootviewfs $c --help'" ]; then
		fail "bootviewfs $c $*: not one line then the hint: $err"
	else
		echo "ok: bootviewfs $c $* -> $rc: $(head -1 "$tmp/err")"
	fi
}

mkdir -p "$tmp/src/unikernel" "$tmp/mnt" "$tmp/dest"
echo kernel >"$tmp/src/unikernel/kernel"
img=$tmp/img.ext4
mkfs.ext4 -q -F -d "$tmp/src" "$img" 4M || die "mkfs.ext4 failed"

bad mount --bogus "$img" "$tmp/mnt"
bad mount -x "$img" "$tmp/mnt"
bad mount -fz "$img" "$tmp/mnt"
bad mount -o bogus "$img" "$tmp/mnt"
bad mount --state-dir
bad mount --over-mount=yes "$img" "$tmp/mnt"
bad mount "$img"
bad mount mount "$img"
bad probe
bad probe "$img" "$img"
bad ls --bogus "$img"
bad ls -lz "$img"
bad ls --all=1 "$img"
bad ls "$img" / /extra
bad cat "$img"
bad stat -x "$img" /
bad stat "$img"
bad extract "$img" "$tmp/dest"
for c in stop status; do
	bad $c
	bad $c --bogus --state-dir "$tmp/sd"
	bad $c --state-dir
	bad $c --state-dir "$tmp/sd" extra
done
bad stop --state-dir "$tmp/sd" --timeout abc
bad stop --state-dir "$tmp/sd" --human
bad status --state-dir "$tmp/sd" --timeout 1

# is COMMAND MEANING WANT-STDERR ARGS...: the exit code COMMAND's --help gives to MEANING.
# WANT-STDERR: "quiet" (nothing), "line" (exactly one line) or "any".
is() {
	local c=$1 m=$2 e=$3 rc want
	shift 3
	want=$(code $c "$m")
	[ -n "$want" ] || { fail "bootviewfs $c --help gives no code for '$m'"; return; }
	"$bin" $c "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		fail "bootviewfs $c $*: exit $rc, its --help says $want ($m): $(head -3 "$tmp/err")"
	elif [ $e = quiet ] && [ -s "$tmp/err" ]; then
		fail "bootviewfs $c $*: stderr: $(cat "$tmp/err")"
	elif [ $e = line ] && [ "$(wc -l <"$tmp/err")" != 1 ]; then
		fail "bootviewfs $c $*: not one line on stderr: '$(cat "$tmp/err")'"
	else
		echo "ok: bootviewfs $c $* -> $rc ($m)"
	fi
}
truncate -s 4M "$tmp/zeros"
is probe supported quiet "$img"
is probe not_supported any "$tmp/zeros"
grep -q '"supported": *false' "$tmp/out" || fail "probe of zeros: $(cat "$tmp/out")"
is ls success quiet "$img" /unikernel
is ls failure line "$img" /absent
is stop stopped quiet --state-dir "$tmp/absent"
mkdir -m 0777 "$tmp/open" && chmod 0777 "$tmp/open"
is stop something_is_still_running_or_mounted,_or_dir_refused line --state-dir "$tmp/open"
is status no_view line --state-dir "$tmp/absent"
is status not_ready_or_refused line --state-dir "$tmp/open"
is status no_view quiet --state-dir "$tmp/absent" --human
grep -q "^absent: " "$tmp/out" || fail "status --human of an absent view: stdout '$(cat "$tmp/out")'"
# A start that fails (no filesystem) leaves a failed view: not ready.
"$bin" --state-dir "$tmp/failed" "$tmp/zeros" "$tmp/mnt" 2>"$tmp/start.err" &&
	fail "a start on zeros succeeded"
is mount the_start_failed any --state-dir "$tmp/failed2" "$tmp/zeros" "$tmp/mnt"
is status not_ready quiet --state-dir "$tmp/failed"
grep -q '"status": *"failed"' "$tmp/out" || fail "status of a failed start: $(cat "$tmp/out")"
mountpoint -q "$tmp/mnt" && umount -l "$tmp/mnt"

[ $fails -eq 0 ] || die "$fails checks failed"
echo "PASS: $testname"
