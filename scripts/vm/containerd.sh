#!/bin/sh
# Guest side of tests/integration/containerd.sh, run by scripts/vm-test.sh as /vm/test.
#
# Real containerd (Debian's 1.6.20, its devmapper snapshotter on a thin pool of the
# guest's two disks) imports an urunc-style two-layer image; then bvshim, the shim client
# of examples/shim on containerd's Go client, does what a shim does at task Create and
# Delete: lease, View, bootviewfs, binds; binds, stop, View removed, lease released. Checks:
#   - the artifacts seen through the binds have the sha256 the host computed;
#   - the whole View served by bootviewfs equals the guest kernel's ext4 on the same View
#     (every entry: mode, owner, links, size, mtime, inode, symlink target, content), and
#     has exactly the paths the host's merge of the two layers has;
#   - after Delete: no View snapshot, no lease, no dm device of the View, nothing mounted,
#     the bundle removable; the same after SIGKILL of the daemon, SIGKILL of the client
#     right after ready (a second run cleans up), and containerd restarted while serving;
#   - a View removed under a serving daemon (`ctr snapshots rm`), and a mounts array
#     bootviewfs cannot serve.
# With "bench" it also times View, ready and first read against the kernel's mount of the
# same View (bvshim bench) and prints the table.
# With "xfs META2 DATA2", the same boot then runs containerd again with fs_type = "xfs"
# (its own pool on META2/DATA2, its own root and state) and checks the XFS View: the
# mounts JSON says xfs with nouuid, the artifacts through the binds, the whole View served
# by bootviewfs equal to the guest kernel's xfs mount (ro,norecovery,nouuid) of it, both
# layers, Delete leaving nothing. "xfs-skip REASON..." says why that part does not run.
#
# Arguments: META_DISK DATA_DISK IMAGE_REF [bench] [xfs META2 DATA2 | xfs-skip REASON...].
# Files: /vm/files/image.tar (the OCI
# archive), image.sha256 (the artifacts' sums), image.paths (the merged tree's paths).
. /vm/lib.sh

[ $# -ge 3 ] || skip_all "usage: containerd.sh META DATA IMAGE_REF [bench]"
meta=$1 data=$2 ref=$3 mode='' xfs_meta='' xfs_data='' xfs_skip=''
shift 3
while [ $# -gt 0 ]; do
	case $1 in
	bench) mode=bench; shift ;;
	xfs) xfs_meta=$2 xfs_data=$3; shift 3 ;;
	xfs-skip) shift; xfs_skip="$*"; break ;;
	*) skip_all "unknown argument $1" ;;
	esac
done
for d in "$meta" "$data"; do
	wait_until 5 test -b "$d" || skip_all "no disk $d"
done
for t in containerd ctr bvshim mkfs.ext4 bootviewfs; do
	command -v $t >/dev/null || skip_all "$t is not in the guest"
done
files=/vm/files
pool=bvpool
sn=devmapper
art="--artifact /unikernel/kernel --artifact /unikernel/initrd --artifact /urunc.json"

# --- containerd ----------------------------------------------------------------------
# The pool as containerd's devmapper documentation makes it: 64 KiB blocks, a low-water
# mark, no zeroing of new blocks (the snapshotter formats what it allocates).
must dmsetup create $pool --table \
	"0 $(blockdev --getsz "$data") thin-pool $meta $data 128 32768 1 skip_block_zeroing"
mkdir -p /etc/containerd /var/lib/containerd /run/bundles /mnt/k /mnt/full
# No CRI (it wants CNI and a runtime); nothing else of containerd's defaults changes.
cat >/etc/containerd/config.toml <<EOF
version = 2
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[plugins."io.containerd.snapshotter.v1.devmapper"]
  pool_name = "$pool"
  root_path = "/var/lib/containerd/devmapper"
  base_image_size = "64MB"
  fs_type = "ext4"
EOF
cd_pid=
cd_config=/etc/containerd/config.toml
start_containerd() {
	containerd --config $cd_config --log-level warn \
		>>/tmp/containerd.log 2>&1 &
	cd_pid=$!
	wait_until 60 ctr version >/dev/null 2>&1
}
if start_containerd; then
	pass "containerd-up"
