#!/usr/bin/env bash
# The README runs as written: every ```sh block of README.md, in order, in one shell with
# `set -e`, from the top of the repository as a newcomer pastes them after `make demo` or
# `make check`, then the man page's EXAMPLES and docs/integration.md's ```sh block with
# their placeholders filled in. A fenced block right after a `<!-- not run ... -->` line
# is not run (the set-up commands themselves, data, fragments of other programs); a block
# neither run nor marked fails the test (Go blocks excepted: shim_client.sh compares them
# with examples/shim). `make install` included: it runs in a private mount namespace
# whose /usr/local and /sbin (where /sbin leads: /usr/sbin on a merged /usr) are writable
# overlays, so the machine is never changed, and mktemp works under this test's own
# directory. Whatever a failed block left mounted is unmounted; then no process may be
# left in the namespace (one left is killed and fails the test), so none of its mounts
# outlives the test.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lib.sh"

is_root || skip "needs root (the README's commands run as root; make install)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -x "$bin" ] || skip "$bin not built"
command -v unshare >/dev/null || skip "unshare not installed"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
grep -qw overlay /proc/filesystems || skip "no overlayfs for a private /usr/local"

# Markdown: every fenced block is run (```sh), or marked with a "not run" comment on the
# line before it saying why, or is Go that shim_client.sh compares with examples/shim: a
# block of any other kind fails here rather than being skipped in silence.
cat >"$tmp/md.py" <<'PY'
import re, sys
path, subst = sys.argv[1], sys.argv[2:]
text = open(path).read()
run, marked, go, bad = [], 0, 0, []
for m in re.finditer(r"^```([\w-]*)\n(.*?)^```$", text, re.S | re.M):
    before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
    line = text.count("\n", 0, m.start()) + 1
    if re.match(r"<!--.*not run.*-->$", before):
        marked += 1
    elif m.group(1) == "sh":
        body = m.group(2)
        for pair in subst:           # PLACEHOLDER=value
            k, v = pair.split("=", 1)
            body = re.sub(r"(?<![\w.])%s(?![\w])" % re.escape(k), v, body)
        run.append("# %s line %d\n%s" % (path.rsplit("/", 1)[-1], line, body))
    elif m.group(1) == "go":
        go += 1
    else:
        bad.append("line %d (```%s)" % (line, m.group(1)))
if bad:
    sys.exit("%s: blocks neither run nor marked 'not run': %s" % (path, ", ".join(bad)))
if not run:
    sys.exit("%s: no ```sh block to run" % path)
print("# %s: %d blocks run, %d marked not run, %d Go" % (path.rsplit("/", 1)[-1], len(run), marked, go))
print("\n".join(run))
PY
python3 "$tmp/md.py" "$top/README.md" >"$tmp/blocks.sh" || die "cannot extract README.md's blocks"
grep -q '^make install' "$tmp/blocks.sh" || die "README.md no longer runs make install: update this test"
# Then the man page's EXAMPLES, as text (troff escapes undone), each after a prelude that
# gives its placeholders values; "..." stands for the shim's own work and is left out.
python3 - "$top/docs/bootviewfs.1" >>"$tmp/blocks.sh" <<'PY' || die "cannot extract the man page's examples"
import re, sys
man = open(sys.argv[1]).read()
ex = man.split(".SH EXAMPLES", 1)[1].split("\n.SH ", 1)[0]
blocks = re.findall(r"^\.nf\n(.*?)^\.fi$", ex, re.S | re.M)
if len(blocks) < 2:
    sys.exit("fewer than two examples in EXAMPLES")
print("# the man page's EXAMPLES (%d)" % len(blocks))
print("cp img.ext4 image.ext4 && mkdir -p /mnt/view b2 && B=$PWD/b2 ID=c2")
print("""printf '[{"type":"ext4","source":"%s/image.ext4","options":["ro"]}]\\n' "$PWD" >mounts.json""")
for b in blocks:
    b = b.replace("\\-", "-").replace("\\e", "\\")
    print("\n".join(l for l in b.splitlines() if l.strip() != "..."))
PY

