"""A target's run slots kept on its host, shared by every machine that submits there.

Each machine's keepers used to count a remote target's ``maxConcurrentRuns`` for themselves,
so two laptops each thought they owned all of a host's slots. Here the slots are lock files on
the host, held by a small host-side process per run (``core/farside/hostslot.py``): a run's
keeper starts it over SSH and it waits there for a free slot; once the run is launched it is
told what to watch (the run's container, or the runner's processes) and holds the slot, with no
deck process connected, until that ends. Whatever way it ends (``kill -9`` included) the kernel
frees the lock, so a slot is never leaked; a keeper that dies before the hand-over closes the
SSH session, which frees the slot too.

While a run waits, the host's answers (``{"busy": [holder...], "limit": N}``, each holder as
``owner`` made it) go to the caller, who tells the user (``core.runs.hostwait``).
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import re
import socket
from typing import TYPE_CHECKING, Awaitable, Callable

from launchdeck.core import farside
from launchdeck.core.errors import TargetError, TargetUnreachable
from launchdeck.core.remote.commands import translate_errors

if TYPE_CHECKING:
    from launchdeck.core.remote.remotehost import RemoteHost

#: Sent with every command, as the runner is (``core.remote.runner``); ``-S``: no site
#: packages to import before the first answer.
PROGRAM = farside.script("hostslot")
#: How often a waiting keeper looks whether its run was canceled meanwhile.
STOP_POLL_SECONDS = 0.2
#: How long the host-side holder may take to say it took a launched run over (a lost link
#: that was not noticed must not keep a keeper from following its run).
HAND_OVER_SECONDS = 60.0


def slot_key(kind: str, target: str) -> str:
    """The host-side folder name of a target's slots: stable for every copy of a project."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{kind}-{target}")


def owner(project: str, run_id: str) -> dict[str, str]:
    """Who a run's slot is held for, as the host records it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name in the environment or the password database
        user = ""
    return {"machine": socket.gethostname(), "project": project, "user": user, "run": run_id}


class HostSlotLease:
    """A slot taken on the host, held by its host-side process until ``hand_over`` tells it
    what to watch (after which the host alone holds it) or ``release``."""

    def __init__(self, index: int, proc, stack: contextlib.AsyncExitStack) -> None:
        self.index = index
        self._proc = proc
        self._stack: contextlib.AsyncExitStack | None = stack

    async def hand_over(self, watch: dict) -> None:
        """The slot now lasts as long as ``watch`` (a container, or processes) on the host."""
        try:
            self._proc.stdin.write(json.dumps(watch).encode() + b"\n")
            answer = _parse(await asyncio.wait_for(self._proc.stdout.readline(),
                                                   HAND_OVER_SECONDS))
        except asyncio.TimeoutError:
            answer = {}
        finally:
            await self.release()
        if not answer.get("watching"):
            raise TargetUnreachable("the host-side slot holder ended before it took the run")

    async def release(self) -> None:
        """Free the slot (before a hand-over), or let go of the finished command (after)."""
        stack, self._stack = self._stack, None
        if stack is not None:
            with contextlib.suppress(Exception):
                self._proc.stdin.write_eof()
            await stack.aclose()


class HostSlots:
    """One target's slots on its host: ``limit`` runs at once, counted across machines."""

    def __init__(self, host: Callable[[], Awaitable["RemoteHost"]], *, key: str, limit: int,
                 target: str) -> None:
        self._host = host
        self.key, self.limit, self.target = key, limit, target

    async def take(self, me: dict, *, on_wait: Callable[[dict], None],
                   stop: Callable[[], bool]) -> HostSlotLease | None:
        """Wait on the host for a free slot; None if ``stop()`` said to give up first.

        ``on_wait`` hears the host's answer each time the slots' holders change.
        """
        _answer, lease = await self._hold(me, "wait", on_wait, stop)
        return lease

    async def adopt(self, me: dict, watch: dict) -> dict:
        """Give a run that is already running a slot, if it holds none and one is free (its
        keeper died before handing its slot over). The host's answer: ``{"held": N}`` (it had
        one), ``{"slot": N}`` (it took one) or ``{"busy": ...}`` (none free: it goes on)."""
        answer, lease = await self._hold(me, "adopt", lambda _answer: None, lambda: False)
        if lease is not None:
            await lease.hand_over(watch)
        return answer

    async def _hold(self, me: dict, mode: str, on_wait: Callable[[dict], None],
                    stop: Callable[[], bool]) -> tuple[dict, HostSlotLease | None]:
        host = await self._host()
        spec = {"key": self.key, "limit": self.limit, "owner": me, "mode": mode}
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        try:
            proc = await stack.enter_async_context(
                host.process(["python3", "-S", "-c", PROGRAM, "hold", json.dumps(spec)]))
            with translate_errors(host.endpoint, f"waiting for a slot of {self.target} on"):
                return await self._answers(host, proc, stack, mode, on_wait, stop)
        except BaseException:
            await stack.aclose()
            raise

    async def _answers(self, host: "RemoteHost", proc, stack: contextlib.AsyncExitStack,
                       mode: str, on_wait: Callable[[dict], None],
                       stop: Callable[[], bool]) -> tuple[dict, HostSlotLease | None]:
        """Read the holder's answers until it has a slot, or says why it has none."""
        reading: asyncio.Future | None = None
        while True:
            if reading is None:
                reading = asyncio.ensure_future(proc.stdout.readline())
            done, _ = await asyncio.wait({reading}, timeout=STOP_POLL_SECONDS)
            if not done:
                if stop():
                    reading.cancel()
                    await stack.aclose()
                    return {}, None
                continue
            line, reading = reading.result(), None
            if not line:
                await proc.wait_closed()
                if proc.exit_status is None:  # the channel closed with no status: the link
                    raise TargetUnreachable(f"{host.endpoint.host}:{host.endpoint.port}: "
                                            "connection lost while waiting for a slot of "
                                            f"{self.target}")
                stderr = (await proc.stderr.read()).decode(errors="replace")
                raise TargetError(f"{host.endpoint}: the slot holder of {self.target} ended: "
                                  f"{stderr.strip()[-1000:] or 'no answer'}")
            answer = _parse(line)
            if "slot" in answer:
                return answer, HostSlotLease(int(answer["slot"]), proc, stack)
            if "busy" in answer and mode == "wait":
                on_wait(answer)
                continue
            await stack.aclose()
            return answer, None


def _parse(line: bytes) -> dict:
    try:
        answer = json.loads(line)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
