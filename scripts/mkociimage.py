#!/usr/bin/env python3
"""Builds an urunc-style OCI image archive by hand, for `ctr image import`.

    scripts/mkociimage.py [--name REF] [--seed N] [--rootfs DIR] [--sums FILE] OUT.tar

No docker, no registry: two gzipped layer tars, a config, a manifest, index.json and
oci-layout, in one tar. Deterministic for a seed (fixed mtimes, owner 0:0, sorted names,
gzip mtime 0), so the same command gives the same digests.

Layer 1 is the base: /unikernel/kernel (4 MiB), /unikernel/initrd, /urunc.json with base64
values as urunc writes them, and an ordinary rootfs around them (about 3000 files in a few
hundred directories, symlinks, hard links, odd names). Layer 2 changes it: a new initrd and
urunc.json, edited files, a new directory, whiteouts (.wh.NAME) of files, of a directory
and of one name of a hard-linked pair, an opaque directory (.wh..wh..opq), a file turned
into a symlink and a symlink into a file. So the View containerd makes is a real
multi-layer unpack.

--rootfs DIR materialises the merged tree (layer 1, then layer 2 with OCI whiteout rules);
--sums FILE writes sha256sum lines for the artifacts of the merged tree. Prints REF.
"""
import argparse
import base64
import gzip
import hashlib
import io
import json
import os
import random
import sys
import tarfile

MTIME = 1700000000  # every entry's mtime: a fixed date keeps digests stable
ARTIFACTS = ("unikernel/kernel", "unikernel/initrd", "urunc.json")


