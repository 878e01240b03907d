#!/usr/bin/env bash
# The fuzzing campaign's driver (docs/testing.md, "Fuzzing"). The Makefile builds the
# targets; this runs, saves and replays them.
#
#   scripts/fuzz.sh run SECONDS TARGET...   libFuzzer (build/fuzz/fuzz_T) for SECONDS each,
#                                           from build/fuzz/corpus/T (the committed corpus
#                                           unpacked there first) and the target's seeds;
#                                           appends a line per run to build/fuzz/runs.log:
#                                           date, target, seconds, CPU seconds, executions,
#                                           coverage (edges)
#   scripts/fuzz.sh save TARGET...          minimises build/fuzz/corpus/T (libFuzzer's
#                                           -merge) into tests/fuzz/corpus/T.tar.xz
#   scripts/fuzz.sh replay TARGET...        $BUILD/fuzz/replay_T over every input of the
#                                           committed tests/fuzz/corpus/T.tar.xz (make check)
#   scripts/fuzz.sh seeds TARGET DIR        writes the target's seeds into DIR
#
# Targets: fs, open (whole images: the e2fsprogs corpus), xfs (squeezed XFS images made
# here: mkfs.xfs, metadata only; root), export (a small image with symlinks, behind export
# paths), mounts and state (JSON texts). Findings are in build/fuzz/crash-T-*: each one
# becomes a regression test (the input committed to the corpus, a check that names it).
# FUZZ_NICE=10 by default: a campaign yields to everything else on the machine.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
fuzzdir=$top/build/fuzz
die() { echo "fuzz: $*" >&2; exit 1; }

# Largest input libFuzzer makes per target (a mutation may grow an input up to it).
max_len() {
	case $1 in
	fs|open|xfs) echo 4194304 ;;
	export) echo 1048576 ;;
	*) echo 65536 ;;
	esac
}

unpack() { # TARGET DIR: the committed corpus into DIR, when there is one
	local tarball=$top/tests/fuzz/corpus/$1.tar.xz
	mkdir -p "$2"
	[ -f "$tarball" ] && tar -xJf "$tarball" -C "$2"
	return 0
}

# --- seeds -------------------------------------------------------------------------------

seeds_images() { # DIR: the e2fsprogs corpus, decompressed
	"$top/scripts/fuzz-seeds.sh" "$1" >/dev/null
}

# A small urunc-style ext4 image whose paths go through every kind of symlink, behind
# export path lists that name them.
seeds_export() {
	local dir=$1 tmp src img
	tmp=$(mktemp -d)
	src=$tmp/src
	mkdir -p "$src/unikernel" "$src/boot/sub" "$src/etc"
	printf 'kernel' >"$src/unikernel/kernel"
	printf 'initrd' >"$src/unikernel/initrd"
	printf '{"com.urunc.unikernel.binary":"L3VuaWtlcm5lbC9rZXJuZWw="}\n' >"$src/urunc.json"
	ln -s /unikernel/kernel "$src/boot/abs"
	ln -s ../unikernel/initrd "$src/boot/rel"
	ln -s ../../../../etc "$src/boot/sub/escape"
	ln -s loop2 "$src/boot/loop1"
	ln -s loop1 "$src/boot/loop2"
	ln -s /nowhere "$src/boot/dangling"
	ln -s /boot "$src/etc/back"
	img=$tmp/img
	mkfs.ext4 -q -F -b 1024 -N 64 -O ^has_journal -d "$src" "$img" 512K >/dev/null 2>&1 ||
		die "mkfs.ext4 of the export seed failed"
	local i=0 paths
	for paths in "" "/unikernel/kernel:/urunc.json" "/boot/abs:/boot/rel" \
		"/boot/sub/escape/back/rel" "/boot/loop1" "/boot:/boot/abs" "/etc/back/abs" \
		"unikernel/./kernel://urunc.json" "/boot/dangling" "/../urunc.json"; do
		{ printf "\\$(printf %03o ${#paths})"; printf %s "$paths"; cat "$img"; } \
			>"$dir/seed-$i"
		i=$((i + 1))
	done
	rm -rf "$tmp"
}

seeds_mounts() {
	local dir=$1
	printf '%s' '[{"type":"ext4","source":"/dev/mapper/pool-snap-7","options":["ro"]}]' >"$dir/view"
	printf '%s' '{"mounts":[{"Type":"xfs","Source":"/dev/dm-3","Options":["ro","nouuid"]}]}' >"$dir/object"
	printf '%s' '[{"type":"ext4","source":"/var/lib/img.ext4","options":["loop","ro"],"target":""}]' >"$dir/loop"
	printf '%s' '[{"type":"ext4","source":"/a","options":["rw"]},{"type":"xfs","source":"/b"}]' >"$dir/two"
	printf '%s' '[{"type":"btrfs","source":"/dev/x","options":["ro","subvol=\u0000"]}]' >"$dir/bad"
}

