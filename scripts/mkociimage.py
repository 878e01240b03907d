#!/usr/bin/env python3
"""mkociimage.py: an urunc-style OCI image archive, built by hand, for `ctr image import`.

    scripts/mkociimage.py [--name REF] [--seed N] [--rootfs DIR] [--sums FILE] OUT.tar

OUT.tar is an OCI image layout in one tar (oci-layout, index.json, blobs/sha256/*) holding
one manifest, its config and two gzipped layers. containerd 1.6's `ctr image import
--snapshotter devmapper OUT.tar` imports it under REF and unpacks both layers into a thin
device, which is the View bootviewfs then serves. No docker, no registry, no network.

Layer 1 is the base: /unikernel/kernel (4 MiB), /unikernel/initrd (512 KiB), /urunc.json
(a flat object of base64 values, as urunc reads it) and an ordinary root around them:
about 3000 small files in a few hundred directories, about 100 symlinks (one dangling),
about 50 hard links, an empty file, an empty directory, a setuid file, a 200-byte name,
names with spaces and UTF-8. Layer 2 changes it: a new initrd and urunc.json, edited
files, a new directory, whiteouts of files, of a directory and of one name of a hard-linked
pair, an opaque directory, a file turned into a symlink and a symlink into a file.

  --name REF     image name (default docker.io/bootviewfs/urunc-demo:latest), normalised
                 as containerd normalises Docker names; printed on stdout
  --seed N       content seed (default 1); the same command gives the same digests
  --rootfs DIR   also write the merged tree (layer 1, then layer 2 with OCI whiteout
                 rules) into DIR, which must not exist or be empty: what the View holds
  --sums FILE    sha256sum lines of unikernel/kernel, unikernel/initrd and urunc.json of
                 the merged tree

Exit status: 0, 1 on an error (message on stderr), 2 on a usage error.
"""
import argparse
import base64
import hashlib
import io
import json
import os
import posixpath
import random
import re
import sys
import tarfile
import zlib

# Every timestamp in the image: a fixed date keeps the digests stable run to run.
MTIME = 1700000000
CREATED = "2023-11-14T22:13:20Z"
DEFAULT_REF = "docker.io/bootviewfs/urunc-demo:latest"
ARTIFACTS = ("unikernel/kernel", "unikernel/initrd", "urunc.json")

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

# OCI layer whiteouts (image-spec layer.md): ".wh.NAME" deletes NAME from the layers
# below, ".wh..wh..opq" in a directory hides everything the layers below put there.
WH = ".wh."
OPAQUE = ".wh..wh..opq"

WORDS = ("alsa", "apt", "bash", "cache", "certs", "cron", "dbus", "default", "dpkg",
         "fonts", "gconv", "gnupg", "hooks", "init", "keys", "ldconfig", "locale",
         "logrotate", "mime", "modules", "net", "nss", "pam", "perl", "plugins", "profile",
         "python3", "rules", "security", "shells", "skel", "ssl", "state", "sysctl",
         "systemd", "terminfo", "udev", "xdg", "zoneinfo", "kbd", "ucf", "vim")
TEXT_EXTS = ("conf", "txt", "py", "json", "list", "h", "1", "")
BIN_EXTS = ("so", "gz", "bin", "mo", "db")


class Error(Exception):
    pass


def order(name):
    """Sort key of a path: component by component, so a directory's subtree stays
    together and every parent comes before its children (tar extractors want that)."""
    return name.split("/")


class Entry:
    """One tar entry: kind is "dir", "file", "symlink" or "link" (a hard link)."""

    def __init__(self, name, kind, mode, data=b"", target=None):
        self.name, self.kind, self.mode = name, kind, mode
        self.data, self.target = data, target


