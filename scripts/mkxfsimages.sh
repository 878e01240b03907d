#!/usr/bin/env bash
# Builds the XFS image matrix the XFS integration tests compare against the kernel.
#
#   scripts/mkxfsimages.sh OUTDIR
#
# Every image but one is made with mkfs.xfs and written through the kernel's own xfs on a
# read-write loop mount (root only), with the deterministic trees of scripts/xfspopulate.py
# plus what only tools do (setfacl, chattr, project ids, cp --reflink, shutdown). Each
# image's row says what it is; the script checks with xfs_db that the on-disk formats each
# image exists for were reached (directory, attribute-fork and data-fork formats) and fails
# loudly when one was not.
#
# OUTDIR/*.img          the images (sparse files)
# OUTDIR/v4src          the source tree of the v4 image (the host kernel may have no v4)
# OUTDIR/xfsimages.list one line per image, tab separated:
#                       NAME IMAGE SOURCE-TREE|- FLAGS MKFS-OPTIONS DESCRIPTION
#                       FLAGS: "-", or "dirty" (the log needs recovery: the kernel oracle
#                       is ro,norecovery, bootviewfs must be given -o norecovery)
# Exit: 0 built, 1 failed, 77 cannot build here (not root, no mkfs.xfs, no kernel xfs).
#
# mkfs.xfs 5.19 and later refuse filesystems under 300 MB unless TEST_DIR, TEST_DEV and
# QA_CHECK_FS are set (what fstests does): the images are 64-256 MiB to stay fast.
set -euo pipefail

die() { echo "mkxfsimages: $*" >&2; exit 1; }
cannot() { echo "mkxfsimages: SKIP: $*" >&2; exit 77; }
[ $# -eq 1 ] || die "usage: $0 OUTDIR"
[ "$(id -u)" -eq 0 ] || cannot "needs root (loop devices, kernel mounts)"
for p in mkfs.xfs xfs_db xfs_io losetup python3 setfacl chattr fallocate; do
	command -v $p >/dev/null || cannot "$p not installed"
done
grep -qw xfs /proc/filesystems || modprobe xfs 2>/dev/null || true
grep -qw xfs /proc/filesystems || cannot "the kernel has no xfs"

top=$(cd "$(dirname "$0")/.." && pwd)
pop=$top/scripts/xfspopulate.py
mkdir -p "$1"
out=$(cd "$1" && pwd)
export TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1

# Loop mounts (mount -o loop): the loop device goes with the unmount (autoclear).
mnt=$out/.mnt
cleanup() {
	set +e
	mountpoint -q "$mnt" && umount "$mnt"
	rmdir "$mnt" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$mnt"

list=$out/xfsimages.list.tmp
: >"$list"
made=()
start=$SECONDS

# --- helpers ------------------------------------------------------------------------------

# newimg NAME SIZE MKFS-OPTS...: a fresh image, mounted rw on $mnt (a loop mount).
newimg() {
	local name=$1 size=$2
	shift 2
	img=$out/$name.img
	rm -f "$img"
	truncate -s "$size" "$img"
	mkfs.xfs -q -f "$@" "$img" >"$out/$name.log" 2>&1 ||
		{ cat "$out/$name.log" >&2; die "$name: mkfs.xfs $* failed"; }
	mount -t xfs -o loop "$img" "$mnt" || die "$name: the kernel will not mount it read-write"
}

# ino PATH: inode number of PATH under the mount (kept for the xfs_db checks).
declare -A want_fmt=()
expect() { # PATH KIND: after the unmount, PATH must be KIND (see check_formats)
	want_fmt[$(stat -c %i "$mnt/$1")]="$1 $2"
}

# doneimg NAME SRC FLAGS DESC MKFS-OPTS...: unmount, check the formats, list the image.
doneimg() {
	local name=$1 src=$2 flags=$3 desc=$4
	shift 4
	if mountpoint -q "$mnt"; then
		umount "$mnt" || die "$name: cannot unmount"
	fi
	check_formats "$name"
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$img" "$src" "$flags" "${*:--}" "$desc" >>"$list"
	made+=("$name")
	echo "mkxfsimages: $name: $desc ($(du -h "$img" | cut -f1) used of $(du -h --apparent-size "$img" | cut -f1))"
}

db() { xfs_db -r "$@" "$img" 2>&1; }
field() { sed -n "s/^$1 = \([^ ]*\).*/\1/p"; }

# The format of inode INO: sf, block, leaf, node, btree (directories; by where their
# blocks sit: leaf blocks from 32 GiB, free-index blocks from 64 GiB of the fork), extents
# (others); attr-sf, attr-leaf, attr-node, attr-btree (the attribute fork, by the first
# attr block's magic).
fork_format() {
	local ino=$1 kind=$2 out fmt bs
	if [[ $kind == attr-* ]]; then
		out=$(db -c "inode $ino" -c "print core.aformat")
		fmt=$(echo "$out" | field core.aformat)
		case $fmt in
		1) echo attr-sf ;;
		3) echo attr-btree ;;
		2) case $(db -c "inode $ino" -c "ablock 0" -c "print hdr" | sed -n "s/^hdr.info.*magic = //p") in
			0x3bee | 0xfbee) echo attr-leaf ;;
			0x3ebe | 0xfebe) echo attr-node ;;
			*) echo attr-unknown ;;
			esac ;;
		*) echo "attr-format-$fmt" ;;
		esac
		return
	fi
	out=$(db -c "inode $ino" -c "print core.format core.nextents core.mode")
	fmt=$(echo "$out" | field core.format)
	case $fmt in
	1) echo sf; return ;;
	3) echo btree; return ;;
	2) ;;
	*) echo "format-$fmt"; return ;;
	esac
	if [ "$kind" = extents ]; then echo extents; return; fi
	bs=$(db -c "sb 0" -c "print blocksize" | field blocksize)
	db -c "inode $ino" -c "bmap" | awk -v leaf=$(((32 << 30) / bs)) -v free=$(((64 << 30) / bs)) '
		/^data offset/ { o = $3; if (o >= free) f = 1; else if (o >= leaf) l = 1 }
		END { print f ? "node" : l ? "leaf" : "block" }'
}

