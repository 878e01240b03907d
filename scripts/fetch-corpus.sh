#!/usr/bin/env bash
# Fetches the e2fsprogs test images (tests/<name>/image[.gz|.bz2] of e2fsprogs' own test
# suite) from Debian's e2fsprogs SOURCE package, into the layout of ../shared/corpus/
# e2fsprogs: DEST/<name>.image[.gz|.bz2] and a README.md saying where they came from.
#
#   scripts/fetch-corpus.sh [--suite SUITE] [DEST]    (DEST: build/corpus/e2fsprogs)
#   scripts/fetch-corpus.sh --locate    prints the corpus the tests use: $BV_CORPUS if
#       set, else ../shared/corpus/e2fsprogs beside the checkout, else the fetched
#       build/corpus/e2fsprogs; or, exit 1, why there is none and how to fetch it
#
# apt does the download through a private sources list, lists and cache under
# DEST.apt/, so the system's apt state and configuration are only read, never written
# (no root needed). The deb-src lines are derived from the machine's own deb lines
# (/etc/apt/sources.list and sources.list.d/*.list, *.sources, component main), with
# their Signed-By keyring: apt checks the Sources index against the archive's signed
# Release file and the downloaded files against the index; this script checks the
# .orig tarball once more against the .dsc's Checksums-Sha256 before reading it.
# SUITE (or BV_CORPUS_SUITE) replaces the machine's suites, e.g. --suite sid for a newer
# e2fsprogs than the release's: bookworm's 1.47.0 has 217 single-file images, sid's
# 1.47.4 the 231 of ../shared/corpus/e2fsprogs.
#
# Idempotent: when DEST holds a complete fetch of the same suite choice, it prints the
# summary and downloads nothing. On failure it writes the reason to DEST.failed (the
# corpus tests quote it in their SKIP line) and exits 1. Prints one summary line.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
suite=${BV_CORPUS_SUITE:-}
dest=
while [ $# -gt 0 ]; do
	case $1 in
	--locate)
		fetched=$top/build/corpus/e2fsprogs
		if [ -n "${BV_CORPUS:-}" ]; then
			[ -d "$BV_CORPUS" ] && { echo "$BV_CORPUS"; exit 0; }
			echo "no e2fsprogs corpus: BV_CORPUS=$BV_CORPUS is not a directory"
		elif [ -d "$top/../shared/corpus/e2fsprogs" ]; then
			(cd "$top/../shared/corpus/e2fsprogs" && pwd)
			exit 0
		elif [ -f "$fetched/.fetched" ]; then
			echo "$fetched"
			exit 0
		elif [ -f "$fetched.failed" ]; then
			echo "no e2fsprogs corpus: scripts/fetch-corpus.sh failed: $(cat "$fetched.failed") (run it again when that is fixed; make check does)"
		else
			echo "no e2fsprogs corpus: neither ../shared/corpus/e2fsprogs nor build/corpus/e2fsprogs (run scripts/fetch-corpus.sh; make check does)"
		fi
		exit 1
		;;
	--suite) suite=${2:?--suite needs a suite name}; shift 2 ;;
	--suite=*) suite=${1#--suite=}; shift ;;
	-h | --help) sed -n '2,25p' "$0"; exit 0 ;;
	-*) echo "fetch-corpus: unknown option $1 (try --help)" >&2; exit 2 ;;
	*) dest=$1; shift ;;
	esac
done
dest=${dest:-$top/build/corpus/e2fsprogs}
case $dest in /*) ;; *) dest=$PWD/$dest ;; esac
stamp=$dest/.fetched
want="suite=${suite:-machine}"

fail() {
	echo "fetch-corpus: $*" >&2
	mkdir -p "$(dirname "$dest")"
	echo "$*" >"$dest.failed"
	exit 1
}

# Done before with the same choice: nothing to do.
if [ -f "$stamp" ] && [ "$(sed -n 1p "$stamp")" = "$want" ]; then
	echo "fetch-corpus: $(sed -n 2p "$stamp") (cached in $dest)"
	exit 0
fi

command -v apt-get >/dev/null || fail "no apt-get: this needs a Debian machine"
command -v sha256sum >/dev/null || fail "no sha256sum"

# The machine's deb lines, as "URI SUITE SIGNED-BY" for component main: one-line entries
# of sources.list and *.list, then deb822 stanzas of *.sources.
machine_entries() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		# deb [opts] URI SUITE COMPONENTS...
		sed -e 's/#.*//' "$f" | awk '
			$1 != "deb" { next }
			{ opts = ""; i = 2
			  if ($2 ~ /^\[/) { while ($i !~ /\]$/) { opts = opts " " $i; i++ }
			                    opts = opts " " $i; i++ }
			  uri = $i; s = $(i + 1); main = 0
			  for (j = i + 2; j <= NF; j++) if ($j == "main") main = 1
			  if (!main) next
			  key = "-"
			  if (match(opts, /signed-by=[^] ]+/)) key = substr(opts, RSTART + 10, RLENGTH - 10)
			  print uri, s, key }'
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && comps ~ /(^| )main( |$)/ && enabled != "no") {
					n = split(uris, u, " "); m = split(suites, s, " ")
					for (a = 1; a <= n; a++) for (b = 1; b <= m; b++)
						print u[a], s[b], (key == "" ? "-" : key)
				}
				types = uris = suites = comps = key = enabled = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			{ f = tolower($1); sub(/:$/, "", f); $1 = ""; v = substr($0, 2) }
			f == "types" { types = v } f == "uris" { uris = v } f == "suites" { suites = v }
			f == "components" { comps = v } f == "signed-by" { key = v }
			f == "enabled" { enabled = tolower(v) }
			END { flush() }' "$f"
	done
}

