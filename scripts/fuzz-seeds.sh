#!/usr/bin/env bash
# Decompresses the e2fsprogs corpus into DIR as fuzzing seeds (once; later runs reuse it).
#   scripts/fuzz-seeds.sh DIR
set -euo pipefail
dir=$1
corpus=$("$(dirname "$0")/fetch-corpus.sh" --locate) || { echo "fuzz-seeds: $corpus" >&2; exit 2; }
mkdir -p "$dir"
for f in "$corpus"/*.image*; do
	out=$dir/$(basename "${f%.gz}"); out=${out%.bz2}
	[ -s "$out" ] && continue
	case $f in
	*.gz) gzip -dc "$f" > "$out" ;;
	*.bz2) bzip2 -dc "$f" > "$out" ;;
	*) cp "$f" "$out" ;;
	esac
done
echo "fuzz-seeds: $(ls "$dir" | wc -l) seeds in $dir"
