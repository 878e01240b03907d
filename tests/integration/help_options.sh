#!/usr/bin/env bash
# Help is the reference: every option the parsers accept appears in the command's --help
# and in the man page. The options are read from the C sources themselves (the getopt_long
# tables and optstrings, the -o option lists of cmd/mount_args.c, and the helper options
# mount(8) passes, which the man page's MOUNT(8) AND FSTAB lists), so an option added
# without its documentation fails here. Also: every --help exits 0 and states the exit codes, and the
# top-level --help writes each command's synopsis as the command's own --help does.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lib.sh"

[ -x "$bin" ] || skip "$bin not built"

for c in mount probe ls cat stat extract stop status; do
	"$bin" $c --help >"$tmp/help.$c" 2>&1 || die "bootviewfs $c --help exited $?"
	grep -qi "exit status" "$tmp/help.$c" || die "bootviewfs $c --help does not state its exit status"
done
"$bin" --help >"$tmp/help.top" 2>&1 || die "bootviewfs --help exited $?"
# The man page as text, without troff's font escapes and hyphen escapes.
sed -e 's/\\f[BIRP]//g' -e 's/\\-/-/g' -e 's/^\.[A-Z]* *//' "$top/docs/bootviewfs.1" >"$tmp/man.txt"

python3 - "$top" "$tmp" <<'PY'
import re, sys, os
top, tmp = sys.argv[1], sys.argv[2]
read = lambda p: open(p, errors="replace").read()
man = read(os.path.join(tmp, "man.txt"))
helps = {c: read(os.path.join(tmp, "help." + c)) for c in
         ["mount", "probe", "ls", "cat", "stat", "extract", "stop", "status", "top"]}
# Which --help texts document the options of each source file.
owners = {"cmd/mount_args.c": ["mount"], "cmd/cmd_read.c": ["probe", "ls", "cat", "stat", "extract"],
          "cmd/cmd_state.c": ["stop", "status"]}
bad = []
for f, cmds in owners.items():
    src = read(os.path.join(top, f))
    names = re.findall(r'\{\s*"([a-z][a-z-]*)",\s*(?:no|required|optional)_argument', src)
    if not names:
        bad.append("%s: no getopt_long table found (did the parser move?)" % f)
    for n in names:
        if n in ("help", "version"):
            continue
        if not any(re.search(r"--%s\b" % re.escape(n), helps[c]) for c in cmds):
            bad.append("--%s (%s) is in no --help of %s" % (n, f, ", ".join(cmds)))
        if not re.search(r"--%s\b" % re.escape(n), man):
            bad.append("--%s (%s) is not in docs/bootviewfs.1" % (n, f))

# Short options: the optstrings of getopt_long in each bv_cmd_* function (h is --help).
# The mount form's two: its own (in bootviewfs mount --help and the man page) and mount(8)'s
# helper options (in the man page's MOUNT(8) AND FSTAB).
short = lambda optstring: [ch for ch in optstring if ch.isalpha() and ch != "h"]
raw_man = read(os.path.join(top, "docs/bootviewfs.1"))
def man_section(title):
    """The text of the man page's section TITLE (up to the next .SH), troff undone."""
    parts = raw_man.split("\n.SH %s\n" % title, 1)
    if len(parts) < 2:
        return ""
    sec = parts[1].split("\n.SH ", 1)[0]
    return re.sub(r"^\.[A-Z]* *", "", re.sub(r"\\f[BIRP]", "", sec.replace("\\-", "-")), flags=re.M)
for f, cmds in owners.items():
    src = read(os.path.join(top, f))
    for fn, body in re.findall(r"^int bv_cmd_(\w+)\(int argc.*?\n\{(.*?)\n\}", src, re.S | re.M):
        for optstring in re.findall(r'getopt_long\(argc, argv, "([^"]*)"', body):
            for ch in short(optstring):
                if not re.search(r"(?<![\w-])-%s\b" % ch, helps[fn]):
                    bad.append("-%s (%s) is not in bootviewfs %s --help" % (ch, fn, fn))
                if not re.search(r"(?<![\w-])-%s\b" % ch, man):
                    bad.append("-%s (%s) is not in docs/bootviewfs.1" % (ch, fn))
m = re.search(r'optstring = mc->helper \? "([^"]*)" : "([^"]*)"', read(os.path.join(top, "cmd/mount_args.c")))
if not m:
    bad.append("cmd/mount_args.c: the optstrings of the mount form and of mount(8)'s helper not found")
else:
    helper_sec = man_section("MOUNT(8) AND FSTAB")
    if not helper_sec:
        bad.append("docs/bootviewfs.1 has no MOUNT(8) AND FSTAB section")
    for ch in short(m.group(1)):
        if not re.search(r"(?<![\w-])-%s\b" % ch, helper_sec):
            bad.append("-%s (mount(8)'s helper) is not in the man page's MOUNT(8) AND FSTAB" % ch)
    for ch in short(m.group(2)):
        if not re.search(r"(?<![\w-])-%s\b" % ch, helps["mount"]):
            bad.append("-%s is not in bootviewfs mount --help" % ch)
        if not re.search(r"(?<![\w-])-%s\b" % ch, man):
            bad.append("-%s (mount form) is not in docs/bootviewfs.1" % ch)

# -o options of the mount form.
src = read(os.path.join(top, "cmd/mount_args.c"))
def array(func, var):
    body = re.search(r"%s\(.*?\n\}" % func, src, re.S).group(0)
    arr = re.search(r"%s\[\]\s*=\s*\{(.*?)\};" % var, body, re.S).group(1)
    return re.findall(r'"([^"]+)"', arr)
ignored = array("opt_is_ignored", "names")
passthru = array("opt_is_passthru", "names") + array("opt_is_passthru", "prefixes")
body = re.search(r"static int opt_one\(.*?\n\}", src, re.S).group(0)
own = re.findall(r'str(?:n)?cmp\(o, "([^"]+)"', body)
atime = {"atime", "noatime", "diratime", "nodiratime", "relatime", "norelatime",
         "strictatime", "nostrictatime", "lazytime", "nolazytime"}
word = lambda n, text: re.search(r"(?<![\w-])%s" % re.escape(n), text)
for n in passthru + own:
    if n in atime:
        n = "atime options"
    if not word(n, helps["mount"]):
        bad.append("-o %s is not in bootviewfs mount --help" % n)
    if not word(n, man):
        bad.append("-o %s is not in docs/bootviewfs.1" % n)
for n in ignored:
    if n in ("ro", "nosuid", "nodev"):
        continue
    if not word(n, man):
        bad.append("-o %s (accepted from mount(8)) is not in docs/bootviewfs.1" % n)
# The top-level --help repeats each command's synopsis as the command's own usage writes it.
top = " ".join(helps["top"].split())
for c in ["probe", "ls", "cat", "stat", "extract", "stop", "status"]:
    syn = " ".join(re.search(r"^Usage: (bootviewfs %s\b.*)$" % c, helps[c], re.M).group(1).split())
    if syn not in top:
        bad.append("bootviewfs --help does not write '%s' as bootviewfs %s --help does" % (syn, c))
print("\n".join(bad) if bad else "options checked: %d long tables, %d -o names" %
      (len(owners), len(passthru) + len(own) + len(ignored)))
sys.exit(1 if bad else 0)
PY
rc=$?
[ $rc -eq 0 ] || die "options missing from the documentation (above)"
echo "PASS: help_options"
