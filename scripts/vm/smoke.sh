#!/bin/sh
# Smoke test of the VM harness: dm-thin pool and thin device on two virtio disks, an ext4
# image copied onto the thin device, and `bootviewfs probe` of it. No FUSE mount.
# Disks: vda = ext4 image (ro), vdb = pool metadata, vdc = pool data.
. /vm/lib.sh

for d in /dev/vda /dev/vdb /dev/vdc; do
	[ -b $d ] || skip_all "no disk $d (run through scripts/vm-test.sh with three --disk)"
done
check dev-mapper-control test -c /dev/mapper/control
check dev-fuse test -c /dev/fuse
img=$(blockdev --getsz /dev/vda)
data=$(blockdev --getsz /dev/vdc)
must dmsetup create pool --table "0 $data thin-pool /dev/vdb /dev/vdc 128 0"
must dmsetup message pool 0 "create_thin 0"
must dmsetup create thin --table "0 $img thin /dev/mapper/pool 0"
check thin-target dmsetup table thin
must dd if=/dev/vda of=/dev/mapper/thin bs=1M
check probe bootviewfs probe /dev/mapper/thin
check remove-thin dmsetup remove thin
check remove-pool dmsetup remove pool
finish
