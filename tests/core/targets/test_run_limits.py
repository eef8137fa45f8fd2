"""How many runs a target takes at once when its .compute file does not say."""

import os

import pytest

from launchdeck.core.project import Project
from launchdeck.core.targets.registry import open_target

REMOTE = {"remotedocker": "address: gpu1.example.com\nusername: me\nbaseDockerImage: python:3.11\n",
          "cluster": "address: head.example.com\nusername: me\nsparkMaster: yarn\n"}


@pytest.mark.parametrize("kind", ["remotedocker", "cluster"])
def test_a_remote_target_does_not_take_this_machines_core_count(tmp_path, kind):
    config = tmp_path / "aml_config"
    config.mkdir()
    (config / "far.compute").write_text(f"type: {kind}\n{REMOTE[kind]}")
    (config / "capped.compute").write_text(f"type: {kind}\n{REMOTE[kind]}maxConcurrentRuns: 9\n")
    project = Project(tmp_path)
    assert open_target(project, project.load_compute("far")).max_concurrent_runs == 4
    assert open_target(project, project.load_compute("capped")).max_concurrent_runs == 9


def test_this_machine_takes_one_run_per_core(tmp_path):
    config = tmp_path / "aml_config"
    config.mkdir()
    (config / "local.compute").write_text("type: local\n")
    (config / "docker.compute").write_text("type: docker\nbaseDockerImage: python:3.11\n")
    project = Project(tmp_path)
    for name in ("local", "docker"):
        assert open_target(project, project.load_compute(name)).max_concurrent_runs \
            == os.cpu_count()