check_formats() { # NAME
	local ino got bad=0 path kind
	for ino in "${!want_fmt[@]}"; do
		read -r path kind <<<"${want_fmt[$ino]}"
		got=$(fork_format "$ino" "$kind")
		if [ "$got" != "$kind" ]; then
			echo "mkxfsimages: $1: /$path (inode $ino) is $got, not $kind" >&2
			bad=1
		fi
	done
	want_fmt=()
	[ $bad -eq 0 ] || die "$1: an on-disk format this image exists for was not reached"
}

# The tool-made parts: ACLs, flags, project ids (after the times: +i and +a refuse them).
acls() {
	setfacl -m u:1000:rw,g:100:r,m::rw "$mnt/attrs/sf"
	setfacl -m u:1000:r,u:1001:rw,g:1000:r,m::rw,o::- "$mnt/attrs/leaf"
	setfacl -d -m u:1000:rwx,g:100:rx "$mnt/attrs/dir"
	setfacl -m u:1000:rwx "$mnt/attrs/dir"
	mkdir "$mnt/attrs/dir/inherits" && echo x >"$mnt/attrs/dir/inherits/file"
}
flags() {
	local f=$mnt/special/flags
	chattr +d "$f/d"
	chattr +A "$f/A"
	chattr +S "$f/S"
	chattr -p 42 "$f/proj"
	xfs_io -c "chproj 4000000" "$f/projdir" >/dev/null
	xfs_io -c "chattr +P" "$f/projdir" >/dev/null # inherit the project id
	chattr +a "$f/a"
	chattr +i "$f/i"
}
populate() { # PARTS...: xfspopulate.py parts, then ACLs, times, flags
	local p
	for p in "$@"; do python3 "$pop" "$p" "$mnt"; done
	if [ "$1" = small ]; then
		expect dirs/sf sf
		expect dirs/node node
		expect attrs/sf attr-sf
		expect attrs/leaf attr-leaf
		expect special/extents btree
	fi
	[ -d "$mnt/attrs" ] && acls
	python3 "$pop" settimes "$mnt"
	[ -d "$mnt/special/flags" ] && flags
	return 0
}
expect_dirs() {
	expect dirs/sf sf
	expect dirs/block block
	expect dirs/leaf leaf
	expect dirs/node node
	[ -d "$mnt/dirs/btree" ] && expect dirs/btree btree
	return 0
}
expect_attrs() {
	expect attrs/sf attr-sf
	expect attrs/leaf attr-leaf
	[ -e "$mnt/attrs/node" ] && expect attrs/node attr-node
	return 0
}

