"""Manifest bytes: canonical, and validated on read so no entry can leave the destination."""

from __future__ import annotations

import json

import pytest

from launchdeck.core.errors import SnapshotError
from launchdeck.core.snapshot.manifest import ManifestEntry, decode, encode, fingerprint_of

H = "a" * 64


def _doc(entries: list[dict]) -> bytes:
    return json.dumps({"format": 1, "entries": entries}, sort_keys=True,
                      separators=(",", ":")).encode()


def test_encoding_is_canonical_and_order_free() -> None:
    a = ManifestEntry(path="b/c.py", hash=H, size=3, executable=True)
    b = ManifestEntry(path="a", link="b/c.py")
    data = encode([a, b])
    assert data == encode([b, a])
    assert data == (b'{"entries":[{"link":"b/c.py","path":"a"},{"executable":true,"hash":"'
                    + H.encode() + b'","path":"b/c.py","size":3}],"format":1}')
    manifest = decode(data, fingerprint_of(data))
    assert list(manifest) == [b, a] and len(manifest) == 2
    assert manifest.blob_hashes() == {H} and manifest.total_bytes == 3


def test_undecodable_file_names_round_trip() -> None:
    name = b"caf\xe9.txt".decode("utf-8", "surrogateescape")
    data = encode([ManifestEntry(path=name, hash=H, size=0)])
    assert data.isascii()
    assert decode(data, fingerprint_of(data)).entries[0].path == name


@pytest.mark.parametrize("path", ["../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a/.",
                                  "", "a/..", "x\0y"])
def test_paths_that_leave_the_tree_are_refused(path: str) -> None:
    data = _doc([{"path": path, "hash": H, "size": 0, "executable": False}])
    with pytest.raises(SnapshotError):
        decode(data, fingerprint_of(data))


@pytest.mark.parametrize("path, target", [("l", "../x"), ("a/l", "../../x"), ("l", "/etc"),
                                          ("l", ""), ("a/l", "b/../../../x")])
def test_links_that_leave_the_tree_are_refused(path: str, target: str) -> None:
    data = _doc([{"path": path, "link": target}])
    with pytest.raises(SnapshotError, match="outside|invalid"):
        decode(data, fingerprint_of(data))


def test_entries_under_a_file_or_link_are_refused() -> None:
    data = _doc([{"path": "d", "link": "."},
                 {"path": "d/x", "hash": H, "size": 0, "executable": False}])
    with pytest.raises(SnapshotError, match="lies under"):
        decode(data, fingerprint_of(data))


@pytest.mark.parametrize("entries", [
    [{"path": "a", "hash": "A" * 64, "size": 0, "executable": False}],
    [{"path": "a", "hash": H, "size": -1, "executable": False}],
    [{"path": "a", "hash": H, "size": True, "executable": False}],
    [{"path": "a", "hash": H, "size": 0, "executable": 1}],
    [{"path": "a", "hash": H, "size": 0}],
    [{"path": "a", "link": "b", "hash": H}],
    [{"path": "b", "hash": H, "size": 0, "executable": False},
     {"path": "a", "hash": H, "size": 0, "executable": False}],
    [{"path": "a", "hash": H, "size": 0, "executable": False}] * 2,
    ["a"],
])
def test_malformed_entries_are_refused(entries: list) -> None:
    data = _doc(entries)
    with pytest.raises(SnapshotError):
        decode(data, fingerprint_of(data))


def test_content_must_match_the_fingerprint() -> None:
    data = encode([ManifestEntry(path="a", hash=H, size=0)])
    with pytest.raises(SnapshotError, match="corrupt"):
        decode(data.replace(b'"a"', b'"b"'), fingerprint_of(data))
    for bad in (b"not json", b'{"format":2,"entries":[]}', b"[]"):
        with pytest.raises(SnapshotError):
            decode(bad, fingerprint_of(bad))
