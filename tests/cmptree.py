#!/usr/bin/env python3
"""cmptree.py A B [--fields F,F,...] [--links-as-groups] [--exclude REGEX]... [--ignore FIELD:REGEX]...

Compares two dumps made by tests/treedump.py or build/tests/dumptree, entry by entry, on
the chosen fields; prints every difference and exits 1 if there is any (2: bad usage).

Fields: type mode uid gid size nlink ino atime mtime ctime rdev target xattrs sha256
dirsize blocks, and atime_s mtime_s ctime_s (whole seconds only), or "all" (the default).
--links-as-groups  replace ino by the hard-link group: the sorted paths of the entries that
                   share its inode ("-" alone), for trees whose inode numbers differ.
--exclude REGEX    leave out paths matching REGEX (Python re.search on the escaped path)
                   from both dumps.
--ignore F:REGEX   do not compare field F of paths matching REGEX."""
import argparse
import re
import sys

FIELDS = ["type", "mode", "uid", "gid", "size", "nlink", "ino", "atime", "mtime", "ctime",
          "rdev", "target", "xattrs", "sha256", "dirsize", "blocks"]
DERIVED = {"atime_s": "atime", "mtime_s": "mtime", "ctime_s": "ctime"}

def load(path, excludes):
    entries = {}
    with open(path, encoding="ascii") as f:
        for n, text in enumerate(f, 1):
            parts = text.rstrip("\n").split("\t")
            if len(parts) != len(FIELDS) + 1:
                sys.exit("cmptree: %s:%d: %d fields, expected %d" %
                         (path, n, len(parts), len(FIELDS) + 1))
            if any(r.search(parts[0]) for r in excludes):
                continue
            e = dict(zip(FIELDS, parts[1:]))
            for d, src in DERIVED.items():
                e[d] = e[src].split(".")[0]
            entries[parts[0]] = e
    return entries

def link_groups(entries):
    by_ino = {}
    for p, e in entries.items():
        if e["type"] != "d":
            by_ino.setdefault(e["ino"], []).append(p)
    for p, e in entries.items():
        g = by_ino.get(e["ino"], [p]) if e["type"] != "d" else [p]
        e["ino"] = "|".join(sorted(g)) if len(g) > 1 else "-"

def short(v):
    return v if len(v) <= 160 else v[:120] + "...(%d chars)" % len(v)

def main():
    ap = argparse.ArgumentParser(usage=__doc__.split("\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--fields", default="all")
    ap.add_argument("--links-as-groups", action="store_true")
    ap.add_argument("--exclude", action="append", default=[])
    ap.add_argument("--ignore", action="append", default=[])
    args = ap.parse_args()

    fields = FIELDS if args.fields == "all" else args.fields.split(",")
    for f in fields:
        if f not in FIELDS and f not in DERIVED:
            ap.error("unknown field %r" % f)
    ignores = []
    for spec in args.ignore:
        f, sep, rx = spec.partition(":")
        if not sep or (f not in FIELDS and f not in DERIVED):
            ap.error("--ignore wants FIELD:REGEX, got %r" % spec)
        ignores.append((f, re.compile(rx)))
    excludes = [re.compile(r) for r in args.exclude]

    a, b = load(args.a, excludes), load(args.b, excludes)
    if args.links_as_groups:
        link_groups(a)
        link_groups(b)
    diffs = 0
    for p in sorted(set(a) | set(b), key=lambda s: s.encode()):
        if p not in b:
            print("%s: only in %s" % (p, args.a))
            diffs += 1
            continue
        if p not in a:
            print("%s: only in %s" % (p, args.b))
            diffs += 1
            continue
        for f in fields:
            if any(f == g and rx.search(p) for g, rx in ignores):
                continue
            if a[p][f] != b[p][f]:
                print("%s: %s: %s != %s" % (p, f, short(a[p][f]), short(b[p][f])))
                diffs += 1
    print("cmptree: %d entries, %d differences (%s)" % (len(set(a) | set(b)), diffs,
                                                        ",".join(fields)))
    return 1 if diffs else 0

if __name__ == "__main__":
    sys.exit(main())