class Layer:
    """A layer's entries by path. Parents are added as directory entries on the way,
    with the mode the layer below gave them, so a layer never changes a directory's
    mode by accident and containerd resets every touched directory's mtime at the end
    of its unpack (applyNaive does that only for directories the tar names)."""

    def __init__(self, lower=None):
        self.entries = {}
        self.lower = lower

    def _parents(self, name):
        parts = name.split("/")
        for i in range(1, len(parts)):
            p = "/".join(parts[:i])
            if p in self.entries:
                if self.entries[p].kind != "dir":
                    raise Error("layer: %s is not a directory" % p)
                continue
            below = self.lower.nodes.get(p) if self.lower else None
            self.entries[p] = Entry(p, "dir", below.mode if below else 0o755)

    def add(self, e):
        if e.name.startswith("/") or ".." in e.name.split("/"):
            raise Error("layer: bad name %r" % e.name)
        old = self.entries.get(e.name)
        # Naming a directory that an earlier entry added as a parent only sets its
        # mode. Anything else named twice is a bug in this script.
        if old and not (old.kind == "dir" and e.kind == "dir"):
            raise Error("layer: %s twice" % e.name)
        self._parents(e.name)
        self.entries[e.name] = e

    def has(self, name):
        return name in self.entries

    def dir(self, name, mode=0o755):
        self.add(Entry(name, "dir", mode))

    def file(self, name, data, mode=0o644):
        self.add(Entry(name, "file", mode, data=data))

    def symlink(self, name, target):
        self.add(Entry(name, "symlink", 0o777, target=target))

    def hardlink(self, name, target):
        # The entry carries the file's mode: containerd chmods the path after os.Link,
        # which is the shared inode, so any other mode here would change the target's.
        t = self.entries.get(target) or (self.lower.nodes.get(target) if self.lower else None)
        if t is None or t.kind != "file":
            raise Error("layer: hard link %s to missing %s" % (name, target))
        self.add(Entry(name, "link", t.mode, target=target))

    def whiteout(self, name):
        d, b = posixpath.split(name)
        self.file(posixpath.join(d, WH + b), b"")

    def opaque(self, d):
        self.file(d + "/" + OPAQUE, b"")

    def sorted(self):
        return sorted(self.entries.values(), key=lambda e: order(e.name))

    def tar(self):
        """The layer as an uncompressed tar. PAX, so the long and UTF-8 names need no
        GNU extension (Go's archive/tar, which containerd uses, reads both)."""
        buf = io.BytesIO()
        seen = set()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            for e in self.sorted():
                ti = tarfile.TarInfo(e.name)
                ti.mtime, ti.mode = MTIME, e.mode
                ti.uid, ti.gid, ti.uname, ti.gname = 0, 0, "root", "root"
                if e.kind == "dir":
                    ti.type = tarfile.DIRTYPE
                elif e.kind == "symlink":
                    ti.type, ti.linkname = tarfile.SYMTYPE, e.target
                elif e.kind == "link":
                    # A hard link entry names a file already extracted: the target must
                    # come earlier in the tar (containerd does os.Link at that point).
                    assert e.target in seen, "hard link %s before %s" % (e.name, e.target)
                    ti.type, ti.linkname = tarfile.LNKTYPE, e.target
                else:
                    ti.size = len(e.data)
                t.addfile(ti, io.BytesIO(e.data) if e.kind == "file" else None)
                seen.add(e.name)
        return buf.getvalue()


class Inode:
    def __init__(self, kind, mode, data=b"", target=None):
        self.kind, self.mode, self.data, self.target = kind, mode, data, target


