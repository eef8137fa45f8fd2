"""Build a run's folder on this host from the mirrored store: ``python3 - STORE FP DEST``.

Runs on the remote host, fed over stdin, so: stdlib only, no f-string features past 3.6, no
imports from Launchdeck. Refuses manifest paths that are absolute or hold ``.``/``..``, links
that leave the tree, blobs whose size is wrong, and a DEST that exists and is not empty.
Prints one line: ``files=N bytes=N``.
"""
import os
import shutil
import sys

# inlined when sent (farside.script): on the host this file runs alone
from launchdeck.core.farside.manifest import Refused, checked_entry, read_manifest


def fail(message, code=2):
    sys.stderr.write("materialize: " + message + "\n")
    sys.exit(code)


def main(store, fingerprint, dest):
    try:
        write(store, read_manifest(store, fingerprint), dest)
    except Refused as exc:
        fail(str(exc))


def write(store, entries, dest):
    if os.path.lexists(dest) and (not os.path.isdir(dest) or os.path.islink(dest)
                                  or os.listdir(dest)):
        fail("%s exists and is not an empty folder" % dest)
    os.makedirs(dest, exist_ok=True)
    root = os.path.realpath(dest)
    files = total = 0
    links = []
    for entry in entries:
        rel, link, blob = checked_entry(store, entry)
        target = os.path.join(root, *rel.split("/"))
        parent = os.path.dirname(target)
        os.makedirs(parent, exist_ok=True)
        if not os.path.realpath(parent).startswith(root + os.sep) and \
                os.path.realpath(parent) != root:
            fail("%r would be written outside %s" % (rel, dest))
        if link is not None:
            links.append((target, link))
            continue
        # A copy, never a hard link: a run may change its files, the store must not change.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        mode = 0o777 if entry["executable"] else 0o666
        with open(blob, "rb") as src, os.fdopen(os.open(target, flags, mode), "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        files += 1
        total += entry["size"]
    for target, link in links:  # last, so no file is ever written through one
        os.symlink(link, target)
    sys.stdout.write("files=%d bytes=%d\n" % (files, total))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        fail("usage: python3 - STORE FINGERPRINT DEST")
    main(*sys.argv[1:])
