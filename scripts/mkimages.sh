#!/usr/bin/env bash
# Builds the test source tree and the image matrix the integration tests compare.
#
#   scripts/mkimages.sh OUTDIR
#
# OUTDIR/src      the source tree: every file type, size class, name class, owner, mode,
#                 xattr and timestamp the reader must get right (needs root for owners,
#                 devices, trusted.* xattrs)
# OUTDIR/src-1k   the same without the 4095-byte symlink, for 1 KiB blocks
# OUTDIR/src-1k-ext2  and without the 3100-byte xattr, for ext2 with 1 KiB blocks
# OUTDIR/bigsrc   one directory with thousands of long names (multi-level htree)
# OUTDIR/*.img    one image per row of the matrix below, made with `mkfs.ext4 -d`
# OUTDIR/kernel.img, largedir.img  written by the kernel (root and loop devices only):
#                 nanosecond timestamps, kernel-made extent trees and htree directories,
#                 unwritten extents
# OUTDIR/images.list one line per image: NAME<TAB>IMAGE<TAB>SOURCE TREE<TAB>MKFS OPTIONS
#
# mke2fs reads /etc/mke2fs.conf as usual; what each image tests is pinned by -t/-O/-b/-I.
set -euo pipefail

die() { echo "mkimages: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: $0 OUTDIR"
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/src
bigsrc=$out/bigsrc
src1k=$out/src-1k
src1k2=$out/src-1k-ext2
root=0
[ "$(id -u)" -eq 0 ] && root=1

# Deterministic content: the same bytes on every run. One python process writes every piece
# queued with `want SIZE SEED OFFSET PATH` (OFFSET - : a new file; a number: written there,
# leaving a hole before it) when flush_content runs: python start-up is slow.
queue=()
want() { queue+=("$1 $2 $3 $4"); }
flush_content() {
	printf '%s\n' "${queue[@]}" | python3 -c '
import os, sys, hashlib
for line in sys.stdin:
	n, seed, off, path = line.rstrip("\n").split(" ", 3)
	n, seed, i = int(n), seed.encode(), 0
	fd = os.open(path, os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if off == "-" else 0), 0o644)
	with os.fdopen(fd, "wb") as f:
		f.seek(0 if off == "-" else int(off))
		while n > 0:
			block = hashlib.sha256(seed + i.to_bytes(8, "little")).digest() * 128
			f.write(block[:n])
			n -= min(n, len(block))
			i += 1
'
	queue=()
}
content() { # SIZE SEED: to stdout, for pipes
	python3 -c '
import sys, hashlib
n, seed, i = int(sys.argv[1]), sys.argv[2].encode(), 0
while n > 0:
	block = hashlib.sha256(seed + i.to_bytes(8, "little")).digest() * 128
	sys.stdout.buffer.write(block[:n])
	n -= min(n, len(block))
	i += 1
' "$1" "$2"
}

