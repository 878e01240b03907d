#!/usr/bin/env bash
# Boots Debian's cloud kernel under qemu with a busybox initramfs and runs one guest
# script in it: how the device-mapper tests run on machines whose kernel has no dm.
#
#   scripts/vm-test.sh [options] GUEST_SCRIPT [ARG...]   boot, run GUEST_SCRIPT, parse result
#   scripts/vm-test.sh --prepare                         fetch kernel, build the base image only
#   scripts/vm-test.sh --smoke                           boot and run scripts/vm/smoke.sh
#
# Options:
#   --disk FILE[:ro]   attach FILE as the next raw virtio disk (/dev/vda, /dev/vdb, ...)
#   --file SRC[:NAME]  put SRC into the guest as /vm/files/NAME (default: its basename)
#   --bin SRC[:DEST]   put executable SRC into the guest as DEST (default /usr/bin/NAME),
#                      with every shared library ldd names
#   --deb PKG:PATH     the same for PATH of Debian package PKG, which is `apt-get
#                      download`ed and unpacked under build/vm/debs/ (never installed)
#   --mem MB           guest memory (default 512)
#   --timeout SEC      give up on the guest after SEC seconds (default 120)
#   --accel A          qemu accelerator, tcg (default) or kvm; also $VM_ACCEL
#   --log FILE         where the serial console goes (default build/vm/console.GUEST.log)
#   -v                 echo the whole console, not only the result lines
#
# Nothing is installed on the host but qemu-system-x86 and busybox-static (apt-get, if
# root and missing): the kernel package is `apt-get download`ed and unpacked under
# build/vm/, once. The guest gets busybox, the dm/fuse/loop/virtio modules, dmsetup and
# $BUILD/bootviewfs, each with its shared libraries. The guest prints "BVVM: ..." lines on
# the serial console; the last is "BVVM: RESULT pass|fail|skip [reason]".
# Exit 0 pass, 1 fail (or no result before the timeout), 77 skip (reason on stdout).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
vmdir=$top/build/vm
meta_pkg=linux-image-cloud-amd64

# Modules the guest loads, by name; their dependencies are added from modinfo.
# xfs: containerd's devmapper snapshotter with fs_type = "xfs" (tests/integration/containerd.sh).
want_mods=(virtio_pci virtio_blk loop fuse dm-mod dm-thin-pool xfs)

skip() { echo "SKIP: vm-test: $*"; exit 77; }
die() { echo "FAIL: vm-test: $*"; exit 1; }
say() { echo "vm-test: $*" >&2; }