# Then docs/integration.md's runnable block (starting a view), its placeholders filled;
# the ready line is checked and the view stopped after it.
python3 "$tmp/md.py" "$top/docs/integration.md" BUNDLE='$PWD/b3' CONTAINER_ID=c3 \
	MOUNTS.json=mounts3.json READY_PIPE=ready3.json >"$tmp/integration.sh" ||
	die "cannot extract docs/integration.md's blocks"
{
	cat <<'SH'
printf '[{"type":"ext4","source":"%s/img.ext4","options":["ro","loop"]}]\n' "$PWD" >mounts3.json
SH
	cat "$tmp/integration.sh"
	cat <<'SH'
grep -q '"status":"ready"' ready3.json && test -f b3/rootfs-view-mount/urunc.json
bootviewfs stop --state-dir b3/bootviewfs && test ! -e b3/rootfs-view-mount
SH
} >>"$tmp/blocks.sh"

mkdir -p "$tmp/scratch" "$tmp/ov"
host_before=$(ls -l /sbin/mount.fuse.bootviewfs /usr/local/bin/bootviewfs 2>&1)
unshare -m --propagation private bash -s "$top" "$tmp" <<'NS' >"$tmp/out" 2>&1
top=$1 tmp=$2
readlink /proc/self/ns/mnt >"$tmp/ns"
for d in /usr/local "$(readlink -f /sbin)"; do
	n=${d//\//_}
	mkdir -p "$tmp/ov/$n.up" "$tmp/ov/$n.work"
	mount -t overlay overlay \
		-o "lowerdir=$d,upperdir=$tmp/ov/$n.up,workdir=$tmp/ov/$n.work" "$d" || exit 77
done
# The man page's example mounts on /mnt/view: a tmpfs of this namespace holds it.
mount -t tmpfs tmpfs /mnt || exit 1
# Whatever a failed block left: views stopped, mounts of the namespace detached.
# The filesystem type follows the "-" that ends mountinfo's optional fields (none in a
# private namespace: it is field 8 there, 9 elsewhere).
cleanup() {
	find "$tmp/scratch" -name state.json -printf '%h\n' 2>/dev/null |
		while read -r s; do bootviewfs stop --state-dir "$s" --timeout 2 >/dev/null 2>&1; done
	awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "fuse.bootviewfs")
		print $5; break } }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m"; done
}
trap cleanup EXIT
cd "$top" || exit 1
# A newcomer's shell: no BUILD or SAN from the test runner (make install builds build/).
unset BUILD SAN
export TMPDIR=$tmp/scratch
bash -e -o pipefail -x "$tmp/blocks.sh"
NS
rc=$?
# A process left in the namespace (a daemon that outlived its stop or its unmount) keeps
# the namespace, and so its mounts, alive: wait for them to go, kill what stays (processes
# this test started), and fail, whatever the blocks did.
ns_members() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$1" ] && echo "${p#/proc/}"
	done
}
ns=$(cat "$tmp/ns" 2>/dev/null) left=
for i in $(seq 1 50); do
	[ -n "$ns" ] && left=$(ns_members "$ns")
	[ -z "$left" ] && break
	sleep 0.1
done
for p in $left; do
	echo "left in the namespace: $p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" >>"$tmp/out"
	kill -KILL "$p" 2>/dev/null
done
[ "${BV_KEEP:-0}" = 1 ] && cp "$tmp/out" /tmp/readme.out
[ $rc -eq 77 ] && skip "cannot lay a writable /usr/local over the host's in a mount namespace"
if [ $rc -ne 0 ]; then
	tail -n 25 "$tmp/out"
	die "a README block failed (exit $rc)"
fi
[ -z "$left" ] || die "processes left in the test's mount namespace (killed): $(grep '^left in' "$tmp/out")"
grep -q '"status":"ready"' "$tmp/out" || die "no ready line in the shim block's output"
grep -q '"fs":"ext4"' "$tmp/out" || die "probe printed no filesystem"
[ "$(ls -l /sbin/mount.fuse.bootviewfs /usr/local/bin/bootviewfs 2>&1)" = "$host_before" ] ||
	die "make install changed the host"
echo "PASS: readme ($(grep '^# .*: .* blocks run' "$tmp/blocks.sh" | sed 's/^# //' | paste -sd';' | sed 's/;/; /g'); the man page's examples)"
exit 0