seeds_state() {
	local dir=$1
	cat >"$dir/ready" <<'JSON'
{"version":1,"status":"ready","error":"","pid":4242,"start_time":123456,
 "boot_id":"0123456789abcdef0123456789abcdef","id":"ctr-7",
 "source":{"path":"/dev/mapper/pool-snap-7","major":253,"minor":3,"size":1073741824,
   "dm_name":"pool-snap-7","dm_uuid":"","dm_target":"thin"},
 "fs":{"type":"ext4","uuid":"8b0e6a52-8a3e-4f4e-b2a1-0d8a9f1c2e3d","journal":"clean",
   "block_size":4096},
 "mountpoint":"/run/bootviewfs/ctr-7/rootfs","mountpoint_created":true,
 "mountpoint_dev":2049,"mountpoint_ino":131077,"fsname":"bootviewfs:ctr-7",
 "fstype":"fuse.bootviewfs","fuse_conn":52,"server_pid":4243,"uid":0,
 "artifacts":[{"path":"/unikernel/kernel","size":1048576,"ino":12},
   {"path":"/urunc.json","size":301,"ino":13}],
 "started_at":1764800000,"updated_at":1764800001}
JSON
	printf '%s' '{"version":1,"status":"failed","error":"the device went away","pid":-1,"fuse_conn":-1}' >"$dir/failed"
	printf '%s' '{"version":1,"version":2}' >"$dir/duplicate"
}

# XFS images in every directory, attribute-fork and data-fork format (the integration
# tests' matrix), reduced to their metadata by xfs_metadump and squeezed. The clean ones
# get a fresh log whose blocks past the first two are zeroed (5 MiB of log records would
# otherwise be most of each seed; the reader still finds the head by cycle numbers); the
# dirty one keeps its log.
seeds_xfs() {
	local dir=$1 tmp name img flags start blocks agblklog bsize
	[ "$(id -u)" -eq 0 ] || die "xfs seeds need root (scripts/mkxfsimages.sh mounts)"
	tmp=$(mktemp -d)
	"$top/scripts/mkxfsimages.sh" "$tmp/img" >"$tmp/mk.log" 2>&1 ||
		{ cat "$tmp/mk.log" >&2; rm -rf "$tmp"; die "mkxfsimages.sh failed"; }
	while IFS=$'\t' read -r name img _ flags _; do
		xfs_metadump -o "$img" "$tmp/md" 2>/dev/null || continue
		xfs_mdrestore "$tmp/md" "$tmp/r" || continue
		if [ "$flags" != dirty ]; then
			xfs_db -x -c logformat "$tmp/r" >/dev/null
			read -r start blocks agblklog bsize < <(xfs_db -r -c 'sb 0' \
				-c 'p logstart logblocks agblklog blocksize' "$tmp/r" |
				awk '{printf "%s ", $3} END {print ""}')
			# logstart is an fs block number: AG in the high bits, block in the AG below.
			local agblocks
			agblocks=$(xfs_db -r -c 'sb 0' -c 'p agblocks' "$tmp/r" | awk '{print $3}')
			dd if=/dev/zero of="$tmp/r" bs="$bsize" conv=notrunc status=none \
				seek=$(((start >> agblklog) * agblocks + (start & ((1 << agblklog) - 1)) + 2)) \
				count=$((blocks - 2))
		fi
		python3 "$top/scripts/fuzz-squeeze.py" "$tmp/r" "$dir/$name"
		rm -f "$tmp/md" "$tmp/r"
	done <"$tmp/img/xfsimages.list"
	rm -rf "$tmp"
}

seeds() { # TARGET DIR
	mkdir -p "$2"
	case $1 in
	fs|open) seeds_images "$2" ;;
	xfs) seeds_xfs "$2" ;;
	export) seeds_export "$2" ;;
	mounts) seeds_mounts "$2" ;;
	state) seeds_state "$2" ;;
	*) die "no target $1" ;;
	esac
}

# --- commands ----------------------------------------------------------------------------