apt_dir=$dest.apt
rm -rf "$apt_dir" "$dest.failed"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/src"
list=$apt_dir/sources.list
machine_entries | while read -r uri s key; do
	# A --suite replaces the release's suites; -security and -updates add nothing then.
	if [ -n "$suite" ]; then
		case $s in *-security | *-updates | *-backports) continue ;; esac
		s=$suite
	fi
	if [ "$key" = - ]; then
		echo "deb-src $uri $s main"
	else
		echo "deb-src [signed-by=$key] $uri $s main"
	fi
done | sort -u >"$list"
[ -s "$list" ] || fail "no deb line with component main in /etc/apt/sources.list or sources.list.d"

# Private lists and cache; the lock is ours (Debug::NoLocking only skips the system's
# dpkg lock, which a download does not need). As root, apt would hand the download to
# user _apt, who cannot write our directories: keep it as the caller.
apt_opts=(-q -o "Dir::Etc::SourceList=$list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
	-o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)")
if ! apt-get "${apt_opts[@]}" update >"$apt_dir/update.log" 2>&1 ||
	grep -q '^\(E\|W\): Failed to fetch' "$apt_dir/update.log"; then
	fail "apt-get update of $(wc -l <"$list") deb-src lines failed: $(grep -m1 -E '^(E|W|Err)' "$apt_dir/update.log" || tail -1 "$apt_dir/update.log")"
fi
# The newest e2fsprogs source version the lists offer, in dpkg's order (~ sorts first).
ver=
for v in $(apt-cache "${apt_opts[@]}" showsrc e2fsprogs 2>/dev/null |
	awk '/^Package: /{p=$2} /^Version: / && p=="e2fsprogs"{print $2}'); do
	if [ -z "$ver" ] || dpkg --compare-versions "$v" gt "$ver"; then ver=$v; fi
done
[ -n "$ver" ] || fail "no e2fsprogs source package in $(sed -n 's/^deb-src //p' "$list" | tr '\n' ';')"
(cd "$apt_dir/src" && apt-get "${apt_opts[@]}" source --download-only "e2fsprogs=$ver") \
	>"$apt_dir/source.log" 2>&1 ||
	fail "apt-get source --download-only e2fsprogs=$ver failed: $(grep -m1 -E '^(E|W):' "$apt_dir/source.log" || tail -1 "$apt_dir/source.log")"

# The .orig tarball against the .dsc (apt checked both against the signed index).
dsc=$(ls "$apt_dir"/src/e2fsprogs_*.dsc 2>/dev/null | head -1)
[ -n "$dsc" ] || fail "no .dsc downloaded for e2fsprogs $ver"
orig=$(ls "$apt_dir"/src/e2fsprogs_*.orig.tar.* 2>/dev/null | grep -v '\.asc$' | head -1)
[ -n "$orig" ] || fail "no .orig tarball downloaded for e2fsprogs $ver"
sum=$(awk -v f="$(basename "$orig")" '/^Checksums-Sha256:/{on=1; next} /^[^ ]/{on=0}
	on && $3 == f {print $1}' "$dsc")
[ -n "$sum" ] || fail "$(basename "$dsc") lists no SHA-256 for $(basename "$orig")"
[ "$(sha256sum <"$orig" | cut -d' ' -f1)" = "$sum" ] ||
	fail "$(basename "$orig") does not match the SHA-256 in $(basename "$dsc")"

# Only tests/<name>/image, image.gz and image.bz2 (the single-image tests), renamed
# <name>.image[.gz|.bz2] as in ../shared/corpus/e2fsprogs. Multi-file images
# (image.tar.bz2, i_qcow's image*.orig.bz2) are left out there too.
new=$dest.new
rm -rf "$new"
mkdir -p "$new/x"
tar -xf "$orig" -C "$new/x" --wildcards --no-anchored \
	'tests/*/image' 'tests/*/image.gz' 'tests/*/image.bz2' ||
	fail "cannot extract the test images from $(basename "$orig")"
n=0
for f in "$new"/x/*/tests/*/image "$new"/x/*/tests/*/image.gz "$new"/x/*/tests/*/image.bz2; do
	[ -f "$f" ] || continue
	t=$(basename "$(dirname "$f")")
	mv "$f" "$new/$t.$(basename "$f")"
	chmod 0444 "$new/$t.$(basename "$f")"
	n=$((n + 1))
done
rm -rf "$new/x"
[ $n -gt 0 ] || fail "no tests/*/image* in $(basename "$orig")"
cat >"$new/README.md" <<EOF
# e2fsprogs test images

$n images from the test suite of e2fsprogs $ver (tests/<name>/image[.gz|.bz2] of
Debian's source package $(basename "$dsc"), .orig SHA-256 $sum; GPL-2.0 test data),
fetched by scripts/fetch-corpus.sh. Each file is named \`<test>.image[.gz|.bz2]\`.

Most are deliberately corrupt; the test names say what is wrong with each image. Every
image must be opened or refused with a clear error, never crash, hang or read out of
bounds.
EOF
summary="e2fsprogs $ver: $n images, source $(du -k "$orig" | cut -f1) KiB, .orig SHA-256 checked against the .dsc"
printf '%s\n%s\n' "$want" "$summary" >"$new/.fetched"
rm -rf "$dest"
mv "$new" "$dest"
rm -rf "$apt_dir"
echo "fetch-corpus: $summary (in $dest)"
