#!/bin/sh
# Builds an XFS image with directories of every format and files with xattrs of every
# format, filled by the kernel through a loop mount, then writes what the kernel's own
# read-only mount of it shows (the oracle the unit tests compare with) next to it.
#
#   scripts/mkxfs-dirattr.sh IMG 'MKFS_OPTS' [SIZE]
#
# Needs root, mkfs.xfs, setfacl, setfattr, python3. Writes IMG (sparse) and IMG.kernel:
#   D <dir> <name hex> <ino> <d_type>   every readdir entry, "." and ".." included
#   X <path> <name> <value hex>         every xattr listxattr shows root, in its order
#   F <dir> <format> <nextents>         core.format and extent count as xfs_db prints them
#   A <path> <aformat> <naextents>      the same for the attr fork
# Directories: /sf (a few), /block (30), /leaf (400), /node (5000), /btree (fragmented,
# many extents: the data fork becomes a bmbt), /names (lengths 1..255 and UTF-8).
# Files under /x: sf (3 small attrs), leaf (50), node (2000), remote (a 60 KiB value), ns
# (trusted, security, user), acl and acldir (POSIX ACLs).
set -eu
img=$1
opts=$2
size=${3:-600M}
mnt=$(mktemp -d)
trap 'umount "$mnt" 2>/dev/null || true; rmdir "$mnt"' EXIT

rm -f "$img" "$img.kernel"
truncate -s "$size" "$img.tmp"
# shellcheck disable=SC2086
mkfs.xfs -q -f $opts "$img.tmp"
mount -o loop "$img.tmp" "$mnt"

python3 - "$mnt" <<'EOF'
import os, sys
m = sys.argv[1]
def touch(p):
    os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))
def fill(d, n, fmt):
    os.mkdir(os.path.join(m, d))
    for i in range(n):
        touch(os.path.join(m, d, fmt % i))
fill("sf", 3, "f%d")
os.mkdir(os.path.join(m, "sf", "sub"))
os.symlink("f0", os.path.join(m, "sf", "link"))
fill("block", 30, "block_entry_%03d")
fill("leaf", 400, "leaf_entry_%04d")
fill("node", 5000, "node_entry_with_a_longer_name_%05d")
# Holes in the data space: a leaf directory whose emptied data blocks were freed.
for i in range(0, 5000, 1):
    if (i // 100) % 3 == 1:
        os.unlink(os.path.join(m, "node", "node_entry_with_a_longer_name_%05d" % i))
# A fragmented directory: grow it while other files take the blocks next to it.
os.mkdir(os.path.join(m, "btree"))
os.mkdir(os.path.join(m, "filler"))
for i in range(12000):
    touch(os.path.join(m, "btree", "b%06d_" % i + "y" * 40))
    if i % 40 == 0:
        with open(os.path.join(m, "filler", "f%d" % i), "wb") as f:
            f.write(b"z" * 4096)
            f.flush()
            os.fsync(f.fileno())
os.mkdir(os.path.join(m, "names"))
for n in range(1, 256):
    touch(os.path.join(m, "names", "n" * n))
for s in ["\u65e5\u672c\u8a9e", "caf\u00e9", "\U0001f600" * 10, "a\u00e9" * 80]:
    touch(os.path.join(m, "names", s))
os.mkdir(os.path.join(m, "names", "d"))
os.mkfifo(os.path.join(m, "names", "fifo"))
x = os.path.join(m, "x")
os.mkdir(x)
for f in ["sf", "leaf", "node", "remote", "ns", "acl", "none"]:
    touch(os.path.join(x, f))
os.mkdir(os.path.join(x, "acldir"))
for i in range(3):
    os.setxattr(os.path.join(x, "sf"), "user.s%d" % i, b"v%d" % i)
for i in range(50):
    os.setxattr(os.path.join(x, "leaf"), "user.leaf_attr_%02d" % i, b"value %d " % i * 3)
for i in range(2000):
    os.setxattr(os.path.join(x, "node"), "user.node_attr_%05d" % i, b"v%d" % i)
os.setxattr(os.path.join(x, "node"), "user." + "L" * 250, b"long name")
os.setxattr(os.path.join(x, "remote"), "user.big", bytes(range(256)) * 240)
os.setxattr(os.path.join(x, "remote"), "user.small", b"s")
os.setxattr(os.path.join(x, "remote"), "user.mid", b"m" * 3000)
os.setxattr(os.path.join(x, "ns"), "trusted.t", b"tv")
os.setxattr(os.path.join(x, "ns"), "security.s", b"sv")
os.setxattr(os.path.join(x, "ns"), "user.u", b"uv")
os.setxattr(os.path.join(x, "ns"), "user.empty", b"")
EOF
setfacl -m u:1234:r,g:77:rw "$mnt/x/acl"
setfacl -d -m u:5:rwx,g:55:rx "$mnt/x/acldir"
setfacl -m u:7:r "$mnt/x/acldir"
umount "$mnt"
mv "$img.tmp" "$img"

# The oracle: the kernel's read-only mount of the finished image.
mount -o ro,norecovery,loop "$img" "$mnt"
python3 - "$mnt" > "$img.kernel.tmp" <<'EOF'
import os, stat, sys
m = sys.argv[1]
DT = {stat.S_IFREG: 8, stat.S_IFDIR: 4, stat.S_IFLNK: 10, stat.S_IFIFO: 1,
      stat.S_IFCHR: 2, stat.S_IFBLK: 6, stat.S_IFSOCK: 12}
for d in ["", "sf", "block", "leaf", "node", "btree", "names", "x"]:
    p = os.path.join(m, d)
    for n in [".", ".."] + os.listdir(p):
        # The mount's root "..": the directory above the mount point, not the image's.
        st = os.lstat(os.path.join(p, "." if (d, n) == ("", "..") else n))
        print("D /%s %s %d %d" % (d, os.fsencode(n).hex(), st.st_ino, DT[stat.S_IFMT(st.st_mode)]))
for f in sorted(os.listdir(os.path.join(m, "x"))):
    p = os.path.join(m, "x", f)
    for a in os.listxattr(p, follow_symlinks=False):
        print("X /x/%s %s %s" % (f, a, os.getxattr(p, a, follow_symlinks=False).hex()))
EOF
umount "$mnt"
for d in sf block leaf node btree names; do
	ino=$(grep "^D /$d 2e " "$img.kernel.tmp" | cut -d' ' -f4)
	fmt=$(xfs_db -r -c "inode $ino" -c 'print core.format core.nextents' "$img" |
	      sed 's/.*= //' | tr '\n' ' ')
	echo "F /$d $fmt" >> "$img.kernel.tmp"
done
for f in sf leaf node remote ns acl; do
	hex=$(printf %s "$f" | od -An -tx1 | tr -d ' \n')
	ino=$(grep "^D /x $hex " "$img.kernel.tmp" | cut -d' ' -f4)
	fmt=$(xfs_db -r -c "inode $ino" -c 'print core.aformat core.naextents' "$img" |
	      sed 's/.*= //' | tr '\n' ' ')
	echo "A /x/$f $fmt" >> "$img.kernel.tmp"
done
mv "$img.kernel.tmp" "$img.kernel"
