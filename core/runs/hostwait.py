"""A queued run's wait for a slot kept on its target's host, and what the host last said.

For a target whose ``maxConcurrentRuns`` is counted on its host (``core.remote.hostslots``)
the host's slots are the only limit: the run takes no slot of this machine, so it never holds
one here while the host is full. This machine's queue still keeps submit order (as
``deck runs move`` left it): a run asks the host only once no run queued before it for the
same target is still waiting (the one first in line waits on the host, the others behind it).

What the host said while the run waited is kept in the run's folder (``host_wait.json``) for
``core.runs.waiting``, which tells why a run waits ("3/3 slots of gpu1 busy, 1 from another
machine"); the run's log says it once, when the wait begins.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable

from launchdeck.core.errors import TargetUnreachable

if TYPE_CHECKING:
    from launchdeck.core.remote.hostslots import HostSlotLease, HostSlots

NOTE = "host_wait.json"
POLL_SECONDS = 0.05
#: Waits before asking the host again when the link dropped while a run waited for a slot.
RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class HostSlotWait:
    """What the host said while a run waited: its slots held, and for whom."""

    target: str
    busy: int
    limit: int
    other_machines: int  #: held for runs submitted from other machines
    other_projects: int  #: held for runs of other projects of this machine

    @property
    def full(self) -> bool:
        return self.busy >= self.limit

    @property
    def text(self) -> str:
        """``3/3 slots of gpu1 busy, 1 from another machine``."""
        parts = [f"{self.busy}/{self.limit} slots of {self.target} busy"]
        for count, where in ((self.other_machines, "machine"), (self.other_projects, "project")):
            if count:
                parts.append(f"1 from another {where}" if count == 1
                             else f"{count} from other {where}s")
        return ", ".join(parts)

    @classmethod
    def of(cls, target: str, me: dict, answer: dict) -> "HostSlotWait":
        """From the host's answer; ``me`` is who this machine's runs hold slots for."""
        holders = [h for h in answer.get("busy", []) if isinstance(h, dict)]
        machines = sum(1 for h in holders if h.get("machine") != me["machine"])
        projects = sum(1 for h in holders if h.get("machine") == me["machine"]
                       and h.get("project") != me["project"])
        return cls(target, len(holders), int(answer.get("limit", 0)), machines, projects)


def read_note(run_dir: Path) -> HostSlotWait | None:
    """What the host last said to the run's keeper while it waited, if it is waiting."""
    try:
        data = json.loads((run_dir / NOTE).read_text())
        return HostSlotWait(str(data["target"]), int(data["busy"]), int(data["limit"]),
                            int(data["other_machines"]), int(data["other_projects"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_note(run_dir: Path, wait: HostSlotWait) -> None:
    tmp = run_dir / (NOTE + ".tmp")
    tmp.write_text(json.dumps(wait.__dict__))
    os.replace(tmp, run_dir / NOTE)


async def wait_for_host_slot(slots: "HostSlots", me: dict, *, run_dir: Path,
                             my_turn: Callable[[], bool], stop: Callable[[], bool],
                             note: Callable[[str], object]) -> "HostSlotLease | None":
    """This machine's turn, then a slot on the host; None if ``stop()`` says to give up."""
    import asyncio  # here: `deck submit` reads the waiting notes (core.runs.waiting) loop-free

    while not my_turn():
        if stop():
            return None
        await asyncio.sleep(POLL_SECONDS)
    told = False

    def heard(answer: dict) -> None:
        nonlocal told
        wait = HostSlotWait.of(slots.target, me, answer)
        with contextlib.suppress(OSError):  # for readers only: the wait goes on without it
            _write_note(run_dir, wait)
        if not told and wait.full:
            told = True
            note(f"waiting for a slot on the host: {wait.text}")

    try:
        delays = iter(RETRY_SECONDS)
        while True:
            try:
                return await slots.take(me, on_wait=heard, stop=stop)
            except TargetUnreachable as exc:
                # A link lost during a long wait is waited out (the run is only queued); a
                # host never reached fails the run, as its launch would.
                delay = next(delays, RETRY_SECONDS[-1])
                if not told:
                    raise
                note(f"the link to the host dropped while waiting for a slot ({exc}); "
                     f"trying again in {delay:g} s")
                if await _stopped_within(stop, delay):
                    return None
    finally:
        with contextlib.suppress(FileNotFoundError):
            (run_dir / NOTE).unlink()


async def _stopped_within(stop: Callable[[], bool], seconds: float) -> bool:
    import asyncio

    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while loop.time() < until:
        if stop():
            return True
        await asyncio.sleep(POLL_SECONDS)
    return stop()


async def hand_over(lease: "HostSlotLease", slots: "HostSlots", me: dict,
                    watch: Callable[[], Awaitable[dict]]) -> str | None:
    """Give the launched run's slot to the host, which holds it while the run goes; if that
    fails (the link dropped), look for one again. What to say in the run's log, if anything."""
    from launchdeck.core.errors import DeckError

    try:
        await lease.hand_over(await watch())
        return None
    except DeckError as exc:
        lost = f"the host did not take over the run's slot ({exc})"
    finally:
        await lease.release()
    return f"{lost}; {await adopt(slots, me, watch) or 'it holds one now'}"


async def adopt(slots: "HostSlots", me: dict,
                watch: Callable[[], Awaitable[dict]]) -> str | None:
    """A run launched by a keeper that died before handing its slot over gets one if one is
    free. What to say in the run's log, unless the run held its slot already."""
    from launchdeck.core.errors import DeckError

    try:
        answer = await slots.adopt(me, await watch())
    except DeckError as exc:  # the run goes on; its streams tell of a lost link
        return f"could not look for the run's slot on its host: {exc}"
    if "slot" in answer:
        return f"the run took slot {answer['slot']} of {slots.target} on its host"
    if "busy" in answer:
        wait = HostSlotWait.of(slots.target, me, answer)
        return f"the run goes on without a slot of its host: {wait.text}"
    return None
