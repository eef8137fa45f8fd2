"""A remote run that outlives its SSH link: every call waits for the link to come back.

``RemoteDockerExecution`` wraps the Docker target's own ``DockerExecution`` (driven through the
forwarded socket) and retries any call that failed because the host did not answer, for as long
as it takes. Streams resume at the byte they stopped at, so the keeper's log gets every line
exactly once. While the link is down the run's events hear ``link_state(utc)`` once, and
``link_state(None)`` once it is back; a run is never failed for a lost link.

What still fails a run: a host key that changed meanwhile (``HostKeyError``: never accepted by
a keeper; the message says to run ``deck target check NAME``), refused authentication, and a
container that is really gone (``ExecutionLost``).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, AsyncIterator, Awaitable, Callable, TypeVar

from launchdeck.core.errors import ExecutionLost, HostKeyError, TargetError, TargetUnreachable
from launchdeck.core.targets.base import NO_EVENTS, RunEvents

if TYPE_CHECKING:
    from launchdeck.core.remote.remotehost import RemoteHost
    from launchdeck.core.targets.docker.execution import DockerExecution

T = TypeVar("T")
#: Seconds between attempts to reach a host that went away (doubling up to the last).
BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0)
#: Other target errors in a row tolerated while the link is being lost (a stream cut mid-read
#: can surface as a protocol error before the connection is seen as closed).
CONFUSED_TRIES = 3


class Link:
    """The state of one target's link to its host, reported to whoever listens."""

    def __init__(self, host_of: Callable[[], Awaitable["RemoteHost"]],
                 connect: Callable[[], Awaitable[object]], *, name: str) -> None:
        self._host_of = host_of
        self._connect = connect  #: opens the connection; HostKeyError names the check command
        self.name = name
        self.down_since: datetime | None = None
        #: Whom to tell (the run being launched or followed through this link).
        self.events: RunEvents = NO_EVENTS

    def _tell(self) -> None:
        self.events.link_state(self.down_since)

    def up(self) -> None:
        if self.down_since is not None:
            self.down_since = None
            self._tell()

    async def wait_until_back(self) -> None:
        """Mark the link down (once) and return when a connection to the host opens again."""
        if self.down_since is None:
            self.down_since = datetime.now(timezone.utc)
            self._tell()
        attempt = 0
        while True:
            await asyncio.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
            attempt += 1
            try:
                await self._connect()
                return
            except TargetUnreachable:
                continue

    async def call(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``, again and again until the host answers; link state reported meanwhile."""
        confused = 0
        while True:
            try:
                result = await call()
            except (HostKeyError, ExecutionLost):
                raise
            except TargetUnreachable:
                await self.wait_until_back()
                continue
            except TargetError:
                confused += 1
                if confused > CONFUSED_TRIES:
                    raise
                await self.wait_until_back_if_lost()
                continue
            self.up()
            return result

    async def wait_until_back_if_lost(self) -> None:
        host = await self._host_of()
        conn = host.pool.entry(host.endpoint).conn
        if conn is None or conn.is_closed():
            await self.wait_until_back()
        else:
            await asyncio.sleep(BACKOFF[0])


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
            except TargetUnreachable:
                await self.link.wait_until_back()
            except TargetError:
                confused += 1
                if confused > CONFUSED_TRIES:
                    raise
                await self.link.wait_until_back_if_lost()

    async def wait(self) -> int:
        return await self.link.call(self.inner.wait)

    async def cancel(self, *, grace_seconds: float = 10.0) -> None:
        await self.link.call(lambda: self.inner.cancel(grace_seconds=grace_seconds))

    async def collect_outputs(self, dest: Path) -> list[str]:
        return await self.link.call(lambda: self.inner.collect_outputs(dest))

    async def release(self) -> None:
        await self.link.call(self.inner.release)
