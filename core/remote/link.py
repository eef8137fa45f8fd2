"""A run's SSH link to its host: lost, waited for, back; and how long a run waits for it.

Every target behind SSH (remote Docker, remote, cluster) waits for a lost link the same way:
``Link.wait_until_back`` tells the listener (the run's events, ``RunEvents.link_state``) the
UTC time the link went down, tries to reconnect with a backoff, and returns once a connection
opens; the caller then resumes where it stopped. ``Link.up`` tells the listener None once a call
got through again. The run stays Running meanwhile: its process or container on the host goes on.

How long: ``LinkLossPolicy``, from the ``.compute`` key ``linkLossTimeout`` (seconds). Without
it a run waits for its host for ever (a run outlives its link); with it, a link down that long
fails the run's watch with ``ExecutionLost``, whose message names the key. The run itself is
not stopped on the host.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Awaitable, Callable, Protocol, TypeVar

from launchdeck.core.errors import ExecutionLost, HostKeyError, TargetError, TargetUnreachable

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.remote.commands import SSHHost

T = TypeVar("T")
#: Seconds between attempts to reach a host that went away (doubling up to the last).
BACKOFF = (0.2, 0.5, 1.0, 2.0, 5.0)
#: Other target errors in a row tolerated while the link is being lost (a stream cut mid-read
#: can surface as a protocol error before the connection is seen as closed).
CONFUSED_TRIES = 3


class LinkListener(Protocol):
    """Who hears of the link (a run's ``RunEvents``): lost at a UTC time, or back (None)."""

    def link_state(self, lost_since: datetime | None) -> None: ...


class _Nobody:
    def link_state(self, lost_since: datetime | None) -> None:
        pass


NOBODY: LinkListener = _Nobody()


@dataclass(frozen=True)
class LinkLossPolicy:
    """How long a run waits for its lost link before deck gives up watching it."""

    #: Seconds; None: wait for ever.
    timeout: float | None = None
    #: Where the timeout was set, for the message of a run given up.
    source: str = ""

    @classmethod
    def of(cls, compute: "ComputeConfig") -> "LinkLossPolicy":
        timeout = getattr(compute, "link_loss_timeout", None)
        return cls(timeout, f"linkLossTimeout in {compute.path}")

    def expired(self, down_for: float) -> bool:
        return self.timeout is not None and down_for > self.timeout

    def give_up(self, where: object, why: BaseException | None) -> ExecutionLost:
        detail = f": {why}" if why is not None and str(why) else ""
        return ExecutionLost(f"lost the link to {where} for more than {self.timeout:g} s "
                             f"({self.source}); the run may still be going on the host, but "
                             f"deck stopped watching it{detail}")


class Link:
    """The state of one link to a host, reported to whoever listens."""

    def __init__(self, host_of: Callable[[], Awaitable["SSHHost"]],
                 connect: Callable[[], Awaitable[object]], *, name: str,
                 policy: LinkLossPolicy | None = None) -> None:
        self._host_of = host_of
        self._connect = connect  #: opens the connection; HostKeyError names the check command
        self.name = name
        self.policy = policy or LinkLossPolicy()
        self.down_since: datetime | None = None
        self._down_at: float | None = None  # time.monotonic() of down_since
        #: The run being launched or followed through this link.
        self.listener: LinkListener = NOBODY

    @classmethod
    def to(cls, host: "SSHHost", compute: "ComputeConfig") -> "Link":
        """The link to ``host`` of the target ``compute`` describes."""
        from launchdeck.core.remote.targethost import connect

        async def host_of() -> "SSHHost":
            return host
        return cls(host_of, lambda: connect(host, compute.name), name=compute.name,
                   policy=LinkLossPolicy.of(compute))

    def _tell(self) -> None:
        self.listener.link_state(self.down_since)

    def up(self) -> None:
        if self.down_since is not None:
            self.down_since = None
            self._down_at = None
            self._tell()

    async def wait_until_back(self, why: BaseException | None = None) -> None:
        """Mark the link down (once) and return when a connection to the host opens again;
        ``ExecutionLost`` once it has been down longer than the policy allows."""
        if self.down_since is None:
            self.down_since = datetime.now(timezone.utc)
            self._down_at = time.monotonic()
            self._tell()
        attempt = 0
        while True:
            await asyncio.sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
            attempt += 1
            if self._down_at is not None and \
                    self.policy.expired(time.monotonic() - self._down_at):
                raise self.policy.give_up((await self._host_of()).endpoint, why)
            try:
                await self._connect()
                return
            except TargetUnreachable as exc:
                why = exc
                continue

    async def until_reached(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()``, again after the link is back whenever the host did not answer."""
        while True:
            try:
                result = await call()
            except TargetUnreachable as exc:
                await self.wait_until_back(exc)
                continue
            self.up()
            return result

    async def call(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call()`` until the host answers, also through the odd protocol error that a link
        being cut causes; link state reported meanwhile."""
        confused = 0
        while True:
            try:
                result = await call()
            except (HostKeyError, ExecutionLost):
                raise
            except TargetUnreachable as exc:
                await self.wait_until_back(exc)
                continue
            except TargetError as exc:
                confused += 1
                if confused > CONFUSED_TRIES:
                    raise
                await self.wait_until_back_if_lost(exc)
                continue
            self.up()
            return result

    async def wait_until_back_if_lost(self, why: BaseException | None = None) -> None:
        host = await self._host_of()
        if not await host.is_connected():
            await self.wait_until_back(why)
        else:
            await asyncio.sleep(BACKOFF[0])