orig_args=("$@")
disks=() files=() bins=() debs=() mem=512 timeout=120 accel=${VM_ACCEL:-tcg} log='' verbose=0 prepare=0 guest=''
while [ $# -gt 0 ]; do
	case $1 in
	--disk) disks+=("$2"); shift 2 ;;
	--file) files+=("$2"); shift 2 ;;
	--bin) bins+=("$2"); shift 2 ;;
	--deb) debs+=("$2"); shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--accel) accel=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	-v) verbose=1; shift ;;
	--prepare) prepare=1; shift ;;
	--smoke) guest=$top/scripts/vm/smoke.sh; shift; break ;;
	-h | --help) sed -n '2,27p' "$0"; exit 0 ;;
	--) shift; break ;;
	-*) echo "usage: see $0 --help" >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ $prepare -eq 0 ] && [ -z "$guest" ]; then
	[ $# -ge 1 ] || { echo "usage: $0 [options] GUEST_SCRIPT [ARG...]" >&2; exit 2; }
	guest=$1
	shift
fi
guest_args=("$@")
[ -z "$guest" ] || [ -r "$guest" ] || die "no guest script $guest"

# --- host tools -----------------------------------------------------------------------
# A root without the packages installs them (the same list as scripts/install-deps.sh);
# anyone else gets a skip that says what is missing.
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
busybox_bin=
for b in /bin/busybox /usr/bin/busybox; do
	# The guest has no libc of its own for busybox: only a static one will do.
	if [ -x $b ] && ! ldd $b >/dev/null 2>&1; then busybox_bin=$b; break; fi
done
[ -n "$busybox_bin" ] || need_pkgs+=(busybox-static)
command -v dmsetup >/dev/null || need_pkgs+=(dmsetup)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
		skip "missing packages: ${need_pkgs[*]} (scripts/install-deps.sh installs them)"
	fi
	say "installing ${need_pkgs[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		"${need_pkgs[@]}" >"$vmdir.apt.log" 2>&1 ||
		{ DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$vmdir.apt.log" 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			"${need_pkgs[@]}" >>"$vmdir.apt.log" 2>&1; } ||
		skip "could not install ${need_pkgs[*]} (see $vmdir.apt.log)"
	exec "$0" "${orig_args[@]}"
fi
for b in /bin/busybox /usr/bin/busybox; do
	if [ -x $b ] && ! ldd $b >/dev/null 2>&1; then busybox_bin=$b; break; fi
done
if command -v cpio >/dev/null; then cpio=(cpio --quiet -o -H newc -R 0:0)
else cpio=("$busybox_bin" cpio -o -H newc -R 0:0); fi
for t in dpkg-deb modinfo gzip ldd; do
	command -v $t >/dev/null || skip "$t not installed"
done
mkdir -p "$vmdir" || die "cannot create $vmdir"
# Two runs at once (make check beside a run by hand) must not build the cache twice.
exec 9>"$vmdir/.lock"
command -v flock >/dev/null && flock 9

# --- kernel: apt-get download, dpkg-deb -x, never installed -------------------------
# The cloud meta package depends on exactly one versioned image package; that name is the
# cache key, so an apt-get update that brings a new kernel brings a new cache.
kernel_pkg() {
	apt-cache depends "$meta_pkg" 2>/dev/null | awk '/Depends: linux-image-/ { print $2; exit }'
}
# apt-cache takes seconds: the answer is kept for a day in build/vm/kernel-pkg.
pkg=
if [ -n "$(find "$vmdir/kernel-pkg" -mmin -1440 2>/dev/null)" ]; then
	pkg=$(cat "$vmdir/kernel-pkg")
	[ -e "$vmdir/$pkg/.unpacked" ] || pkg=
fi
[ -n "$pkg" ] || pkg=$(kernel_pkg)
if [ -z "$pkg" ] && ! ls -d "$vmdir"/linux-image-* >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
	say "apt-cache does not know $meta_pkg: apt-get update"
	apt-get update -q >"$vmdir.apt.log" 2>&1
	pkg=$(kernel_pkg)
fi
if [ -z "$pkg" ]; then
	# Offline: the newest kernel already unpacked will do.
	pkg=$(ls -d "$vmdir"/linux-image-* 2>/dev/null | sort -V | tail -n1)
	pkg=${pkg##*/}
fi
[ -n "$pkg" ] || skip "cannot resolve $meta_pkg (apt-get update needed, or no Debian archive)"
kdir=$vmdir/$pkg
echo "$pkg" >"$vmdir/kernel-pkg"
if [ ! -e "$kdir/.unpacked" ]; then
	say "downloading $pkg"
	rm -rf "$kdir" "$vmdir/dl"
	mkdir -p "$vmdir/dl" "$kdir/root"
	(cd "$vmdir/dl" && apt-get download -q "$pkg") >"$vmdir/dl/log" 2>&1 ||
		skip "apt-get download $pkg failed: $(tail -n1 "$vmdir/dl/log")"
	dpkg-deb -x "$vmdir"/dl/"$pkg"_*.deb "$kdir/root" || die "dpkg-deb -x failed"
	rm -rf "$vmdir/dl"
	touch "$kdir/.unpacked"
fi
vmlinuz=$(ls "$kdir"/root/boot/vmlinuz-* 2>/dev/null | head -n1)
[ -r "$vmlinuz" ] || die "no vmlinuz in $kdir"
kver=${vmlinuz##*/vmlinuz-}
moddir=$kdir/root/lib/modules/$kver
[ -d "$moddir" ] || moddir=$kdir/root/usr/lib/modules/$kver
[ -d "$moddir" ] || die "no modules for $kver in $kdir"

# --- base initramfs: busybox, modules, dmsetup (cached) ------------------------------
# Copies an executable and every library ldd names (the loader too) into tree $1.
copy_with_libs() {
	local tree=$1 exe=$2 dest=${3:-$2} lib
	mkdir -p "$tree$(dirname "$dest")"
	cp -L "$exe" "$tree$dest" || return 1
	for lib in $(ldd "$exe" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
		[ -e "$tree$lib" ] && continue
		mkdir -p "$tree$(dirname "$lib")"
		cp -L "$lib" "$tree$lib" || return 1
	done
}

# Prints the .ko files for the wanted modules, dependencies first, each once.
declare -A ko_path=() ko_done=()
resolve_mod() {
	local name=${1//-/_} dep f
	[ -n "${ko_done[$name]:-}" ] && return 0
	ko_done[$name]=1
	f=${ko_path[$name]:-}
	if [ -z "$f" ]; then
		# Built into this kernel: nothing to load.
		grep -q "/${name//_/[-_]}\.ko" "$moddir/modules.builtin" 2>/dev/null && return 0
		echo "vm-test: module $1 not found for $kver" >&2
		return 1
	fi
	for dep in $(modinfo -F depends "$f" | tr ',' ' '); do
		resolve_mod "$dep" || return 1
	done
	echo "$f"
}

base=$kdir/base.cpio.gz
if [ ! -s "$base" ] || [ "$0" -nt "$base" ]; then
	say "building the base initramfs for $kver"
	tree=$kdir/base
	rm -rf "$tree"
	mkdir -p "$tree"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,mnt,etc,modules,vm/files}
	cp "$busybox_bin" "$tree/bin/busybox"
	for a in $("$busybox_bin" --list-full); do
		[ -e "$tree/$a" ] || ln -s /bin/busybox "$tree/$a"
	done
	while IFS= read -r f; do
		n=${f##*/}
		ko_path[${n%%.ko*}]=$f
		ko_path[$(echo "${n%%.ko*}" | tr - _)]=$f
	done < <(find "$moddir/kernel" -name '*.ko*')
	: >"$tree/modules/order"
	for m in "${want_mods[@]}"; do
		resolve_mod "$m" >>"$tree/modules/list" || die "cannot resolve module $m"
	done
	while IFS= read -r f; do
		n=${f##*/}
		case $n in
		*.ko) cp "$f" "$tree/modules/$n" ;;
		*.ko.xz) xz -dc "$f" >"$tree/modules/${n%.xz}" ;;
		*.ko.zst) zstd -qdc "$f" >"$tree/modules/${n%.zst}" ;;
		*) die "cannot unpack module $f" ;;
		esac || die "cannot copy module $f"
		echo "${n%%.ko*}.ko" >>"$tree/modules/order"
	done <"$tree/modules/list"
	rm -f "$tree/modules/list"
	copy_with_libs "$tree" "$(command -v dmsetup)" /sbin/dmsetup || die "cannot copy dmsetup"
	# glibc dlopens libgcc_s for pthread_cancel and unwinding (libfuse's worker threads):
	# ldd cannot see it, and without it a daemon aborts on SIGTERM.
	for lib in $(ldconfig -p 2>/dev/null | awk '/^\tlibgcc_s\.so\.1 \(libc6,x86-64\)/ { print $NF }'); do
		mkdir -p "$tree$(dirname "$lib")" && cp -L "$lib" "$tree$lib" || die "cannot copy $lib"
	done
	ln -s /proc/self/mounts "$tree/etc/mtab"
	echo "root:x:0:0:root:/:/bin/sh" >"$tree/etc/passwd"
	echo "root:x:0:" >"$tree/etc/group"
	(cd "$tree" && find . | "${cpio[@]}" | gzip -1) >"$base.tmp" || die "cannot build $base"
	mv "$base.tmp" "$base" || die "cannot write $base"
	say "modules: $(tr '\n' ' ' <"$tree/modules/order")"
fi

# Prints where Debian package $1 is unpacked, downloading and unpacking it once (the
# version apt-cache names is the cache key: an update brings a new one).
deb_root() {
	local pkg=$1 ver dir
	candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2; exit }'; }
	ver=$(candidate "$pkg")
	if { [ -z "$ver" ] || [ "$ver" = "(none)" ]; } && [ "$(id -u)" -eq 0 ] &&
		! ls -d "$vmdir/debs/$pkg"_* >/dev/null 2>&1; then
		say "apt-cache does not know $pkg: apt-get update"
		apt-get update -q >"$vmdir.apt.log" 2>&1
		ver=$(candidate "$pkg")
	fi
	[ -n "$ver" ] && [ "$ver" != "(none)" ] ||
		ver=$(ls -d "$vmdir/debs/$pkg"_* 2>/dev/null | sort -V | tail -n1 | sed "s|.*/${pkg}_||")
	[ -n "$ver" ] || skip "apt-cache knows no package $pkg (apt-get update needed)"
	dir=$vmdir/debs/${pkg}_$ver
	if [ ! -e "$dir/.unpacked" ]; then
		say "downloading $pkg $ver"
		rm -rf "$dir" "$dir.dl"
		mkdir -p "$dir.dl" "$dir/root"
		(cd "$dir.dl" && apt-get download -q "$pkg=$ver") >"$dir.dl/log" 2>&1 ||
			skip "apt-get download $pkg failed: $(tail -n1 "$dir.dl/log")"
		dpkg-deb -x "$dir.dl"/*.deb "$dir/root" || die "dpkg-deb -x of $pkg failed"
		rm -rf "$dir.dl"
		touch "$dir/.unpacked"
	fi
	echo "$dir/root"
}

# Under the lock too: two runs must not unpack one package at once.
declare -A deb_dir=()
for d in "${debs[@]}"; do
	p=${d%%:*}
	[ -z "${deb_dir[$p]:-}" ] || continue
	if ! deb_dir[$p]=$(deb_root "$p"); then
		rc=$?
		echo "${deb_dir[$p]}"
		exit $rc
	fi
done
exec 9>&-
[ $prepare -eq 1 ] && { echo "vm-test: ready: $vmlinuz, $base"; exit 0; }

# --- per-run overlay: init, guest script, bootviewfs, files -------------------------
# A second cpio appended to the first: the kernel unpacks both, the later one on top.
bin=$build/bootviewfs
[ -x "$bin" ] || skip "$bin not built"
run=$vmdir/run.$$
rm -rf "$run"
mkdir -p "$run/tree/vm/files" "$run/tree/usr/bin"
trap 'rm -rf "$run"' EXIT
cp "$top/scripts/vm/init" "$run/tree/init" &&
	cp "$top/scripts/vm/lib.sh" "$run/tree/vm/lib.sh" &&
	cp "$guest" "$run/tree/vm/test" || die "cannot copy the guest scripts"
chmod 755 "$run/tree/init" "$run/tree/vm/test"
: >"$run/tree/vm/args"
[ ${#guest_args[@]} -eq 0 ] || printf '%s\n' "${guest_args[@]}" >"$run/tree/vm/args"
copy_with_libs "$run/tree" "$bin" /usr/bin/bootviewfs || die "cannot copy $bin"
fm=$(command -v fusermount3 || true)
[ -z "$fm" ] || copy_with_libs "$run/tree" "$fm" /usr/bin/fusermount3 || die "cannot copy $fm"
for b in "${bins[@]}"; do
	src=${b%%:*} dest=/usr/bin/${b##*/}
	[ "$src" = "$b" ] || dest=${b#*:}
	copy_with_libs "$run/tree" "$src" "$dest" || die "cannot copy $src"
done
for d in "${debs[@]}"; do
	copy_with_libs "$run/tree" "${deb_dir[${d%%:*}]}${d#*:}" "${d#*:}" ||
		die "no ${d#*:} in package ${d%%:*}"
done
for f in "${files[@]}"; do
	src=${f%%:*} name=${f##*/}
	[ "$src" = "$f" ] || name=${f#*:}
	cp "$src" "$run/tree/vm/files/$name" || die "cannot copy $src"
done
(cd "$run/tree" && find . | "${cpio[@]}" | gzip -1) >"$run/overlay.cpio.gz" ||
	die "cannot build the overlay initramfs"
cat "$base" "$run/overlay.cpio.gz" >"$run/initrd" || die "cannot write $run/initrd"

# --- boot ---------------------------------------------------------------------------
qargs=(-machine q35,accel="$accel" -m "$mem" -smp 1 -nodefaults -no-user-config
	-display none -serial stdio -no-reboot
	-kernel "$vmlinuz" -initrd "$run/initrd"
	-append "console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init")
i=0
for d in "${disks[@]}"; do
	f=${d%:ro} ro=off
	[ "$f" = "$d" ] || ro=on
	[ -r "$f" ] || die "no disk image $f"
	qargs+=(-drive "file=$f,format=raw,if=virtio,readonly=$ro,cache=unsafe")
	i=$((i + 1))
done
# The console goes to a file of this run; it is kept as console.GUEST.log at the end.
g=${guest##*/}
[ -n "$log" ] || log=$vmdir/console.${g%.sh}.log
keep_log=$log
log=$run/console.log
say "booting $kver ($accel), guest ${guest##*/}, timeout ${timeout}s"
start=$(date +%s.%N)
# In the background so that a signal to us ends qemu too (timeout passes it on).
timeout -k 5 "$timeout" qemu-system-x86_64 "${qargs[@]}" </dev/null >"$log" 2>&1 &
qpid=$!
trap 'kill "$qpid" 2>/dev/null; cp "$log" "$keep_log" 2>/dev/null; rm -rf "$run"' EXIT
trap 'exit 130' INT TERM
[ $verbose -eq 0 ] || tail -n +1 -f --pid="$qpid" "$log" &
wait "$qpid"
rc=$?
wait
secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

# The console has \r\n line ends and kernel messages may interleave: match line starts.
tr -d '\r' <"$log" | grep -a '^BVVM: ' | grep -av '^BVVM: RESULT' | sed 's/^BVVM: //'
result=$(tr -d '\r' <"$log" | grep -a '^BVVM: RESULT ' | tail -n1 | sed 's/^BVVM: RESULT //')
case $result in
pass*)
	echo "vm-test: guest passed in ${secs}s"
	exit 0
	;;
skip*)
	echo "SKIP: vm-test: guest: ${result#skip }"
	exit 77
	;;
fail*)
	echo "vm-test: guest FAILED in ${secs}s (console: $keep_log); its last lines:"
	;;
*)
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "vm-test: no result within ${timeout}s (console: $keep_log); its last lines:"
	else
		echo "vm-test: qemu exited $rc with no result after ${secs}s (console: $keep_log):"
	fi
	;;
esac
tr -d '\r' <"$log" | grep -av '^BVVM: ' | tail -n 40
exit 1
