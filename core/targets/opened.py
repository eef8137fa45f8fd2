"""A target opened for one job and closed after it, and the check a user asks for.

The CLI's commands and the dashboard's worker threads each run one job on a target on an
event loop of their own: the target is opened from its ``.compute`` file, the job runs, and the
target is closed with the SSH connections that loop opened (asyncssh connections belong to a
loop, and would otherwise be left open when it ends). A run's keeper keeps its target for the
run's whole life and does not use this.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Awaitable, Callable, TypeVar

from launchdeck.core.targets.base import ComputeTarget
from launchdeck.core.targets.capabilities import host_key_target

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.project import Project

T = TypeVar("T")


def run_with_target(project: "Project", compute: "ComputeConfig",
                    job: Callable[[ComputeTarget], Awaitable[T]]) -> T:
    """``job(target)`` on a new event loop; the target and its SSH links are closed after."""
    from launchdeck.core.targets.registry import open_target

    async def main() -> T:
        target = open_target(project, compute)
        try:
            return await job(target)
        finally:
            await target.close()
            if host_key_target(target) is not None:
                from launchdeck.core.remote.pools import close_own_connections

                await close_own_connections()

    return asyncio.run(main())


async def check_target(target: ComputeTarget, *,
                       accept_host_key: str | None = None) -> dict[str, str]:
    """Reach ``target`` and return its facts, trusting first the host key ``accept_host_key``
    (a fingerprint the user confirmed) when the target is reached over SSH."""
    ssh = host_key_target(target)
    if accept_host_key and ssh is not None:
        await ssh.accept_host_key(accept_host_key)
    return await target.check()
