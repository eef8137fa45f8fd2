"""The link sockets' folder: made private, and refused when it is not (core.remote.broker.rundir)."""

import os
import stat

import pytest

from launchdeck.core.errors import ConfigError
from launchdeck.core.remote.broker.rundir import LinkSpec, runtime_dir


def test_the_folder_is_made_0700_under_xdg_runtime_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    folder = runtime_dir()
    assert folder == tmp_path / "launchdeck"
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700


def test_without_xdg_runtime_dir_the_folder_is_per_uid_under_tmp(monkeypatch):
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    assert runtime_dir(create=False) == \
        __import__("pathlib").Path(f"/tmp/launchdeck-{os.getuid()}")


@pytest.mark.parametrize("mode", [0o755, 0o770, 0o701])
def test_a_folder_open_to_others_is_refused_with_what_to_do(tmp_path, monkeypatch, mode):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "launchdeck").mkdir()
    os.chmod(tmp_path / "launchdeck", mode)
    with pytest.raises(ConfigError) as refused:
        runtime_dir()
    message = str(refused.value)
    assert str(tmp_path / "launchdeck") in message
    assert f"mode {mode:04o}" in message and "0700" in message


def test_a_symlink_or_someone_else_s_folder_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "launchdeck").symlink_to(elsewhere)
    with pytest.raises(ConfigError, match="symbolic link"):
        runtime_dir()
    (tmp_path / "launchdeck").unlink()
    (tmp_path / "launchdeck").mkdir(mode=0o700)
    if os.getuid() == 0:  # only root can give a folder away
        os.chown(tmp_path / "launchdeck", 65534, 65534)
        with pytest.raises(ConfigError, match="belongs to uid 65534"):
            runtime_dir()


def test_one_link_per_destination_and_home():
    one = LinkSpec("h", 22, "u", None, "/home/a", "")
    assert one.name == LinkSpec("h", 22, "u", None, "/home/a", "").name
    assert one.name != LinkSpec("h", 22, "u", None, "/home/b", "").name  # another known_hosts
    assert one.name != LinkSpec("h", 2222, "u", None, "/home/a", "").name
    assert LinkSpec.from_json(one.to_json()) == one
