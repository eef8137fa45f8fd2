"""The optional abilities of targets, as typed protocols, and the one place they are checked.

A target class declares what it can do beyond ``ComputeTarget`` in its ``capabilities``
(``Capability`` members). Each capability has a protocol here and one accessor that returns
the target seen as that protocol, or None when the target does not declare it. The answer comes
from the declaration, never from probing attributes, so a caller cannot mistake a target that
happens to have a method of that name for one that has the ability, and the type checker knows
what the caller may use. That every class declaring a capability has its protocol's members is
checked once, by ``tests/core/targets/test_capabilities.py``, for every registered target.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

from launchdeck.core.targets.base import (Capability, ComputeTarget, EnvironmentSpec, Execution,
                                          Progress, RunSpec)

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.docker.client import EngineClient
    from launchdeck.core.remote.hostslots import HostSlots
    from launchdeck.core.remote.commands import SSHHost
    from launchdeck.core.targets.docker.environment import ImageResult
    from launchdeck.core.targets.spark.env import BuiltEnvironment, ExecutorEnvironment


class HostKeyTarget(ComputeTarget, Protocol):
    """A target reached over SSH: its host key is checked against known_hosts.

    It shares this process's SSH connection pool (``core.remote.connection.shared_pool``),
    which asks for passwords and must be closed with the event loop that used it.
    """

    async def accept_host_key(self, fingerprint: str) -> None:
        """Trust the host's key if it has ``fingerprint`` (what the user confirmed)."""
        ...

    async def remote_host(self) -> "SSHHost":
        """The host, connected (for work on it beside runs: its store, its environments)."""
        ...


class ImageTarget(ComputeTarget, Protocol):
    """A target whose environments are images on a Docker Engine, tagged by content hash."""

    compute: "ComputeConfig"
    url: str  #: the engine, for messages and image listings

    @property
    def user_managed(self) -> bool:
        """``userManagedEnvironment: true``: runs use the base image as it is, nothing built."""
        ...

    @property
    def base_image(self) -> str:
        ...

    async def client(self) -> "EngineClient":
        """The engine connection (opened on first use, closed by ``close``)."""
        ...

    async def environment_tag(self, env: EnvironmentSpec) -> str:
        """The tag ``env``'s image has on this engine (the base image must be there)."""
        ...

    async def ensure_image(self, env: EnvironmentSpec, *, progress: Progress,
                           rebuild: bool = False) -> "ImageResult":
        """Find the environment image by its tag, or build it; ``rebuild`` builds anyway."""
        ...


class ExecutorEnvironmentTarget(ComputeTarget, Protocol):
    """A cluster whose executors get a venv built on the head node, named by content hash."""

    def executor_environment(self, env: EnvironmentSpec) -> "ExecutorEnvironment | None":
        """The executors' environment ``env`` asks for; None when nothing is to be built."""
        ...

    async def environment_built(self, wanted: "ExecutorEnvironment") -> bool:
        ...

    async def built_environments(self) -> list[tuple[str, int]]:
        """(hash, bytes on disk) of every executor environment built there, largest first."""
        ...

    async def environments(self) -> "list[BuiltEnvironment]":
        """Every executor environment there with its size and build time, oldest first."""
        ...

    async def remove_environments(self, hashes: list[str]) -> dict[str, str]:
        """Remove environments by hash: hash -> "removed", "busy" (in use, being built) or
        "gone"; one in use by any process on the head node is never removed."""
        ...


class HostSlotTarget(ComputeTarget, Protocol):
    """A target on another machine whose ``maxConcurrentRuns`` is counted on that host, across
    every machine that submits there (``core.remote.hostslots``)."""

    def host_slots(self) -> "HostSlots | None":
        """The target's slots on its host; None when its ``.compute`` file sets no
        ``maxConcurrentRuns`` (each machine then counts its own default)."""
        ...

    async def slot_watch(self, spec: RunSpec, execution: Execution) -> dict:
        """What the host-side slot holder watches to know the launched run has ended."""
        ...


#: The protocol that goes with each capability (the registry test checks every target by it).
PROTOCOLS: dict[Capability, type] = {
    Capability.HOST_KEY: HostKeyTarget,
    Capability.ENVIRONMENT_IMAGES: ImageTarget,
    Capability.EXECUTOR_ENVIRONMENTS: ExecutorEnvironmentTarget,
    Capability.HOST_SLOTS: HostSlotTarget,
}


def host_key_target(target: ComputeTarget) -> HostKeyTarget | None:
    """``target`` as an SSH-reached target, or None."""
    if Capability.HOST_KEY in target.capabilities:
        return cast(HostKeyTarget, target)
    return None


def image_target(target: ComputeTarget) -> ImageTarget | None:
    """``target`` as one whose environments are engine images, or None."""
    if Capability.ENVIRONMENT_IMAGES in target.capabilities:
        return cast(ImageTarget, target)
    return None


def executor_environment_target(target: ComputeTarget) -> ExecutorEnvironmentTarget | None:
    """``target`` as a cluster with executor environments, or None."""
    if Capability.EXECUTOR_ENVIRONMENTS in target.capabilities:
        return cast(ExecutorEnvironmentTarget, target)
    return None


def host_slot_target(target: ComputeTarget) -> HostSlotTarget | None:
    """``target`` as one whose slots are kept on its host, or None."""
    if Capability.HOST_SLOTS in target.capabilities:
        return cast(HostSlotTarget, target)
    return None
