#!/usr/bin/env bash
# The README runs as written: every ```sh block of README.md, in order, in one shell with
# `set -e`, from the top of the repository as a newcomer pastes them after `make demo` or
# `make check` (a block right after a `<!-- not run ... -->` line is not run: the set-up
# commands themselves), then the man page's EXAMPLES with their placeholders filled in. `make install` included: it runs in a private mount namespace
# whose /usr/local and /usr/sbin are writable overlays, so the machine is never changed,
# and mktemp works under this test's own directory. Whatever a failed block left mounted
# is unmounted; the test then checks that no daemon of it is left.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lib.sh"

is_root || skip "needs root (the README's commands run as root; make install)"
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -x "$bin" ] || skip "$bin not built"
command -v unshare >/dev/null || skip "unshare not installed"
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
grep -qw overlay /proc/filesystems || skip "no overlayfs for a private /usr/local"

python3 - "$top/README.md" >"$tmp/blocks.sh" <<'PY' || die "cannot extract README.md's blocks"
import re, sys
text = open(sys.argv[1]).read()
out, skipped = [], 0
for m in re.finditer(r"(?:^(<!--[^\n]*-->)\n)?^```sh\n(.*?)^```$", text, re.S | re.M):
    if m.group(1) and "not run" in m.group(1):
        skipped += 1
        continue
    out.append(m.group(2))
if not out:
    sys.exit("no ```sh block to run")
print("# %d blocks, %d marked not run" % (len(out), skipped))
print("\n".join(out))
PY
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

mkdir -p "$tmp/scratch" "$tmp/ov"
host_before=$(ls -l /sbin/mount.fuse.bootviewfs /usr/local/bin/bootviewfs 2>&1)
unshare -m --propagation private bash -s "$top" "$tmp" <<'NS' >"$tmp/out" 2>&1
top=$1 tmp=$2
for d in /usr/local /usr/sbin; do
	n=${d//\//_}
	mkdir -p "$tmp/ov/$n.up" "$tmp/ov/$n.work"
	mount -t overlay overlay \
		-o "lowerdir=$d,upperdir=$tmp/ov/$n.up,workdir=$tmp/ov/$n.work" "$d" || exit 77
done
# The man page's example mounts on /mnt/view: a tmpfs of this namespace holds it.
mount -t tmpfs tmpfs /mnt || exit 1
# Whatever a failed block left: views stopped, mounts of the namespace detached.
cleanup() {
	for s in "$tmp"/scratch/*/bundle/bootviewfs "$tmp"/scratch/*/b2/bootviewfs; do
		[ -d "$s" ] && bootviewfs stop --state-dir "$s" --timeout 2 >/dev/null 2>&1
	done
	awk '$9 == "fuse.bootviewfs" { print $5 }' /proc/self/mountinfo | sort -r |
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
[ "${BV_KEEP:-0}" = 1 ] && cp "$tmp/out" /tmp/readme.out
[ $rc -eq 77 ] && skip "cannot lay a writable /usr/local over the host's in a mount namespace"
if [ $rc -ne 0 ]; then
	tail -n 25 "$tmp/out"
	die "a README block failed (exit $rc)"
fi
grep -q '"status":"ready"' "$tmp/out" || die "no ready line in the shim block's output"
grep -q '"fs":"ext4"' "$tmp/out" || die "probe printed no filesystem"
# The views were stopped and their mounts gone with the namespace: no daemon may be left.
pids=$(pgrep -f "bootviewfs.*$tmp/scratch" || true)
[ -z "$pids" ] || die "daemons left: $pids"
[ "$(ls -l /sbin/mount.fuse.bootviewfs /usr/local/bin/bootviewfs 2>&1)" = "$host_before" ] ||
	die "make install changed the host"
echo "PASS: readme ($(head -n1 "$tmp/blocks.sh" | sed 's/^# //'); the man page's examples)"
exit 0
