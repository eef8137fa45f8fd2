"""The stat cache: trusted only for files last changed before the snapshot began."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from launchdeck.core.snapshot.statcache import StatCache, cache_path, fs_clock_ns
from tests.core.snapshot.trees import write_tree


def _stat(path: Path) -> os.stat_result:
    return os.stat(path)


def test_lookup_needs_the_exact_stat_data(tmp_path) -> None:
    f = tmp_path / "a"
    f.write_text("x")
    cache = StatCache(str(tmp_path))
    cache.record("a", _stat(f), "h" * 64)
    cache.save(tmp_path / "cache", tmp_path / "tmp", start_ns=_stat(f).st_ctime_ns + 1)
    loaded = StatCache.load(tmp_path / "cache", str(tmp_path))
    assert loaded.lookup("a", _stat(f)) == "h" * 64
    f.write_text("y")  # same size, new ctime (and maybe mtime)
    assert loaded.lookup("a", _stat(f)) is None
    assert loaded.lookup("b", _stat(f)) is None


@pytest.mark.parametrize("offset, kept", [(1, True), (0, False), (-1, False)])
def test_entries_changed_at_or_after_the_start_are_not_saved(tmp_path, offset, kept) -> None:
    f = tmp_path / "a"
    f.write_text("x")
    st = _stat(f)
    cache = StatCache(str(tmp_path))
    cache.record("a", st, "h" * 64)
    start = max(st.st_mtime_ns, st.st_ctime_ns) + offset
    cache.save(tmp_path / "cache", tmp_path / "tmp", start_ns=start)
    loaded = StatCache.load(tmp_path / "cache", str(tmp_path))
    assert (loaded.lookup("a", st) is not None) is kept


def test_a_damaged_or_foreign_cache_is_an_empty_one(tmp_path) -> None:
    (tmp_path / "cache").write_bytes(b"\x00garbage")
    assert StatCache.load(tmp_path / "cache", "/p")._old == {}
    cache = StatCache("/other")
    cache.record("a", os.stat(tmp_path / "cache"), "h" * 64)
    cache.save(tmp_path / "c2", tmp_path / "tmp", start_ns=1 << 62)
    assert StatCache.load(tmp_path / "c2", "/p")._old == {}
    assert cache_path(tmp_path, "/p") != cache_path(tmp_path, "/other")


def test_unchanged_cache_is_not_rewritten(tmp_path) -> None:
    f = tmp_path / "a"
    f.write_text("x")
    cache = StatCache(str(tmp_path))
    cache.record("a", _stat(f), "h" * 64)
    assert cache.save(tmp_path / "cache", tmp_path / "tmp", start_ns=1 << 62)
    again = StatCache.load(tmp_path / "cache", str(tmp_path))
    again.record("a", _stat(f), "h" * 64)
    assert not again.save(tmp_path / "cache", tmp_path / "tmp", start_ns=1 << 62)


def test_fs_clock_is_the_file_system_clock(tmp_path) -> None:
    before = fs_clock_ns(tmp_path)
    (tmp_path / "later").write_text("x")
    assert os.stat(tmp_path / "later").st_mtime_ns >= before
    assert list(tmp_path.iterdir()) == [tmp_path / "later"]  # the probe file is gone


def test_racy_file_is_hashed_again(project, store, monkeypatch) -> None:
    """A file stamped in the tick the snapshot began may change unseen: never trust it."""
    write_tree(project, {"a.py": "one"})
    ctime = os.stat(project / "a.py").st_ctime_ns
    # the same tick
    monkeypatch.setattr("launchdeck.core.snapshot.store.fs_clock_ns", lambda _dir: ctime)
    store.snapshot(project)
    assert store.snapshot(project).hashed_files == 1
    monkeypatch.setattr("launchdeck.core.snapshot.store.fs_clock_ns", lambda _dir: ctime + 1)
    store.snapshot(project)  # now the entry is older than the start: cached
    assert store.snapshot(project).hashed_files == 0


def test_same_size_rewrite_right_after_a_snapshot_is_seen(project, store) -> None:
    """The real race: same-size rewrites right after a snapshot (bites where timestamps are
    coarse, e.g. jiffy-grained ext4 on older kernels; fine-grained clocks always pass)."""
    path = project / "a.py"
    for n in range(20):
        path.write_text(f"v{n:03d}")
        first = store.snapshot(project)
        path.write_text(f"w{n:03d}")
        second = store.snapshot(project)
        (entry,) = store.manifest(second.fingerprint)
        assert store.blob_path(entry.hash).read_text() == f"w{n:03d}", n
        assert second.fingerprint != first.fingerprint


def test_cache_lives_in_the_store_per_project(project, store, monkeypatch) -> None:
    monkeypatch.setattr("launchdeck.core.snapshot.store.fs_clock_ns", lambda _dir: 1 << 62)
    write_tree(project, {"a.py": "x"})
    store.snapshot(project)
    files = list((store.root / "stat-cache").iterdir())
    assert files == [cache_path(store.root / "stat-cache", os.path.realpath(project))]
    assert set(StatCache.load(files[0], os.path.realpath(project))._old) == {"a.py"}
