"""What targets can do is declared, checked once against typed protocols, and never probed.

Every registered target: its ``capabilities`` hold only ``Capability`` members, it has every
member of the protocol of each capability it declares, and ``launch``/``attach`` take the run's
events. The accessors answer from the declaration alone, and no module outside
``core/targets`` asks a target or an execution what attributes it has.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from launchdeck.core.config.compute import load_compute
from launchdeck.core.targets.base import Capability, ComputeTarget
from launchdeck.core.targets.capabilities import (PROTOCOLS, executor_environment_target,
                                                  host_key_target, host_slot_target,
                                                  image_target)
from launchdeck.core.targets.registry import _TARGETS

REPO = Path(__file__).resolve().parents[3]

COMPUTES = {
    "local": "type: local\n",
    "docker": "type: docker\nbaseDockerImage: python:3.11-slim\n",
    "remotedocker": "type: remotedocker\naddress: box.example\nbaseDockerImage: python:3.11\n",
    "remote": "type: remote\naddress: box.example\n",
    "cluster": "type: cluster\naddress: head.example\nsparkMaster: spark://head:7077\n",
}

#: The abilities each kind of target has (what the CLI and the dashboard rely on).
EXPECTED = {
    "local": set(),
    "docker": {Capability.ENVIRONMENT_IMAGES},
    "remotedocker": {Capability.ENVIRONMENT_IMAGES, Capability.HOST_KEY, Capability.HOST_SLOTS},
    "remote": {Capability.HOST_KEY, Capability.HOST_SLOTS},
    "cluster": {Capability.HOST_KEY, Capability.EXECUTOR_ENVIRONMENTS, Capability.HOST_SLOTS},
}


def _target(kind: str, tmp_path: Path) -> ComputeTarget:
    from launchdeck.core.project import Project
    from launchdeck.core.targets.registry import open_target

    (tmp_path / "aml_config").mkdir(exist_ok=True)
    path = tmp_path / "aml_config" / f"{kind}.compute"
    path.write_text(COMPUTES[kind])
    return open_target(Project(tmp_path), load_compute(path))  # builds it; connects nothing


def _members(protocol: type) -> set[str]:
    """The names a protocol adds to ``ComputeTarget`` (methods, properties, attributes)."""
    own = set(vars(protocol)) | set(getattr(protocol, "__annotations__", {}))
    return {name for name in own if not name.startswith("_")} - set(dir(ComputeTarget)) \
        - set(getattr(ComputeTarget, "__annotations__", {}))


def test_every_capability_has_a_protocol_with_members():
    assert set(PROTOCOLS) == set(Capability)
    assert all(_members(protocol) for protocol in PROTOCOLS.values())


@pytest.mark.parametrize("kind", sorted(_TARGETS))
def test_a_target_has_every_member_of_what_it_declares(kind, tmp_path):
    module, name = _TARGETS[kind]
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls.capabilities, frozenset)
    assert set(cls.capabilities) == EXPECTED[kind]
    target = _target(kind, tmp_path)
    for capability in cls.capabilities:
        protocol = PROTOCOLS[capability]
        for member in _members(protocol):
            assert hasattr(target, member), f"{name} declares {capability} but has no {member}"
            wanted = inspect.getattr_static(protocol, member, None)
            if inspect.isfunction(wanted):
                assert inspect.iscoroutinefunction(getattr(cls, member)) == \
                    inspect.iscoroutinefunction(wanted), f"{name}.{member}: async or not"


@pytest.mark.parametrize("kind", sorted(_TARGETS))
def test_launch_and_attach_take_the_runs_events(kind):
    module, name = _TARGETS[kind]
    cls = getattr(importlib.import_module(module), name)
    assert list(inspect.signature(cls.launch).parameters) == ["self", "spec", "events"]
    assert list(inspect.signature(cls.attach).parameters) == \
        ["self", "spec", "external_id", "events"]


@pytest.mark.parametrize("kind", sorted(_TARGETS))
def test_the_accessors_answer_what_the_target_declares(kind, tmp_path):
    target = _target(kind, tmp_path)
    declared = EXPECTED[kind]
    assert (host_key_target(target) is target) == (Capability.HOST_KEY in declared)
    assert (image_target(target) is target) == (Capability.ENVIRONMENT_IMAGES in declared)
    assert (executor_environment_target(target) is target) == \
        (Capability.EXECUTOR_ENVIRONMENTS in declared)
    assert (host_slot_target(target) is target) == (Capability.HOST_SLOTS in declared)


def test_a_method_of_the_same_name_is_no_capability():
    class LookAlike:
        """Has what the SSH targets have, but does not say it is one."""

        name = "look-alike"
        capabilities: frozenset[Capability] = frozenset()

        async def accept_host_key(self, fingerprint: str) -> None:
            raise AssertionError("never to be called on a target that does not declare it")

        async def environment_tag(self, env) -> str:
            return "no"

    assert host_key_target(LookAlike()) is None  # type: ignore[arg-type]
    assert image_target(LookAlike()) is None  # type: ignore[arg-type]


#: Asking a target or an execution what it has (``hasattr(target, ...)``,
#: ``getattr(self.execution, ...)``): what capabilities and ``RunEvents`` are for.
PROBE = re.compile(r"\b(?:has|get)attr\(\s*[\w.]*(?:target|execution)\s*,")


def test_no_module_outside_core_targets_probes_a_target_or_an_execution():
    sources = [path for folder in ("core", "cli", "tui") for path in (REPO / folder).rglob("*.py")
               if (REPO / "core" / "targets") not in path.parents]
    assert len(sources) > 50 and REPO / "core" / "runs" / "keeper.py" in sources
    probes = [f"{path.relative_to(REPO)}:{number}: {line.strip()}"
              for path in sources
              for number, line in enumerate(path.read_text().splitlines(), 1)
              if PROBE.search(line)]
    assert probes == []
