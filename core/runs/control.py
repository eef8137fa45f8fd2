"""What a user does to a run after submitting it: follow its output, cancel it."""

from __future__ import annotations

import os
import signal
from typing import AsyncIterator, Iterator

from launchdeck.core import filetail
from launchdeck.core.errors import RunStateError
from launchdeck.core.history.records import RunRecord
from launchdeck.core.project import Project
from launchdeck.core.runs.state import RunState

REVIVE_EVERY_SECONDS = 2.0


#: A person is watching: notice the end of the run within 20 ms (the check is one cheap
#: PRAGMA while nothing changes).
WATCHED_POLL_SECONDS = 0.02


async def follow_output(project: Project, run_id: str, offset: int = 0) -> AsyncIterator[bytes]:
    """The run's log from ``offset``, live, until the run is over and its log fully read."""
    over = _RunOver(project, run_id)

    async def finished() -> bool:
        return over()

    async for chunk in filetail.follow(project.run_dir(run_id) / "output.log", offset, finished,
                                       max_poll=WATCHED_POLL_SECONDS):
        yield chunk


def follow_output_blocking(project: Project, run_id: str, offset: int = 0, *,
                           dispatched: bool = False) -> Iterator[bytes]:
    """``follow_output`` for a plain process (``deck submit``, ``deck logs -f``): no event loop,
    so the command does not import asyncio to copy a file to its stdout.

    ``dispatched``: the caller queued the run and dispatched its target just now, so the first
    look for a dead keeper comes ``REVIVE_EVERY_SECONDS`` later, as every later one does.

    Between polls it also wakes when the run's keeper exits: a keeper ends right after it
    recorded the run's end, so the command ends then rather than at its next poll.
    """
    over = _RunOver(project, run_id, dispatched=dispatched)
    keeper = _exit_of(over.keeper_pid)
    try:
        yield from filetail.follow_blocking(project.run_dir(run_id) / "output.log", offset,
                                            over, max_poll=WATCHED_POLL_SECONDS, wake=keeper)
    finally:
        if keeper is not None:
            os.close(keeper)


def _exit_of(pid: int | None) -> int | None:
    """A descriptor that becomes readable when process ``pid`` exits (a pidfd), if it can be
    had. A pid reused by another process only wakes the follower early once."""
    if not pid:
        return None
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # gone already, or no pidfds here: polls alone
        return None


class _RunOver:
    """Whether a followed run is over; revives its keeper now and then if it died."""

    def __init__(self, project: Project, run_id: str, *, dispatched: bool = False) -> None:
        import time

        self.project = project
        self.run_id = run_id
        self.history = project.history
        self.last_revive = time.monotonic() if dispatched else 0.0
        self.last_version: int | None = None
        run = self.history.get_run(run_id)
        self.status = run.status
        self.keeper_pid = run.keeper_pid

    def __call__(self) -> bool:
        import time

        version = self.history.data_version()
        if version != self.last_version:
            self.last_version = version
            self.status = self.history.get_run(self.run_id).status
        if self.status.is_terminal:
            return True
        now = time.monotonic()
        if now - self.last_revive > REVIVE_EVERY_SECONDS:
            from launchdeck.core.runs.launcher import revive

            self.last_revive = now
            revive(self.project, [self.history.get_run(self.run_id)])
        return False


def request_cancel(project: Project, run_id: str) -> RunRecord:
    """Ask a run to stop; returns at once (the keeper stops it and records Canceled)."""
    from launchdeck.core.runs.keeper import run_lock
    from launchdeck.core.runs.launcher import start_keeper

    history = project.history
    run = history.get_run(run_id)
    if run.status.is_terminal:
        raise RunStateError(f"run {run_id} is already {run.status}")
    history.update_run(run_id, cancel_requested=1)
    # Holding the run's lock, we are its only owner: no keeper can start it meanwhile (one
    # that starts now finds the lock taken and exits; the flag above stops a later one).
    lock = run_lock(project.run_dir(run_id))
    if lock is None:  # a keeper owns the run: it stops it (SIGTERM is the fast path)
        run = history.get_run(run_id)
        if run.keeper_pid:
            try:
                os.kill(run.keeper_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        return history.get_run(run_id)
    try:
        run = history.get_run(run_id)
        if run.status.is_terminal:
            return run
        if run.external_id is None:
            # Never launched and nobody owns it (a queued run holds no process): done now.
            history.transition(run_id, RunState.CANCELED, note="canceled by user")
    finally:
        os.close(lock)
    if run.external_id is None:
        if run.keeper_pid is not None:
            from launchdeck.core.runs.dispatch import dispatch

            # A keeper started for this run found the lock taken and left (or died): the
            # room it was given goes to the next queued run.
            dispatch(project, run.target)
        return history.get_run(run_id)
    # Launched, but its keeper died: a new keeper attaches and stops it.
    start_keeper(project, run_id)
    return history.get_run(run_id)


async def wait_until_over(project: Project, run_id: str, timeout: float) -> RunRecord:
    """Wait for a canceled run to end. A keeper that dies meanwhile (killed, out of memory)
    does not leave the cancel waiting in vain: it is asked again, which ends the run or
    starts a keeper that does."""
    import asyncio

    from launchdeck.core.runs.liveness import keeper_running

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    next_look = loop.time() + REVIVE_EVERY_SECONDS
    while True:
        run = project.history.get_run(run_id)
        if run.status.is_terminal or loop.time() > deadline:
            return run
        if loop.time() >= next_look:
            next_look = loop.time() + REVIVE_EVERY_SECONDS
            if not keeper_running(run):
                try:
                    request_cancel(project, run_id)
                except RunStateError:
                    pass  # it ended meanwhile: the next look returns it
        await asyncio.sleep(0.05)
