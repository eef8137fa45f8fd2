"""Incremental snapshot sync to the real sshd's deckuser, and materializing runs there."""

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

from launchdeck.core.errors import TargetError
from launchdeck.core.remote import SSHPool
from launchdeck.core.remote.materialize import materialize_remote
from launchdeck.core.remote.sync import sync_snapshot
from launchdeck.core.snapshot import ContentStore

pytestmark = pytest.mark.ssh

CHANGED = 20_000  # bytes of the one changed file, random so compression cannot hide anything


@pytest.fixture
async def host(ssh_server, known_hosts_file):
    pool = SSHPool(config_paths=[], known_hosts=ssh_server.write_known_hosts(known_hosts_file))
    yield pool.host(ssh_server.host, port=ssh_server.port, user=ssh_server.user,
                    identity_file=str(ssh_server.client_key))
    await pool.close()


def _project(root: Path, files: int = 1000) -> Path:
    for i in range(files):
        path = root / f"pkg{i % 10}" / f"module_{i:04d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# module {i}\nVALUE = {i}\n" + "x = 1\n" * (i % 50))
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    (root / "latest.py").symlink_to("pkg0/module_0000.py")
    return root


def _tree(root: Path) -> dict:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = ("link", os.readlink(path))
        elif path.is_file():
            out[rel] = (path.read_bytes(), bool(path.stat().st_mode & stat.S_IXUSR))
    return out


async def test_incremental_sync_sends_only_the_changed_file(host, ssh_server, remote_scratch,
                                                            tmp_path):
    project = _project(tmp_path / "project")
    store = ContentStore(tmp_path / "store")
    store_dir = f"{remote_scratch}/store"
    remote_store = ssh_server.home / store_dir

    first = store.snapshot(project).fingerprint
    report = await sync_snapshot(host, store, first, store_dir=store_dir)
    assert (report.files_sent, report.blobs_skipped, report.base) == (1001, 0, None)
    assert (remote_store / "manifests" / f"{first}.json").read_bytes() == \
        (store.root / "manifests" / f"{first}.json").read_bytes()

    (project / "pkg3" / "module_0003.py").write_bytes(os.urandom(CHANGED))
    second = store.snapshot(project).fingerprint
    report = await sync_snapshot(host, store, second, store_dir=store_dir)
    print(f"second sync: {report}")
    assert (report.files_sent, report.blobs_skipped, report.base) == (1, 1000, first)
    assert report.bytes_sent <= CHANGED + 64 * 1024
    manifest = (remote_store / "manifests" / f"{second}.json").read_bytes()
    assert hashlib.sha256(manifest).hexdigest() == second

    again = await sync_snapshot(host, store, second, store_dir=store_dir)
    assert again.files_sent == 0 and again.bytes_sent < 2048

    files = await materialize_remote(host, second, f"{remote_scratch}/run1", store_dir=store_dir)
    assert files == 1001
    assert _tree(ssh_server.home / remote_scratch / "run1") == _tree(project)
    with pytest.raises(TargetError, match="not an empty folder"):
        await materialize_remote(host, second, f"{remote_scratch}/run1", store_dir=store_dir)


async def test_materialize_refuses_paths_that_leave_the_folder(host, ssh_server, remote_scratch,
                                                               tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / "a.py").write_text("print(1)\n")
    store = ContentStore(tmp_path / "store")
    store_dir = f"{remote_scratch}/store"
    good = store.snapshot(project).fingerprint
    await sync_snapshot(host, store, good, store_dir=store_dir)
    entry = json.loads((store.root / "manifests" / f"{good}.json").read_bytes())["entries"][0]
    for bad_path in ("../evil.py", "/tmp/evil.py", "x/../../evil.py"):
        doc = {"entries": [dict(entry, path=bad_path)], "format": 1}
        data = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
        fp = hashlib.sha256(data).hexdigest()
        (ssh_server.home / store_dir / "manifests" / f"{fp}.json").write_bytes(data)
        with pytest.raises(TargetError, match="unsafe path"):
            await materialize_remote(host, fp, f"{remote_scratch}/run", store_dir=store_dir)
    assert not (ssh_server.home / remote_scratch / "evil.py").exists()
    assert not Path("/tmp/evil.py").exists()


async def test_damaged_base_on_the_host_is_caught_not_published(host, ssh_server,
                                                                remote_scratch, tmp_path):
    project = _project(tmp_path / "p", files=20)
    store = ContentStore(tmp_path / "store")
    store_dir = f"{remote_scratch}/store"
    first = store.snapshot(project).fingerprint
    await sync_snapshot(host, store, first, store_dir=store_dir)
    base = ssh_server.home / store_dir / "manifests" / f"{first}.json"
    base.chmod(0o644)
    base.write_bytes(base.read_bytes().replace(b'"size"', b'"SIZE"'))

    (project / "pkg1" / "module_0001.py").write_text("changed\n")
    second = store.snapshot(project).fingerprint
    with pytest.raises(TargetError, match="rebuilt manifest has sha256"):
        await sync_snapshot(host, store, second, store_dir=store_dir)
    assert not (ssh_server.home / store_dir / "manifests" / f"{second}.json").exists()


def test_manifest_delta_rebuilds_exactly():
    import random

    from launchdeck.core.remote.sync import _delta
    rng = random.Random(4)
    for _ in range(500):
        base = rng.randbytes(rng.randint(0, 20_000))
        new = bytearray(base)
        for _ in range(rng.randint(0, 3)):
            at = rng.randint(0, len(new))
            new[at:at + rng.randint(0, 40)] = rng.randbytes(rng.randint(0, 40))
        new = bytes(new)
        head, middle, tail = _delta(base, new)
        assert base[:head] + middle + base[len(base) - tail:] == new
        assert head + tail <= min(len(base), len(new))


async def test_a_host_that_refuses_the_push_says_why_not_connection_lost(host, tmp_path):
    """The host's side fails before reading what is sent: its own error is reported."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "big.bin").write_bytes(os.urandom(4 << 20))  # more than the channel's window
    store = ContentStore(tmp_path / "store")
    fingerprint = store.snapshot(project).fingerprint
    for _ in range(5):
        with pytest.raises(TargetError, match=r"storing snapshot .* failed \(exit 1\): mkdir"):
            await sync_snapshot(host, store, fingerprint, store_dir="/proc/deck-no-store")