build_src() {
	rm -rf "$src"
	mkdir -p "$src"
	cd "$src"

	# Regular files around the inline (60 bytes), 1 KiB, 4 KiB and 64 KiB boundaries.
	mkdir sizes
	for n in 0 1 59 60 61 1023 1024 1025 4095 4096 4097 65535 65536 65537 1048577 3145728; do
		want "$n" "size$n" - "sizes/f$n"
	done

	# Sparse files: a hole at the start, in the middle, at the end, and nothing but hole.
	mkdir sparse
	truncate -s 8M sparse/allhole
	want 4096 sp1 409600 sparse/head-hole
	want 5000 sp2 - sparse/mid-hole
	want 5000 sp3 3145728 sparse/mid-hole
	want 70000 sp4 - sparse/tail-hole
	for i in $(seq 0 40); do # many extents: one written block every 2 blocks
		want 1024 "sp5.$i" $((i * 8192)) sparse/many-extents
	done
	flush_content
	truncate -s 5M sparse/tail-hole

	# Names: the longest, non-ASCII, invalid UTF-8, odd characters.
	mkdir names
	long=$(printf 'n%.0s' $(seq 1 255))
	echo long >"names/$long"
	echo utf8 >"names/été-日本語-Ωμέγα"
	echo latin1 >"names/$(printf 'caf\xe9')"
	echo spaces >"names/ with spaces and	tab "
	echo dash >"names/-dash"
	echo nl >"names/new
line"

	# A deep path: 60 levels.
	deep=deep
	for i in $(seq 1 60); do deep=$deep/d$i; done
	mkdir -p "$deep" && echo bottom >"$deep/leaf"

	# Symlinks of every length class: fast (<60 bytes, in i_block), 60 and more (a block).
	mkdir links
	ln -s a links/len1
	ln -s "$(printf 't%.0s' $(seq 1 59))" links/len59
	ln -s "$(printf 't%.0s' $(seq 1 60))" links/len60
	ln -s "$(printf 't%.0s' $(seq 1 61))" links/len61
	ln -s "$(printf 'x/%.0s' $(seq 1 2047))y" links/len4095
	ln -s /sizes/f61 links/absolute
	ln -s ../sizes/f4097 links/relative
	ln -s ../sizes links/to-dir
	ln -s does/not/exist links/dangling
	ln -s loop-b links/loop-a
	ln -s loop-a links/loop-b

	# Hard links: a pair in one directory, a triple across three.
	mkdir -p hard/a hard/b hard/c
	want 3000 hard2 - hard/a/pair1
	want 9000 hard3 - hard/a/tri
	want 3100 big - "$out/.big"
	flush_content
	ln hard/a/pair1 hard/a/pair2
	ln hard/a/tri hard/b/tri && ln hard/a/tri hard/c/tri-again

	# Special files: devices with old and new (large major/minor) encodings, fifo, socket.
	mkdir special
	mkfifo special/fifo
	python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' special/socket
	if [ $root -eq 1 ]; then
		mknod special/null c 1 3
		mknod special/loop0 b 7 0
		mknod special/c-259-1048575 c 259 1048575
		mknod special/b-4095-1048575 b 4095 1048575
		mknod special/c-256-0 c 256 0
		mknod special/c-0-256 c 0 256
	fi

	# Extended attributes: small and large user.*, trusted.*, security.*, POSIX ACLs.
	mkdir -p xattr/acl-dir
	echo x >xattr/small
	setfattr -n user.one -v 1 xattr/small
	setfattr -n user.empty xattr/small
	setfattr -n user.bin -v 0x00ff10fe xattr/small
	echo x >xattr/large
	setfattr -n user.big -v "0x$(od -An -tx1 -v "$out/.big" | tr -d ' \n')" xattr/large
	rm -f "$out/.big"
	setfattr -n user.mid -v "$(printf 'm%.0s' $(seq 1 400))" xattr/large
	echo x >xattr/many
	for i in $(seq 1 30); do setfattr -n "user.attr$i" -v "value$i" xattr/many; done
	echo x >xattr/acl-file
	setfacl -m u:1000:rw,g:100:r,m::rw xattr/acl-file
	setfacl -d -m u:1000:rwx xattr/acl-dir
	mkdir -p xattr/on-dir && setfattr -n user.dir -v d xattr/on-dir
	ln -s small xattr/symlink
	if [ $root -eq 1 ]; then
		setfattr -n trusted.t -v trusted-value xattr/small
		setfattr -n security.s -v security-value xattr/small
		setfattr -h -n trusted.onlink -v l xattr/symlink
	fi

	# Owners (100000 needs the high 16 bits) and modes.
	mkdir owners modes
	for id in 0 1000 65534 100000; do
		echo "$id" >"owners/u$id"
		[ $root -eq 1 ] && chown "$id:$id" "owners/u$id"
	done
	if [ $root -eq 1 ]; then
		echo mixed >owners/u1000-g65534 && chown 1000:65534 owners/u1000-g65534
		ln -s u0 owners/link-100000 && chown -h 100000:100000 owners/link-100000
		mkdir owners/dir-1000 && chown 1000:1000 owners/dir-1000
	fi
	for m in 4755 2755 6711 0000 0777 0644 0400; do
		echo "$m" >"modes/f$m" && chmod "$m" "modes/f$m"
	done
	mkdir modes/sticky modes/d0000 modes/d2775 && chmod 1777 modes/sticky
	chmod 2775 modes/d2775

	# A directory with over a thousand entries: htree in every image with dir_index.
	mkdir bigdir
	(cd bigdir && seq -f 'entry-%05g' 1 1500 | xargs touch)

	# Timestamps: before 1970, after 2038 (needs 256-byte inodes), epoch, near 2038.
	mkdir times
	for t in 1960-01-01 1901-12-14 1970-01-01 2038-01-19 2038-01-20 2100-01-01 2400-12-31; do
		echo "$t" >"times/t$t"
		touch -d "$t 12:34:56 UTC" "times/t$t"
	done
	ln -s t1960-01-01 times/link-2100 && touch -h -d '2100-01-01 UTC' times/link-2100

	# Fixed times everywhere else, directories last (adding entries changed them).
	find . -path ./times -prune -o -exec touch -h -d '2024-05-06 07:08:09 UTC' {} +
	touch -d '2001-02-03 04:05:06 UTC' times
	touch -d '2024-05-06 07:08:09 UTC' .
	chmod 0755 .
	cd - >/dev/null
}

