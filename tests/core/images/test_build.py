"""Environment images on a real engine: build once, find by tag, fail cleanly."""

from __future__ import annotations

import subprocess

import pytest

from core.errors import EnvironmentBuildError
from core.images import build as image_build
from tests.fixtures.docker_engine import CA_BUNDLE

pytestmark = pytest.mark.docker

SIX = """\
name: six_env
dependencies:
  - python=3.11
  - pip
  - pip:
    - six
"""


def image_exists(ref: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode == 0


def remove_image(ref: str) -> None:
    subprocess.run(["docker", "rmi", "-f", ref], capture_output=True)


@pytest.fixture
def build_calls(monkeypatch):
    calls = []
    real = image_build.build_image

    async def counting(*args, **kwargs):
        calls.append(args[1].ref)
        return await real(*args, **kwargs)

    monkeypatch.setattr(image_build, "build_image", counting)
    return calls


async def fresh(target, env) -> str:
    """The env's image ref, removed first so the test really builds."""
    ref = f"deck-env:{await target.environment_tag(env)}"
    remove_image(ref)
    return ref


async def test_prepare_builds_once_then_finds_the_image(docker_project, build_calls):
    env = docker_project.env(conda=SIX, buildCaBundle=CA_BUNDLE)
    target = docker_project.target(env)
    try:
        ref = await fresh(target, env)
        lines: list[str] = []
        first = await target.ensure_image(env, progress=lines.append)
        assert first.built and first.ref == ref and image_exists(ref)
        assert any(line.startswith("Step ") for line in lines)  # streamed live
        check = subprocess.run(["docker", "run", "--rm", ref, "python3", "-c", "import six"],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        second = await target.ensure_image(env, progress=lines.append)
        assert not second.built and second.ref == ref
        assert build_calls == [ref]
        labels = subprocess.run(["docker", "image", "inspect", "-f",
                                 "{{json .Config.Labels}}", ref],
                                capture_output=True, text=True).stdout
        assert '"launchdeck.recipe":"1"' in labels
        assert f'"launchdeck.project":"{docker_project.root}"' in labels
    finally:
        await target.close()


async def test_comment_only_change_keeps_the_tag_and_a_dependency_change_does_not(
        docker_project):
    env = docker_project.env(conda=SIX, buildCaBundle=CA_BUNDLE)
    target = docker_project.target(env)
    try:
        tag = await target.environment_tag(env)
        commented = "# pinned for the paper\n" + SIX.replace("  - pip\n", "  - pip   # ok\n\n")
        assert await target.environment_tag(docker_project.env(
            conda=commented, buildCaBundle=CA_BUNDLE)) == tag
        changed = SIX.replace("    - six", "    - six\n    - idna")
        assert await target.environment_tag(docker_project.env(
            conda=changed, buildCaBundle=CA_BUNDLE)) != tag
    finally:
        await target.close()


async def test_a_code_change_does_not_rebuild(docker_project, build_calls):
    env = docker_project.env(conda=None)
    target = docker_project.target(env)
    try:
        first = await target.ensure_image(env, progress=lambda _: None)
        docker_project.write("train.py", "print('changed code')\n")
        again = await target.ensure_image(docker_project.env(conda=None), progress=lambda _: None)
        assert again.ref == first.ref and not again.built
        assert len(build_calls) <= 1
    finally:
        await target.close()


async def test_missing_pip_package_fails_with_pips_message_and_tags_nothing(docker_project):
    conda = "dependencies:\n  - pip:\n    - deck-no-such-package-4b1f\n"
    env = docker_project.env(conda=conda, buildCaBundle=CA_BUNDLE)
    target = docker_project.target(env)
    try:
        ref = await fresh(target, env)
        with pytest.raises(EnvironmentBuildError) as err:
            await target.ensure_image(env, progress=lambda _: None)
        message = str(err.value)
        assert "image build failed at Step" in message and "pip install" in message
        assert "No matching distribution found for deck-no-such-package-4b1f" in message
        assert not image_exists(ref)
    finally:
        await target.close()


async def test_conda_only_package_on_a_conda_less_base_is_refused_before_building(
        docker_project, build_calls):
    conda = "dependencies:\n  - python=3.11\n  - numpy=1.26\n  - pip:\n    - six\n"
    env = docker_project.env(conda=conda)
    target = docker_project.target(env)
    try:
        await fresh(target, env)
        with pytest.raises(EnvironmentBuildError) as err:
            await target.ensure_image(env, progress=lambda _: None)
        assert "conda packages (numpy=1.26)" in str(err.value)
        assert "no conda or mamba" in str(err.value)
        assert build_calls == []
    finally:
        await target.close()


async def test_offline_mode_installs_wheels_gathered_on_the_host(docker_project, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    env = docker_project.env(conda=SIX, buildOffline=True)
    target = docker_project.target(env)
    try:
        ref = await fresh(target, env)
        lines: list[str] = []
        result = await target.ensure_image(env, progress=lines.append)
        assert result.built and result.ref == ref
        assert any("--no-index --find-links" in line for line in lines)
        assert list((tmp_path / "cache/launchdeck/wheels").glob("*/six-*.whl"))
        check = subprocess.run(["docker", "run", "--rm", "--network", "none", ref, "python3",
                                "-c", "import six; print(six.__version__)"],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
    finally:
        await target.close()