# --- the matrix ---------------------------------------------------------------------------

# (a) mkfs.xfs defaults (v5: crc, finobt, sparse, reflink, bigtime, inobtcount, ftype,
# 512-byte inodes): a root-fs-like tree and the urunc artifacts.
newimg rootfs 128M
populate rootfs
doneimg rootfs - - "defaults (v5), rootfs-like tree + 4 MiB kernel, initrd, urunc.json"

# (b) directories of every format.
newimg dirs 64M
populate dirs
expect_dirs
doneimg dirs - - "directories: shortform, block, leaf, node, btree data fork, 255-byte names"

# (c) attribute forks of every format, every namespace, POSIX ACLs.
newimg attrs 64M
populate attrs
expect_attrs
expect attrs/remote attr-leaf
doneimg attrs - - "xattrs: shortform, leaf (50), node (2000), remote 60 KiB, user/trusted/security, ACLs"

# (g) file kinds, sparse and unwritten data, an extent btree, links, devices, modes,
# timestamps, project ids and chattr flags.
newimg special 64M
populate special times
expect special/extents btree
doneimg special - - "sparse 1 TiB, unwritten, 2500-extent btree file, symlinks, links, devices, modes, times, projid, flags"

# (d) 64 KiB directory blocks; 1 KiB filesystem blocks (1 KiB directory blocks).
newimg dirblk64k 64M -n size=65536
populate small bigdirs
want_fmt=()
expect dirs/sf sf
expect dirs/node block # 1000 names fit one 64 KiB block
expect bigdirs/leaf leaf
expect bigdirs/node node
doneimg dirblk64k - - "64 KiB directory blocks (-n size=65536)" -n size=65536
# 1 KiB blocks: directory blocks stay 4 KiB, 4 fs blocks each (mkfs.xfs refuses -n size
# under 4096: there are no 1 KiB directory blocks).
newimg bs1k 64M -b size=1024
populate small
expect attrs/leaf attr-node # attribute blocks are fs blocks: 1 KiB
doneimg bs1k - - "1 KiB blocks, 4 KiB directory blocks (-b size=1024)" -b size=1024

# (e) inode sizes.
newimg isize512 64M -i size=512
populate small
doneimg isize512 - - "512-byte inodes, explicit (-i size=512)" -i size=512
newimg isize2048 64M -i size=2048
populate small
doneimg isize2048 - - "2 KiB inodes (-i size=2048)" -i size=2048

