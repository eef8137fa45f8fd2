"""What a user does to a run after submitting it: follow its output, cancel it."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import AsyncIterator

from launchdeck.core import filetail
from launchdeck.core.errors import RunStateError
from launchdeck.core.history.records import RunRecord
from launchdeck.core.project import Project
from launchdeck.core.runs.state import RunState

REVIVE_EVERY_SECONDS = 2.0


async def follow_output(project: Project, run_id: str, offset: int = 0) -> AsyncIterator[bytes]:
    """The run's log from ``offset``, live, until the run is over and its log fully read."""
    from launchdeck.core.runs.launcher import revive

    history = project.history
    loop = asyncio.get_running_loop()
    last_revive = 0.0
    last_version = None
    status = history.get_run(run_id).status

    async def finished() -> bool:
        nonlocal last_revive, last_version, status
        version = history.data_version()
        if version != last_version:
            last_version = version
            status = history.get_run(run_id).status
        if status.is_terminal:
            return True
        now = loop.time()
        if now - last_revive > REVIVE_EVERY_SECONDS:
            last_revive = now
            revive(project, [history.get_run(run_id)])
        return False

    # A person is watching: notice the end of the run within 20 ms (the check is one cheap
    # PRAGMA while nothing changes).
    async for chunk in filetail.follow(project.run_dir(run_id) / "output.log", offset, finished,
                                       max_poll=0.02):
        yield chunk


def request_cancel(project: Project, run_id: str) -> RunRecord:
    """Ask a run to stop; returns at once (the keeper stops it and records Canceled)."""
    from launchdeck.core.runs.liveness import pid_alive
    from launchdeck.core.runs.launcher import start_keeper

    history = project.history
    run = history.get_run(run_id)
    if run.status.is_terminal:
        raise RunStateError(f"run {run_id} is already {run.status}")
    history.update_run(run_id, cancel_requested=1)
    if run.keeper_pid and pid_alive(run.keeper_pid):
        try:
            os.kill(run.keeper_pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    elif run.external_id is None:
        # Never launched and nobody owns it: nothing to stop on any target.
        return history.transition(run_id, RunState.CANCELED, note="canceled by user")
    else:
        # Launched, but its keeper died: a new keeper attaches and stops it.
        start_keeper(project, run_id)
    return history.get_run(run_id)


async def wait_until_over(project: Project, run_id: str, timeout: float) -> RunRecord:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        run = project.history.get_run(run_id)
        if run.status.is_terminal or asyncio.get_running_loop().time() > deadline:
            return run
        await asyncio.sleep(0.05)
