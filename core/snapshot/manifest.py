"""Snapshot manifests: the canonical bytes whose sha256 is a snapshot's fingerprint.

A manifest is JSON, keys sorted, no spaces, ASCII only (``\\u`` escapes keep undecodable file
names exact), entries sorted by path::

    {"entries":[{"executable":false,"hash":"<sha256>","path":"a/b.py","size":12},
                {"link":"b.py","path":"a/c.py"}],"format":1}

Nothing machine-specific (mtimes, owners, absolute paths) goes in, so the same tree gives the
same fingerprint anywhere. Everything read back is validated: a path that is absolute, holds a
``.`` or ``..`` segment, or lies under another entry, and a link that leaves the tree, are
``SnapshotError``s, so a manifest from elsewhere can never make a restore write outside its
destination.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
from dataclasses import dataclass
from typing import Iterable, Iterator

from launchdeck.core.errors import SnapshotError

FORMAT = 1
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def is_digest(text: object) -> bool:
    """Whether ``text`` is a lowercase sha256 hex digest."""
    return isinstance(text, str) and _HEX64.match(text) is not None


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One file (``hash`` set) or in-tree symlink (``link`` set) of a snapshot."""

    path: str                  # relative, "/"-separated
    hash: str | None = None    # sha256 of the content; None for a symlink
    size: int = 0
    executable: bool = False
    link: str | None = None    # the symlink's relative target; None for a file

    @property
    def is_link(self) -> bool:
        return self.link is not None

    def to_json(self) -> dict:
        if self.link is not None:
            return {"path": self.path, "link": self.link}
        return {"path": self.path, "hash": self.hash, "size": self.size,
                "executable": self.executable}


@dataclass(frozen=True, slots=True)
class Manifest:
    """A snapshot: its fingerprint and its entries in path order (iterate it)."""

    fingerprint: str
    entries: tuple[ManifestEntry, ...]

    def __iter__(self) -> Iterator[ManifestEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.entries)

    def blob_hashes(self) -> set[str]:
        """Every blob the snapshot needs (what a remote store must hold to restore it)."""
        return {e.hash for e in self.entries if e.hash is not None}


def encode(entries: Iterable[ManifestEntry]) -> bytes:
    """The canonical bytes of a manifest (entries are sorted here)."""
    doc = {"format": FORMAT,
           "entries": [e.to_json() for e in sorted(entries, key=lambda e: e.path)]}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def fingerprint_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_inside(path: str, root: str) -> bool:
    """Whether the real path ``path`` is ``root`` or lies under it."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def link_stays_inside(path: str, target: str) -> bool:
    """Whether a relative link target, read from the link at ``path``, stays in the tree."""
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    return joined != ".." and not joined.startswith("../")


def check_path(path: object) -> str:
    """A manifest path, refused unless it is a plain relative posix path."""
    if not isinstance(path, str) or not path:
        raise SnapshotError(f"manifest entry has an invalid path: {path!r}")
    if path.startswith("/") or "\0" in path or any(
            seg in ("", ".", "..") for seg in path.split("/")):
        raise SnapshotError(f"manifest entry path {path!r} is absolute or leaves the snapshot")
    return path


def check_link(path: str, target: object) -> str:
    """A link target, refused unless it stays inside the tree (read lexically from ``path``)."""
    if not isinstance(target, str) or not target or "\0" in target or target.startswith("/"):
        raise SnapshotError(f"manifest link {path!r} has an invalid target {target!r}")
    if not link_stays_inside(path, target):
        raise SnapshotError(f"manifest link {path!r} -> {target!r} points outside the snapshot")
    return target


def _entry(raw: object) -> ManifestEntry:
    if not isinstance(raw, dict):
        raise SnapshotError(f"manifest entry is not an object: {raw!r}")
    path = check_path(raw.get("path"))
    if "link" in raw:
        if set(raw) != {"path", "link"}:
            raise SnapshotError(f"manifest link {path!r} has unexpected keys")
        return ManifestEntry(path=path, link=check_link(path, raw["link"]))
    digest, size, executable = raw.get("hash"), raw.get("size"), raw.get("executable")
    if set(raw) != {"path", "hash", "size", "executable"} or not is_digest(digest) or \
            type(size) is not int or size < 0 or type(executable) is not bool:
        raise SnapshotError(f"manifest entry {path!r} is malformed")
    return ManifestEntry(path=path, hash=digest, size=size, executable=executable)


def decode(data: bytes, fingerprint: str) -> Manifest:
    """Parse and validate manifest bytes that were stored under ``fingerprint``."""
    if fingerprint_of(data) != fingerprint:
        raise SnapshotError(f"manifest {fingerprint} is corrupt (its content does not match)")
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise SnapshotError(f"manifest {fingerprint} is not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or \
            not isinstance(doc.get("entries"), list):
        raise SnapshotError(f"manifest {fingerprint} has an unknown format")
    entries = tuple(_entry(raw) for raw in doc["entries"])
    seen: set[str] = set()
    previous = ""
    for entry in entries:
        if entry.path <= previous and previous:
            raise SnapshotError(f"manifest {fingerprint} is not sorted or repeats {entry.path!r}")
        previous = entry.path
        seen.add(entry.path)
    for entry in entries:
        # Nothing may live under a file or a link: writing it would follow the link.
        parent = entry.path
        while "/" in parent:
            parent = parent.rsplit("/", 1)[0]
            if parent in seen:
                raise SnapshotError(f"manifest {fingerprint}: {entry.path!r} lies under the "
                                    f"file or link {parent!r}")
    return Manifest(fingerprint=fingerprint, entries=entries)
