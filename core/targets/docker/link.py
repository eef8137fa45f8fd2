"""A remote Docker run that outlives its SSH link: every call waits for the link to come back.

``RemoteDockerExecution`` wraps the Docker target's own ``DockerExecution`` (driven through the
forwarded socket) and retries any call that failed because the host did not answer, for as long
as it takes. Streams resume at the byte they stopped at, so the keeper's log gets every line
exactly once. While the link is down the run's events hear ``link_state(utc)`` once, and
``link_state(None)`` once it is back; how long a run waits is the link's policy
(``core.remote.link``: for ever unless ``linkLossTimeout`` says otherwise).

What still fails a run: a host key that changed meanwhile (``HostKeyError``: never accepted by
a keeper; the message says to run ``deck target check NAME``), refused authentication, and a
container that is really gone (``ExecutionLost``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator

from launchdeck.core.errors import ExecutionLost, HostKeyError, TargetError, TargetUnreachable
from launchdeck.core.remote.link import CONFUSED_TRIES, Link

if TYPE_CHECKING:
    from launchdeck.core.targets.docker.execution import DockerExecution

__all__ = ["Link", "RemoteDockerExecution"]


class RemoteDockerExecution:
    """A run's container on a remote engine; ``external_id`` is the container id."""

    def __init__(self, inner: "DockerExecution", link: Link) -> None:
        self.inner = inner
        self.link = link
        self.external_id = inner.external_id
        inner.patience = 0.0  # waiting is done here, where it can be reported

    def logs(self, from_offset: int = 0) -> AsyncIterator[bytes]:
        return self._resumed(self.inner.logs, from_offset)

    def metrics(self, from_offset: int = 0) -> AsyncIterator[bytes]:
        return self._resumed(self.inner.metrics, from_offset)

    async def _resumed(self, open_stream, offset: int) -> AsyncIterator[bytes]:
        confused = 0
        while True:
            try:
                async for chunk in open_stream(offset):
                    offset += len(chunk)
                    confused = 0
                    self.link.up()
                    yield chunk
                return
            except (HostKeyError, ExecutionLost):
                raise
            except TargetUnreachable as exc:
                await self.link.wait_until_back(exc)
            except TargetError as exc:
                confused += 1
                if confused > CONFUSED_TRIES:
                    raise
                await self.link.wait_until_back_if_lost(exc)

    async def wait(self) -> int:
        return await self.link.call(self.inner.wait)

    async def cancel(self, *, grace_seconds: float = 10.0) -> None:
        await self.link.call(lambda: self.inner.cancel(grace_seconds=grace_seconds))

    async def collect_outputs(self, dest: Path) -> list[str]:
        return await self.link.call(lambda: self.inner.collect_outputs(dest))

    async def release(self) -> None:
        await self.link.call(self.inner.release)
