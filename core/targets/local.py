"""The local target: a run is a process on this machine.

Mapping: run -> one process (the target's Python running the script) in its own process group
and session, so closing a terminal or killing deck never signals it; cwd -> a copy of the run's
snapshot under the run's folder; output -> one file that both stdout and stderr write to, so it
is kept whole and in the order the script wrote it; cancel -> SIGTERM to the process group, then
SIGKILL after the grace period.

What it cannot do: the exit code of a process is known only to its parent. If the keeper that
launched a run is killed, a new keeper can still follow the run's output to its end, but reports
the run as Failed with "exit code unknown" unless the run ended while a keeper watched it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import AsyncIterator

from core import filetail
from core.errors import ExecutionLost, TargetError
from core.targets.base import RUNTIME_DIR, EnvironmentSpec, Framework, Progress, RunSpec
from core.targets.outputs import copy_outputs

if False:  # typing only; keeps start-up light
    from core.config.compute import ComputeConfig


class LocalTarget:
    """Runs scripts as processes on this machine."""

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

    async def launch(self, spec: RunSpec, *, progress: Progress) -> "LocalExecution":
        if spec.env.framework is not Framework.PYTHON:
            raise TargetError(f"target {self.name}: Framework {spec.env.framework} is not "
                              "supported on the local target yet")
        if self.compute.python_location and not shutil.which(self.python):
            raise TargetError(f"{self.compute.path}: pythonLocation {self.python!r} "
                              "is not an executable on this machine")
        files = _RunFiles(spec.run_dir)
        files.root.mkdir(parents=True, exist_ok=True)
        if files.work.exists():
            shutil.rmtree(files.work)
        spec.store.materialize(spec.snapshot, files.work)
        env = dict(os.environ)
        env.update(spec.environment)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(RUNTIME_DIR), str(files.work), env.get("PYTHONPATH", "")) if p)
        env["DECK_RUN_ID"] = spec.run_id
        env["DECK_METRICS_FILE"] = str(files.metrics)
        env["PYTHONUNBUFFERED"] = "1"
        log_fd = os.open(files.output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            proc = await asyncio.create_subprocess_exec(
                self.python, spec.script, *spec.arguments, cwd=files.work, env=env,
                stdin=asyncio.subprocess.DEVNULL, stdout=log_fd, stderr=log_fd,
                start_new_session=True)
        except OSError as exc:
            raise TargetError(f"target {self.name}: cannot start {self.python}: {exc}") from exc
        finally:
            os.close(log_fd)
        external_id = f"{proc.pid}:{_start_time(proc.pid)}"
        return LocalExecution(external_id, files, proc)

    async def attach(self, spec: RunSpec, external_id: str) -> "LocalExecution":
        return LocalExecution(external_id, _RunFiles(spec.run_dir), None)

    async def close(self) -> None:
        pass


class _RunFiles:
    """Where a local run keeps its files (under ``<run_dir>/target``)."""

    def __init__(self, run_dir: Path) -> None:
        self.root = run_dir / "target"
        self.work = self.root / "work"
        self.output = self.root / "output.log"
        self.metrics = self.root / "metrics.jsonl"
        self.exit_code = self.root / "exit_code"


class LocalExecution:
    """One process; its output and metrics are files the process appends to."""

    def __init__(self, external_id: str, files: _RunFiles,
                 proc: asyncio.subprocess.Process | None) -> None:
        self.external_id = external_id
        self._files = files
        self._proc = proc
        pid, _, started = external_id.partition(":")
        self._pid = int(pid)
        self._started = started

    def _alive(self) -> bool:
        if self._proc is not None:
            return self._proc.returncode is None
        return _start_time(self._pid) == self._started

    async def _finished(self) -> bool:
        return not self._alive()

    def logs(self, from_offset: int = 0) -> AsyncIterator[bytes]:
        return filetail.follow(self._files.output, from_offset, self._finished)

    def metrics(self, from_offset: int = 0) -> AsyncIterator[bytes]:
        return filetail.follow(self._files.metrics, from_offset, self._finished)

    async def wait(self) -> int:
        if self._proc is not None:
            code = await self._proc.wait()
            # A negative code means a signal; report it the way a shell does.
            code = 128 - code if code < 0 else code
            _write_atomic(self._files.exit_code, str(code))
            return code
        while self._alive():
            await asyncio.sleep(0.1)
        try:
            return int(self._files.exit_code.read_text())
        except (FileNotFoundError, ValueError):
            raise ExecutionLost(
                f"process {self._pid} ended while no keeper watched it; its exit code is "
                "unknown (its output was kept)") from None

    async def cancel(self, *, grace_seconds: float = 10.0) -> None:
        if not self._alive():
            return
        try:
            os.killpg(self._pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = asyncio.get_running_loop().time() + grace_seconds
        while self._alive() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        if self._alive():
            try:
                os.killpg(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    async def collect_outputs(self, dest: Path) -> None:
        await asyncio.to_thread(copy_outputs, self._files.work / "outputs", dest)

    async def release(self) -> None:
        # The code can be restored from the content store; only outputs are kept.
        await asyncio.to_thread(shutil.rmtree, self._files.work, True)


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks: tells a live pid from a reused one."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return ""
    # Field 22 counts from after the command name, which may itself hold spaces.
    fields = stat[stat.rindex(b")") + 2:].split()
    if fields[0] == b"Z":
        return ""
    return fields[19].decode()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
