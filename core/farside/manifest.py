"""A snapshot on a host, read from the host's mirror of the content store, every entry checked.

Shared by ``materialize.py`` and ``put.py``: they import it when run from this folder, and
are sent to a host with this file inlined in place of that import (``farside.script``), so:
stdlib only, Python 3.5 syntax, no imports from Launchdeck. Refuses a manifest whose hash is
not its name, paths that are absolute or hold ``.``/``..``, links that leave the tree and
blobs whose size is wrong.
"""
import hashlib
import json
import os
import posixpath


class Refused(Exception):
    """A manifest, or an entry of it, that must not be written out."""


def read_manifest(store, fingerprint):
    """The entries of manifest ``fingerprint`` in ``store``, once its hash is checked."""
    with open(os.path.join(store, "manifests", fingerprint + ".json"), "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != fingerprint:
        raise Refused("manifest %s is corrupt" % fingerprint)
    return json.loads(data.decode("ascii"))["entries"]


def checked_entry(store, entry):
    """``(path, link, blob)`` of a manifest entry: ``link`` for a symlink, else the blob's
    file in ``store`` (its size checked)."""
    rel = entry["path"]
    if not isinstance(rel, str) or not rel or rel.startswith("/") or "\0" in rel or \
            any(seg in ("", ".", "..") for seg in rel.split("/")):
        raise Refused("unsafe path in manifest: %r" % (rel,))
    if "link" in entry:
        link = entry["link"]
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(rel), link))
        if not isinstance(link, str) or link.startswith("/") or joined == ".." \
                or joined.startswith("../"):
            raise Refused("link %r -> %r leaves the snapshot" % (rel, link))
        return rel, link, None
    digest = entry["hash"]
    blob = os.path.join(store, "objects", digest[:2], digest[2:])
    if os.path.getsize(blob) != entry["size"]:
        raise Refused("blob %s has the wrong size; sync the snapshot again" % digest)
    return rel, None, blob