class Layer:
    """An ordered list of tar entries: (name, kind, data-or-target, mode)."""

    def __init__(self):
        self.entries = []

    def dir(self, name, mode=0o755):
        self.entries.append((name, "d", None, mode))

    def file(self, name, data, mode=0o644):
        self.entries.append((name, "f", data, mode))

    def symlink(self, name, target):
        self.entries.append((name, "l", target, 0o777))

    def hardlink(self, name, target):
        self.entries.append((name, "h", target, 0o644))

    def tar(self):
        """The layer as an uncompressed tar, parents before children."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            for name, kind, data, mode in self.entries:
                ti = tarfile.TarInfo(name)
                ti.mtime, ti.uid, ti.gid, ti.uname, ti.gname = MTIME, 0, 0, "root", "root"
                ti.mode = mode
                if kind == "d":
                    ti.type = tarfile.DIRTYPE
                    t.addfile(ti)
                elif kind == "f":
                    ti.size = len(data)
                    t.addfile(ti, io.BytesIO(data))
                elif kind == "l":
                    ti.type, ti.linkname = tarfile.SYMTYPE, data
                    t.addfile(ti)
                else:
                    ti.type, ti.linkname = tarfile.LNKTYPE, data
                    t.addfile(ti)
        return buf.getvalue()


def urunc_json(cmdline):
    b64 = lambda s: base64.b64encode(s.encode()).decode()
    return (json.dumps({
        "com.urunc.unikernel.binary": b64("/unikernel/kernel"),
        "com.urunc.unikernel.cmdline": b64(cmdline),
        "com.urunc.unikernel.unikernelType": b64("unikraft"),
        "com.urunc.unikernel.hypervisor": b64("qemu"),
        "com.urunc.unikernel.initrd": b64("/unikernel/initrd"),
    }, sort_keys=True) + "\n").encode()


def parents(name):
    parts = name.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def base_layer(rng):
    """Layer 1, and the names layer 2 plays with."""
    l = Layer()
    dirs = set()

    def mkdirs(name):
        for p in parents(name):
            if p not in dirs:
                dirs.add(p)
                l.dir(p)

    def add(name, data, mode=0o644):
        mkdirs(name)
        l.file(name, data, mode)

    add("unikernel/kernel", rng.randbytes(4 << 20), 0o755)
    add("unikernel/initrd", rng.randbytes(512 << 10))
    add("urunc.json", urunc_json("console=ttyS0 net=on"))
    tops = ["usr/lib", "usr/share/doc", "etc", "var/lib", "opt/app"]
    dirnames = []
    for top in tops:
        for i in range(60):
            d = "%s/d%02d" % (top, i)
            if i % 3 == 0:
                d += "/sub%d" % (i % 7)
            dirnames.append(d)
    files = []
    for i in range(3000):
        d = dirnames[i % len(dirnames)]
        mode = (0o644, 0o600, 0o755, 0o640)[i % 4]
        name = "%s/f%04d" % (d, i)
        add(name, rng.randbytes(rng.randrange(0, 8193)), mode)
        files.append(name)
    add("usr/bin/setuid-tool", rng.randbytes(1000), 0o4755)
    add("etc/empty", b"")
    add("etc/" + "n" * 200, b"long name\n")
    add("etc/with space", b"space\n")
    add("etc/\u00fcnicode-\u00e9t\u00e9", "utf-8\n".encode())
    mkdirs("var/empty/x")
    l.dir("var/empty")
    dirs.add("var/empty")
    for i in range(100):
        name = "usr/lib/links/l%03d" % i
        mkdirs(name)
        target = files[(i * 7) % len(files)]
        l.symlink(name, "/" + target if i % 2 else "../../../" + target)
    l.symlink("usr/lib/links/dangling", "/no/such/file")
    for i in range(50):
        name = "usr/lib/hard/h%02d" % i
        mkdirs(name)
        l.hardlink(name, files[(i * 13 + 5) % len(files)])
    # What layer 2 changes: a whole directory to delete, one to make opaque, a file that
    # becomes a symlink, a symlink that becomes a file, a hard-linked pair.
    add("var/lib/gone/a", b"a\n")
    add("var/lib/gone/deep/b", b"b\n")
    add("var/lib/opaque/old1", b"old\n")
    add("var/lib/opaque/olddir/old2", b"old\n")
    add("etc/was-file", b"file\n")
    mkdirs("etc/was-link")
    l.symlink("etc/was-link", "was-file")
    add("etc/pair-a", b"pair\n")
    l.hardlink("etc/pair-b", "etc/pair-a")
    return l, files


def top_layer(rng, files):
    """Layer 2: changes on top of layer 1."""
    l = Layer()
    l.dir("unikernel")
    l.file("unikernel/initrd", rng.randbytes(300 << 10))
    l.file("urunc.json", urunc_json("console=ttyS0 net=on quiet"))
    for name in files[:5]:
        l.file(name, b"changed in layer 2\n", 0o644)
    l.dir("opt/new")
    for i in range(20):
        l.file("opt/new/n%02d" % i, rng.randbytes(100 + i))
    for name in files[100:110]:
        d, b = name.rsplit("/", 1)
        l.file(d + "/.wh." + b, b"", 0o644)
    l.dir("var/lib")
    l.file("var/lib/.wh.gone", b"")
    l.dir("var/lib/opaque")
    l.file("var/lib/opaque/.wh..wh..opq", b"")
    l.file("var/lib/opaque/new1", b"new\n")
    l.dir("var/lib/opaque/newdir")
    l.file("var/lib/opaque/newdir/new2", b"new\n")
    l.dir("etc")
    l.symlink("etc/was-file", "pair-a")
    l.file("etc/was-link", b"now a file\n")
    l.file("etc/.wh.pair-b", b"")
    return l


def apply(root, layer):
    """Applies LAYER onto directory ROOT with OCI whiteout rules."""
    def rm(p):
        if os.path.islink(p) or not os.path.isdir(p):
            os.unlink(p)
        else:
            for n in os.listdir(p):
                rm(os.path.join(p, n))
            os.rmdir(p)

    dirs = []
    for name, kind, data, mode in layer.entries:
        d, b = os.path.split(name)
        if b == ".wh..wh..opq":
            for n in os.listdir(os.path.join(root, d)):
                rm(os.path.join(root, d, n))
            continue
        if b.startswith(".wh."):
            rm(os.path.join(root, d, b[4:]))
            continue
        p = os.path.join(root, name)
        if kind == "d":
            if os.path.lexists(p) and not os.path.isdir(p):
                rm(p)
            os.makedirs(p, exist_ok=True)
            os.chmod(p, mode)
            dirs.append(p)
            continue
        if os.path.lexists(p):
            rm(p)
        if kind == "f":
            with open(p, "wb") as f:
                f.write(data)
            os.chmod(p, mode)
        elif kind == "l":
            os.symlink(data, p)
        else:
            os.link(os.path.join(root, data), p)
        os.utime(p, (MTIME, MTIME), follow_symlinks=False)
    for p in dirs:
        os.utime(p, (MTIME, MTIME))


def blob(blobs, data):
    h = hashlib.sha256(data).hexdigest()
    blobs["blobs/sha256/" + h] = data
    return "sha256:" + h


def archive(ref, layers):
    blobs = {}
    descs, diff_ids = [], []
    for l in layers:
        raw = l.tar()
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        gz = gzip.compress(raw, compresslevel=6, mtime=0)
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                      "digest": blob(blobs, gz), "size": len(gz)})
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2023-11-14T22:13:20Z",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "mkociimage layer %d" % i}
                    for i in range(len(layers))],
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": blob(blobs, config), "size": len(config)},
        "layers": descs,
    }, sort_keys=True).encode()
    tag = ref.rsplit(":", 1)[1] if ":" in ref.rsplit("/", 1)[-1] else "latest"
    index = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": blob(blobs, manifest), "size": len(manifest),
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"io.containerd.image.name": ref,
                            "org.opencontainers.image.ref.name": tag},
        }],
    }, sort_keys=True).encode()
    files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": index}
    files.update(blobs)
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--name", default="docker.io/bootviewfs/urunc-demo:latest")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rootfs", help="also materialise the merged tree here")
    ap.add_argument("--sums", help="write sha256sum lines of the artifacts here")
    ap.add_argument("out")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    base, files = base_layer(rng)
    top = top_layer(rng, files)
    out = archive(a.name, [base, top])
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        names = sorted(out)
        for d in ("blobs", "blobs/sha256"):
            ti = tarfile.TarInfo(d)
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, MTIME
            t.addfile(ti)
        for n in names:
            ti = tarfile.TarInfo(n)
            ti.size, ti.mode, ti.mtime = len(out[n]), 0o644, MTIME
            t.addfile(ti, io.BytesIO(out[n]))
    with open(a.out + ".tmp", "wb") as f:
        f.write(buf.getvalue())
    os.rename(a.out + ".tmp", a.out)
    if a.rootfs:
        os.makedirs(a.rootfs, exist_ok=True)
        if os.listdir(a.rootfs):
            sys.exit("mkociimage: --rootfs %s is not empty" % a.rootfs)
        apply(a.rootfs, base)
        apply(a.rootfs, top)
        # Whiteouts touched directories of layer 1: every directory gets the fixed time.
        for d, _, _ in os.walk(a.rootfs):
            os.utime(d, (MTIME, MTIME))
    if a.sums:
        with open(a.sums, "w") as f:
            for p in ARTIFACTS:
                if a.rootfs:
                    data = open(os.path.join(a.rootfs, p), "rb").read()
                else:
                    data = next(d for n, k, d, m in top.entries[::-1] + base.entries[::-1]
                                if n == p and k == "f")
                f.write("%s  %s\n" % (hashlib.sha256(data).hexdigest(), p))
    print(a.name)


if __name__ == "__main__":
    main()
