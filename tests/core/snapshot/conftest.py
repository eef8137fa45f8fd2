"""Helpers for the snapshot tests: build trees, ask a real git what it ignores."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from launchdeck.core.snapshot import ContentStore


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    return root


@pytest.fixture
def store(project: Path) -> ContentStore:
    return ContentStore(project / ".deck" / "store")


@pytest.fixture
def git(tmp_path: Path):
    """Run git isolated from the machine's and user's config (no global excludes)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    home = tmp_path / "git-home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home),
               GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)

    def run(cwd: Path, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(["git", *args], cwd=cwd, env=env, input=stdin, text=True,
                              capture_output=True)
        if done.returncode not in (0, 1):
            raise AssertionError(f"git {args}: {done.stderr}")
        return done.stdout
    return run
