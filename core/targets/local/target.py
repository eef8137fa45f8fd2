"""The local target: a run is a process on this machine.

Mapping: run -> one process (the target's Python running the script) in its own process group
and session, so closing a terminal or killing deck never signals it; cwd -> a copy of the run's
snapshot under the run's folder; output -> one file that both stdout and stderr write to, so it
is kept whole and in the order the script wrote it; cancel -> SIGTERM to the process group, then
SIGKILL after the grace period. ``./outputs/`` exists (empty) before the script starts, and
``nativeSharedDirectory`` gives the script ``AZUREML_NATIVE_SHARE_DIRECTORY`` (``<dir>/<project
name>/``, created), as on Workbench.

The exit code of a process is known only to its parent, so the keeper does not start the script
itself: it forks a tiny waiter (``waiter``: a copy of itself, no new interpreter) that starts
the script, waits for it and writes its exit code to a file. If the keeper dies, a new keeper attaches by
the ids of both processes and still learns the exit code. Only if the waiter itself is killed
while the script runs is the exit code lost; the run then ends Failed with "exit code unknown".

Nothing a run started outlives it: the waiter is a child subreaper (``PR_SET_CHILD_SUBREAPER``),
so processes the script daemonized (double fork, ``setsid``) become its children, and once the
script has ended (on its own or by cancel) the waiter stops every one left: SIGTERM, then
SIGKILL after a short grace.

A keeper killed while it launches never makes a run start twice: the launch lock
(``target/launch.lock``) is taken before the snapshot copy and inherited by the waiter, which
holds it for its whole life and writes the execution's id (``target/external_id``) as soon as
the script started. A later keeper that finds the lock held or the id written attaches instead.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import AsyncIterator

from launchdeck.core import filetail
from launchdeck.core.errors import ConfigError, ExecutionLost, TargetError
from launchdeck.core.targets.base import (RUNTIME_DIR, Capability, EnvironmentSpec, Framework,
                                          Progress, RunEvents, RunSpec)
from launchdeck.core.procstat import start_time
from launchdeck.core.targets.outputs import copy_outputs
from launchdeck.core.targets.local.waiter import RunFiles, reap, spawn_with_waiter
from launchdeck.core.targets.priority import niceness_of
from launchdeck.core.targets.runenv import RunPaths, run_environment

if False:  # typing only; keeps start-up light
    from launchdeck.core.config.compute import ComputeConfig


class LocalTarget:
    """Runs scripts as processes on this machine."""

    capabilities: frozenset[Capability] = frozenset()

    def __init__(self, compute: "ComputeConfig") -> None:
        self.name = compute.name
        self.compute = compute

    @property
    def max_concurrent_runs(self) -> int:
        return self.compute.max_concurrent_runs or os.cpu_count() or 1

    @property
    def python(self) -> str:
        return self.compute.python_location or sys.executable

    async def check(self) -> dict[str, str]:
        proc = await asyncio.create_subprocess_exec(
            self.python, "-c", "import sys; print(sys.version.split()[0])",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        if proc.returncode != 0:
            raise TargetError(f"target {self.name}: {self.python} does not run: "
                              f"{err.decode(errors='replace').strip()}")
        return {"python": self.python, "python_version": out.decode().strip(),
                "cpus": str(os.cpu_count()), "max_concurrent_runs": str(self.max_concurrent_runs)}

    async def prepare(self, env: EnvironmentSpec, *, progress: Progress) -> str:
        # The local target runs in the user's own environment (Workbench's
        # userManagedEnvironment); there is nothing to build.
        return ""

    async def launch(self, spec: RunSpec, events: RunEvents) -> "LocalExecution":
        if spec.env.framework is not Framework.PYTHON:
            raise TargetError(f"target {self.name}: Framework {spec.env.framework} is not "
                              "supported on the local target yet")
        if self.compute.python_location and not shutil.which(self.python):
            raise TargetError(f"{self.compute.path}: pythonLocation {self.python!r} "
                              "is not an executable on this machine")
        return await self.start_process(
            spec, [self.python, *spec.interpreter_options, spec.script, *spec.arguments])

    async def start_process(self, spec: RunSpec, argv: list[str]) -> "LocalExecution":
        """Run ``argv`` in a fresh copy of the run's snapshot, with deck's run environment.

        If an earlier keeper of this run already started it (and died before history knew),
        attach to that process instead of starting the script a second time.
        """
        files = RunFiles(spec.run_dir)
        files.root.mkdir(parents=True, exist_ok=True)
        share = self._native_share(spec)
        lock = os.open(files.launch_lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            launched = await _launched_before(files, lock)
            if launched:
                return LocalExecution(launched, files)
            if files.work.exists():
                shutil.rmtree(files.work)
            spec.store.materialize(spec.snapshot, files.work)
            # Workbench scripts write ./outputs/ without creating it.
            (files.work / "outputs").mkdir(exist_ok=True)
            paths = RunPaths(runtime=str(RUNTIME_DIR), work=str(files.work),
                             metrics=str(files.metrics), share=share)
            env = {**os.environ, **run_environment(
                spec.environment, run_id=spec.run_id, paths=paths,
                inherited_pythonpath=os.environ.get("PYTHONPATH"))}
            files.exit_code.unlink(missing_ok=True)
            external_id = await asyncio.to_thread(spawn_with_waiter, argv, files, env,
                                                  niceness_of(self.compute), lock)
        finally:
            os.close(lock)  # the waiter holds its own copy of the lock for its whole life
        return LocalExecution(external_id, files)

    def _native_share(self, spec: RunSpec) -> str | None:
        """``<nativeSharedDirectory>/<project name>/``, created; None when the key is unset."""
        share = self.compute.native_shared_directory
        if not share:
            return None
        root = Path(os.path.expanduser(share))
        if not root.is_absolute():
            raise ConfigError("nativeSharedDirectory must be an absolute path or start with ~",
                              file=str(self.compute.path), field="nativeSharedDirectory")
        folder = root / spec.env.project_dir.name
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise TargetError(f"{self.compute.path}: nativeSharedDirectory: cannot create "
                              f"{folder}: {exc.strerror or exc}") from None
        return f"{folder}/"

    async def attach(self, spec: RunSpec, external_id: str,
                     events: RunEvents) -> "LocalExecution":
        return LocalExecution(external_id, RunFiles(spec.run_dir))

    async def close(self) -> None:
        pass


#: How long a launching keeper waits for a live waiter (found holding the launch lock) to
#: write the execution's id; the waiter writes it right after starting the script.
LAUNCH_ID_TIMEOUT_SECONDS = 60.0

async def _launched_before(files: RunFiles, lock: int) -> str | None:
    """The id of this run's execution if a keeper started it already; else take the lock."""
    deadline = time.monotonic() + LAUNCH_ID_TIMEOUT_SECONDS
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            free = True
        except BlockingIOError:
            free = False  # a waiter of this run lives
        try:
            return files.external_id.read_text()
        except FileNotFoundError:
            pass
        if free:
            return None  # nobody started it: ours to start, and we hold the lock
        if time.monotonic() > deadline:
            raise TargetError(f"{files.root}: a process of this run holds its launch lock but "
                              "never reported starting the script")
        await asyncio.sleep(0.05)