class Tree:
    """The merged root: path -> Inode, the names of a hard-linked file sharing one."""

    def __init__(self):
        self.nodes = {}

    def remove(self, name):
        node = self.nodes.pop(name, None)
        if node is not None and node.kind == "dir":
            prefix = name + "/"
            for p in [p for p in self.nodes if p.startswith(prefix)]:
                del self.nodes[p]

    def apply(self, layer):
        """Applies LAYER as containerd's archive.applyNaive does on a devmapper
        snapshot: entries in tar order, an existing path replaced unless both are
        directories, a whiteout removing its name and everything under it, an opaque
        marker removing whatever in its directory this layer has not written yet."""
        done = set()
        for e in layer.sorted():
            d, b = posixpath.split(e.name)
            if d and self.nodes.get(d, Inode("dir", 0)).kind != "dir":
                raise Error("apply: parent of %s is not a directory" % e.name)
            if b == OPAQUE:
                prefix = d + "/"
                for p in sorted((p for p in self.nodes if p.startswith(prefix)), key=order):
                    if p in self.nodes and p not in done:
                        self.remove(p)
                continue
            if b.startswith(WH):
                self.remove(posixpath.join(d, b[len(WH):]))
                continue
            old = self.nodes.get(e.name)
            if e.kind == "dir" and old is not None and old.kind == "dir":
                old.mode = e.mode
            else:
                self.remove(e.name)
                if e.kind == "link":
                    node = self.nodes.get(e.target)
                    if node is None or node.kind != "file":
                        raise Error("apply: hard link %s to missing %s" % (e.name, e.target))
                    node.mode = e.mode  # containerd chmods the link: the shared inode
                else:
                    node = Inode(e.kind, e.mode, e.data, e.target)
                self.nodes[e.name] = node
            done.add(e.name)

    def data(self, name):
        node = self.nodes.get(name)
        if node is None or node.kind != "file":
            raise Error("%s is not a file in the merged tree" % name)
        return node.data

    def write(self, root):
        """Materialises the tree under ROOT: modes (setuid too), symlinks, hard links,
        owner 0:0 when run as root, every mtime MTIME. Directory modes and times go
        last, deepest first, so a 0500 directory or a new child cannot undo them."""
        as_root = os.geteuid() == 0
        first = {}
        dirs = [""]
        for name in sorted(self.nodes, key=order):
            node, p = self.nodes[name], os.path.join(root, name)
            if node.kind == "dir":
                os.mkdir(p, 0o700)
                dirs.append(name)
                continue
            if node.kind == "symlink":
                os.symlink(node.target, p)
            elif id(node) in first:
                os.link(first[id(node)], p)
                continue
            else:
                first[id(node)] = p
                with open(p, "wb") as f:
                    f.write(node.data)
            if as_root:
                os.lchown(p, 0, 0)
            # chmod after chown: chown clears the setuid bit.
            if node.kind == "file":
                os.chmod(p, node.mode)
            os.utime(p, (MTIME, MTIME), follow_symlinks=False)
        for name in reversed(dirs):
            p = os.path.join(root, name) if name else root
            if as_root:
                os.lchown(p, 0, 0)
            os.chmod(p, self.nodes[name].mode if name else 0o755)
            os.utime(p, (MTIME, MTIME))


def urunc_json(cmdline, initrd="/unikernel/initrd"):
    """urunc.json as urunc reads it: one flat object, every value base64 (the same
    layout tests/integration/dm_thin.sh writes with printf)."""
    b64 = lambda s: base64.b64encode(s.encode()).decode()
    obj = {
        "com.urunc.unikernel.binary": b64("/unikernel/kernel"),
        "com.urunc.unikernel.cmdline": b64(cmdline),
        "com.urunc.unikernel.unikernelType": b64("unikraft"),
        "com.urunc.unikernel.hypervisor": b64("qemu"),
        "com.urunc.unikernel.initrd": b64(initrd),
    }
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode()


def text(rng, size):
    """SIZE bytes of word salad: text files look like text (and compress like it)."""
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choices(WORDS, k=rng.randint(1, 9))) + "\n"
        out.append(line)
        n += len(line)
    return "".join(out)[:size].encode()