# (f) reflink with shared extents, the reverse-mapping btree, large extent counters.
newimg reflink 64M -m reflink=1
populate small
mkdir "$mnt/shared"
cp --reflink=always "$mnt/unikernel/kernel" "$mnt/shared/kernel-clone"
cp --reflink=always "$mnt/special/extents" "$mnt/shared/extents-clone"
xfs_io -c "reflink $mnt/unikernel/initrd 0 4096 4096" "$mnt/shared/kernel-clone" >/dev/null
xfs_io -c "pwrite -S 0x5a 8192 100" "$mnt/shared/kernel-clone" >/dev/null # a CoW of one block
touch -h -d '2024-05-06 07:08:09.5 UTC' "$mnt/shared"/* "$mnt/shared"
doneimg reflink - - "reflink=1, files sharing extents (cp --reflink=always, FICLONERANGE, one CoW)" -m reflink=1
newimg rmapbt 64M -m rmapbt=1
populate small
doneimg rmapbt - - "reverse-mapping btree (-m rmapbt=1)" -m rmapbt=1
newimg nrext64 64M -i nrext64=1
populate small
doneimg nrext64 - - "large extent counters (-i nrext64=1)" -i nrext64=1

# (j) written by the kernel with plain cp -a of a real tree: the kernel's own layouts and
# nanosecond times.
newimg kernelcp 256M
if [ -d /usr/share/doc ] && [ "$(du -sm /usr/share/doc | cut -f1)" -lt 180 ]; then
	cp -a /usr/share/doc "$mnt/doc"
	what="cp -a /usr/share/doc ($(find "$mnt/doc" | wc -l) entries)"
else
	cp -a "$top/." "$mnt/src" # anywhere: this source tree
	what="cp -a of the source tree ($(find "$mnt/src" | wc -l) entries)"
fi
doneimg kernelcp - - "kernel-written: $what"

# (i) a dirty log: a clean first state written back (freeze), then changes that only the
# log holds when the filesystem is shut down (log flushed, nothing written back).
newimg dirty 64M
populate small
xfs_io -x -c "freeze" -c "thaw" "$mnt" >/dev/null 2>&1 || { sync; xfs_freeze -f "$mnt"; xfs_freeze -u "$mnt"; }
mkdir "$mnt/after-freeze"
for i in $(seq 1 20); do echo "$i" >"$mnt/after-freeze/f$i"; done
mv "$mnt/dirs/block" "$mnt/after-freeze/moved-block"
rm -rf "$mnt/dirs/leaf"
setfattr -n user.late -v 1 "$mnt/attrs/sf" 2>/dev/null || python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.late", b"1")' "$mnt/attrs/sf"
xfs_io -c fsync "$mnt/after-freeze/f20" >/dev/null
xfs_io -x -c "shutdown -f" "$mnt" >/dev/null
umount "$mnt"
# The log must now be dirty: xfs_logprint finds transactions after the last unmount.
lp=$(xfs_logprint -t "$img" 2>&1 || true)
echo "$lp" >"$out/dirty.logprint"
echo "$lp" | grep -q "TRANS" ||
	{ echo "$lp" | tail -20 >&2; die "dirty: the log holds no transactions after the shutdown"; }
doneimg dirty - dirty "dirty log: changes after a freeze only in the log (shutdown -f)"

# (h) v4 (-m crc=0). The host kernel may have no v4 support (CONFIG_XFS_SUPPORT_V4 is off
# in new kernels): made by mkfs.xfs -p from a source tree, no kernel needed.
v4src=$out/v4src
rm -rf "$v4src"
mkdir -p "$v4src"
python3 "$pop" noattrs "$v4src"
# mkfs.xfs -p reads every file whole, holes included: no 1 TiB file here.
rm "$v4src/special/sparse-1t"
# A protofile mode has no sticky bit (type, u/g, three octal digits).
find "$v4src" -perm -1000 -exec chmod -t {} +
python3 "$pop" settimes "$v4src"
python3 "$pop" proto "$v4src" >"$out/v4.proto"
img=$out/v4.img
rm -f "$img"
truncate -s 64M "$img"
mkfs.xfs -q -f -m crc=0 -p "$out/v4.proto" "$img" >"$out/v4.log" 2>&1 ||
	{ cat "$out/v4.log" >&2; die "v4: mkfs.xfs -m crc=0 -p failed"; }
echo "mkxfsimages: v4: crc=0 (v4), made by mkfs.xfs -p from $v4src ($(du -h "$img" | cut -f1) used)"
printf '%s\t%s\t%s\t%s\t%s\t%s\n' v4 "$img" "$v4src" - "-m crc=0" \
	"v4 (-m crc=0), populated by mkfs.xfs -p" >>"$list"
made+=(v4)

mv "$list" "$out/xfsimages.list"
echo "mkxfsimages: ${#made[@]} images in $out ($((SECONDS - start)) s): ${made[*]}"
