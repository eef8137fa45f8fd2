"""A private runtime folder and HOME per test, so each test has links of its own."""

import asyncio
import shutil
import tempfile
from pathlib import Path

import pytest


@pytest.fixture
def link_home(tmp_path, ssh_server, monkeypatch):
    """HOME with a known_hosts that trusts the test sshd; a short XDG_RUNTIME_DIR (socket
    paths are limited to 107 bytes). Links still up at the end are stopped."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    ssh_server.write_known_hosts(home / ".ssh" / "known_hosts")
    xdg = Path(tempfile.mkdtemp(prefix="dl"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(xdg))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv("DECK_SSH_LINK", raising=False)
    yield home
    from launchdeck.core.remote.broker.client import stop_links

    if (xdg / "launchdeck").is_dir():
        asyncio.run(stop_links(xdg / "launchdeck"))
    shutil.rmtree(xdg, ignore_errors=True)