def base_layer(rng):
    """Layer 1, and the names layer 2 changes (kept out of every link's target, so the
    only dangling symlink of the merged tree is the deliberate one)."""
    l = Layer()
    l.file("unikernel/kernel", rng.randbytes(4 << 20), 0o755)
    l.file("unikernel/initrd", rng.randbytes(512 << 10))
    l.file("urunc.json", urunc_json("console=ttyS0 net=on"))

    # The fixtures layer 2 acts on, made first so the random tree cannot collide.
    for f in ("changelog.gz", "copyright", "examples/demo.py", "examples/data/x.bin"):
        l.file("usr/share/doc/old-pkg/" + f, text(rng, rng.randint(50, 3000)))
    l.symlink("usr/share/doc/old-pkg/current", "changelog.gz")
    for f in ("a.conf", "b.conf", "sub/c.conf"):
        l.file("etc/app.d/" + f, text(rng, rng.randint(20, 400)))
    l.symlink("etc/app.d/link", "a.conf")
    l.file("etc/motd", b"Welcome to the base layer.\n")
    l.file("usr/lib/os-release", b'NAME="bootviewfs demo"\nID=bvdemo\n')
    l.symlink("etc/os-release", "../usr/lib/os-release")
    l.file("usr/bin/vi", rng.randbytes(20000), 0o755)
    l.hardlink("usr/bin/vim", "usr/bin/vi")
    reserved = {"usr/share/doc/old-pkg", "etc/app.d", "unikernel"}

    # The odd ones a reader gets wrong: setuid, empty file and directory, sticky
    # directory, a 200-byte name, spaces, UTF-8, usrmerge symlinks at the top.
    l.file("usr/bin/su", rng.randbytes(30000), 0o4755)
    l.file("etc/empty", b"")
    l.dir("var/empty")
    l.dir("var/tmp", 0o1777)
    l.file("usr/share/doc/" + "long-name-" + "x" * 190, b"a 200-byte name\n")
    l.file("opt/Program Files/read me.txt", b"spaces\n")
    l.file("usr/share/locale/fr/caf\u00e9.txt", "caf\u00e9\n".encode())
    l.file("usr/share/locale/ja/\u65e5\u672c\u8a9e.txt", "\u65e5\u672c\u8a9e\n".encode())
    l.file("usr/share/doc/\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac/README", b"utf-8 dir\n")
    for name, target in (("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib")):
        l.symlink(name, target)
    l.symlink("etc/localtime", "/usr/share/zoneinfo/Etc/UTC")  # dangling, as in slim images

    # A few hundred directories, up to six levels deep, under the usual roots.
    roots = ["etc", "usr/lib", "usr/lib/x86_64-linux-gnu", "usr/libexec", "usr/share/doc",
             "usr/share/man/man1", "usr/include", "var/lib", "var/cache", "var/log", "opt"]
    for r in roots + ["usr/sbin"]:
        l.dir(r)
    growable = list(roots)
    dirs = list(roots) + ["usr/bin", "usr/sbin"]
    while len(dirs) < 340:
        parent = rng.choice(growable)
        name = parent + "/" + rng.choice(WORDS)
        if l.has(name):
            name += "-%d" % len(dirs)
        mode = rng.choices((0o755, 0o750, 0o700), weights=(36, 3, 1))[0]
        l.dir(name, mode)
        dirs.append(name)
        if name.count("/") < 5:
            growable.append(name)

    # 3000 files of 0-8 KiB, most small: the sizes a reader must get right come first
    # (block boundaries), the rest skewed low to keep the layer under 12 MiB.
    files = []
    sizes = [1, 511, 512, 4095, 4096, 4097, 8191, 8192]
    for i in range(3000):
        d = rng.choice(dirs)
        size = sizes[i] if i < len(sizes) else int(8192 * rng.random() ** 5)
        if d in ("usr/bin", "usr/sbin"):
            ext, mode = "", 0o755
        else:
            ext = rng.choice(TEXT_EXTS + BIN_EXTS)
            mode = rng.choices((0o644, 0o600, 0o640, 0o755, 0o444),
                               weights=(70, 10, 8, 8, 4))[0]
        name = "%s/%s%d%s" % (d, rng.choice(WORDS), rng.randrange(100),
                              "." + ext if ext else "")
        if l.has(name):
            name = "%s/f%04d%s" % (d, i, "." + ext if ext else "")
        data = text(rng, size) if ext in TEXT_EXTS else rng.randbytes(size)
        l.file(name, data, mode)
        files.append(name)

    # Layer 2's victims: 5 files it rewrites, 10 it whites out.
    victims = rng.sample(files, 15)
    targets = [f for f in files if f not in set(victims)]
    linkdirs = [d for d in dirs if not any(d == r or d.startswith(r + "/") for r in reserved)]

    # Symlinks: mostly to files, some to directories, absolute or relative; with the
    # fixed ones above, 100 in all.
    for i in range(93):
        target = rng.choice(growable if i % 10 == 0 else targets)
        d = rng.choice(linkdirs)
        name = "%s/%s-link%d" % (d, rng.choice(WORDS), i)
        if i % 3 == 0:
            l.symlink(name, "/" + target)
        else:
            l.symlink(name, posixpath.relpath(target, d))

    # Hard links: tar link entries to files earlier in the archive; the first two share
    # a target (three names, link count 3). Half sit beside their file, half in another
    # directory that sorts after it (a few tries, else beside it too, which always
    # sorts after). With usr/bin/vim, 50 in all.
    t = None
    for i in range(49):
        if i != 1:
            t = rng.choice(targets)
        name = None
        for _ in range(20 if i % 2 else 0):
            cand = "%s/hl%d-%s" % (rng.choice(linkdirs), i, posixpath.basename(t))
            if order(cand) > order(t) and not l.has(cand):
                name = cand
                break
        l.hardlink(name or "%s.hl%d" % (t, i), t)
    return l, victims


