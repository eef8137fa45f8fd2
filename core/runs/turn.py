"""A run's turn on its target: waiting for a slot in submit order, and passing the slot on.

The keeper's part that concerns the other runs of its target. The slot is one of this machine
(``core.runs.slots``, files the kernel unlocks when a keeper dies), or, for a target that keeps
its slots on its host, one of the host's (``core.runs.hostwait``), counted for every machine
that submits there. At its end a keeper frees the slot and starts the keeper of the next queued
run (``core.runs.dispatch``): a queued run holds no process.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Awaitable, Callable

from launchdeck.core.errors import DeckError
from launchdeck.core.history.records import RunRecord
from launchdeck.core.project import Project
from launchdeck.core.runs import slots
from launchdeck.core.runs.liveness import keeper_alive, keeper_running
from launchdeck.core.runs.patience import PatientHistory
from launchdeck.core.runs.state import RunState

#: How long handing the run's slot to its host may take at the end (a host that went away must
#: not keep a keeper alive for ever).
HAND_OVER_TIMEOUT_SECONDS = 120.0


class RunTurn:
    """One run's place in its target's queue, held by its keeper."""

    def __init__(self, project: Project, history: PatientHistory, run: RunRecord, *,
                 canceled: asyncio.Event, note: Callable[[str], object]) -> None:
        self.project, self.history = project, history
        self.run_id, self.target = run.run_id, run.target
        self.run_dir = project.run_dir(run.run_id)
        self.canceled = canceled
        self.note = note
        self.lease: slots.SlotLease | None = None
        #: A keeper-less queued run found ahead while waiting: this run makes way for it.
        self.behind: str | None = None
        #: Handing the run's slot to its host (or finding it one), while the run is followed.
        self._slot_work: asyncio.Future[str | None] | None = None
        self._handed_over = False

    # -- this machine's slots -------------------------------------------------------------------

    async def wait_for_slot(self, limit: int) -> slots.SlotLease | None:
        """A slot of this machine once no run before this one waits; None: canceled, or a run
        now ahead has no keeper (``behind``), which the dispatcher must start first."""
        def my_turn() -> bool:
            ahead = self.history.queued_ahead(self.run_id, self.target)
            # A queued run ahead without a keeper waits in history for a dispatcher, which
            # starts keepers first first: this keeper makes way (stop ends the wait).
            self.behind = next((r.run_id for r in ahead if r.external_id is None
                                and not keeper_running(r)), None)
            if ahead:
                return False
            # A run whose keeper died (SIGKILL) frees its slot file but may still run: it
            # keeps its place until a revived keeper ends it, as the dispatcher counts it.
            active = self.history.list_runs(status=[RunState.PREPARING, RunState.RUNNING],
                                            target=self.target)
            return len(active) < limit
        self.lease = await slots.acquire(
            self._slot_dir(), limit, my_turn=my_turn,
            stop=lambda: self.canceled.is_set() or self.behind is not None)
        return self.lease

    def retake_slot(self, limit: int) -> None:
        """A revived keeper of a launched run holds its slot again (None when over capacity
        after a config change: the run goes on all the same)."""
        self.lease = slots.try_acquire(self._slot_dir(), limit)

    def _slot_dir(self) -> Path:
        return slots.folder(self.project.deck_dir, self.target)

    # -- the host's slots -----------------------------------------------------------------------

    async def wait_for_host_slot(self, shared):
        # hostwait is imported where it is used: a local run's keeper needs none of it.
        from launchdeck.core.runs import hostwait

        return await hostwait.wait_for_host_slot(
            shared, self._owner(), run_dir=self.run_dir, my_turn=self._my_turn,
            stop=self.canceled.is_set, note=self.note)

    def host_holds_slot(self, host_lease, shared, watch: Callable[[], Awaitable]) -> None:
        """From the launch on, the host holds the slot for as long as the run goes."""
        from launchdeck.core.runs import hostwait

        self._slot_work = asyncio.ensure_future(
            hostwait.hand_over(host_lease, shared, self._owner(), watch))

    def host_adopts_slot(self, shared, watch: Callable[[], Awaitable]) -> None:
        """A revived keeper: the host keeps (or finds) the slot of the run it launched."""
        from launchdeck.core.runs import hostwait

        self._slot_work = asyncio.ensure_future(hostwait.adopt(shared, self._owner(), watch))

    def _my_turn(self) -> bool:
        """No run queued before this one for its target still waits (with a live keeper)."""
        return not any(keeper_alive(r) for r in self.history.queued_ahead(self.run_id,
                                                                           self.target))

    def _owner(self) -> dict[str, str]:
        """Whom the host holds this run's slot for."""
        from launchdeck.core.remote.hostslots import owner

        return owner(str(self.project.root), self.run_id)

    # -- the end --------------------------------------------------------------------------------

    def hand_over(self) -> None:
        """Free the run's slot and start the keeper of the next queued run of its target. Once
        per keeper; never fails the run, which is over or never started: the next look at
        history dispatches then."""
        if self.lease is not None:
            self.lease.release()
            self.lease = None
        if self._handed_over:
            return
        self._handed_over = True
        from launchdeck.core.runs.dispatch import dispatch

        try:
            dispatch(self.project, self.target)
        except Exception as exc:  # noqa: BLE001 - said in keeper.log; a look retries
            with contextlib.suppress(OSError):
                print(f"deck keeper: the next queued run of {self.target} was not started: "
                      f"{exc.__class__.__name__}: {exc}", file=sys.stderr, flush=True)

    async def host_work_done(self) -> None:
        """Wait for the slot's hand-over to the host before the target's link closes; say how
        it went."""
        if self._slot_work is None:
            return
        try:
            said = await asyncio.wait_for(self._slot_work, HAND_OVER_TIMEOUT_SECONDS)
        except (DeckError, asyncio.TimeoutError) as exc:
            said = f"the run's slot on its host was not handed over: {exc}"
        if said:
            self.note(said)
