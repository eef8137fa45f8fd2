"""A target opened for one job is closed after it, and a confirmed host key is trusted first."""

from __future__ import annotations

import pytest

from launchdeck.core.config.compute import load_compute
from launchdeck.core.errors import TargetError
from launchdeck.core.project import Project
from launchdeck.core.targets.base import Capability
from launchdeck.core.targets.opened import check_target, run_with_target


class Reached:
    """A target that keeps what was done to it."""

    capabilities: frozenset[Capability] = frozenset()

    def __init__(self) -> None:
        self.name = "box"
        self.done: list[str] = []

    async def accept_host_key(self, fingerprint: str) -> None:
        self.done.append(f"accepted {fingerprint}")

    async def check(self) -> dict[str, str]:
        self.done.append("checked")
        return {"python_version": "3.11.7"}

    async def close(self) -> None:
        self.done.append("closed")


class ReachedOverSSH(Reached):
    capabilities = frozenset({Capability.HOST_KEY})


@pytest.fixture
def local(tmp_path, monkeypatch):
    (tmp_path / "aml_config").mkdir()
    (tmp_path / "aml_config" / "box.compute").write_text("type: local\n")
    opened: list[Reached] = []

    def open_target(project, compute):
        opened.append(Reached())
        return opened[-1]

    monkeypatch.setattr("launchdeck.core.targets.registry.open_target", open_target)
    return Project(tmp_path), load_compute(tmp_path / "aml_config" / "box.compute"), opened


def test_the_target_is_closed_after_the_job_and_after_its_failure(local):
    project, compute, opened = local

    async def check(target):
        return await target.check()

    assert run_with_target(project, compute, check) == {"python_version": "3.11.7"}
    assert opened[-1].done == ["checked", "closed"]

    async def fail(target):
        raise TargetError("target box: no answer")

    with pytest.raises(TargetError, match="no answer"):
        run_with_target(project, compute, fail)
    assert opened[-1].done == ["closed"]


async def test_a_confirmed_host_key_is_trusted_before_the_check_on_an_ssh_target():
    target = ReachedOverSSH()
    assert await check_target(target, accept_host_key="SHA256:abc") == {
        "python_version": "3.11.7"}
    assert target.done == ["accepted SHA256:abc", "checked"]


async def test_a_target_that_does_not_declare_host_keys_is_only_checked():
    target = Reached()  # has accept_host_key, but does not say it is reached over SSH
    await check_target(target, accept_host_key="SHA256:abc")
    assert target.done == ["checked"]
