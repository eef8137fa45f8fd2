"""Start keeper processes, and revive the keepers of runs whose keeper died."""

from __future__ import annotations

from launchdeck.core.history.records import RunRecord
from launchdeck.core.project import Project
from launchdeck.core.runs.liveness import keeper_alive
from launchdeck.core.runs.seed import KeeperSeed, can_fork
from launchdeck.core.runs.state import RunState


def start_keeper(project: Project, run_id: str) -> int:
    """Start the keeper of ``run_id`` in a new session, detached from this process."""
    # A forked keeper must not inherit an open SQLite connection (revive() has read history
    # before it gets here): SQLite keeps its lock bookkeeping per process, so the child's own
    # connection would believe it holds locks it does not, and read pages while others write
    # ("file is not a database"; revived keepers died of it). Then start a fresh interpreter.
    if can_fork() and "history" not in vars(project):
        return KeeperSeed().start(project, run_id)
    from launchdeck.core.runs.spawn import spawn_keeper

    return spawn_keeper(project, run_id)


def revive(project: Project, runs: list[RunRecord] | None = None) -> list[str]:
    """Start a keeper for every launched or preparing run whose keeper is gone, and for the
    queued runs their target has room for (``core.runs.dispatch``); return their ids.

    Any deck command that looks at history calls this, so runs reattach and queues move as soon
    as someone looks, even after a reboot killed every keeper.
    """
    if runs is None:
        runs = project.history.list_runs(status=[RunState.QUEUED, RunState.PREPARING,
                                                 RunState.RUNNING])
    from launchdeck.core.errors import HistoryBusy, StorageError
    from launchdeck.core.runs.dispatch import dispatch, in_queue

    revived = []
    try:
        for run in runs:
            # A queued run has no keeper until it gets a slot: dispatch below decides.
            if run.status.is_terminal or in_queue(run) or keeper_alive(run):
                continue
            pid = start_keeper(project, run.run_id)
            project.history.update_run(run.run_id, keeper_pid=pid)
            revived.append(run.run_id)
        for target in sorted({run.target for run in runs if in_queue(run)}):
            revived += dispatch(project, target)
    except (StorageError, HistoryBusy, OSError):
        # A full disk, a read-only project or a long lock: looking at history must still
        # work; the keeper (if it started) records itself, or the next look tries again.
        pass
    return revived
