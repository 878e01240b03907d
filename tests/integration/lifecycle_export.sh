#!/usr/bin/env bash
# Export mode (-o export=PATH[:PATH...], --export PATH): only the exported paths and the
# directories on the way to them exist in the mount. Hidden names fail with ENOENT for
# lookup, stat and listing; no symlink of the image is ever shown (a name that is a
# symlink in the image shows what it leads to inside the image), so a bind mount of an
# exported path always lands on the image's file. An exported directory shows only itself.
# Exit 0 pass, 1 fail, 77 skip.
set -uo pipefail
. "$(dirname "$0")/_lifecycle.sh"
make_image

sd=$tmp/bundle/bootviewfs mnt=$tmp/bundle/rootfs-view-mount
mkdir -p "$mnt"
_views+=("$sd")
line=$(start_view --state-dir "$sd" -o export=/unikernel/kernel:/urunc.json \
	--export /boot/vmlinuz --export usr/lib/ --require /unikernel/kernel "$img" "$mnt")
[ "$(json_get "$line" status)" = ready ] || fail "start: $line $(cat "$tmp/start.err")"

# The whole visible tree, as a walk sees it.
(cd "$mnt" && find . | sort) >"$tmp/tree"
printf '%s\n' . ./boot ./boot/vmlinuz ./unikernel ./unikernel/kernel ./urunc.json ./usr \
	./usr/lib | sort >"$tmp/want"
diff -u "$tmp/want" "$tmp/tree" || fail "find shows more or less than the exported tree"
ls -R "$mnt" >"$tmp/lsR" 2>&1 || fail "ls -R: $(cat "$tmp/lsR")"
for hidden in etc shadow escape-abs kernel-abs bootdir libc.so lost+found; do
	grep -qx "$hidden" "$tmp/lsR" && fail "ls -R shows $hidden"
done
[ -z "$(find "$mnt" -type l)" ] || fail "symlinks visible: $(find "$mnt" -type l)"

# Hidden paths: ENOENT for stat, lstat, listing, xattrs and open, through every route.
python3 - "$mnt" <<'PY' || fail "hidden paths are reachable"
import errno, os, sys
mnt = sys.argv[1]
bad = 0
for p in ["etc", "etc/shadow", "lost+found", "unikernel/escape-abs", "unikernel/kernel-abs",
          "unikernel/bootdir", "usr/lib/libc.so", "boot/../etc", "unikernel/nonexistent"]:
    full = os.path.join(mnt, p)
    for name, op in [("stat", os.stat), ("lstat", os.lstat), ("listdir", os.listdir),
                     ("listxattr", os.listxattr), ("open", lambda f: os.close(os.open(f, os.O_RDONLY)))]:
        try:
            op(full)
            print("FAIL: %s %s succeeded" % (name, p)); bad += 1
        except OSError as e:
            if e.errno != errno.ENOENT:
                print("FAIL: %s %s: %s, want ENOENT" % (name, p, e)); bad += 1
for d, want in [("", ["boot", "unikernel", "urunc.json", "usr"]), ("unikernel", ["kernel"]),
                ("boot", ["vmlinuz"]), ("usr", ["lib"]), ("usr/lib", [])]:
    got = sorted(os.listdir(os.path.join(mnt, d)))
    if got != want:
        print("FAIL: listdir %r = %r, want %r" % (d, got, want)); bad += 1
sys.exit(1 if bad else 0)
PY

# Exported names that are symlinks in the image are the files they lead to in the image.
kino=$(stat -c %i "$mnt/unikernel/kernel")
[ "$(stat -c %F:%i "$mnt/boot/vmlinuz")" = "regular file:$kino" ] ||
	fail "boot/vmlinuz: $(stat -c %F:%i "$mnt/boot/vmlinuz"), want the kernel's inode $kino"
cmp -s "$kernel_src" "$mnt/unikernel/kernel" || fail "kernel differs"
bindk=$tmp/bind-vmlinuz
touch "$bindk"
_binds+=("$bindk")
mount --bind "$mnt/boot/vmlinuz" "$bindk" || fail "bind mount of boot/vmlinuz"
cmp -s "$kernel_src" "$bindk" || fail "bind mount of boot/vmlinuz does not land on the kernel"
umount "$bindk"
"$bin" stop --state-dir "$sd" || fail "stop"
check_clean "export" "$sd" "$mnt" "$(json_get "$line" pid)"
ok "export mode: only the exported tree, hidden paths ENOENT, symlinks resolved in the image"

# Refused exports: each is a start failure naming the path, with nothing left behind.
n=0
long=$(printf 'a%.0s' $(seq 1 4095))
for case in "/unikernel/escape-abs:No such file" "/etc/../urunc.json:not allowed" \
	"/boot/vmlinuz:/unikernel/bootdir/vmlinuz:another name" "$long:too long" \
	"/$(printf 'b%.0s' $(seq 1 256)):too long"; do
	n=$((n + 1))
	want=${case##*:} paths=${case%:*}
	sd=$tmp/r$n/bootviewfs mnt=$tmp/r$n/mnt
	mkdir -p "$mnt"
	line=$(start_view --state-dir "$sd" -o "export=$paths" "$img" "$mnt")
	[ "$(json_get "$line" status)" = error ] || fail "export=$paths: $line"
	case $(json_get "$line" error) in *"$want"*) ;; *) fail "export=$paths: error '$(json_get "$line" error)' lacks '$want'" ;; esac
	state_is "$sd" failed || fail "export=$paths: state $(state_get "$sd" status)"
	is_mounted "$mnt" && { fail "export=$paths: mounted"; umount -l "$mnt"; }
	[ -e "$sd/control" ] && fail "export=$paths: control FIFO left"
	ok "export=${paths:0:40} refused: $(json_get "$line" error | cut -c1-80)"
done

# A missing export path is named once, not as "/nope: /nope: ...".
sd=$tmp/nope/bootviewfs mnt=$tmp/nope/mnt
mkdir -p "$mnt"
line=$(start_view --state-dir "$sd" --export /nope "$img" "$mnt")
case $(json_get "$line" error) in
*"export path /nope: No such file or directory"*) ok "a missing export path is named once" ;;
*) fail "--export /nope: error '$(json_get "$line" error)'" ;;
esac
finish
