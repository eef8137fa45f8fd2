"""Workbench-style project folders for the config tests (copies of tests/fixtures/workbench_files)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FILES = Path(__file__).resolve().parents[2] / "fixtures" / "workbench_files"
STYLES = ("quoted", "plain")


def make_project(tmp_path: Path, style: str) -> Path:
    """``tmp_path/<style>/aml_config/`` filled with one style's files; returns the project dir."""
    project = tmp_path / style
    shutil.copytree(FILES / style, project / "aml_config")
    return project


@pytest.fixture
def in_tmp(tmp_path, monkeypatch) -> Path:
    """Work in tmp_path, so messages name files as aml_config/x like a user in a project sees."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(params=STYLES)
def project(request, in_tmp) -> Path:
    project = make_project(in_tmp, request.param)
    return project


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    """Pairs of differing lines; the files must have the same number of lines."""
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b), f"line count changed:\n{before}\n---\n{after}"
    return [(x, y) for x, y in zip(a, b) if x != y]


def added_lines(before: str, after: str) -> list[str]:
    """Lines of ``after`` not in ``before``, checking ``before`` survives whole and in order."""
    import difflib

    ops = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines()).get_opcodes()
    assert all(tag in ("equal", "insert") for tag, *_ in ops), f"{before}\n---\n{after}"
    b = after.splitlines()
    return [line for tag, _, _, j1, j2 in ops if tag == "insert" for line in b[j1:j2]]
