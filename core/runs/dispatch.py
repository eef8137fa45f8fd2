"""Who starts the next queued run. A queued run holds no process: the queue lives in history.

A run gets its keeper only when its target has room for it, or as the one standby keeper of
its target's queue (``STANDBY``: it waits for the slot). ``dispatch`` counts what a target has
in use and starts keepers for the head of its queue (``HistoryStore.queue``: submit order,
or as ``deck runs move`` placed it). It is called by whoever may have freed a slot or queued a
run: a keeper whose run ends (before it exits), ``deck submit``, a sweep's owner, and every
command that looks at history (``launcher.revive``: ``deck runs list/show``, ``deck logs -f``,
``deck submit`` while it streams, and the dashboard's refresh every few seconds).

Nothing is lost or started twice whatever process is killed at any moment:
- a per-target ``dispatch.lock`` (``flock``) lets one dispatcher count at a time, and it
  records the keeper's pid before it lets go, so two dispatchers never fill one free slot twice;
- a keeper first takes its run's ``keeper.lock``: two keepers started for one run by a race
  (a dispatcher killed before it recorded the pid) leave one, the other exits at once (its
  slot, if the first had one, is counted by its slot file all the same);
- a keeper holds a slot file's ``flock`` (``core.runs.slots``) before it prepares or launches,
  so a target never runs more than its slots, and the kernel frees a dead keeper's slot.

The limit, said plainly: a slot freed without a hand-over (a keeper killed with SIGKILL after
its run ended) is taken by the standby keeper, if it lives; with no deck process alive at all
(both killed, or the machine rebooted), nothing starts the queue until some deck command looks
at history or an open dashboard refreshes (every few seconds). A run whose
keeper died while it ran keeps its place on the target until a revived keeper ends it, so the
queue waits for that look too rather than run more than the target's slots.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from typing import Any

from launchdeck.core.history.records import RunRecord
from launchdeck.core.project import Project
from launchdeck.core.runs import slots
from launchdeck.core.runs.liveness import pid_alive
from launchdeck.core.runs.state import RunState

#: How long a dispatcher waits for another one to finish counting (a few ms in practice).
LOCK_WAIT_SECONDS = 10.0
#: Keepers started ahead of a free slot, per target with a queue: the next run's keeper has
#: loaded its run and target when the slot frees, so it starts within a slot poll (about
#: 0.3 s sooner than a keeper started then, on a loaded machine); one process, whatever the
#: length of the queue.
STANDBY = 1


@dataclass
class SeededRun:
    """A run whose keeper was forked ahead (``launcher.KeeperSeed``) by the command that queued
    it; used if the run may start now, abandoned (it exits) if the run has to wait."""
    run_id: str
    seed: Any
    parsed: Any = None


def dispatch(project: Project, target: str, seeded: SeededRun | None = None) -> list[str]:
    """Start keepers for as many of ``target``'s queued runs as it has room for, first first;
    return their ids."""
    started: list[str] = []
    try:
        with _dispatch_lock(project, target) as locked:
            if locked:
                started = _start_next(project, target, seeded)
    finally:
        if seeded is not None and seeded.run_id not in started:
            seeded.seed.abandon()
    return started


def in_queue(run: RunRecord) -> bool:
    """Whether ``run`` waits in its target's queue (Queued and never launched): it gets a
    keeper from ``dispatch``, not from ``launcher.revive``."""
    return run.status is RunState.QUEUED and run.external_id is None


def _start_next(project: Project, target: str, seeded: SeededRun | None) -> list[str]:
    history = project.history
    queue = history.queue_keepers(target)
    # Room taken: runs launched or preparing (their keeper alive or not: a dead one's run may
    # still run, and its revived keeper takes the slot back) and queued runs a keeper owns.
    owned = {run_id for run_id, pid, launched in queue
             if launched or (pid is not None and pid_alive(pid))}
    if len(owned) == len(queue):
        return []  # every queued run has its keeper (or none waits)
    # A target whose .compute no longer loads gets one run at a time: its keeper reads the
    # run's own configs from its snapshot and says what is wrong.
    # (A target whose slots are kept on its host is counted here too, for this machine's
    # runs: its keepers then wait for the host's own count, core.runs.hostwait.)
    active = history.list_runs(status=[RunState.PREPARING, RunState.RUNNING], target=target)
    busy = len(active) + len(owned)
    waiting = len(queue) - len(owned)
    if waiting <= 1 + STANDBY - busy:
        # Room whatever the limit (at least 1): the target is not opened to read it, so
        # `deck submit` to an idle target loads none of its code. A keeper still takes a slot
        # file before it launches, so one whose slot a finishing run holds just waits.
        room = waiting
    else:
        from launchdeck.core.runs.waiting import slot_limit

        limit = slot_limit(project, target)[0] or 1
        held = slots.busy_slots(slots.folder(project.deck_dir, target), limit)
        room = limit + STANDBY - max(held, busy)
    started = []
    for run_id, _, _ in queue:
        if room <= 0:
            break
        if run_id in owned:
            continue
        if seeded is not None and run_id == seeded.run_id:
            pid = seeded.seed.start(run_id, seeded.parsed)
        else:
            # Imported here: a submit whose own seeded keeper starts needs no subprocess.
            from launchdeck.core.runs.spawn import spawn_keeper

            pid = spawn_keeper(project, run_id)  # history is open here: no fork
        history.update_run(run_id, keeper_pid=pid)
        started.append(run_id)
        room -= 1
    return started


class _dispatch_lock:
    """The target's dispatch lock, waited for a bounded time (a stopped holder must not hang
    a command: the next look dispatches instead)."""

    def __init__(self, project: Project, target: str) -> None:
        self.path = slots.folder(project.deck_dir, target) / "dispatch.lock"
        self.fd = -1

    def __enter__(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.01)

    def __exit__(self, *exc) -> None:
        os.close(self.fd)  # drops the lock
