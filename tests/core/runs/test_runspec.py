"""A run's configs copied out of its snapshot: never a half copy read as the config."""

import errno
import shutil
import subprocess

import pytest

from core.project import Project
from core.runs.runspec import snapshot_resolver
from tests.fixtures.projects import REPO


@pytest.fixture
def tiny_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def test_a_config_copy_cut_short_by_a_full_disk_is_not_read_later(tiny_disk):
    # Once read from a zero-byte copy, a runconfig failed the run with "Target is required".
    root = tiny_disk / "project"
    shutil.copytree(REPO / "sample_project", root)
    project = Project(root)
    fingerprint = project.store.snapshot(root).fingerprint
    into = root / ".deck" / "runs" / "r1" / "config"
    resolve = snapshot_resolver(project, fingerprint, into)
    resolve("aml_config/local.compute")  # the folder exists; only the file will not fit
    filler = tiny_disk / "filler"
    with open(filler, "wb", buffering=0) as f:
        with pytest.raises(OSError) as full:
            while True:
                f.write(b"\0" * 65536)
    assert full.value.errno == errno.ENOSPC

    with pytest.raises(OSError):
        resolve("aml_config/local.runconfig")
    assert not (into / "aml_config" / "local.runconfig").exists()

    filler.unlink()
    copy = resolve("aml_config/local.runconfig")
    assert copy.read_bytes() == (root / "aml_config" / "local.runconfig").read_bytes()
