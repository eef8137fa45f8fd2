"""The Docker target without an engine: errors that must be clear before any engine answers."""

from __future__ import annotations

import pytest

from launchdeck.core.errors import ConfigError, TargetUnreachable
from tests.fixtures.docker_engine import load_compute


async def test_an_engine_that_does_not_answer_is_unreachable_with_a_hint(tmp_path):
    from launchdeck.core.targets.docker.target import DockerTarget

    path = tmp_path / "docker.compute"
    path.write_text('type: docker\nbaseDockerImage: "b:1"\n')
    target = DockerTarget(load_compute(path), project_dir=tmp_path,
                          url=f"unix://{tmp_path}/no-engine.sock")
    try:
        with pytest.raises(TargetUnreachable, match="does not answer.*DOCKER_HOST"):
            await target.check()
    finally:
        await target.close()


def test_a_docker_target_needs_a_base_image(tmp_path):
    from launchdeck.core.targets.docker.target import DockerTarget

    path = tmp_path / "docker.compute"
    path.write_text("type: docker\n")
    with pytest.raises(ConfigError, match="baseDockerImage"):
        DockerTarget(load_compute(path), project_dir=tmp_path).base_image


async def test_docker_host_is_honoured(tmp_path, monkeypatch):
    from launchdeck.core.targets.docker.target import DockerTarget

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/elsewhere.sock")
    path = tmp_path / "docker.compute"
    path.write_text('type: docker\nbaseDockerImage: "b:1"\n')
    target = DockerTarget(load_compute(path), project_dir=tmp_path)
    assert target.url == f"unix://{tmp_path}/elsewhere.sock"
    try:
        with pytest.raises(TargetUnreachable, match="elsewhere.sock does not answer"):
            await target.check()
    finally:
        await target.close()
