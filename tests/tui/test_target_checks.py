"""The targets screen's checks (tui/target_checks.py) against the real Docker Engine."""

from __future__ import annotations

import pytest

from launchdeck.core.project import Project
from tests.fixtures.docker_engine import BASE_IMAGE
from launchdeck.tui.target_checks import check_target, read_targets

pytestmark = pytest.mark.docker


def test_a_user_managed_docker_target_shows_its_base_image_not_an_unbuilt_one(docker_project):
    p = docker_project
    p.compute(userManagedEnvironment=True)
    p.write("aml_config/docker.runconfig", 'ArgumentVector: ["$file"]\nTarget: docker\n'
            "Framework: Python\nPrepareEnvironment: true\n")
    project = Project(p.root)
    item = next(t for t in read_targets(project) if t.name == "docker")
    checked = check_target(project, item)
    assert checked.reachable, checked.message
    assert checked.environments == {
        "docker": f"{BASE_IMAGE} as it is (userManagedEnvironment)"}