def top_layer(rng, lower, victims):
    """Layer 2: the changes urunc's builder would stack on a base image."""
    l = Layer(lower)
    l.file("unikernel/initrd", rng.randbytes(600 << 10))
    l.file("urunc.json", urunc_json("console=ttyS0 net=on loglevel=debug"))

    # Rewritten files: new text, appended, emptied, same bytes with a new mode (OCI has
    # no metadata-only change: the whole file again), grown.
    mod = victims[:5]
    l.file(mod[0], text(rng, 700), lower.nodes[mod[0]].mode)
    l.file(mod[1], lower.data(mod[1]) + b"appended in layer 2\n", lower.nodes[mod[1]].mode)
    l.file(mod[2], b"", lower.nodes[mod[2]].mode)
    l.file(mod[3], lower.data(mod[3]), 0o600 if lower.nodes[mod[3]].mode != 0o600 else 0o644)
    l.file(mod[4], rng.randbytes(6000), lower.nodes[mod[4]].mode)

    # A new directory with files, a subdirectory and a hard link inside this layer.
    l.dir("opt/urunc-extra", 0o755)
    l.file("opt/urunc-extra/README", b"added by layer 2\n")
    l.file("opt/urunc-extra/bin/helper", rng.randbytes(5000), 0o755)
    l.hardlink("opt/urunc-extra/bin/helper2", "opt/urunc-extra/bin/helper")
    l.file("opt/urunc-extra/share/data.bin", rng.randbytes(3000))
    l.symlink("opt/urunc-extra/current", "bin/helper")

    # Deletions: ten files, one whole directory, and the first name of a hard-linked
    # pair (usr/bin/vim, the tar's link entry, must survive with the bytes).
    for f in victims[5:]:
        l.whiteout(f)
    l.whiteout("usr/share/doc/old-pkg")
    l.whiteout("usr/bin/vi")

    # Opaque: etc/app.d keeps only what this layer puts there, a.conf included (same
    # name, new bytes).
    l.opaque("etc/app.d")
    l.file("etc/app.d/a.conf", b"a from layer 2\n")
    l.file("etc/app.d/z.conf", b"z from layer 2\n")
    l.file("etc/app.d/new/d.conf", b"d from layer 2\n")

    # A file turned into a symlink, a symlink turned into a file.
    l.symlink("etc/motd", "../usr/lib/os-release")
    l.file("etc/os-release", b'NAME="bootviewfs demo"\nID=bvdemo\nVERSION_ID=2\n')
    return l


def gzip_bytes(raw):
    # zlib's own gzip wrapper (wbits 31) writes mtime 0, no file name and a fixed OS
    # byte, so the bytes depend only on the input and the zlib build.
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(raw) + c.flush()


def blob(blobs, data, mediatype):
    h = hashlib.sha256(data).hexdigest()
    blobs["blobs/sha256/" + h] = data
    return {"mediaType": mediatype, "digest": "sha256:" + h, "size": len(data)}


