"""Start keeper processes, and revive the keepers of runs whose keeper died."""

from __future__ import annotations

import os
import threading
import sys

from launchdeck.core.history.records import RunRecord
from launchdeck.core.project import Project
from launchdeck.core.runs.liveness import keeper_alive
from launchdeck.core.runs.state import RunState

# The project's code must be importable by the keeper even when deck runs from a source tree.


def can_fork() -> bool:
    """Forking is only safe from a single-threaded process (the CLI, not the dashboard)."""
    return hasattr(os, "fork") and threading.active_count() == 1


def start_keeper(project: Project, run_id: str) -> int:
    """Start the keeper of ``run_id`` in a new session, detached from this process."""
    # A forked keeper must not inherit an open SQLite connection (revive() has read history
    # before it gets here): SQLite keeps its lock bookkeeping per process, so the child's own
    # connection would believe it holds locks it does not, and read pages while others write
    # ("file is not a database"; revived keepers died of it). Then start a fresh interpreter.
    if can_fork() and "history" not in vars(project):
        seed = KeeperSeed(project)
        return seed.start(run_id)
    from launchdeck.core.runs.spawn import spawn_keeper

    return spawn_keeper(project, run_id)


class KeeperSeed:
    """A keeper forked before its run exists, so its start-up overlaps the submit's own work.

    The seed detaches at once (new session, no terminal, no pipes of the caller), loads what a
    keeper needs, then waits for ``start(run_id)``. If the caller fails or dies first, the seed
    reads end-of-file and exits without a trace.
    """

    def __init__(self, project: Project) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid_read, pid_write = os.pipe()
        job_read, job_write = os.pipe()
        child = os.fork()
        if child == 0:
            code = 1
            try:
                os.close(pid_read)
                os.close(job_write)
                os.setsid()
                grandchild = os.fork()  # the keeper; its parent exits so nobody must reap it
                if grandchild:
                    os.write(pid_write, str(grandchild).encode())
                    code = 0
                else:
                    os.close(pid_write)
                    code = _seed_main(project, job_read)
            finally:
                os._exit(code)  # never run the caller's cleanup (its history connection) here
        os.close(pid_write)
        os.close(job_read)
        with os.fdopen(pid_read, "rb") as pipe:
            self.pid = int(pipe.read() or 0)
        os.waitpid(child, 0)
        self._job: int | None = job_write
        self._warmed = False

    def warm(self, modules: list[str]) -> None:
        """Tell the seed which target code its run needs, to import while we snapshot."""
        if self._job is not None and not self._warmed:
            self._warmed = True
            os.write(self._job, (",".join(modules) + "\n").encode())

    def start(self, run_id: str, parsed=None) -> int:
        """Hand the seed its run (and configs already parsed from the run's snapshot bytes)."""
        import pickle

        try:
            payload = pickle.dumps((run_id, parsed))
        except Exception:  # configs that do not pickle are simply parsed again by the keeper
            payload = pickle.dumps((run_id, None))
        self.warm([])
        job, self._job = self._job, None
        if job is None:
            raise RuntimeError("this keeper seed was given its run already")
        with os.fdopen(job, "wb") as pipe:
            pipe.write(payload)
        return self.pid

    def abandon(self) -> None:
        if self._job is not None:
            os.close(self._job)
            self._job = None


def _seed_main(project: Project, job_fd: int) -> int:
    import pickle

    # Leave the caller's terminal and pipes: a shell or a test waiting for deck's output must
    # see it end when deck ends, not when the run ends.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    import asyncio  # noqa: F401 - warm up while the caller snapshots the project
    import importlib

    from launchdeck.core.runs.keeper import keep

    with os.fdopen(job_fd, "rb") as pipe:
        for name in pipe.readline().decode().strip().split(","):
            if name:
                try:
                    importlib.import_module(name)
                except ImportError:
                    pass  # the keeper reports it properly when it opens the target
        payload = pipe.read()
    if not payload:
        return 0
    run_id, parsed = pickle.loads(payload)
    run_dir = project.run_dir(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    log = os.open(run_dir / "keeper.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return keep(str(project.root), run_id, parsed=parsed)


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
