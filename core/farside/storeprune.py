"""Prune a host's mirror of the content store (``~/.launchdeck/store``), on the host.

Sent by ``core.housekeeping.hoststore`` as ``python3 -c`` with ``manifest.py`` inlined;
arguments: STORE (relative to the login home), MINUTES, ``plan`` or ``apply``, then snapshot
fingerprints that must stay. Prints one JSON line: ``{"snapshots": [count, bytes], "blobs":
[count, bytes], "note": ...}``, what goes (``apply``) or would go (``plan``).

Every sync marks what it relies on (``core.remote.sync``: the manifests it finds there and the
blobs it finds present get a fresh mtime), so an mtime older than MINUTES means no sync has
relied on it since. Manifests go first (on the host a manifest proves its blobs are there),
each only if it is still old at the moment it is removed; then every blob that no remaining
manifest holds and that is itself still old. A sync in flight has just marked what it uses, so
nothing it needs goes. Stdlib only, Python 3.5 syntax.
"""
import json
import os
import sys
import time

# inlined when sent
from launchdeck.core.farside.manifest import read_manifest


def remove_if_old(path, cutoff):
    """Unlink ``path`` if its mtime is still before ``cutoff`` (a sync may have marked it
    since it was listed)."""
    try:
        if os.lstat(path).st_mtime >= cutoff:
            return False
        os.unlink(path)
        return True
    except OSError:
        return False


def listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def prune(store, cutoff, apply, keep):
    snapshots, blobs = [0, 0], [0, 0]
    remaining = []
    for name in listdir(os.path.join(store, "manifests")):
        if not name.endswith(".json"):
            continue
        fingerprint, path = name[:-5], os.path.join(store, "manifests", name)
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if fingerprint in keep or st.st_mtime >= cutoff or \
                (apply and not remove_if_old(path, cutoff)):
            remaining.append(fingerprint)
            continue
        snapshots[0] += 1
        snapshots[1] += st.st_size
    held = set()  # type: set[str]
    for fingerprint in remaining:
        try:
            held.update(e["hash"] for e in read_manifest(store, fingerprint) if "hash" in e)
        except Exception as exc:  # its blobs cannot be told: none may go
            note = "snapshot %s cannot be read (%s); no file removed" % (fingerprint, exc)
            return {"snapshots": snapshots, "blobs": blobs, "note": note}
    objects = os.path.join(store, "objects")
    for prefix in listdir(objects):
        folder = os.path.join(objects, prefix)
        for name in listdir(folder):
            path = os.path.join(folder, name)
            if prefix + name in held:
                continue
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if st.st_mtime >= cutoff or (apply and not remove_if_old(path, cutoff)):
                continue
            blobs[0] += 1
            blobs[1] += st.st_size
    return {"snapshots": snapshots, "blobs": blobs, "note": None}


def main(argv):
    store = os.path.join(os.path.expanduser("~"), argv[0])
    cutoff = time.time() - float(argv[1]) * 60
    print(json.dumps(prune(store, cutoff, argv[2] == "apply", set(argv[3:]))))


if __name__ == "__main__":
    main(sys.argv[1:])