def dumps(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def layout(ref, layers):
    """The files of the OCI layout: path -> bytes."""
    blobs, descs, diff_ids = {}, [], []
    for l in layers:
        raw = l.tar()
        # diff_ids are of the uncompressed tars: containerd's unpack recomputes them
        # while applying and refuses the layer on a mismatch ("wrong diff id").
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        descs.append(blob(blobs, gzip_bytes(raw), MT_LAYER))
    config = dumps({
        "architecture": "amd64",
        "os": "linux",
        "created": CREATED,
        "config": {"Cmd": ["/unikernel/kernel"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created": CREATED, "created_by": "mkociimage.py: base, kernel, initrd, urunc.json"},
            {"created": CREATED, "created_by": "mkociimage.py: new initrd and urunc.json, whiteouts"},
        ],
    })
    manifest = dumps({
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": blob(blobs, config, MT_CONFIG),
        "layers": descs,
    })
    mdesc = blob(blobs, manifest, MT_MANIFEST)
    # ctr import names the image after io.containerd.image.name verbatim, so that is
    # the full reference; ref.name is only the tag, as containerd's own export writes
    # it (ctr would prefix a bare tag with "import-DATE" had the full name been missing).
    mdesc["annotations"] = {
        "io.containerd.image.name": ref,
        "org.opencontainers.image.ref.name": ref.rsplit(":", 1)[1],
    }
    mdesc["platform"] = {"architecture": "amd64", "os": "linux"}
    index = dumps({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [mdesc]})
    files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": index}
    files.update(blobs)
    return files


# Docker's reference grammar (distribution/reference), enough to normalise a name the
# way containerd's importer does for Docker archives: docker.io/library/NAME:latest.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"


def normalize(ref):
    if "@" in ref:
        raise Error("--name %s: digest references are not supported" % ref)
    name, tag = ref, "latest"
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref[: len(ref) - len(last)] + last.split(":", 1)[0], last.split(":", 1)[1]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
    else:
        domain, path = "docker.io", name
    if domain == "docker.io" and "/" not in path:
        path = "library/" + path
    if not (re.fullmatch(_DOMAIN, domain) and re.fullmatch(_TAG, tag)
            and re.fullmatch(r"%s(?:/%s)*" % (_COMPONENT, _COMPONENT), path)):
        raise Error("--name %s: not a valid image reference" % ref)
    return "%s/%s:%s" % (domain, path, tag)


def write_archive(out, files):
    """The layout as one tar, written beside OUT and renamed over it."""
    tmp = out + ".tmp"
    try:
        with tarfile.open(tmp, mode="w", format=tarfile.USTAR_FORMAT) as t:
            for d in ("blobs", "blobs/sha256"):
                ti = tarfile.TarInfo(d)
                ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, MTIME
                t.addfile(ti)
            for name in sorted(files):
                ti = tarfile.TarInfo(name)
                ti.size, ti.mode, ti.mtime = len(files[name]), 0o644, MTIME
                t.addfile(ti, io.BytesIO(files[name]))
        os.rename(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main():
    ap = argparse.ArgumentParser(
        prog="mkociimage.py", description=__doc__.split("\n")[0],
        usage="%(prog)s [--name REF] [--seed N] [--rootfs DIR] [--sums FILE] OUT.tar")
    ap.add_argument("--name", default=DEFAULT_REF, metavar="REF")
    ap.add_argument("--seed", type=int, default=1, metavar="N")
    ap.add_argument("--rootfs", metavar="DIR")
    ap.add_argument("--sums", metavar="FILE")
    ap.add_argument("out", metavar="OUT.tar")
    a = ap.parse_args()
    try:
        ref = normalize(a.name)
        # Refuse a used --rootfs before spending any time.
        if a.rootfs and os.path.lexists(a.rootfs):
            if not os.path.isdir(a.rootfs) or os.listdir(a.rootfs):
                raise Error("--rootfs %s exists and is not an empty directory" % a.rootfs)

        rng = random.Random(a.seed)
        base, victims = base_layer(rng)
        merged = Tree()
        merged.apply(base)
        top = top_layer(rng, merged, victims)
        write_archive(a.out, layout(ref, [base, top]))
        merged.apply(top)

        if a.rootfs:
            os.makedirs(a.rootfs, exist_ok=True)
            merged.write(a.rootfs)
        if a.sums:
            with open(a.sums, "w") as f:
                for p in ARTIFACTS:
                    f.write("%s  %s\n" % (hashlib.sha256(merged.data(p)).hexdigest(), p))
    except (Error, OSError) as e:
        sys.stderr.write("mkociimage: %s\n" % e)
        return 1
    print(ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
