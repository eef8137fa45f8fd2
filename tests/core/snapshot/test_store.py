"""Taking snapshots: dedup, fingerprints, exclusions, symlinks, errors, concurrency."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from pathlib import Path

import pytest

from launchdeck.core.errors import ProjectError, SnapshotError
from launchdeck.core.snapshot import ContentStore
from tests.core.snapshot.trees import write_tree

SAMPLE = {
    "train.py": "print('train')\n",
    "lib/model.py": "W = 1\n",
    "lib/data/rows.csv": "a,b\n1,2\n",
    "aml_config/local.compute": "type: local\n",
    "big.bin": os.urandom(3 * (1 << 20) + 17),  # several chunks
}


def before_opening(monkeypatch, suffix: str, action) -> None:
    """Run ``action(path)`` whenever the store opens a file whose path ends with ``suffix``."""
    real_open = os.open

    def patched(path, *args, **kwargs):
        if os.fspath(path).endswith(suffix):
            action(os.fspath(path))
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(os, "open", patched)


def test_unchanged_tree_stores_nothing_new_and_keeps_its_fingerprint(project, store) -> None:
    write_tree(project, SAMPLE)
    first = store.snapshot(project)
    assert (first.file_count, first.new_blobs) == (5, 5)
    assert first.total_bytes == first.new_bytes == sum(
        len(v if isinstance(v, bytes) else v.encode()) for v in SAMPLE.values())
    second = store.snapshot(project)
    assert second.fingerprint == first.fingerprint
    assert (second.new_blobs, second.new_bytes) == (0, 0)
    assert second.total_bytes == first.total_bytes


def test_one_changed_file_gives_one_new_blob_and_a_new_fingerprint(project, store) -> None:
    write_tree(project, SAMPLE)
    first = store.snapshot(project)
    (project / "lib/model.py").write_text("W = 2\n")
    second = store.snapshot(project)
    assert second.new_blobs == 1
    assert second.fingerprint != first.fingerprint
    entry = {e.path: e for e in store.manifest(second.fingerprint)}["lib/model.py"]
    assert store.blob_path(entry.hash).read_bytes() == b"W = 2\n"


def test_same_content_gives_same_fingerprint_anywhere(tmp_path) -> None:
    fingerprints = set()
    for name in ("one", "two"):
        root = tmp_path / name
        write_tree(root, {"a.py": "x", "d/b.txt": "y"})
        os.utime(root / "a.py", ns=(1, 10**18 if name == "one" else 5))  # mtimes don't count
        fingerprints.add(ContentStore(tmp_path / f"store-{name}").snapshot(root).fingerprint)
    assert len(fingerprints) == 1


def test_manifest_records_hash_size_and_executable_bit(project, store) -> None:
    write_tree(project, {"run.sh": "#!/bin/sh\n", "a.py": "x"})
    (project / "run.sh").chmod(0o755)
    entries = {e.path: e for e in store.manifest(store.snapshot(project).fingerprint)}
    assert entries["run.sh"].executable and not entries["a.py"].executable
    assert entries["a.py"].hash == hashlib.sha256(b"x").hexdigest()
    assert entries["a.py"].size == 1
    assert [e.path for e in store.manifest(store.snapshot(project).fingerprint)] == \
        ["a.py", "run.sh"]


def test_blobs_are_stored_by_hash_read_only(project, store) -> None:
    write_tree(project, {"a.py": "x"})
    store.snapshot(project)
    digest = hashlib.sha256(b"x").hexdigest()
    path = store.root / "objects" / digest[:2] / digest[2:]
    assert store.blob_path(digest) == path and store.has_blob(digest)
    assert path.stat().st_mode & 0o222 == 0
    assert store.missing_blobs([digest, "0" * 64, digest, "1" * 64]) == ["0" * 64, "1" * 64]
    with pytest.raises(SnapshotError):
        store.blob_path("../../etc/passwd")


def test_fixed_exclusions_and_ignore_files(project, store) -> None:
    write_tree(project, {
        "keep.py": "k", ".git/config": "g", "sub/.git": "gitdir: x", ".deck/history.db": "h",
        "outputs/model.pkl": "o", "sub/outputs/kept.txt": "s", "__pycache__/a.pyc": "c",
        "sub/__pycache__/b.pyc": "c", ".gitignore": "*.log\n", "run.log": "l",
        ".amlignore": "data/\n!keep.log\n", "data/big.csv": "d", "keep.log": "k",
        "sub/.gitignore": "!*.log\nsecret.txt\n", "sub/x.log": "x", "sub/secret.txt": "s",
    })
    paths = {e.path for e in store.manifest(store.snapshot(project).fingerprint)}
    assert paths == {"keep.py", ".gitignore", ".amlignore", "keep.log", "sub/outputs/kept.txt",
                     "sub/.gitignore", "sub/x.log"}


def test_ignore_file_that_is_a_symlink_is_not_followed(project, store, tmp_path) -> None:
    (tmp_path / "rules").write_text("*.py\n")
    write_tree(project, {"a.py": "x"})
    os.symlink(tmp_path / "rules", project / ".gitignore")
    paths = {e.path for e in store.manifest(store.snapshot(project).fingerprint)}
    assert paths == {"a.py"}


def test_store_inside_the_project_elsewhere_is_left_out(project) -> None:
    write_tree(project, {"a.py": "x"})
    store = ContentStore(project / "cache" / "store")
    store.snapshot(project)
    paths = {e.path for e in store.manifest(store.snapshot(project).fingerprint)}
    assert paths == {"a.py"}


def test_symlinks_inside_are_recorded_outside_are_skipped(project, store, tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not take me")
    write_tree(project, {"lib/a.py": "x"})
    os.symlink("lib/a.py", project / "rel")
    os.symlink(project / "lib", project / "abs_dir")
    os.symlink(secret, project / "outside")
    os.symlink("../../secret.txt", project / "lib" / "climb")
    result = store.snapshot(project)
    entries = {e.path: e for e in store.manifest(result.fingerprint)}
    assert entries["rel"].link == "lib/a.py"
    assert entries["abs_dir"].link == "lib"  # absolute target made relative
    assert "outside" not in entries and "lib/climb" not in entries
    assert sorted(w.split(":")[0] for w in result.warnings) == ["lib/climb", "outside"]
    assert store.missing_blobs([hashlib.sha256(b"do not take me").hexdigest()])


def test_symlinked_folder_is_not_walked(project, store) -> None:
    write_tree(project, {"lib/a.py": "x"})
    os.symlink("lib", project / "loop")
    os.symlink(".", project / "lib" / "self")
    paths = {e.path for e in store.manifest(store.snapshot(project).fingerprint)}
    assert paths == {"lib/a.py", "loop", "lib/self"}


def test_not_a_folder_is_a_project_error(tmp_path) -> None:
    with pytest.raises(ProjectError):
        ContentStore(tmp_path / "store").snapshot(tmp_path / "missing")


def test_unreadable_file_names_the_file(project, store, monkeypatch) -> None:
    write_tree(project, {"ok.py": "x", "locked/data.csv": "secret"})
    target = project / "locked" / "data.csv"
    if os.geteuid() == 0:  # root reads anything: make the open fail as it would for a user
        def deny(path):
            raise PermissionError(13, "Permission denied", path)
        before_opening(monkeypatch, "locked/data.csv", deny)
    else:
        target.chmod(0)
    with pytest.raises(SnapshotError, match="locked/data.csv"):
        store.snapshot(project)


def test_unreadable_ignored_folder_is_never_opened(project, store, monkeypatch) -> None:
    write_tree(project, {"ok.py": "x", ".gitignore": "private/\n", "private/x": "y"})
    real_scandir = os.scandir

    def guarded(path="."):
        assert not os.fspath(path).endswith("private"), "walked into an ignored folder"
        return real_scandir(path)
    monkeypatch.setattr(os, "scandir", guarded)
    assert store.snapshot(project).file_count == 2


def test_file_changing_while_read_keeps_the_bytes_read(project, store, monkeypatch) -> None:
    big = project / "grow.bin"
    big.write_bytes(b"a" * (3 << 20))
    real_read = os.read
    calls = []

    def read_then_append(fd, n):
        data = real_read(fd, n)
        if not calls:
            calls.append(fd)
            with open(big, "ab") as fh:  # someone writes while we hash
                fh.write(b"b" * 10)
        return data
    monkeypatch.setattr(os, "read", read_then_append)
    result = store.snapshot(project)
    monkeypatch.setattr(os, "read", real_read)
    assert any("grow.bin: changed while it was read" in w for w in result.warnings)
    (entry,) = store.manifest(result.fingerprint)
    blob = store.blob_path(entry.hash).read_bytes()
    assert hashlib.sha256(blob).hexdigest() == entry.hash and len(blob) == entry.size
    again = store.snapshot(project)  # not stat-cached: read again, now whole
    assert again.hashed_files == 1 and again.total_bytes == (3 << 20) + 10


def test_file_vanishing_is_left_out_with_a_warning(project, store, monkeypatch) -> None:
    write_tree(project, {"a.py": "x", "gone.py": "y"})
    before_opening(monkeypatch, "gone.py", os.unlink)
    result = store.snapshot(project)
    assert result.file_count == 1 and "gone.py: vanished" in result.warnings[0]


def test_fifo_is_left_out(project, store) -> None:
    write_tree(project, {"a.py": "x"})
    os.mkfifo(project / "pipe")
    result = store.snapshot(project)
    assert result.file_count == 1 and result.warnings == ("pipe: not a regular file; left out",)


def test_missing_blob_is_stored_again_despite_the_stat_cache(project, store) -> None:
    write_tree(project, {"a.py": "x"})
    first = store.snapshot(project)
    digest = hashlib.sha256(b"x").hexdigest()
    store.blob_path(digest).unlink()
    again = store.snapshot(project)
    assert again.fingerprint == first.fingerprint and again.new_blobs == 1
    assert store.has_blob(digest)


def _snapshot_in_child(project: str, store: str, queue) -> None:
    try:
        queue.put(ContentStore(Path(store)).snapshot(Path(project)).fingerprint)
    except BaseException as exc:  # noqa: BLE001 - report to the parent
        queue.put(repr(exc))


def test_two_processes_snapshot_into_one_store(project, store, tmp_path) -> None:
    write_tree(project, {f"d{i % 7}/f{i}.py": f"content {i}\n" * (i + 1) for i in range(300)})
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    children = [ctx.Process(target=_snapshot_in_child, args=(str(project), str(store.root), queue))
                for _ in range(3)]
    for child in children:
        child.start()
    results = [queue.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=60)
    assert len(set(results)) == 1 and len(results[0]) == 64, results
    store.materialize(results[0], tmp_path / "out")
    assert (tmp_path / "out/d3/f10.py").read_text() == "content 10\n" * 11
    assert not any((store.root / "tmp").iterdir())  # no temp files left behind


def test_file_turned_symlink_during_the_snapshot_is_left_out(project, store, monkeypatch,
                                                             tmp_path) -> None:
    write_tree(project, {"a.py": "x", "b.py": "y"})
    (tmp_path / "secret").write_text("s")

    def swap(path):
        os.unlink(path)
        os.symlink(tmp_path / "secret", path)
    before_opening(monkeypatch, "b.py", swap)
    result = store.snapshot(project)
    assert result.file_count == 1 and "b.py: replaced by a symlink" in result.warnings[0]


def test_abandoned_temp_files_are_swept(project, store) -> None:
    write_tree(project, {"a.py": "x"})
    tmp = store.root / "tmp"
    tmp.mkdir(parents=True)
    (tmp / "blob-1-old").write_text("left by a killed process")
    (tmp / "blob-2-new").write_text("being written right now")
    os.utime(tmp / "blob-1-old", (0, 0))
    store.snapshot(project)
    assert [p.name for p in tmp.iterdir()] == ["blob-2-new"]


def test_touched_big_file_is_hashed_but_not_copied_again(project, store, monkeypatch) -> None:
    monkeypatch.setattr("launchdeck.core.snapshot.store.fs_clock_ns", lambda _dir: 1 << 62)
    write_tree(project, {"data.bin": os.urandom(3 << 20)})
    first = store.snapshot(project)
    os.utime(project / "data.bin", ns=(1, 10**9))  # stat changed, content did not
    temps = []
    real_temp = store._files.temp
    monkeypatch.setattr(store._files, "temp", lambda kind: temps.append(kind) or real_temp(kind))
    again = store.snapshot(project)
    assert (again.fingerprint, again.hashed_files, again.new_blobs) == (first.fingerprint, 1, 0)
    assert temps == []  # the 3 MiB were read, never written to the store's temp folder
    with open(project / "data.bin", "r+b") as fh:  # same size, new content: stored after all
        fh.write(b"new")
    third = store.snapshot(project)
    assert third.new_blobs == 1 and temps == ["blob", "manifests"]
    (entry,) = store.manifest(third.fingerprint)
    assert store.blob_path(entry.hash).read_bytes() == (project / "data.bin").read_bytes()
