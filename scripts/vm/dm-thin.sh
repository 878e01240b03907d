#!/bin/sh
# Guest side of tests/integration/dm_thin.sh, run by scripts/vm-test.sh as /vm/test.
#
# Does what containerd's devmapper snapshotter does for a View: a dm-thin pool, a thin
# device holding the image, a thin snapshot of it activated as its own dm device; then
# serves the snapshot with bootviewfs and checks that
#   - the files read through FUSE are the image's (sha256 of every file, against the
#     list the host made and against the kernel's ext4 on the origin),
#   - the daemon's only fds on the device are O_RDONLY, and the pool allocated no block
#     for the snapshot (a write to a thin snapshot breaks sharing: it would show),
#   - while serving, `dmsetup remove` is refused (EBUSY); once unmounted, or once
#     `bootviewfs stop` returned, the device is closed and `dmsetup remove` succeeds.
#
# Arguments: pairs of IMAGE_DISK NAME (e.g. /dev/vda ext4 /dev/vdb ext2), then the pool's
# metadata disk and data disk as the last two. /vm/files/NAME.sha256 lists each image's
# files as `sha256sum` prints them, relative to the image root.
. /vm/lib.sh

[ $# -ge 4 ] || skip_all "usage: dm-thin.sh IMG NAME [IMG NAME]... META DATA"
meta='' data=''
for a in "$@"; do meta=$data data=$a; done
for d in "$meta" "$data"; do
	wait_until 5 test -b "$d" || skip_all "no disk $d"
done

# Pool over the last two disks: 64 KiB data blocks, no low-water mark, as containerd sets
# it up by default.
data_sectors=$(blockdev --getsz "$data")
must dmsetup create pool --table "0 $data_sectors thin-pool $meta $data 128 0"
pass "pool-created"

tid=0
while [ $# -gt 2 ]; do
	img=$1 fs=$2
	shift 2
	wait_until 5 test -b "$img" || { fail "$fs-disk" "no disk $img"; continue; }
	list=/vm/files/$fs.sha256
	sectors=$(blockdev --getsz "$img")
	base=$fs-base snap=$fs-snap
	origin=$tid snapid=$((tid + 1))
	tid=$((tid + 2))

	# The snapshotter's base device: a thin volume the image is unpacked onto.
	must dmsetup message pool 0 "create_thin $origin"
	must dmsetup create "$base" --table "0 $sectors thin /dev/mapper/pool $origin"
	must dd if="$img" of="/dev/mapper/$base" bs=1M conv=fsync
	# A View: snapshot of the suspended origin, activated read-write at the dm level
	# (containerd does not make it read-only): only bootviewfs's O_RDONLY protects it.
	must dmsetup suspend "$base"
	must dmsetup message pool 0 "create_snap $snapid $origin"
	must dmsetup resume "$base"
	must dmsetup create "$snap" --table "0 $sectors thin /dev/mapper/pool $snapid"
	check "$fs-snap-is-thin" sh -c "dmsetup table $snap | grep -q ' thin '"
	dev=/dev/mapper/$snap

	# probe: facts as JSON, device closed afterwards.
	if out=$(bootviewfs probe "$dev" 2>&1) && echo "$out" | grep -q "\"$fs\""; then
		pass "$fs-probe"
	else
		fail "$fs-probe" "$(echo "$out" | tr '\n' ' ' | cut -c1-300)"
	fi
	check "$fs-probe-closed" test "$(open_count "$snap")" = 0

	# The oracle: the kernel's own ext4 driver on the origin, read-only, no journal.
	mkdir -p "/mnt/k-$fs" "/mnt/v-$fs"
	# noload (no journal replay) only means something, and is only accepted, with a journal.
	opts=ro
	[ "$fs" = ext2 ] || opts=ro,noload
	must mount -t "$fs" -o "$opts" "/dev/mapper/$base" "/mnt/k-$fs"
	tree_sums "/mnt/k-$fs" >"/tmp/k-$fs.sums"
	umount "/mnt/k-$fs"

	# Serve the snapshot: returns once serving.
	used0=$(pool_used)
	if out=$(timeout 30 bootviewfs "$dev" "/mnt/v-$fs" 2>&1); then
		pass "$fs-mount"
	else
		fail "$fs-mount" "exit $?: $out"
		continue
	fi
	check "$fs-mounted" is_mounted "/mnt/v-$fs"
	check_files "$fs-artifacts-sha256" "/mnt/v-$fs" "$list"
	tree_sums "/mnt/v-$fs" >"/tmp/v-$fs.sums"
	if [ -s "/tmp/k-$fs.sums" ] && cmp -s "/tmp/k-$fs.sums" "/tmp/v-$fs.sums"; then
		pass "$fs-tree-matches-kernel"
		info "$fs: $(grep -c . "/tmp/v-$fs.sums") files and symlinks match the kernel's ext4"
	else
		fail "$fs-tree-matches-kernel" "$(diff "/tmp/k-$fs.sums" "/tmp/v-$fs.sums" | head -n 5 | tr '\n' ' ')"
	fi
	check_daemon_ro "$fs-device-fd-rdonly" "$dev"
	check "$fs-open-while-serving" test "$(open_count "$snap")" -ge 1
	# The control: dm refuses to remove an open device. Were this to succeed, the test
	# below would prove nothing.
	if out=$(dmsetup remove "$snap" 2>&1); then
		fail "$fs-remove-refused-while-serving" "dmsetup remove succeeded under the daemon"
	else
		pass "$fs-remove-refused-while-serving"
	fi

	# Unmount: the daemon sees the FUSE connection end, closes the device and exits.
	# ext2 goes through fusermount3 -u (what a user would type), ext4 through umount(8).
	um=umount
	[ "$fs" != ext2 ] || ! command -v fusermount3 >/dev/null || um="fusermount3 -u"
	check "$fs-unmount-by-${um%% *}" $um "/mnt/v-$fs"
	if wait_until 10 no_holders "$dev"; then
		pass "$fs-daemon-closed-device"
	else
		fail "$fs-daemon-closed-device" "still held: $(holders "$dev" | tr '\n' ' ')"
	fi
	check "$fs-no-block-written" test "$(pool_used)" = "$used0"
	check "$fs-dmsetup-remove" dmsetup remove "$snap"

	# SIGTERM to whoever holds the device (the server) means stop: the keeper unmounts,
	# and the device is closed with the server.
	must dmsetup create "$snap" --table "0 $sectors thin /dev/mapper/pool $snapid"
	if out=$(timeout 30 bootviewfs --require /unikernel/kernel --require /urunc.json \
		"$dev" "/mnt/v-$fs" 2>&1); then
		pid=$(holders "$dev" | awk 'NR == 1 { print $1 }')
		if [ -z "$pid" ]; then
			fail "$fs-sigterm" "no process holds $dev"
		else
			kill -TERM "$pid"
			if wait_until 10 no_holders "$dev"; then
				pass "$fs-sigterm-closed-device"
			else
				fail "$fs-sigterm-closed-device" "still held: $(holders "$dev" | tr '\n' ' ')"
			fi
			check "$fs-sigterm-unmounted" wait_until 5 not_mounted "/mnt/v-$fs"
		fi
	else
		fail "$fs-sigterm-mount" "exit $?: $out"
	fi
	is_mounted "/mnt/v-$fs" && umount "/mnt/v-$fs"
	# A failed start (a required artifact missing) leaves nothing mounted, nothing open.
	if out=$(timeout 30 bootviewfs --require /no/such/artifact "$dev" "/mnt/v-$fs" 2>&1); then
		fail "$fs-require-missing-refused" "served although /no/such/artifact is missing"
	else
		pass "$fs-require-missing-refused"
	fi
	check "$fs-require-missing-not-mounted" not_mounted "/mnt/v-$fs"
	is_mounted "/mnt/v-$fs" && umount "/mnt/v-$fs"
	check "$fs-require-missing-closed-device" wait_until 10 no_holders "$dev"
	check "$fs-dmsetup-remove-after-sigterm" dmsetup remove "$snap"

	# The lifecycle: containerd mounts JSON, state dir, `bootviewfs stop`.
	must dmsetup create "$snap" -u "BVTEST-$fs-view" --table "0 $sectors thin /dev/mapper/pool $snapid"
	printf '[{"type":"%s","source":"%s","options":["ro"]}]\n' "$fs" "$dev" >/tmp/mounts.json
	st=/run/v-$fs
	out=$(timeout 30 bootviewfs --state-dir "$st" --require /urunc.json --export-all \
		--mounts-json /tmp/mounts.json "/mnt/v-$fs" 2>&1)
	rc=$?
	if [ $rc -eq 2 ]; then
		# A usage error: the mount command does not take these flags yet.
		echo "BVVM: SKIP $fs-lifecycle: mount does not take --state-dir/--mounts-json: $(echo "$out" | head -n1)"
		must dmsetup remove "$snap"
		must dmsetup remove "$base"
		continue
	elif [ $rc -ne 0 ]; then
		fail "$fs-lifecycle-mount" "exit $rc: $out"
	else
		pass "$fs-lifecycle-mount"
		check_files "$fs-lifecycle-artifacts" "/mnt/v-$fs" "$list"
		check_daemon_ro "$fs-lifecycle-device-fd-rdonly" "$dev"
		sj=$st/state.json
		get() { sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" "$sj" | head -n1; }
		check "$fs-state-ready" test "$(get status)" = ready
		check "$fs-state-source-path" test "$(get path)" = "$dev"
		check "$fs-state-fs-type" test "$(get type)" = "$fs"
		check "$fs-state-dm-name" test "$(get dm_name)" = "$snap"
		check "$fs-state-dm-uuid" test "$(get dm_uuid)" = "BVTEST-$fs-view"
		check "$fs-state-dm-target" test "$(get dm_target)" = thin
		check "$fs-status" bootviewfs status --state-dir "$st"
		check "$fs-stop" timeout 30 bootviewfs stop --state-dir "$st"
		# stop returns only once the device is closed: no waiting here.
		if no_holders "$dev"; then
			pass "$fs-stop-closed-device"
		else
			fail "$fs-stop-closed-device" "still held: $(holders "$dev" | tr '\n' ' ')"
		fi
		check "$fs-stop-unmounted" not_mounted "/mnt/v-$fs"
		check "$fs-state-stopped" test "$(get status)" = stopped
		check "$fs-stop-again" timeout 30 bootviewfs stop --state-dir "$st"
	fi
	is_mounted "/mnt/v-$fs" && umount "/mnt/v-$fs"
	wait_until 10 no_holders "$dev"
	check "$fs-no-block-written-lifecycle" test "$(pool_used)" = "$used0"
	check "$fs-dmsetup-remove-after-stop" dmsetup remove "$snap"
	check "$fs-remove-base" dmsetup remove "$base"
done

check "pool-remove" dmsetup remove pool
finish
