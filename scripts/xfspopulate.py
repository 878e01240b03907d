#!/usr/bin/env python3
"""xfspopulate.py WHAT DIR: writes one part of the XFS test trees into DIR (a kernel xfs
mount, read-write), for scripts/mkxfsimages.sh. Deterministic: the same names, sizes,
bytes, modes, owners and timestamps (except ctime, which only the clock sets) every run.

WHAT is one of
  rootfs    a root-filesystem-like tree (a few hundred files in nested directories,
            symlinks, an /etc) and urunc-style artifacts: /unikernel/kernel (4 MiB),
            /unikernel/initrd (1 MiB), /urunc.json
  dirs      dirs/sf (5 entries, shortform), dirs/block (30), dirs/leaf (400),
            dirs/node (1000; made elsewhere and renamed in, so no inode chunk lands between
            its blocks: few enough extents for the extents format), dirs/btree (6000
            entries grown through fragmented free space: node form in a btree data fork), dirs/long (255-byte names)
  bigdirs   bigdirs/leaf (3000 entries) and bigdirs/node (20000): leaf and node form with
            64 KiB directory blocks
  attrs     attrs/sf, attrs/leaf (50), attrs/node (2000), attrs/remote (60 KiB values),
            attrs/ns (user., trusted., security.), attrs/dir (attributes on a directory)
  special   sparse (1 TiB apparent), unwritten (fallocate), extents (every other block
            written: thousands of extents, btree data fork), symlinks (short: local;
            1000 bytes: remote), hard-link groups, devices, fifo, socket, modes
  times     nanosecond, old (1901) and far-future (2400) timestamps
  small     a bit of each of the above, for the geometry variants
  proto     (DIR is a source tree, not a mount) prints an mkfs.xfs -p protofile of it on
            stdout: regular files, directories, symlinks, devices, fifos, setuid/setgid;
            sockets, xattrs, hard links (each name becomes its own inode) and times are
            what xfsprogs 6.1's protofiles cannot carry
  noattrs   small without attrs/ (a source tree for mkfs.xfs -p, on any filesystem)
  settimes  every entry's atime and mtime to 2024-05-06 07:08:09.123456789 UTC, except
            under times/ (run last, after everything that changes a directory)
"""
import hashlib
import os
import socket
import stat
import sys

FIXED = 1714979289 * 10**9 + 123456789  # 2024-05-06 07:08:09.123456789 UTC


def content(n, seed):
    out, i, seed = [], 0, seed.encode()
    while n > 0:
        block = hashlib.sha256(seed + i.to_bytes(8, "little")).digest() * 128
        out.append(block[:n])
        n -= min(n, len(block))
        i += 1
    return b"".join(out)


def write(path, n, seed, mode=0o644):
    with open(path, "wb") as f:
        f.write(content(n, seed))
    os.chmod(path, mode)


def touch(path, mode=0o644):
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, mode))