build_bigsrc() {
	rm -rf "$bigsrc"
	mkdir -p "$bigsrc/huge"
	# Long names so that even 4 KiB leaf blocks overflow one index block.
	(cd "$bigsrc/huge" && seq -f "%06g-$(printf 'L%.0s' $(seq 1 120))" 1 12000 | xargs touch)
	echo top >"$bigsrc/readme"
	find "$bigsrc" -exec touch -h -d '2024-05-06 07:08:09 UTC' {} +
}

list=$out/images.list.tmp
: >"$list"
made=()
failed=()

mkimg() { # NAME SIZE SRCDIR MKFS-OPTIONS...
	local name=$1 size=$2 dir=$3
	shift 3
	local img=$out/$name.img
	rm -f "$img"
	if mkfs.ext4 -q -F "$@" -d "$dir" "$img" "$size" >"$out/$name.log" 2>&1; then
		printf '%s\t%s\t%s\t%s\n' "$name" "$img" "$dir" "$*" >>"$list"
		made+=("$name")
	else
		failed+=("$name")
		echo "mkimages: $name: mkfs.ext4 $* failed:" >&2
		sed 's/^/  /' "$out/$name.log" >&2
	fi
}

# Extra files only the kernel makes: unwritten extents (preallocated, partly written).
kextra() { # MOUNTPOINT
	mkdir "$1/kextra" &&
	fallocate -l 3M "$1/kextra/unwritten" &&
	fallocate -l 1M "$1/kextra/part-written" &&
	: >"$1/kextra/keep-size" && fallocate -l 64K -n "$1/kextra/keep-size" &&
	want 5000 kx 163840 "$1/kextra/part-written" &&
	want 100000 kx2 - "$1/kextra/plain" &&
	flush_content
}

