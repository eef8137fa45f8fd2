"""Why a queued run waits: its place in its target's queue and how many of the target's slots
are busy ("2nd in line; 2/2 slots of local busy"). Read from history and the slot files
(``core.runs.slots``), or, for a target whose slots are kept on its host, from what the host
last told the waiting run's keeper (``core.runs.hostwait``: "1st in line for gpu1; 3/3 slots
of gpu1 busy, 1 from another machine"). For the dashboard and ``deck runs``; nothing here waits
or writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from launchdeck.core.errors import DeckError
from launchdeck.core.history.records import RunRecord
from launchdeck.core.project import Project
from launchdeck.core.runs import hostwait, slots
from launchdeck.core.runs.state import RunState


@dataclass(frozen=True)
class QueueWait:
    target: str
    position: int        # 1: the next of its target to start
    busy: int | None     # slots held now (None: the target's limit is unknown)
    limit: int | None
    #: The target's slots are kept on its host (``on_host``); ``host`` is what the host last
    #: said to the run of this machine that waits there (None before it answered).
    on_host: bool = False
    host: hostwait.HostSlotWait | None = None

    @property
    def full(self) -> bool:
        return self.limit is not None and self.busy is not None and self.busy >= self.limit

    @property
    def short(self) -> str:
        """For a table cell: ``#2 2/2 busy``."""
        text = f"#{self.position}"
        return f"{text} {self.busy}/{self.limit} busy" if self.full else text

    @property
    def reason(self) -> str:
        """A sentence: place in line and what holds the run back."""
        place = f"{_ordinal(self.position)} in line for {self.target}"
        if self.limit is None:
            return f"{place}; the target's slots are unknown (its .compute file does not load)"
        if self.full:
            busy = self.host.text if self.host is not None else \
                f"{self.busy}/{self.limit} slots of {self.target} busy"
            return f"{place}; {busy}"
        if self.position > 1:
            return f"{place}; waiting for the {self.position - 1} queued before it"
        if self.on_host and self.host is None:
            return f"{place}; asking its host for a slot"
        return f"{place}; a slot is free: starting"


def queue_waits(project: Project, runs: Iterable[RunRecord]) -> dict[str, QueueWait]:
    """Run id -> why it waits, for the Queued runs among ``runs`` (in the order each target's
    keepers take its slots: ``HistoryStore.queue``)."""
    by_target: dict[str, list[RunRecord]] = {}
    for run in sorted((r for r in runs if r.status is RunState.QUEUED), key=queue_key):
        by_target.setdefault(run.target, []).append(run)
    waits: dict[str, QueueWait] = {}
    for target, queued in by_target.items():
        limit, on_host = slot_limit(project, target)
        if on_host:
            # Only the first in line (with a live keeper) asks the host; the others wait
            # behind it, for the same slots.
            host = next((note for run in queued
                         if (note := hostwait.read_note(project.run_dir(run.run_id)))), None)
            for position, run in enumerate(queued, start=1):
                waits[run.run_id] = QueueWait(
                    target, position, host.busy if host else None, limit, on_host=True,
                    host=host)
            continue
        busy = slots.busy_slots(slots.folder(project.deck_dir, target), limit) \
            if limit is not None else None
        for position, run in enumerate(queued, start=1):
            waits[run.run_id] = QueueWait(target, position, busy, limit)
    return waits


def queue_key(run: RunRecord) -> tuple:
    """Sorts queued runs as history's queue does (place, then submit order)."""
    place = run.queue_order if run.queue_order is not None else float("inf")
    return (place, run.created_utc)


def slot_limit(project: Project, target: str) -> tuple[int | None, bool]:
    """The target's ``maxConcurrentRuns`` as its keeper reads it (None if it does not load),
    and whether it is counted on the target's host."""
    from launchdeck.core.targets.capabilities import host_slot_target
    from launchdeck.core.targets.registry import open_target

    try:
        opened = open_target(project, project.load_compute(target))
    except DeckError:
        return None, False
    slotted = host_slot_target(opened)
    return opened.max_concurrent_runs, slotted is not None and \
        slotted.host_slots() is not None


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
