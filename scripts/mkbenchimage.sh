#!/usr/bin/env bash
# Builds the benchmark image: a root-fs-like tree (the host's /usr/lib/python3 and /etc/ssl
# when there are enough of them, else a made-up tree of the same shape: thousands of small
# files in nested directories) plus urunc-style boot artifacts (64 MiB kernel, 16 MiB
# initrd of random bytes, urunc.json), as ext4 made by mkfs.ext4 -d. Used by bench.sh and
# soak.sh.
#
#   scripts/mkbenchimage.sh DIR     writes DIR/image.ext4 (the tree stays in DIR/src)
#
# Prints one line: entries, data size, image size.
set -euo pipefail

dir=${1:?usage: mkbenchimage.sh DIR}
src=$dir/src
mkdir -p "$src/unikernel"
if [ -d /usr/lib/python3 ] && [ "$(find /usr/lib/python3 | head -6000 | wc -l)" -gt 2000 ]; then
	mkdir -p "$src/usr/lib" && cp -a /usr/lib/python3 "$src/usr/lib/"
	[ -d /etc/ssl ] && mkdir -p "$src/etc" && cp -a /etc/ssl "$src/etc/"
else
	python3 - "$src" <<'PY'
import os, random, sys
r = random.Random(1)
for d in range(150):
    p = os.path.join(sys.argv[1], "usr/lib/pkg%03d/sub%d" % (d, d % 7))
    os.makedirs(p, exist_ok=True)
    for f in range(25):
        with open(os.path.join(p, "mod%02d.py" % f), "wb") as fh:
            fh.write(os.urandom(r.choice([200, 1500, 6000, 30000])))
PY
fi
head -c 64M /dev/urandom >"$src/unikernel/kernel"
head -c 16M /dev/urandom >"$src/unikernel/initrd"
printf '{"com.urunc.unikernel.binary":"%s","com.urunc.unikernel.initrd":"%s"}\n' \
	"$(printf /unikernel/kernel | base64)" "$(printf /unikernel/initrd | base64)" >"$src/urunc.json"
img=$dir/image.ext4
size_mb=$(( $(du -sm "$src" | cut -f1) * 3 / 2 + 64 ))
truncate -s "${size_mb}M" "$img"
mkfs.ext4 -q -F -d "$src" "$img"
echo "$(find "$src" | wc -l) entries, $(du -sh "$src" | cut -f1) of data, image ${size_mb} MiB"