# An image written by the kernel: mkfs an empty one, mount it rw on a loop device, cp -a
# the tree in, run EXTRA (a function or :), unmount. Nanosecond timestamps, kernel-made
# extent trees and htree directories (mke2fs -d writes linear directories only).
mkkernel() { # NAME SIZE SRCDIR EXTRA MKFS-OPTIONS...
	local name=$1 size=$2 dir=$3 extra=$4 mnt dev rc=0
	shift 4
	local img=$out/$name.img
	if [ $root -eq 0 ] || ! command -v losetup >/dev/null; then
		echo "mkimages: $name.img skipped: needs root and losetup" >&2
		return 0
	fi
	rm -f "$img"
	mkfs.ext4 -q -F "$@" "$img" "$size" >"$out/$name.log" 2>&1 || rc=$?
	mnt=$(mktemp -d "$out/kmnt.XXXXXX")
	dev=
	[ $rc -eq 0 ] && { dev=$(losetup -f --show "$img") || rc=$?; }
	if [ $rc -ne 0 ] || ! mount -t ext4 "$dev" "$mnt" 2>>"$out/$name.log"; then
		[ -n "$dev" ] && losetup -d "$dev"
		rmdir "$mnt"
		echo "mkimages: $name.img skipped: cannot mount ext4 on a loop device here:" >&2
		sed 's/^/  /' "$out/$name.log" >&2
		return 0
	fi
	{ cp -a "$dir/." "$mnt/" && $extra "$mnt"; } 2>>"$out/$name.log" || rc=$?
	umount "$mnt" || rc=1
	losetup -d "$dev" || rc=1
	rmdir "$mnt"
	if [ $rc -ne 0 ]; then
		failed+=("$name")
		echo "mkimages: $name.img: writing through the kernel failed:" >&2
		sed 's/^/  /' "$out/$name.log" >&2
		return 0
	fi
	printf '%s\t%s\t%s\t%s\n' "$name" "$img" "$dir" "kernel cp -a; $*" >>"$list"
	made+=("$name")
}

start=$SECONDS
build_src
build_bigsrc
# 1 KiB blocks cannot hold a 4095-byte symlink (the kernel's limit is the block size).
rm -rf "$src1k"
cp -a "$src" "$src1k"
rm "$src1k/links/len4095"
touch -d '2024-05-06 07:08:09 UTC' "$src1k/links"
# ext2 has no ea_inode: a 1 KiB xattr block cannot hold the 3100-byte value.
rm -rf "$src1k2"
cp -a "$src1k" "$src1k2"
setfattr -x user.big "$src1k2/xattr/large"

# Every row pins block and inode size: /etc/mke2fs.conf would pick 1 KiB blocks and
# 128-byte inodes ("small") for images this size.
mkimg ext4        64M  "$src"    -t ext4 -b 4096 -I 256
mkimg ext2        64M  "$src"    -t ext2 -b 4096 -I 256
mkimg ext3        64M  "$src"    -t ext3 -b 4096 -I 256
mkimg 1k          64M  "$src1k"  -t ext4 -b 1024 -I 256 -O ea_inode
mkimg 64k         256M "$src"    -t ext4 -b 65536 -I 256
mkimg inode128    64M  "$src"    -t ext4 -b 4096 -I 128
mkimg nodirindex  64M  "$src"    -t ext4 -b 4096 -I 256 -O ^dir_index
mkimg inline      64M  "$src"    -t ext4 -b 4096 -I 256 -O inline_data
mkimg bigalloc    128M "$src"    -t ext4 -b 4096 -I 256 -O bigalloc -C 16384
mkimg metabg      64M  "$src"    -t ext4 -b 4096 -I 256 -O meta_bg,^resize_inode
mkimg no64bit     64M  "$src"    -t ext4 -b 4096 -I 256 -O ^64bit
mkimg ext2-1k     64M  "$src1k2" -t ext2 -b 1024 -I 128
# mke2fs -d writes linear directories; e2fsck -D rebuilds them as htree (e2fsprogs' layout).
mkimg htree       64M  "$src"    -t ext4 -b 4096 -I 256 -O dir_index
rc=0
[ -f "$out/htree.img" ] && { e2fsck -fyD "$out/htree.img" >>"$out/htree.log" 2>&1 || rc=$?; }
if [ $rc -gt 1 ]; then # 1 means "corrected": the directories were rebuilt
	failed+=(htree-e2fsck)
	echo "mkimages: htree: e2fsck -fyD failed:" >&2
	sed 's/^/  /' "$out/htree.log" >&2
fi
mkkernel kernel   64M  "$src"    kextra -t ext4 -b 4096 -I 256
mkkernel largedir 64M  "$bigsrc" :      -t ext4 -b 1024 -I 256 -O large_dir

mv "$list" "$out/images.list"
echo "mkimages: ${#made[@]} images in $out ($((SECONDS - start)) s): ${made[*]}"
if [ ${#failed[@]} -gt 0 ]; then
	echo "mkimages: FAILED: ${failed[*]}" >&2
	exit 1
fi
