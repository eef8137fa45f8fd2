"""Pruning a host's mirror of the content store on the real sshd's deckuser, in a scratch
store (the real one is shared by every test on this machine)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from launchdeck.core.housekeeping.hoststore import prune_host_store
from launchdeck.core.remote.materialize import materialize_remote
from launchdeck.core.remote.sync import sync_snapshot
from launchdeck.core.snapshot import ContentStore
from tests.core.remote.test_sync import host  # noqa: F401 - a fixture

pytestmark = pytest.mark.ssh
DAY = 86400


def back_date(path: Path, days: float) -> None:
    then = time.time() - days * DAY
    os.utime(path, (then, then))


def blob(store: Path, digest: str) -> Path:
    return store / "objects" / digest[:2] / digest[2:]


async def test_only_what_no_sync_used_lately_goes_and_comes_back_when_needed(
        host, ssh_server, remote_scratch, tmp_path):  # noqa: F811
    project, local = tmp_path / "project", ContentStore(tmp_path / "store")
    project.mkdir()
    (project / "shared.py").write_text("SHARED = 1\n")
    (project / "job.py").write_text("print('first')\n")
    first = local.snapshot(project).fingerprint
    (project / "job.py").write_text("print('second')\n")
    second = local.snapshot(project).fingerprint
    store_dir = f"{remote_scratch}/store"
    remote = ssh_server.home / store_dir
    await sync_snapshot(host, local, first, store_dir=store_dir)
    await sync_snapshot(host, local, second, store_dir=store_dir)
    hashes = {name: {e.path: e.hash for e in local.manifest(fp)}
              for name, fp in (("first", first), ("second", second))}
    only_first = blob(remote, hashes["first"]["job.py"])
    shared = blob(remote, hashes["first"]["shared.py"])
    # What a sync sends lands with the time it was sent.
    assert time.time() - only_first.stat().st_mtime < 3600

    for path in (remote / "manifests").iterdir():
        back_date(path, 40)
    for path in (remote / "objects").rglob("*"):
        if path.is_file():
            back_date(path, 40)
    # Another machine syncs the second snapshot (one that never took the first: a machine
    # marks its recent snapshots too, as bases it may send against): that marks it used.
    other = ContentStore(tmp_path / "other")
    assert other.snapshot(project).fingerprint == second
    await sync_snapshot(host, other, second, store_dir=store_dir)
    assert time.time() - (remote / "manifests" / f"{second}.json").stat().st_mtime < 3600

    plan, note = await prune_host_store(host, older_than=30 * DAY, keep=set(), apply=False,
                                        store_dir=store_dir)
    assert note is None
    assert [(i.name, i.detail) for i in plan] == [
        ("1 snapshot", "no sync used them lately"),
        ("1 file", "file contents no remaining snapshot holds")]
    assert plan[1].size == len("print('first')\n")
    assert (remote / "manifests" / f"{first}.json").is_file() and only_first.is_file()

    kept, _ = await prune_host_store(host, older_than=30 * DAY, keep={first}, apply=False,
                                     store_dir=store_dir)
    assert kept == []  # an active run's snapshot stays, whatever its age

    await prune_host_store(host, older_than=30 * DAY, keep=set(), apply=True,
                           store_dir=store_dir)
    assert not (remote / "manifests" / f"{first}.json").exists() and not only_first.exists()
    assert shared.is_file() and (remote / "manifests" / f"{second}.json").is_file()

    # A cache: the next run of the first snapshot sends what is missing again.
    report = await sync_snapshot(host, local, first, store_dir=store_dir)
    assert report.files_sent == 1
    await materialize_remote(host, first, f"{remote_scratch}/run", store_dir=store_dir)
    assert (ssh_server.home / remote_scratch / "run" / "job.py").read_text() == \
        "print('first')\n"


async def test_a_blob_a_sync_in_flight_found_present_stays(host, ssh_server, remote_scratch,
                                                          tmp_path):  # noqa: F811
    from launchdeck.core.remote.sync import _MISSING, _ask, _Counter

    project, local = tmp_path / "project", ContentStore(tmp_path / "store")
    project.mkdir()
    (project / "data.csv").write_text("a,b\n1,2\n")
    (project / "job.py").write_text("print(1)\n")
    old = local.snapshot(project).fingerprint
    store_dir = f"{remote_scratch}/store"
    remote = ssh_server.home / store_dir
    await sync_snapshot(host, local, old, store_dir=store_dir)
    for path in [*(remote / "manifests").iterdir(), *(remote / "objects").rglob("*")]:
        if path.is_file():
            back_date(path, 40)
    (project / "job.py").write_text("print(2)\n")
    new = local.snapshot(project).fingerprint
    data = {e.path: e.hash for e in local.manifest(new)}["data.csv"]
    # A sync of the new snapshot is half way: it asked which blobs the host lacks and was
    # told data.csv is there (so it will not send it). A prune comes in now.
    missing = await _ask(host, _MISSING, store_dir, sorted(local.manifest(new).blob_hashes()),
                         _Counter())
    assert data not in missing
    await prune_host_store(host, older_than=30 * DAY, keep=set(), apply=True,
                           store_dir=store_dir)
    assert not (remote / "manifests" / f"{old}.json").exists()  # nothing marked it
    assert blob(remote, data).is_file()  # the sync in flight marked it
    await sync_snapshot(host, local, new, store_dir=store_dir)
    await materialize_remote(host, new, f"{remote_scratch}/run", store_dir=store_dir)
    assert (ssh_server.home / remote_scratch / "run" / "data.csv").read_text() == "a,b\n1,2\n"
