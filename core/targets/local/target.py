"""The local target: a run is a process on this machine.

Mapping: run -> one process (the target's Python running the script) in its own process group
and session, so closing a terminal or killing deck never signals it; cwd -> a copy of the run's
snapshot under the run's folder; output -> one file that both stdout and stderr write to, so it
is kept whole and in the order the script wrote it; cancel -> SIGTERM to the process group, then
SIGKILL after the grace period. ``./outputs/`` exists (empty) before the script starts, and
``nativeSharedDirectory`` gives the script ``AZUREML_NATIVE_SHARE_DIRECTORY`` (``<dir>/<project
name>/``, created), as on Workbench.

The exit code of a process is known only to its parent, so the keeper does not start the script
itself: it forks a tiny waiter (a copy of itself, no new interpreter) that starts the script,
waits for it and writes its exit code to a file. If the keeper dies, a new keeper attaches by
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
from launchdeck.core.targets.outputs import copy_outputs
from launchdeck.core.targets.priority import lower_priority, niceness_of

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
        files = _RunFiles(spec.run_dir)
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
            env = dict(os.environ)
            env.update(spec.environment)
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(RUNTIME_DIR), str(files.work), env.get("PYTHONPATH", "")) if p)
            env["DECK_RUN_ID"] = spec.run_id
            env["DECK_METRICS_FILE"] = str(files.metrics)
            env["PYTHONUNBUFFERED"] = "1"
            if share is not None:
                env["AZUREML_NATIVE_SHARE_DIRECTORY"] = share
            files.exit_code.unlink(missing_ok=True)
            external_id = await asyncio.to_thread(_spawn_with_waiter, argv, files, env,
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
        return LocalExecution(external_id, _RunFiles(spec.run_dir))

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
        self.launch_lock = self.root / "launch.lock"
        self.external_id = self.root / "external_id"


#: How long a launching keeper waits for a live waiter (found holding the launch lock) to
#: write the execution's id; the waiter writes it right after starting the script.
LAUNCH_ID_TIMEOUT_SECONDS = 60.0

#: Processes the script left behind get SIGTERM when it ends, then SIGKILL after this long.
LEFTOVER_GRACE_SECONDS = 5.0


async def _launched_before(files: _RunFiles, lock: int) -> str | None:
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

    def __init__(self, external_id: str, files: _RunFiles) -> None:
        self.external_id = external_id
        self._files = files
        script, _, waiter = external_id.partition("/")
        self._pid, self._started = _parse_id(script)
        self._waiter_pid, self._waiter_started = _parse_id(waiter)
        self._ended = asyncio.Event()  # wakes the log and metrics followers at once

    def _script_alive(self) -> bool:
        return _start_time(self._pid) == self._started

    def _waiter_alive(self) -> bool:
        if not self._waiter_pid:
            return False
        _reap(self._waiter_pid)
        return _start_time(self._waiter_pid) == self._waiter_started

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


def _spawn_with_waiter(argv: list[str], files: _RunFiles, env: dict[str, str],
                       niceness: int, lock_fd: int) -> str:
    """Fork the waiter, which starts the script; return the execution's external id."""
    import subprocess  # noqa: F401 - imported here, not in the child forked from a thread

    subreaper = _subreaper_call()
    read_end, write_end = os.pipe()
    log_fd = os.open(files.output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    waiter = os.fork()
    if waiter == 0:
        _waiter_main(argv, files, env, niceness, (log_fd, write_end, lock_fd),
                     subreaper)  # never returns
    os.close(write_end)
    os.close(log_fd)
    with os.fdopen(read_end, "rb") as pipe:
        report = pipe.read().decode()
    if not report.startswith("id:"):
        _reap(waiter, block=True)
        raise TargetError(report.removeprefix("error:").strip()
                          or "the run's process did not start")
    return report[3:]


def _subreaper_call():
    """``prctl(PR_SET_CHILD_SUBREAPER, 1)`` as a callable, resolved before forking."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None  # not Linux: orphans go to init as before
    return lambda: prctl(36, 1, 0, 0, 0)  # 36 = PR_SET_CHILD_SUBREAPER


def _waiter_main(argv, files: _RunFiles, env, niceness: int, fds: tuple[int, int, int],
                 subreaper) -> None:
    log_fd, report_fd, _lock_fd = fds
    code = 0
    try:
        os.setsid()  # its own session: signals aimed at deck or the keeper never reach it
        if subreaper is not None:
            subreaper()  # what the script daemonizes becomes ours, to stop when it ends
        lower_priority(niceness)  # the script shares this session (and its scheduling group)
        # A do-nothing handler rather than SIG_IGN: exec resets handlers to the default but
        # keeps ignored signals ignored, and the script must feel cancel's SIGTERM.
        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
            signal.signal(sig, _shrug)
        # Drop every inherited descriptor (the keeper's locks, history, event loop) but ours;
        # the launch lock stays held by this process until it exits.
        low = 3
        for fd in sorted(fds):
            os.closerange(low, fd)
            low = fd + 1
        os.closerange(low, 65536)
        import subprocess

        try:
            proc = subprocess.Popen(argv, cwd=files.work, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log_fd, stderr=log_fd, process_group=0,
                                    restore_signals=True)
        except OSError as exc:
            os.write(report_fd, f"error: cannot start {argv[0]}: {exc}".encode())
            code = 1
            return
        me = os.getpid()
        external_id = f"{proc.pid}:{_start_time(proc.pid)}/{me}:{_start_time(me)}"
        _write_atomic(files.external_id, external_id)
        os.write(report_fd, f"id:{external_id}".encode())
        os.close(report_fd)
        returncode = _wait_reaping(proc.pid)
        # A negative code means a signal; report it the way a shell does.
        _write_atomic(files.exit_code, str(128 - returncode if returncode < 0 else returncode))
        _end_leftovers(LEFTOVER_GRACE_SECONDS)
    except BaseException:  # the waiter must never fall back into the keeper's code
        code = 1
    finally:
        os._exit(code)


def _wait_reaping(pid: int) -> int:
    """Wait for ``pid``, reaping orphans handed to us meanwhile; its exit code (-N: signal N)."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return -signal.SIGKILL  # cannot happen: the script is our child
        if done == pid:
            return os.waitstatus_to_exitcode(status)


def _end_leftovers(grace: float) -> None:
    """Stop every process still under this subreaper: SIGTERM, then SIGKILL after ``grace``."""
    me = os.getpid()
    deadline = time.monotonic() + grace
    told: set[int] = set()
    while True:
        while True:  # reap what already ended
            try:
                done, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if done == 0:
                break
        left = _children_of(me)
        if not left:
            return
        late = time.monotonic() >= deadline
        for pid in left:
            if late or pid not in told:
                try:
                    os.kill(pid, signal.SIGKILL if late else signal.SIGTERM)
                except ProcessLookupError:
                    pass
                told.add(pid)
        time.sleep(0.02)


def _children_of(parent: int) -> list[int]:
    """Live (not zombie) children of ``parent``, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        if fields[0] != b"Z" and int(fields[1]) == parent:
            found.append(int(entry))
    return found


def _shrug(signum, frame) -> None:
    """The waiter's handler for signals that must not stop it."""


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
    loop.add_reader(fd, lambda: exited.done() or exited.set_result(None))
    try:
        while alive():
            try:
                await asyncio.wait_for(asyncio.shield(exited), 0.5)
            except asyncio.TimeoutError:
                pass
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def _reap(pid: int, *, block: bool = False) -> None:
    try:
        os.waitpid(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        pass  # not our child (a keeper that attached later): nothing to reap


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _parse_id(text: str) -> tuple[int, str]:
    pid, _, started = text.partition(":")
    return (int(pid), started) if pid.isdigit() else (0, "")


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
