"""A fake target: a real ``ComputeTarget`` with no daemon, for fast tests of what drives one.

As httpx's ``MockTransport`` is a real transport, this is a real target: a run is the script
run by this machine's Python as a child process of *this* process (its own session, so cancel
signals its whole group), in a copy of the run's snapshot under ``<run_dir>/target/work`` with
an empty ``outputs/``, the runconfig's variables, deck's runtime on PYTHONPATH and a metrics
file. Output and metrics are files read from any byte offset, live until the run ends; cancel
is SIGTERM then SIGKILL; outputs are copied with ``core.targets.outputs``.

It is not a user's target (no ``.compute`` type names it): tests construct it directly and
script what the real targets would do (the environment ``prepare`` reports, its progress
lines, the facts of ``check``).

What it cannot do: PySpark; keep a run's exit code when the process that launched it dies (a
thread of that process waits for the child and writes the code): a fresh ``FakeTarget`` in the
same process attaches to a run by its external id, one in another process gets
``ExecutionLost`` from ``wait`` once the script has ended.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import AsyncIterator

from launchdeck.core import filetail
from launchdeck.core.errors import ExecutionLost, TargetError
from launchdeck.core.targets.base import (RUNTIME_DIR, Capability, EnvironmentSpec, Framework,
                                          Progress, RunEvents, RunSpec)
from launchdeck.core.targets.outputs import copy_outputs

#: How often ``wait`` and ``cancel`` look at a run that has not ended yet.
POLL_SECONDS = 0.02
_ID_PREFIX = "fake pid "

#: Runs a thread of this process still waits for, by external id: their exit code is coming.
_WATCHED: set[str] = set()
_WATCHED_LOCK = threading.Lock()


class FakeTarget:
    """Runs scripts as children of this process; everything else is what a test scripts."""

    capabilities: frozenset[Capability] = frozenset()

    def __init__(self, name: str = "fake", *, environment_id: str = "",
                 prepare_lines: tuple[str, ...] = (), facts: dict[str, str] | None = None,
                 max_concurrent_runs: int = 4, python: str = sys.executable) -> None:
        self.name = name
        self.python = python
        self.environment_id = environment_id
        self.prepare_lines = prepare_lines
        self.facts = dict(facts or {})
        self._max_runs = max_concurrent_runs
        self.closed = False

    @property
    def max_concurrent_runs(self) -> int:
        return self._max_runs

    async def check(self) -> dict[str, str]:
        return {"python": self.python, "max_concurrent_runs": str(self._max_runs),
                **self.facts}

    async def prepare(self, env: EnvironmentSpec, *, progress: Progress) -> str:
        for line in self.prepare_lines:
            progress(line)
        return self.environment_id

    # The protocol's two entry points: the only lines that know its calling convention.
    async def launch(self, spec: RunSpec, events: RunEvents) -> "FakeExecution":
        execution = await self.start(spec)
        if self.environment_id:
            events.environment(self.environment_id)
        return execution

    async def attach(self, spec: RunSpec, external_id: str,
                     events: RunEvents) -> "FakeExecution":
        return self.reopen(spec, external_id)

    async def start(self, spec: RunSpec) -> "FakeExecution":
        """Start the run's script; a run that was started already is attached to instead."""
        if spec.env.framework is not Framework.PYTHON:
            raise TargetError(f"target {self.name}: Framework {spec.env.framework} does not "
                              "run on the fake target")
        files = _RunFiles(spec.run_dir)
        if files.external_id.is_file():  # a launch again after a keeper died: never twice
            return self.reopen(spec, files.external_id.read_text())
        files.root.mkdir(parents=True, exist_ok=True)
        if files.work.exists():
            shutil.rmtree(files.work)
        await asyncio.to_thread(spec.store.materialize, spec.snapshot, files.work)
        (files.work / "outputs").mkdir(exist_ok=True)  # Workbench scripts assume it
        argv = [self.python, *spec.interpreter_options, spec.script, *spec.arguments]
        external_id = await asyncio.to_thread(_spawn, argv, files, self._environment(spec, files))
        return FakeExecution(external_id, files)

    def reopen(self, spec: RunSpec, external_id: str) -> "FakeExecution":
        if not external_id.startswith(_ID_PREFIX):
            raise ExecutionLost(f"target {self.name}: {external_id!r} is not a fake run's id")
        return FakeExecution(external_id, _RunFiles(spec.run_dir))

    def _environment(self, spec: RunSpec, files: "_RunFiles") -> dict[str, str]:
        env = dict(os.environ)
        env.update(spec.environment)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(RUNTIME_DIR), str(files.work), spec.environment.get("PYTHONPATH"))
            if p)
        env["DECK_RUN_ID"] = spec.run_id
        env["DECK_METRICS_FILE"] = str(files.metrics)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    async def close(self) -> None:
        self.closed = True