run() { # SECONDS TARGET...
	local seconds=$1 t log execs cov cpu
	shift
	for t in "$@"; do
		[ -x "$fuzzdir/fuzz_$t" ] || die "build/fuzz/fuzz_$t is not built (make fuzz)"
		if [ ! -d "$fuzzdir/seeds/$t" ]; then
			seeds "$t" "$fuzzdir/seeds/$t.tmp"
			mv "$fuzzdir/seeds/$t.tmp" "$fuzzdir/seeds/$t"
		fi
		[ -d "$fuzzdir/corpus/$t" ] || unpack "$t" "$fuzzdir/corpus/$t"
		log=$fuzzdir/logs/$t-$(date +%Y%m%d-%H%M%S).log
		mkdir -p "$fuzzdir/logs"
		echo "fuzz: $t for ${seconds}s (log $log)"
		# -timeout: one input over 25 s is a finding (a hang), as is one allocation over
		# 2 GiB. The timeout is wall-clock and the run is niced: on a machine busy with
		# other work 10 s gave a false hang (an input of 0.3 s alone). The RSS limit is
		# loose: libFuzzer keeps the corpus in memory, and the image targets' corpora grow
		# to hundreds of MiB.
		local status=0
		( nice -n "${FUZZ_NICE:-10}" "$fuzzdir/fuzz_$t" -max_total_time="$seconds" \
			-max_len="$(max_len "$t")" -timeout=25 -rss_limit_mb=8192 \
			-malloc_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="$fuzzdir/crash-$t-" \
			"$fuzzdir/corpus/$t" "$fuzzdir/seeds/$t" >"$log" 2>&1 || exit
		  times >"$log.cpu" ) || status=$?
		[ "$status" -eq 0 ] ||
			{ tail -40 "$log" >&2; die "$t found something: $fuzzdir/crash-$t-*"; }
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
		# times: the subshell's own line, then its children's (user, system) as 1m2.5s.
		cpu=$(tail -1 "$log.cpu" | awk '{ t = 0; for (i = 1; i <= 2; i++) {
			split($i, p, "m"); t += p[1] * 60 + p[2] } printf "%d", t }')
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$seconds" "$cpu" \
			"$execs" "${cov:-?}" >>"$fuzzdir/runs.log"
		echo "fuzz: $t: ${cpu}s of CPU, $execs executions, coverage $cov edges"
	done
}

save() { # TARGET...
	local t tmp
	for t in "$@"; do
		[ -d "$fuzzdir/corpus/$t" ] || die "nothing to save for $t (run it first)"
		tmp=$(mktemp -d)
		unpack "$t" "$tmp/old"
		mkdir -p "$tmp/new" "$tmp/run"
		# A snapshot (hard links): a fuzzer still running replaces inputs as it goes.
		cp -al "$fuzzdir/corpus/$t/." "$tmp/run/" 2>/dev/null || true
		# The merge keeps the fewest inputs that reach all the edges of everything given.
		"$fuzzdir/fuzz_$t" -merge=1 -max_len="$(max_len "$t")" -timeout=25 \
			-rss_limit_mb=8192 "$tmp/new" "$tmp/old" "$tmp/run" \
			>"$tmp/merge.log" 2>&1 || true
		[ -n "$(ls -A "$tmp/new" 2>/dev/null)" ] ||
			{ tail -20 "$tmp/merge.log" >&2; rm -rf "$tmp"; die "merge of $t failed"; }
		mkdir -p "$top/tests/fuzz/corpus"
		tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$tmp/new" \
			-cf - . | xz -9e >"$top/tests/fuzz/corpus/$t.tar.xz"
		echo "fuzz: $t: $(ls "$tmp/new" | wc -l) inputs," \
			"$(stat -c %s "$top/tests/fuzz/corpus/$t.tar.xz") bytes compressed"
		rm -rf "$tmp"
	done
}

replay() { # TARGET...
	local t dir
	for t in "$@"; do
		[ -f "$top/tests/fuzz/corpus/$t.tar.xz" ] || { echo "fuzz: no corpus for $t yet"; continue; }
		dir=$build/fuzz/replay-corpus/$t
		rm -rf "$dir"
		unpack "$t" "$dir"
		printf 'fuzz: %-7s ' "$t"
		find "$dir" -type f -print0 | sort -z |
			xargs -0 -r "$build/fuzz/replay_$t" | awk '{n += $2} END {print n " inputs"}'
		[ "${PIPESTATUS[2]}" -eq 0 ] || die "replay of the $t corpus failed"
	done
}

[ $# -ge 1 ] || die "usage: $0 run SECONDS TARGET... | save TARGET... | replay TARGET... | seeds TARGET DIR"
cmd=$1
shift
case $cmd in
run) [ $# -ge 2 ] || die "usage: $0 run SECONDS TARGET..."; run "$@" ;;
save) save "$@" ;;
replay) replay "$@" ;;
seeds) [ $# -eq 2 ] || die "usage: $0 seeds TARGET DIR"; seeds "$1" "$2" ;;
*) die "unknown command $cmd" ;;
esac
