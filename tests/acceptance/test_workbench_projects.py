"""Workbench-style projects run unchanged on local and docker, through the real `deck` CLI.

The projects in tests/fixtures/workbench_projects are copied as they are; the only edit is the
one a user makes on a machine that cannot pull Workbench's images: the base image name.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

from tests.fixtures.docker_engine import CA_BUNDLE
from tests.fixtures.projects import REPO, Deck, run_id_of

PROJECTS = REPO / "tests" / "fixtures" / "workbench_projects"
WORKBENCH_IMAGES = ("microsoft/mmlspark:plus-0.9.9", "mcr.microsoft.com/azureml/base:0.2.1")

#: project -> the scripts its users submitted
SCRIPTS = {"quoted_style": ["train.py"], "plain_crlf": ["score.py"], "sdk2018": ["train.py"]}


def copy_project(name: str, dest: Path, base_image: str | None = None) -> Path:
    root = dest / name
    shutil.copytree(PROJECTS / name, root)
    hidden = root / "aml_config" / "dot-gitignore"
    if hidden.exists():
        hidden.rename(root / "aml_config" / ".gitignore")
    if base_image:
        for compute in (root / "aml_config").glob("*.compute"):
            data = compute.read_bytes()
            for image in WORKBENCH_IMAGES:
                data = data.replace(image.encode(), base_image.encode())
            compute.write_bytes(data)
    return root


def deck_in(root: Path, home: Path) -> Deck:
    deck = Deck(root)
    deck.env["HOME"] = str(home)  # the native shared directory is under ~
    deck.env["DECK_BUILD_CA_BUNDLE"] = CA_BUNDLE
    return deck


def check_run(deck: Deck, project: str, script: str, target: str) -> dict:
    result = deck("submit", "-c", target, script, timeout=900)
    assert result.returncode == 0, f"{project}/{script} on {target}:\n{result.out}\n{result.err}"
    assert "Traceback" not in result.err
    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["status"] == "Completed"
    return run


@pytest.mark.parametrize("project", sorted(SCRIPTS))
def test_every_script_runs_on_local(project, tmp_path):
    root = copy_project(project, tmp_path)
    deck = deck_in(root, tmp_path / "home")
    for script in SCRIPTS[project]:
        run = check_run(deck, project, script, "local")
        _check_outputs(deck, project, run, "local")


@pytest.mark.docker
@pytest.mark.parametrize("project", sorted(SCRIPTS))
def test_every_script_runs_on_docker(project, tmp_path, docker_engine):
    root = copy_project(project, tmp_path, base_image=docker_engine)
    deck = deck_in(root, tmp_path / "home")
    for script in SCRIPTS[project]:
        run = check_run(deck, project, script, "docker")
        _check_outputs(deck, project, run, "docker")


def _check_outputs(deck: Deck, project: str, run: dict, target: str) -> None:
    outputs = deck.project / ".deck" / "runs" / run["run_id"] / "outputs"
    log = deck("logs", run["run_id"], check=True).out
    if project in ("quoted_style", "sdk2018"):
        model = pickle.loads((outputs / "model.pkl").read_bytes())
        assert model["alpha"] == (0.5 if project == "quoted_style" else 0.25)
        assert run["metrics"]["Accuracy"] == [0.875]
        assert run["metrics"]["Losses"] == [[0.5, 0.25, 0.125]]
        expected = "Example Value" if project == "quoted_style" else "from the 2018 format"
        assert f"EXAMPLE_ENV_VAR = {expected}" in log
    if project == "quoted_style":
        # A second run finds what the first left in the shared folder.
        share = Path(deck.env["HOME"]) / ".azureml" / "share" / "quoted_style"
        assert (share / "runs.txt").read_text().count("run") >= 1
        again = check_run(deck, project, "train.py", target)
        assert "runs that used the share: 2" in deck("logs", again["run_id"], check=True).out
    if project == "plain_crlf":
        scores = json.loads((outputs / "scores.json").read_text())
        assert scores["rows"] == 3
        assert "optimize 1" in log  # `-u -O` before $file are interpreter options
        assert "data folder in snapshot: False" in log  # .amlignore left data/ out