class _RunFiles:
    """A fake run's files, under ``<run_dir>/target`` as the protocol allows."""

    def __init__(self, run_dir: Path) -> None:
        root = self.root = run_dir / "target"
        self.work, self.output, self.metrics = root / "work", root / "output.log", \
            root / "metrics.jsonl"
        #: Written by this process: the script's exit code once it ended; the run's id.
        self.exit_code, self.external_id = root / "exit_code", root / "external_id"

    def read_exit_code(self) -> int | None:
        try:
            return int(self.exit_code.read_text())
        except (FileNotFoundError, ValueError):
            return None  # not ended, or its code is being written


def _spawn(argv: list[str], files: _RunFiles, env: dict[str, str]) -> str:
    """Start the script and a thread that records its exit code; return the external id."""
    with open(files.output, "ab") as log:
        try:
            proc = subprocess.Popen(argv, cwd=files.work, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=log, start_new_session=True)
        except OSError as exc:
            raise TargetError(f"cannot start {argv[0]}: {exc.strerror or exc}") from None
    external_id = f"{_ID_PREFIX}{proc.pid}"
    with _WATCHED_LOCK:
        _WATCHED.add(external_id)
    _write_atomic(files.external_id, external_id)
    threading.Thread(target=_record_exit, args=(proc, files, external_id), daemon=True,
                     name=f"fake-run-{proc.pid}").start()
    return external_id


def _record_exit(proc: subprocess.Popen, files: _RunFiles, external_id: str) -> None:
    code = proc.wait()
    # A negative code means a signal; report it the way a shell (and every target) does.
    _write_atomic(files.exit_code, str(128 - code if code < 0 else code))
    with _WATCHED_LOCK:
        _WATCHED.discard(external_id)


class FakeExecution:
    """One script process started by a ``FakeTarget`` of this process."""

    def __init__(self, external_id: str, files: _RunFiles) -> None:
        self.external_id = external_id
        self._pid = int(external_id.removeprefix(_ID_PREFIX))
        self._files = files

    def _ended(self) -> bool:
        if self._files.read_exit_code() is not None:
            return True
        with _WATCHED_LOCK:
            watched = self.external_id in _WATCHED
        return not watched and not _alive(self._pid)

    async def _finished(self) -> bool:
        return self._ended()

    def logs(self, from_offset: int = 0) -> AsyncIterator[bytes]:
        return filetail.follow(self._files.output, from_offset, self._finished)

    def metrics(self, from_offset: int = 0) -> AsyncIterator[bytes]:
        return filetail.follow(self._files.metrics, from_offset, self._finished)

    async def wait(self) -> int:
        while not self._ended():
            await asyncio.sleep(POLL_SECONDS)
        code = self._files.read_exit_code()
        if code is None:
            raise ExecutionLost(f"process {self._pid} ended while no thread of this process "
                                "watched it; its exit code is unknown, its output was kept")
        return code

    async def cancel(self, *, grace_seconds: float = 10.0) -> None:
        if self._ended():
            return
        _signal_group(self._pid, signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_seconds
        while not self._ended() and loop.time() < deadline:
            await asyncio.sleep(POLL_SECONDS)
        if not self._ended():
            _signal_group(self._pid, signal.SIGKILL)

    async def collect_outputs(self, dest: Path) -> list[str]:
        return await asyncio.to_thread(copy_outputs, self._files.work / "outputs", dest)

    async def release(self) -> None:
        await asyncio.to_thread(shutil.rmtree, self._files.work, True)


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # ended meanwhile


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
