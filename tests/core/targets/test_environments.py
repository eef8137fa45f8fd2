"""Environment status and prepare, as the CLI and the dashboard both get them from the core.

The Docker and cluster answers are checked against the real engine and cluster by the targets
screen's tests (tests/tui/test_target_checks.py) and ``deck prepare``'s; here: targets that
build nothing, and which run configurations count.
"""

from __future__ import annotations

import pytest

from launchdeck.core.config.compute import load_compute
from launchdeck.core.errors import TargetError
from launchdeck.core.project import Project
from launchdeck.core.targets.environments import (Prepared, TargetEnvironments,
                                                  environment_spec, environments_of,
                                                  prepare_environment, runconfigs_using)
from launchdeck.core.targets.local.target import LocalTarget

RUNCONFIG = "ArgumentVector:\n  - $file\nTarget: {target}\nFramework: Python\n"


@pytest.fixture
def project(tmp_path) -> Project:
    config = tmp_path / "aml_config"
    config.mkdir()
    (config / "here.compute").write_text("type: local\n")
    (config / "first.runconfig").write_text(RUNCONFIG.format(target="here"))
    (config / "second.runconfig").write_text(RUNCONFIG.format(target="here"))
    (config / "other.runconfig").write_text(RUNCONFIG.format(target="elsewhere"))
    (config / "broken.runconfig").write_text("Target: [here\n")
    return Project(tmp_path)


def test_the_runconfigs_of_a_target_are_those_that_name_it_and_load(project):
    assert sorted(runconfigs_using(project, "here")) == ["first", "second"]


async def test_a_target_that_builds_nothing_has_no_environments_and_prepares_nothing(project):
    target = LocalTarget(load_compute(project.compute_path("here")))
    assert await environments_of(project, target) == TargetEnvironments()
    lines: list[str] = []
    prepared = await prepare_environment(target, environment_spec(project, "first", "here"),
                                         progress=lines.append)
    assert (prepared.environment_id, prepared.built) == ("", None)
    assert isinstance(prepared, Prepared)


async def test_rebuild_is_refused_where_there_is_no_image(project):
    target = LocalTarget(load_compute(project.compute_path("here")))
    with pytest.raises(TargetError, match="target here: --rebuild applies to Docker targets"):
        await prepare_environment(target, environment_spec(project, "first", "here"),
                                  progress=lambda line: None, rebuild=True)
