"""Keepers forked before their run exists ("seeds"), so a keeper's start-up overlaps the work
of the command that queues the run.

A submit's time to its script's first line is: the CLI's start, the keeper's start (imports:
the larger part), the keeper's launch. Forked at the top of ``deck submit`` (``fork_early``),
before the CLI has imported anything of its own, the seed imports the keeper while the CLI
imports the submit path, parses the configs and snapshots the project: two cores at once.

This module imports nothing but the standard library at load: ``cli.main`` loads it first.
"""

from __future__ import annotations

import os
import sys
import threading

#: What a seed imports while it waits for its run: everything a keeper needs up to its launch
#: (imported after the run arrived, it would delay the script's start).
#: The config modules are those of the parsed configs the run is handed (unpickled then).
KEEPER_MODULES = (
    "asyncio", "concurrent.futures.thread", "pickle", "launchdeck.core.runs.keeper",
    "launchdeck.core.runs.runspec", "launchdeck.core.targets.priority",
    "launchdeck.core.targets.registry", "launchdeck.core.config.runconfig",
    "launchdeck.core.config.compute", "launchdeck.core.config.conda",
    "launchdeck.core.config.spark", "launchdeck.core.snapshot.store")


def can_fork() -> bool:
    """Forking is only safe from a single-threaded process (the CLI, not the dashboard)."""
    return hasattr(os, "fork") and threading.active_count() == 1


class KeeperSeed:
    """A keeper forked before its run exists.

    The seed detaches at once (new session, no terminal, no pipes of the caller), loads what a
    keeper needs, then waits for ``start(project, run_id)``. If the caller fails or dies first,
    the seed reads end-of-file and exits without a trace.
    """

    def __init__(self) -> None:
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
                    code = _seed_main(job_read)
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

    def start(self, project, run_id: str, parsed=None) -> int:
        """Hand the seed its run (and configs already parsed from the run's snapshot bytes)."""
        import pickle

        root = str(project.root)
        try:
            payload = pickle.dumps((root, run_id, parsed))
        except Exception:  # configs that do not pickle are simply parsed again by the keeper
            payload = pickle.dumps((root, run_id, None))
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


_early: KeeperSeed | None = None


def fork_early() -> None:
    """Fork a seed now, first thing in a ``deck submit`` process (see the module's note)."""
    global _early
    if _early is None and can_fork():
        _early = KeeperSeed()


def take_early() -> KeeperSeed | None:
    """The seed ``fork_early`` forked, once; None if there is none."""
    global _early
    seed, _early = _early, None
    return seed


def _seed_main(job_fd: int) -> int:
    # Leave the caller's terminal and pipes: a shell or a test waiting for deck's output must
    # see it end when deck ends, not when the run ends.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    import importlib

    for name in KEEPER_MODULES:  # while the caller snapshots the project
        importlib.import_module(name)
    import pickle
    from pathlib import Path

    from launchdeck.core.project import Project
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
    root, run_id, parsed = pickle.loads(payload)
    project = Project(Path(root))
    run_dir = project.run_dir(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    log = os.open(run_dir / "keeper.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return keep(root, run_id, parsed=parsed)