else
	fail "containerd-up" "$(tail -n 5 /tmp/containerd.log | tr '\n' ' ')"
	finish
fi
check "devmapper-plugin-ok" sh -c "ctr plugins ls | grep devmapper | grep -q ok"
if out=$(ctr image import --snapshotter $sn $files/image.tar 2>&1); then
	pass "image-import"
else
	fail "image-import" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"
	finish
fi
check "image-listed" sh -c "ctr image ls -q | grep -qx '$ref'"

# --- helpers -----------------------------------------------------------------------------
bundle() { echo "/run/bundles/$1"; }
create() {
	local id=$1
	shift
	bvshim create --bundle "$(bundle "$id")" --id "$id" --image "$ref" --snapshotter $sn \
		--bootviewfs /usr/bin/bootviewfs $art "$@"
}
delete() {
	bvshim delete --bundle "$(bundle "$1")" --id "$1" --snapshotter $sn \
		--bootviewfs /usr/bin/bootviewfs
}
# The View's device, from the mounts containerd returned (Go writes the field "Source").
view_dev() { sed -n 's/.*"Source":"\([^"]*\)".*/\1/p' "$(bundle "$1")/mounts.json"; }
state_pid() { sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$(bundle "$1")/bootviewfs/state.json" | head -n1; }
snapshot_listed() { ctr snapshots --snapshotter $sn ls | awk '{ print $1 }' | grep -qx "$1"; }
lease_listed() { ctr leases ls | awk '{ print $1 }' | grep -qx "$1"; }
dm_present() { dmsetup ls | awk '{ print $1 }' | grep -qx "$1"; }

# check_gone NAME ID DEV: what Delete must leave of container ID: nothing.
check_gone() {
	local name=$1 id=$2 dev=$3 b
	b=$(bundle "$id")
	check "$name-no-view" not snapshot_listed "bootviewfs-view-$id"
	check "$name-no-lease" not lease_listed "bootviewfs-$id"
	check "$name-no-dm-device" not dm_present "${dev##*/}"
	check "$name-nothing-mounted" not grep -q " $b" /proc/mounts
	check "$name-no-daemon" not bootviewfs status --state-dir "$b/bootviewfs"
	check "$name-bundle-removable" rm -rf "$b"
}

# bad_mounts NAME WORD: the start on /tmp/bad.json fails with one sentence that has WORD
# in it, exit 1, nothing mounted, the device DEV closed.
bad_mounts() {
	local out rc
	out=$(bootviewfs --state-dir /run/bad --mounts-json /tmp/bad.json /mnt/full 2>&1)
	rc=$?
	if [ $rc -eq 1 ] && [ "$(echo "$out" | grep -c .)" -eq 1 ] && echo "$out" | grep -q "$2"; then
		pass "bad-mounts-$1-refused"
	else
		fail "bad-mounts-$1-refused" "exit $rc: $out"
	fi
	check "bad-mounts-$1-not-mounted" not_mounted /mnt/full
	check "bad-mounts-$1-device-closed" test "$(open_count "${dev##*/}")" = 0
	bootviewfs stop --state-dir /run/bad >/dev/null 2>&1
	rm -rf /run/bad
}

# --- Create, served tree, Delete -------------------------------------------------------
if out=$(create c1 2>&1); then
	pass "create"
else
	fail "create" "$out"
	finish
fi
b=$(bundle c1)
dev=$(view_dev c1)
check "ready-line" sh -c "echo '$out' | grep -q '\"status\":\"ready\"'"
check "view-dm-present" dm_present "${dev##*/}"
check "view-is-thin" sh -c "dmsetup table ${dev##*/} | grep -q ' thin '"
check "view-listed" snapshot_listed bootviewfs-view-c1
check "lease-listed" lease_listed bootviewfs-c1
check_files "artifacts-sha256-through-binds" "$b/monitor-rootfs" $files/image.sha256
check "binds-read-only" sh -c "! sh -c 'echo x >>$b/monitor-rootfs/unikernel/kernel' 2>/dev/null"
check_daemon_ro "device-fd-rdonly" "$dev"

# The oracle: the guest kernel's ext4 on the same View, read-only and without the journal,
# against a second bootviewfs serving the whole View (the shim's view exports only the
# artifacts).
must mount -t ext4 -o ro,noload "$dev" /mnt/k
must bootviewfs --state-dir /run/full --mounts-json "$b/mounts.json" /mnt/full
tree_meta /mnt/k >/tmp/k.meta
tree_meta /mnt/full >/tmp/v.meta
if [ -s /tmp/k.meta ] && cmp -s /tmp/k.meta /tmp/v.meta; then
	pass "view-matches-kernel"
	info "$(grep -c . /tmp/v.meta) lines of metadata and sums agree with the kernel's ext4"
else
	fail "view-matches-kernel" "$(diff /tmp/k.meta /tmp/v.meta | head -n 6 | tr '\n' ' ')"
fi
# Both layers applied: the same paths, of the same types, as the host's own merge.
tree_types /mnt/full >/tmp/v.paths
if cmp -s $files/image.paths /tmp/v.paths; then
	pass "view-is-both-layers"
else
	fail "view-is-both-layers" "$(diff $files/image.paths /tmp/v.paths | head -n 6 | tr '\n' ' ')"
fi
check "full-stop" bootviewfs stop --state-dir /run/full
umount /mnt/k

if out=$(delete c1 2>&1); then pass "delete"; else fail "delete" "$out"; fi
check_gone "delete" c1 "$dev"
check "delete-again" delete c1

# --- crashes ------------------------------------------------------------------------------
# The daemon SIGKILLed while serving: its server dies with it, the mount is dead.
if create c2 >/tmp/c2.out 2>&1; then
	dev=$(view_dev c2)
	kill -KILL "$(state_pid c2)"
	check "killed-daemon-status" sh -c "! bootviewfs status --state-dir $(bundle c2)/bootviewfs"
	check "killed-daemon-delete" delete c2
	check_gone "killed-daemon" c2 "$dev"
else
	fail "killed-daemon-create" "$(cat /tmp/c2.out)"
fi

# The client SIGKILLed right after ready, its binds made: a second run's Delete (what a
# restarted shim's Stop runs) finds everything by the bundle and the id.
: >/tmp/c3.out
# exec: the background job is bvshim itself, so the SIGKILL below kills the client.
(exec bvshim create --bundle "$(bundle c3)" --id c3 --image "$ref" --snapshotter $sn \
	--bootviewfs /usr/bin/bootviewfs $art --hold) >/tmp/c3.out 2>&1 &
client=$!
if wait_until 60 grep -q '"status":"ready"' /tmp/c3.out; then
	kill -KILL $client
	wait $client 2>/dev/null
	check "killed-client-gone" not kill -0 $client
	dev=$(view_dev c3)
	check "killed-client-view-serves" bootviewfs status --state-dir "$(bundle c3)/bootviewfs"
	check_files "killed-client-binds-serve" "$(bundle c3)/monitor-rootfs" $files/image.sha256
	check "killed-client-delete" delete c3
	check_gone "killed-client" c3 "$dev"
else
	kill -KILL $client 2>/dev/null
	fail "killed-client-ready" "$(cat /tmp/c3.out)"
fi

# containerd restarted while the view serves: the view does not need it, and Delete finds
# the View and the lease again in the restarted daemon.
if create c4 >/tmp/c4.out 2>&1; then
	dev=$(view_dev c4)
	kill -TERM $cd_pid
	wait $cd_pid 2>/dev/null
	check "containerd-down-binds-serve" sh -c "cat $(bundle c4)/monitor-rootfs/unikernel/kernel >/dev/null"
	if start_containerd; then
		pass "containerd-restarted"
	else
		fail "containerd-restarted" "$(tail -n 5 /tmp/containerd.log | tr '\n' ' ')"
	fi
	check "containerd-restarted-view-listed" snapshot_listed bootviewfs-view-c4
	check "containerd-restarted-delete" delete c4
	check_gone "containerd-restarted" c4 "$dev"
else
	fail "containerd-restart-create" "$(cat /tmp/c4.out)"
fi

# A View removed under a serving daemon (what a shim that removes before stop does).
# `ctr snapshots rm` succeeds at once: containerd drops the record, and its garbage
# collector then removes the device the devmapper way, `dmsetup remove --retry --force`,
# which on an open device swaps the table for `error` and keeps retrying. The daemon must
# survive it: EIO for what the device no longer gives, to that reader only, and stop must
# still end everything, after which the collector's removal goes through.
if create c5 >/tmp/c5.out 2>&1; then
	dev=$(view_dev c5)
	b=$(bundle c5)
	ctr snapshots --snapshotter $sn rm bootviewfs-view-c5 >/tmp/rm.out 2>&1
	info "ctr snapshots rm of a served View exited $?: $(tr '\n' ' ' </tmp/rm.out | cut -c1-200)"
	info "then: listed $(snapshot_listed bootviewfs-view-c5 && echo yes || echo no); dm: $(dmsetup info -c --noheadings -o name,open,attr ${dev##*/} 2>&1); table: $(dmsetup table ${dev##*/} 2>&1)"
	check "rm-while-serving-device-errors" wait_until 60 sh -c "dmsetup table ${dev##*/} | grep -q ' error'"
	check "rm-while-serving-daemon-alive" bootviewfs status --state-dir "$b/bootviewfs"
	# A second, whole view of the device: what the first daemon never read now fails.
	if bootviewfs --state-dir /run/full2 --mounts-json "$b/mounts.json" /mnt/full >/tmp/full2.err 2>&1; then
		find /mnt/full -type f -exec cat {} + >/dev/null 2>/tmp/read.err
		check "rm-while-serving-eio" grep -q "Input/output error" /tmp/read.err
		check "rm-while-serving-eio-logged-once" test "$(grep -c 'reading the source failed' /run/full2/log)" = 1
		check "rm-while-serving-second-view-alive" bootviewfs status --state-dir /run/full2
		check "rm-while-serving-second-view-stop" bootviewfs stop --state-dir /run/full2
	else
		info "a second view of the errored device did not start: $(cat /tmp/full2.err)"
	fi
	check "rm-while-serving-daemon-survives" bootviewfs status --state-dir "$b/bootviewfs"
	check "rm-while-serving-delete" delete c5
	check "rm-while-serving-device-removed" wait_until 30 not dm_present "${dev##*/}"
	check_gone "rm-while-serving" c5 "$dev"
else
	fail "rm-while-serving-create" "$(cat /tmp/c5.out)"
fi

# Mounts containerd could give that bootviewfs cannot serve: one sentence naming the
# field, exit 1, nothing mounted, the device closed.
if create c6 >/tmp/c6.out 2>&1; then
	dev=$(view_dev c6)
	b=$(bundle c6)
	must bootviewfs stop --state-dir "$b/bootviewfs"
	sed 's/"ro"/"ro","discard"/' "$b/mounts.json" >/tmp/bad.json
	bad_mounts option discard
	sed 's/"Type":"ext4"/"Type":"btrfs"/' "$b/mounts.json" >/tmp/bad.json
	bad_mounts type btrfs
	sed 's/^\[\(.*\)\]$/[\1,\1]/' "$b/mounts.json" >/tmp/bad.json
	bad_mounts count "2 mounts"
	check "bad-mounts-delete" delete c6
	check_gone "bad-mounts" c6 "$dev"
else
	fail "bad-mounts-create" "$(cat /tmp/c6.out)"
fi

if [ "$mode" = bench ]; then
	if out=$(bvshim bench --image "$ref" --snapshotter $sn --bootviewfs /usr/bin/bootviewfs \
		$art --runs 5 2>&1); then
		echo "$out" | while IFS= read -r l; do info "bench $l"; done
	else
		fail "bench" "$out"
	fi
fi

kill -TERM $cd_pid
wait $cd_pid 2>/dev/null

# --- the same with fs_type = "xfs" --------------------------------------------------------
# A second containerd (own root, state and pool: the first one's metadata says the layers
# are unpacked already) whose devmapper snapshotter formats with mkfs.xfs. mkfs.xfs 5.19
# and later refuse filesystems under 300 MB: the base device is 320 MB (thin, sparse).
xfs_part() {
	local pool2=bvpool-xfs b dev out d
	command -v mkfs.xfs >/dev/null || { fail "xfs-tools" "mkfs.xfs is not in the guest"; return; }
	grep -qw xfs /proc/filesystems || { fail "xfs-kernel" "the guest kernel has no xfs"; return; }
	for d in "$xfs_meta" "$xfs_data"; do
		wait_until 5 test -b "$d" || { fail "xfs-disks" "no disk $d"; return; }
	done
	must dmsetup create $pool2 --table \
		"0 $(blockdev --getsz "$xfs_data") thin-pool $xfs_meta $xfs_data 128 32768 1 skip_block_zeroing"
	cat >/etc/containerd/config-xfs.toml <<EOF
version = 2
root = "/var/lib/containerd-xfs"
state = "/run/containerd-xfs"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[plugins."io.containerd.snapshotter.v1.devmapper"]
  pool_name = "$pool2"
  root_path = "/var/lib/containerd-xfs/devmapper"
  base_image_size = "320MB"
  fs_type = "xfs"
EOF
	cd_config=/etc/containerd/config-xfs.toml
	if start_containerd; then
		pass "xfs-containerd-up"
	else
		fail "xfs-containerd-up" "$(tail -n 5 /tmp/containerd.log | tr '\n' ' ')"
		return
	fi
	if out=$(ctr image import --snapshotter $sn $files/image.tar 2>&1); then
		pass "xfs-image-import"
	else
		fail "xfs-image-import" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"
		return
	fi
	if ! out=$(create x1 2>&1); then
		fail "xfs-create" "$out"
		return
	fi
	pass "xfs-create"
	b=$(bundle x1)
	dev=$(view_dev x1)
	info "xfs View mounts: $(cat "$b/mounts.json")"
	check "xfs-mounts-type-xfs" grep -q '"Type":"xfs"' "$b/mounts.json"
	check "xfs-mounts-nouuid" grep -q '"nouuid"' "$b/mounts.json"
	check "xfs-view-is-thin" sh -c "dmsetup table ${dev##*/} | grep -q ' thin '"
	check_files "xfs-artifacts-sha256-through-binds" "$b/monitor-rootfs" $files/image.sha256
	check_daemon_ro "xfs-device-fd-rdonly" "$dev"
	check "xfs-probe" sh -c "bootviewfs probe $dev | grep -q '\"type\": \"xfs\"'"
	# The oracle: the guest kernel's xfs on the same View, without the log, beside a
	# second bootviewfs serving the whole View.
	must mount -t xfs -o ro,norecovery,nouuid "$dev" /mnt/k
	if bootviewfs --state-dir /run/fullx --mounts-json "$b/mounts.json" /mnt/full >/tmp/fullx.err 2>&1; then
		tree_meta /mnt/k >/tmp/k.meta
		tree_meta /mnt/full >/tmp/v.meta
		if [ -s /tmp/k.meta ] && cmp -s /tmp/k.meta /tmp/v.meta; then
			pass "xfs-view-matches-kernel"
			info "xfs: $(grep -c . /tmp/v.meta) lines of metadata and sums agree with the kernel's xfs"
		else
			fail "xfs-view-matches-kernel" "$(diff /tmp/k.meta /tmp/v.meta | head -n 6 | tr '\n' ' ')"
		fi
		tree_types /mnt/full >/tmp/v.paths
		if cmp -s $files/image.paths /tmp/v.paths; then
			pass "xfs-view-is-both-layers"
		else
			fail "xfs-view-is-both-layers" "$(diff $files/image.paths /tmp/v.paths | head -n 6 | tr '\n' ' ')"
		fi
		check "xfs-full-stop" bootviewfs stop --state-dir /run/fullx
	else
		fail "xfs-full-view" "$(cat /tmp/fullx.err)"
	fi
	umount /mnt/k
	if out=$(delete x1 2>&1); then pass "xfs-delete"; else fail "xfs-delete" "$out"; fi
	check_gone "xfs-delete" x1 "$dev"
	kill -TERM $cd_pid
	wait $cd_pid 2>/dev/null
}
if [ -n "$xfs_meta" ]; then
	xfs_part
elif [ -n "$xfs_skip" ]; then
	info "SKIP xfs: $xfs_skip"
fi
finish
