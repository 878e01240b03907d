#!/usr/bin/env python3
"""treedump.py [--seek-hash REGEX] DIR: one line per entry under DIR (a kernel or FUSE mount, or a source
tree), in exactly the format build/tests/dumptree prints for an image, so cmptree.py can
compare them. Symlinks are never followed. See tests/dumptree.c for the line format.

--seek-hash REGEX: regular files whose escaped path matches REGEX (re.search) are hashed
over their data segments only, found with SEEK_DATA/SEEK_HOLE (each segment's offset and
bytes), and shown as "seek:HEX": for files of a terabyte of holes, which a whole read would
take minutes over. Both sides of a comparison must be dumped with the same REGEX.

Exit status: 0, or 1 when an entry could not be read (the error is on stderr)."""
import hashlib
import os
import re
import stat
import sys

failures = 0
seek_hash_re = None

def esc(b):
    """Printable ASCII stays, except the separators; everything else is \\xHH."""
    out = []
    for c in b:
        if c <= 0x20 or c >= 0x7f or c in b"\\=,":
            out.append("\\x%02x" % c)
        else:
            out.append(chr(c))
    return "".join(out)

def ts(ns):
    sec, nsec = divmod(ns, 10**9)
    return "%d.%09d" % (sec, nsec)

TYPES = {stat.S_IFREG: "f", stat.S_IFDIR: "d", stat.S_IFLNK: "l", stat.S_IFCHR: "c",
         stat.S_IFBLK: "b", stat.S_IFIFO: "p", stat.S_IFSOCK: "s"}

def fail(path, what, err):
    global failures
    failures += 1
    sys.stderr.write("treedump: %s: %s: %s\n" % (path, what, err))

def xattrs(full, shown):
    try:
        names = os.listxattr(full, follow_symlinks=False)
    except OSError as e:
        fail(shown, "listxattr", e)
        return "-"
    parts = []
    for name in sorted(n.encode("utf-8", "surrogateescape") for n in names):
        try:
            val = os.getxattr(full, name, follow_symlinks=False)
        except OSError as e:
            fail(shown, "getxattr " + esc(name), e)
            continue
        parts.append(esc(name) + "=" + val.hex())
    return ",".join(parts) if parts else "-"

def sha256(full, shown):
    h = hashlib.sha256()
    try:
        # O_NOATIME where allowed keeps the atime of a kernel mount's files what it was.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(full, flags | getattr(os, "O_NOATIME", 0))
        except PermissionError:
            fd = os.open(full, flags)
        with os.fdopen(fd, "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                h.update(b)
    except OSError as e:
        fail(shown, "read", e)
        return "-"
    return h.hexdigest()

def seek_sha256(full, shown):
    h = hashlib.sha256()
    try:
        fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        try:
            size, pos = os.fstat(fd).st_size, 0
            while pos < size:
                try:
                    d = os.lseek(fd, pos, os.SEEK_DATA)
                except OSError:
                    break  # ENXIO: no data after POS
                e = os.lseek(fd, d, os.SEEK_HOLE)
                h.update(b"@%d:" % d)
                off = d
                while off < e:
                    b = os.pread(fd, min(1 << 20, e - off), off)
                    if not b:
                        break
                    h.update(b)
                    off += len(b)
                pos = e
        finally:
            os.close(fd)
    except OSError as e:
        fail(shown, "seek/read", e)
        return "-"
    return "seek:" + h.hexdigest()

def line(full, rel):
    """The line for FULL (bytes); REL is its path inside the tree (bytes, b"" for root)."""
    shown = esc(rel) if rel else "/"
    st = os.lstat(full)
    t = TYPES.get(stat.S_IFMT(st.st_mode), "?")
    f = [shown, t, "%04o" % stat.S_IMODE(st.st_mode), str(st.st_uid), str(st.st_gid),
         str(st.st_size) if t in "fl" else "-", str(st.st_nlink), str(st.st_ino),
         ts(st.st_atime_ns), ts(st.st_mtime_ns), ts(st.st_ctime_ns),
         "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)) if t in "cb" else "-"]
    if t == "l":
        f.append(esc(os.readlink(full)))
    else:
        f.append("-")
    f.append(xattrs(full, shown))
    if t != "f":
        f.append("-")
    elif seek_hash_re and seek_hash_re.search(shown):
        f.append(seek_sha256(full, shown))
    else:
        f.append(sha256(full, shown))
    f.append(str(st.st_size) if t == "d" else "-")
    f.append(str(st.st_blocks))
    return shown, "\t".join(f), t == "d"

def main():
    global seek_hash_re
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "--seek-hash":
        seek_hash_re = re.compile(args[1])
        args = args[2:]
    if len(args) != 1:
        sys.stderr.write("usage: treedump.py [--seek-hash REGEX] DIR\n")
        return 2
    top = os.fsencode(args[0]).rstrip(b"/") or b"/"
    lines = []
    stack = [b""]
    # lstat the root itself first: it is an entry like any other.
    shown, text, _ = line(top, b"")
    lines.append((shown, text))
    while stack:
        rel = stack.pop()
        full = top + rel if rel else top
        try:
            names = os.listdir(full)
        except OSError as e:
            fail(esc(rel) or "/", "readdir", e)
            continue
        for name in names:
            crel = rel + b"/" + name
            try:
                shown, text, isdir = line(top + crel, crel)
            except OSError as e:
                fail(esc(crel), "lstat", e)
                continue
            lines.append((shown, text))
            if isdir:
                stack.append(crel)
    # Sorted by the escaped path, byte order: what dumptree's strcmp does.
    lines.sort(key=lambda x: x[1].split("\t", 1)[0].encode())
    out = sys.stdout
    for _, text in lines:
        out.write(text + "\n")
    return 1 if failures else 0

if __name__ == "__main__":
    sys.exit(main())