def rootfs(top, scale=1):
    for d in ("bin", "sbin", "etc/ssl/certs", "usr/bin", "usr/share/doc", "var/lib", "tmp",
              "unikernel", "root", "home/user"):
        os.makedirs(os.path.join(top, d), exist_ok=True)
    os.chmod(os.path.join(top, "tmp"), 0o1777)
    os.chmod(os.path.join(top, "root"), 0o700)
    os.chown(os.path.join(top, "home/user"), 1000, 1000)
    for i in range(40 // scale):
        write(os.path.join(top, "usr/bin/tool%02d" % i), 3000 + 977 * i, "bin%d" % i, 0o755)
        os.symlink("../usr/bin/tool%02d" % i, os.path.join(top, "bin/tool%02d" % i))
    for p in range(30 // scale):
        d = os.path.join(top, "usr/lib/pkg%02d/sub%d" % (p, p % 4))
        os.makedirs(d)
        for f in range(12):
            write(os.path.join(d, "mod%02d.py" % f), [0, 61, 300, 1500, 4096, 6000, 30000][(p + f) % 7],
                  "lib%d.%d" % (p, f))
    for i in range(20 // scale):
        write(os.path.join(top, "etc/ssl/certs/ca%02d.pem" % i), 1200 + i, "ca%d" % i)
        os.symlink("ca%02d.pem" % i, os.path.join(top, "etc/ssl/certs/%08x.0" % (i * 2654435761 & 0xffffffff)))
    with open(os.path.join(top, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n")
    with open(os.path.join(top, "etc/hostname"), "w") as f:
        f.write("bootviewfs-xfs\n")
    os.symlink("/proc/self/mounts", os.path.join(top, "etc/mtab"))
    write(os.path.join(top, "unikernel/kernel"), (4 << 20) // scale + 4097, "kernel", 0o755)
    write(os.path.join(top, "unikernel/initrd"), (1 << 20) // scale + 123, "initrd")
    with open(os.path.join(top, "urunc.json"), "w") as f:
        f.write('{"com.urunc.unikernel.binary":"L3VuaWtlcm5lbC9rZXJuZWw=",'
                '"com.urunc.unikernel.initrd":"L3VuaWtlcm5lbC9pbml0cmQ=",'
                '"com.urunc.unikernel.unikernelType":"linux"}\n')


def fill(d, n, fmt="e%05d"):
    for i in range(n):
        touch(os.path.join(d, fmt % i))


def moved_in(top, d, n, fmt):
    """N entries made in a staging directory and renamed into D: no inode allocation
    between D's block allocations."""
    stage = os.path.join(top, ".stage")
    os.makedirs(stage)
    fill(stage, n, fmt)
    os.makedirs(d)
    for i in range(n):
        os.rename(os.path.join(stage, fmt % i), os.path.join(d, fmt % i))
    os.rmdir(stage)


def dirs(top, btree=True):
    base = os.path.join(top, "dirs")
    os.makedirs(base)
    os.makedirs(os.path.join(base, "sf"))
    fill(os.path.join(base, "sf"), 5)
    os.makedirs(os.path.join(base, "empty"))
    os.makedirs(os.path.join(base, "block"))
    fill(os.path.join(base, "block"), 30)
    moved_in(top, os.path.join(base, "leaf"), 400, "e%05d")
    moved_in(top, os.path.join(base, "node"), 1000, "e%05d")
    os.makedirs(os.path.join(base, "long"))
    for i in range(40):
        touch(os.path.join(base, "long", ("%03d" % i) + "L" * 252))
    if not btree:
        return
    # Free space in single blocks: 4 KiB files, every other one removed, then a directory
    # grown through it gets one extent per block.
    filler = os.path.join(top, "filler")
    os.makedirs(filler)
    for i in range(3000):
        write(os.path.join(filler, "%05d" % i), 4096, "fill%d" % i)
    os.sync()
    for i in range(0, 3000, 2):
        os.unlink(os.path.join(filler, "%05d" % i))
    os.sync()
    os.makedirs(os.path.join(base, "btree"))
    fill(os.path.join(base, "btree"), 6000, "b%05d")


def bigdirs(top):
    base = os.path.join(top, "bigdirs")
    os.makedirs(base)
    moved_in(top, os.path.join(base, "leaf"), 3000, "e%05d")
    moved_in(top, os.path.join(base, "node"), 20000, "e%05d")


def setx(path, name, value):
    os.setxattr(path, name, value, follow_symlinks=False)


def attrs(top, big=True):
    d = os.path.join(top, "attrs")
    os.makedirs(d)
    p = os.path.join(d, "sf")
    write(p, 10, "sf")
    setx(p, "user.a", b"1")
    setx(p, "user.empty", b"")
    setx(p, "user.bin", bytes([0, 255, 16, 254]))
    p = os.path.join(d, "leaf")
    write(p, 10, "leaf")
    for i in range(50):
        setx(p, "user.leaf%03d" % i, content(20 + i, "lv%d" % i))
    p = os.path.join(d, "remote")
    write(p, 10, "remote")
    setx(p, "user.remote60k", content(60 << 10, "r60"))
    setx(p, "user.remote4k", content(4096, "r4"))
    setx(p, "user.small", b"s")
    p = os.path.join(d, "ns")
    write(p, 10, "ns")
    setx(p, "user.u", b"user-value")
    setx(p, "trusted.t", b"trusted-value")
    setx(p, "security.s", b"security-value")
    setx(p, "trusted.big", content(3000, "tb"))
    p = os.path.join(d, "dir")
    os.makedirs(p)
    setx(p, "user.dir", b"d")
    os.symlink("sf", os.path.join(d, "link"))
    setx(os.path.join(d, "link"), "trusted.onlink", b"l")
    if not big:
        return
    p = os.path.join(d, "node")
    write(p, 10, "node")
    for i in range(2000):
        setx(p, "user.node-attribute-%05d" % i, content(10 + i % 50, "nv%d" % i))
    setx(p, "user.node-remote", content(70000 - 5536, "nr"))


def special(top, big=True):
    d = os.path.join(top, "special")
    os.makedirs(d)
    bs = os.statvfs(top).f_bsize
    # Sparse: 1 TiB apparent, data at a few offsets.
    p = os.path.join(d, "sparse-1t")
    with open(p, "wb") as f:
        for off, n, seed in ((0, 4096, "s0"), (1 << 20, 5000, "s1"), (1 << 30, 8192, "s2"),
                             ((1 << 40) - 10, 10, "s3")):
            f.seek(off)
            f.write(content(n, seed))
    p = os.path.join(d, "sparse-mid")
    with open(p, "wb") as f:
        f.write(content(5000, "m0"))
        f.seek(3 << 20)
        f.write(content(5000, "m1"))
        f.truncate(5 << 20)
    # Unwritten: preallocated, one block written in the middle; preallocated past EOF.
    p = os.path.join(d, "unwritten")
    fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
    os.posix_fallocate(fd, 0, 1 << 20)
    os.pwrite(fd, content(bs, "u1"), 64 * 4096)
    os.close(fd)
    p = os.path.join(d, "unwritten-all")
    fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
    os.posix_fallocate(fd, 0, 3 << 20)
    os.close(fd)
    # Thousands of extents: every other block written (a hole between each).
    p = os.path.join(d, "extents")
    n = 2500 if big else 300
    fd = os.open(p, os.O_CREAT | os.O_WRONLY, 0o644)
    for i in range(n):
        os.pwrite(fd, content(bs, "x%d" % i), 2 * i * bs)
    os.close(fd)
    # Symlinks: local (in the inode) and remote (1000 bytes: blocks of their own).
    os.symlink("a", os.path.join(d, "link-1"))
    os.symlink("t" * 60, os.path.join(d, "link-60"))
    os.symlink("x/" * 499 + "yy", os.path.join(d, "link-1000"))
    os.symlink("/" + "z" * 1022, os.path.join(d, "link-1023"))  # XFS_SYMLINK_MAXLEN 1024
    os.symlink("does/not/exist", os.path.join(d, "link-dangling"))
    os.symlink("../special", os.path.join(d, "link-dir"))
    # Hard links: a pair, a triple across directories.
    os.makedirs(os.path.join(d, "h1"))
    os.makedirs(os.path.join(d, "h2"))
    write(os.path.join(d, "h1/pair-a"), 3000, "h2")
    os.link(os.path.join(d, "h1/pair-a"), os.path.join(d, "h1/pair-b"))
    write(os.path.join(d, "h1/tri"), 9000, "h3")
    os.link(os.path.join(d, "h1/tri"), os.path.join(d, "h2/tri"))
    os.link(os.path.join(d, "h1/tri"), os.path.join(d, "tri-again"))
    # Devices (old and large major/minor), fifo, socket.
    os.mkfifo(os.path.join(d, "fifo"))
    s = socket.socket(socket.AF_UNIX)
    s.bind(os.path.join(d, "socket"))
    s.close()
    for name, kind, ma, mi in (("null", stat.S_IFCHR, 1, 3), ("loop0", stat.S_IFBLK, 7, 0),
                               ("c-259-262143", stat.S_IFCHR, 259, 262143),  # xfs: 9-bit major, 18-bit minor
                               ("b-511-262143", stat.S_IFBLK, 511, 262143),
                               ("c-256-0", stat.S_IFCHR, 256, 0)):
        os.mknod(os.path.join(d, name), kind | 0o600, os.makedev(ma, mi))
    # Modes and owners.
    for m in (0o4755, 0o2755, 0o6711, 0o0000, 0o0777, 0o0400):
        p = os.path.join(d, "mode%04o" % m)
        write(p, 5, "m%o" % m)
        os.chmod(p, m)
    os.makedirs(os.path.join(d, "sticky"))
    os.chmod(os.path.join(d, "sticky"), 0o1777)
    os.makedirs(os.path.join(d, "sgid-dir"))
    os.chmod(os.path.join(d, "sgid-dir"), 0o2775)
    for uid in (1000, 65534, 100000, 4000000000):
        p = os.path.join(d, "owner%d" % uid)
        write(p, 3, "o%d" % uid)
        os.chown(p, uid, uid + 1)
    os.symlink("owner1000", os.path.join(d, "owner-link"))
    os.chown(os.path.join(d, "owner-link"), 1234, 5678, follow_symlinks=False)
    # Flag and project-id targets: mkxfsimages.sh sets them with chattr/xfs_io.
    os.makedirs(os.path.join(d, "flags"))
    for f in ("i", "a", "d", "A", "S", "proj"):
        write(os.path.join(d, "flags", f), 1, "f" + f)
    os.makedirs(os.path.join(d, "flags/projdir"))


def times(top):
    d = os.path.join(top, "times")
    os.makedirs(d)
    for name, sec, ns in (("ns", 1714979289, 123456789), ("ns-max", 1714979289, 999999999),
                          ("epoch", 0, 0), ("pre1970", -1, 500000000),
                          ("y1901", -2147483648, 0), ("y1902", -2145916800, 1),
                          ("y2038-before", 2147483647, 0), ("y2038-after", 2147483648, 0),
                          ("y2100", 4102444800, 42), ("y2400", 13569465600, 7),
                          ("y2486", 16299260424, 0)):
        p = os.path.join(d, name)
        write(p, len(name), name)
        t = sec * 10**9 + ns
        os.utime(p, ns=(t - 10**9 // 2, t))
    os.symlink("ns", os.path.join(d, "link-2100"))
    os.utime(os.path.join(d, "link-2100"), ns=(4102444800 * 10**9 + 5, 4102444800 * 10**9 + 6),
             follow_symlinks=False)
    os.utime(d, ns=(981173106 * 10**9 + 1, 981173106 * 10**9 + 2))


def settimes(top):
    for dp, dns, fns in os.walk(top, topdown=False):
        if dp == os.path.join(top, "times") or dp.startswith(os.path.join(top, "times") + "/"):
            continue
        for n in fns + dns:
            p = os.path.join(dp, n)
            if p == os.path.join(top, "times"):
                continue
            os.utime(p, ns=(FIXED, FIXED), follow_symlinks=False)
    os.utime(top, ns=(FIXED, FIXED))


def proto(top):
    def mode(st):
        t = {stat.S_IFREG: "-", stat.S_IFDIR: "d", stat.S_IFLNK: "l", stat.S_IFCHR: "c",
             stat.S_IFBLK: "b", stat.S_IFIFO: "p"}[stat.S_IFMT(st.st_mode)]
        return "%s%s%s%03o" % (t, "u" if st.st_mode & stat.S_ISUID else "-",
                               "g" if st.st_mode & stat.S_ISGID else "-", st.st_mode & 0o777)

    out = ["/dev/null", "0 0"]

    def walk(d, depth):
        for n in sorted(os.listdir(d)):
            p = os.path.join(d, n)
            st = os.lstat(p)
            if stat.S_ISSOCK(st.st_mode) or any(c in n for c in " \t\n"):
                continue
            head = "%s%s %s %d %d" % (" " * depth, n, mode(st), st.st_uid, st.st_gid)
            if stat.S_ISREG(st.st_mode):
                out.append(head + " " + os.path.abspath(p))
            elif stat.S_ISLNK(st.st_mode):
                out.append(head + " " + os.readlink(p))
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                out.append(head + " %d %d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
            elif stat.S_ISDIR(st.st_mode):
                out.append(head)
                walk(p, depth + 1)
                out.append(" " * (depth + 1) + "$")
            else:
                out.append(head)

    st = os.lstat(top)
    out.append("%s %d %d" % (mode(st), st.st_uid, st.st_gid))
    walk(top, 1)
    out.append("$")
    print("\n".join(out))


def main():
    what, top = sys.argv[1], sys.argv[2]
    if what == "rootfs":
        rootfs(top)
    elif what == "dirs":
        dirs(top)
    elif what == "bigdirs":
        bigdirs(top)
    elif what == "attrs":
        attrs(top)
    elif what == "special":
        special(top)
    elif what == "times":
        times(top)
    elif what == "small":
        rootfs(top, scale=4)
        dirs(top, btree=False)
        attrs(top, big=False)
        special(top, big=False)
        times(top)
    elif what == "proto":
        proto(top)
    elif what == "noattrs":
        rootfs(top, scale=4)
        dirs(top, btree=False)
        special(top, big=False)
        times(top)
    elif what == "settimes":
        settimes(top)
    else:
        sys.exit("xfspopulate: unknown part %r" % what)


if __name__ == "__main__":
    main()
