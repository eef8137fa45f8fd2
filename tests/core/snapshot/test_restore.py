"""Writing snapshots out: exact bytes and modes, isolation from the project and the store."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from launchdeck.core.errors import SnapshotError
from launchdeck.core.snapshot.manifest import ManifestEntry, encode, fingerprint_of
from tests.core.snapshot.trees import write_tree

FILES = {
    "train.py": "print('hi')\n",
    "bin/run.sh": "#!/bin/sh\necho run\n",
    "data/deep/rows.csv": "a,b\n" * 1000,
    "big.bin": os.urandom((2 << 20) + 5),
    "empty.txt": "",
}


def _tree_of(root: Path) -> dict[str, tuple]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if ".deck" in dirnames:
            dirnames.remove(".deck")  # the store, not part of the snapshot
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                found[rel] = ("link", os.readlink(path))
            else:
                st = os.stat(path)
                found[rel] = ("file", Path(path).read_bytes(), bool(st.st_mode & stat.S_IXUSR))
    return found


@pytest.fixture
def snapshot(project, store) -> str:
    write_tree(project, FILES)
    (project / "bin/run.sh").chmod(0o755)
    os.symlink("../train.py", project / "bin" / "train")
    os.symlink("data", project / "data_link")
    return store.snapshot(project).fingerprint


def test_materialize_gives_identical_bytes_modes_and_links(project, store, snapshot,
                                                           tmp_path) -> None:
    dest = tmp_path / "run" / "work"
    store.materialize(snapshot, dest)
    assert _tree_of(dest) == _tree_of(project)
    assert (dest / "bin/train").read_text() == FILES["train.py"]
    assert not (dest / "bin/run.sh").is_symlink() and (dest / "bin/run.sh").stat().st_nlink == 1


def test_editing_the_project_does_not_change_the_snapshot(project, store, snapshot,
                                                          tmp_path) -> None:
    (project / "train.py").write_text("print('edited')\n")
    (project / "data/deep/rows.csv").unlink()
    store.materialize(snapshot, tmp_path / "out")
    assert (tmp_path / "out/train.py").read_text() == FILES["train.py"]
    assert (tmp_path / "out/data/deep/rows.csv").read_text() == FILES["data/deep/rows.csv"]


def test_a_run_writing_its_files_never_changes_the_store(store, snapshot, tmp_path) -> None:
    store.materialize(snapshot, tmp_path / "out")
    (tmp_path / "out/train.py").write_text("changed by the run")
    with open(tmp_path / "out/big.bin", "r+b") as fh:
        fh.write(b"XX")
    for entry in store.manifest(snapshot):
        if entry.hash:
            assert hashlib.sha256(store.blob_path(entry.hash).read_bytes()).hexdigest() == \
                entry.hash


def test_materialize_needs_a_new_or_empty_folder(store, snapshot, tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    store.materialize(snapshot, tmp_path / "empty")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy/x").write_text("x")
    with pytest.raises(SnapshotError, match="not an empty folder"):
        store.materialize(snapshot, tmp_path / "busy")


def test_restore_refuses_to_overwrite_unless_told(project, store, snapshot, tmp_path) -> None:
    dest = tmp_path / "restore"
    write_tree(dest, {"train.py": "mine", "notes.txt": "kept"})
    with pytest.raises(SnapshotError, match="would overwrite train.py"):
        store.restore(snapshot, dest)
    assert (dest / "train.py").read_text() == "mine" and not (dest / "bin").exists()
    store.restore(snapshot, dest, overwrite=True)
    assert (dest / "train.py").read_text() == FILES["train.py"]
    assert (dest / "notes.txt").read_text() == "kept"
    store.restore(snapshot, tmp_path / "fresh")  # a missing folder is fine too
    assert _tree_of(tmp_path / "fresh") == _tree_of(project)


def test_restore_never_replaces_a_folder(store, snapshot, tmp_path) -> None:
    (tmp_path / "r/train.py").mkdir(parents=True)
    with pytest.raises(SnapshotError, match="is a folder"):
        store.restore(snapshot, tmp_path / "r", overwrite=True)


def test_restore_does_not_write_through_a_symlinked_folder(store, snapshot, tmp_path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    dest = tmp_path / "r"
    dest.mkdir()
    os.symlink(victim, dest / "bin")
    with pytest.raises(SnapshotError, match="outside"):
        store.restore(snapshot, dest, overwrite=True)
    assert list(victim.iterdir()) == []


def _plant(store, entries: list[dict]) -> str:
    import json
    data = json.dumps({"format": 1, "entries": entries}, sort_keys=True,
                      separators=(",", ":")).encode()
    fingerprint = fingerprint_of(data)
    (store.root / "manifests").mkdir(parents=True, exist_ok=True)
    (store.root / "manifests" / f"{fingerprint}.json").write_bytes(data)
    return fingerprint


def test_malicious_manifest_with_dotdot_is_refused(project, store, tmp_path) -> None:
    write_tree(project, {"a": "payload"})
    digest = store.manifest(store.snapshot(project).fingerprint).entries[0].hash
    bad = _plant(store, [{"path": "../x", "hash": digest, "size": 7, "executable": False}])
    with pytest.raises(SnapshotError, match="leaves the snapshot"):
        store.materialize(bad, tmp_path / "out" / "work")
    assert not (tmp_path / "out" / "x").exists() and not (tmp_path / "out").exists()


def test_chained_links_that_resolve_outside_are_refused(store, tmp_path) -> None:
    # Each target stays inside lexically, but "b" -> "." makes "a/l" -> "../b/../x" climb out.
    bad = _plant(store, [{"path": "a/l", "link": "../b/../x"}, {"path": "b", "link": "."}])
    with pytest.raises(SnapshotError, match="resolves outside"):
        store.materialize(bad, tmp_path / "out")


def test_missing_or_damaged_blobs_are_reported(project, store, snapshot, tmp_path) -> None:
    entry = next(e for e in store.manifest(snapshot) if e.path == "train.py")
    blob = store.blob_path(entry.hash)
    blob.chmod(0o644)
    blob.write_text("short")
    with pytest.raises(SnapshotError, match="damaged"):
        store.materialize(snapshot, tmp_path / "a")
    blob.unlink()
    with pytest.raises(SnapshotError, match="lacks 1 blob"):
        store.materialize(snapshot, tmp_path / "b")
    assert not (tmp_path / "b").exists()  # checked before anything is written


def test_unknown_fingerprint(store, tmp_path) -> None:
    with pytest.raises(SnapshotError, match="no snapshot"):
        store.materialize("0" * 64, tmp_path / "x")
    with pytest.raises(SnapshotError, match="not a snapshot fingerprint"):
        store.manifest("../../etc/passwd")


def test_manifest_written_by_snapshot_is_its_own_fingerprint(project, store) -> None:
    write_tree(project, {"a": "x"})
    fp = store.snapshot(project).fingerprint
    data = (store.root / "manifests" / f"{fp}.json").read_bytes()
    assert fingerprint_of(data) == fp
    assert data == encode([ManifestEntry(path="a", hash=hashlib.sha256(b"x").hexdigest(),
                                         size=1)])