class LocalExecution:
    """One script process and its waiter; output and metrics are files the script appends to.

    ``external_id`` is ``PID:START/WAITER_PID:WAITER_START``: start times tell a live process
    from a later one that reused its pid.
    """

    def __init__(self, external_id: str, files: RunFiles) -> None:
        self.external_id = external_id
        self._files = files
        script, _, waiter = external_id.partition("/")
        self._pid, self._started = _parse_id(script)
        self._waiter_pid, self._waiter_started = _parse_id(waiter)
        self._ended = asyncio.Event()  # wakes the log and metrics followers at once

    def _script_alive(self) -> bool:
        # No start time: the script had already ended when the waiter read it (a zombie has
        # none), and a gone pid also reads "": never count that as alive.
        return bool(self._started) and start_time(self._pid) == self._started

    def _waiter_alive(self) -> bool:
        if not self._waiter_pid:
            return False
        reap(self._waiter_pid)
        return start_time(self._waiter_pid) == self._waiter_started

    async def _finished(self) -> bool:
        return not self._script_alive() and not self._waiter_alive()

    def logs(self, from_offset: int = 0) -> AsyncIterator[bytes]:
        return filetail.follow(self._files.output, from_offset, self._finished,
                               wake=self._ended)

    def metrics(self, from_offset: int = 0) -> AsyncIterator[bytes]:
        return filetail.follow(self._files.metrics, from_offset, self._finished,
                               wake=self._ended)

    async def wait(self) -> int:
        await _wait_for_exit(self._waiter_pid, self._waiter_alive)
        # The waiter may have been killed before the script ended: follow the script too.
        await _wait_for_exit(self._pid, self._script_alive)
        self._ended.set()
        try:
            text = self._files.exit_code.read_text()
        except FileNotFoundError:
            from launchdeck.core.diskerrors import disk_full, no_space

            if disk_full(self._files.root):  # the waiter had no room to record the exit code
                raise ExecutionLost(f"process {self._pid} ended; its exit code could not be "
                                    f"recorded: {no_space(self._files.root)}") from None
            raise ExecutionLost(
                f"process {self._pid} ended while nothing watched it (its waiter was killed); "
                "its exit code is unknown, its output was kept") from None
        if text.startswith("error:"):
            raise TargetError(text[len("error:"):].strip())
        return int(text)

    async def cancel(self, *, grace_seconds: float = 10.0) -> None:
        if not self._script_alive():
            return
        _signal_group(self._pid, signal.SIGTERM)
        deadline = asyncio.get_running_loop().time() + grace_seconds
        while self._script_alive() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        if self._script_alive():
            _signal_group(self._pid, signal.SIGKILL)

    async def collect_outputs(self, dest: Path) -> list[str]:
        return await asyncio.to_thread(copy_outputs, self._files.work / "outputs", dest)

    async def release(self) -> None:
        # The code can be restored from the content store; only outputs are kept.
        await asyncio.to_thread(shutil.rmtree, self._files.work, True)


async def _wait_for_exit(pid: int, alive) -> None:
    """Wait for ``pid`` to end: a pidfd wakes us at once where the kernel has them."""
    if not pid or not alive():
        return
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        while alive():
            await asyncio.sleep(0.05)
        return
    loop = asyncio.get_running_loop()
    exited = loop.create_future()
    loop.add_reader(fd, lambda: None if exited.done() else exited.set_result(None))
    try:
        while alive():
            try:
                await asyncio.wait_for(asyncio.shield(exited), 0.5)
            except asyncio.TimeoutError:
                pass
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _parse_id(text: str) -> tuple[int, str]:
    pid, _, started = text.partition(":")
    return (int(pid), started) if pid.isdigit() else (0, "")
