"""Loading a run's configs: ArgumentVector as Workbench read it, and config copies out of a
snapshot that are never read half written."""

import errno
import shutil
import subprocess

import pytest

from launchdeck.core.project import Project
from launchdeck.core.runs.runspec import snapshot_resolver, split_argument_vector
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



@pytest.mark.parametrize("vector, script, expected", [
    (["$file"], "train.py", ((), ())),
    (["$file", "--epochs", "5"], "train.py", ((), ("--epochs", "5"))),
    (["-u", "$file", "x"], "train.py", (("-u",), ("x",))),
    (["-W", "ignore", "-O", "$file"], "train.py", (("-W", "ignore", "-O"), ())),
    (["$file", "--self", "$file"], "src/train.py", ((), ("--self", "src/train.py"))),
    (["train.py", "--epochs", "3"], "train.py", ((), ("--epochs", "3"))),
    (["./train.py", "--epochs", "3"], "train.py", ((), ("--epochs", "3"))),
    (["src/train.py", "3"], "src/train.py", ((), ("3",))),
    (["train.py", "3"], "src/train.py", ((), ("3",))),
    (["--epochs", "3"], "train.py", ((), ("--epochs", "3"))),
    (["other.py", "3"], "train.py", ((), ("other.py", "3"))),
    ([], "train.py", ((), ())),
])
def test_entries_before_file_are_options_and_the_script_is_never_doubled(vector, script,
                                                                          expected):
    assert split_argument_vector(tuple(vector), script) == expected
