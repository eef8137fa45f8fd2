"""Runs detached on an SSH host by the far-side runner: shared by the remote and cluster targets.

Each run has a folder ``~/<runs>/<run id>/`` on the host where ``core/farside/runner.py``
starts the program (the host's Python, or spark-submit) detached, with deck's runtime beside
the code, and later follows, waits for, cancels and packs it (``SparkExecution``). The host is
built and reached as every SSH target does (``core.remote.targethost``); the link is watched
with the one link-loss policy (``core.remote.link``).
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING

from launchdeck.core.errors import ConfigError, TargetError, TargetUnreachable
from launchdeck.core.remote.link import Link, LinkListener
from launchdeck.core.targets.base import REMOTE_DEFAULT_RUNS, RUNTIME_DIR

if TYPE_CHECKING:
    from pathlib import Path

    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.remote.connection import CommandResult, SSHPool
    from launchdeck.core.remote.commands import SSHHost
    from launchdeck.core.remote.hostslots import HostSlots
    from launchdeck.core.targets.base import Execution, RunSpec

#: Waits before asking the host again for a run whose launch lost the link midway.
_AFTER_DROP = (0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def runner(*args: str) -> list[str]:
    """The command that runs the far-side runner with ``args`` (launch, follow, ...)."""
    from launchdeck.core.remote.runner import runner_command

    return runner_command(*args)


class HostRuns:
    """One SSH target's runs on its host, each in ``~/<runs>/<run id>/``."""

    def __init__(self, compute: "ComputeConfig", *, pool: "SSHPool | None", runs: str,
                 kind: str) -> None:
        if not compute.address:
            raise ConfigError(f"a {kind} target needs address", file=str(compute.path),
                              field="address")
        self.compute = compute
        self.runs = runs
        self._pool = pool
        self._host: "SSHHost | None" = None

    @property
    def max_concurrent_runs(self) -> int:
        return self.compute.max_concurrent_runs or REMOTE_DEFAULT_RUNS

    @property
    def host(self) -> "SSHHost":
        if self._host is None:
            from launchdeck.core.remote.targethost import host_of

            self._host = host_of(self.compute, self._pool)
        return self._host

    async def connect(self) -> None:
        """Open the link, patient with a busy sshd; host key trouble names the target."""
        from launchdeck.core.remote.targethost import connect

        await connect(self.host, self.compute.name)

    def root(self, run_id: str) -> str:
        """The run's folder, relative to the login user's home."""
        return f"{self.runs}/{re.sub(r'[^A-Za-z0-9_.-]', '-', run_id)}"

    def link(self, listener: LinkListener) -> Link:
        """A run's link to the host, told to ``listener`` (the run's events)."""
        link = Link.to(self.host, self.compute)
        link.listener = listener
        return link

    async def report(self, root: str, *, check: bool = False) -> dict:
        """What the runner knows of the run in ``root`` (pid, app id); {} if nothing."""
        result = await self.host.run(runner("report", root, "0"), check=check)
        return _last_json(result) or {}

    async def started_before(self, root: str) -> dict | None:
        """The runner's report of the run in ``root`` if an earlier launch started it; else
        None, with ``root`` cleared for a fresh launch.

        A keeper killed after the host started the run but before it recorded the run's id is
        revived and launches again: the run must be found, never started a second time.
        """
        result = await self.host.run(["sh", "-c", 'cd "$HOME" && if [ -f "$1/pids" ]; then '
                                      'echo started; else rm -rf -- "$1"; fi', "sh", root],
                                     check=True)
        if result.stdout.decode().strip() != "started":
            return None
        report = await self.report(root, check=True)
        if "pid" in report:
            return report
        await self.host.run(["rm", "-rf", "--", root], check=True)  # a torn earlier launch
        return None

    async def start(self, launch: dict, *, program: str) -> dict:
        """Have the runner start ``launch`` (root, argv, env, files...); its report.

        The spec travels on stdin: its environment holds the run's secrets, which must not
        show on the host's command lines (ps).
        """
        root = launch["root"]
        launch = {**launch, "files": runtime_files()}
        try:
            result = await self.host.run(runner("launch", "-"),
                                         input=json.dumps(launch).encode(), check=True)
        except TargetUnreachable:
            # The program may be running already, detached: find it rather than lose it.
            result = await self._report_after_drop(root)
        report = _last_json(result)
        if report is None:
            raise TargetError(f"target {self.compute.name}: launching {program} gave no "
                              f"answer: {result.stderr.decode(errors='replace')[-1000:]}")
        return report

    async def _report_after_drop(self, root: str) -> "CommandResult":
        for delay in _AFTER_DROP:
            await asyncio.sleep(delay)
            try:
                return await self.host.run(runner("report", root, "0"), check=True)
            except TargetUnreachable:
                continue
        raise TargetUnreachable(f"target {self.compute.name}: the link to "
                                f"{self.host.endpoint} dropped while launching run {root} "
                                "and did not come back")

    def close(self) -> None:
        # The pool is shared with other targets of this process (or owned by the caller).
        self._host = None


class HostRunsTarget:
    """What a target whose runs are ``HostRuns`` has: the host, its key, its slots (counted on
    the host when ``maxConcurrentRuns`` is set: ``host_slots``).

    ``RUNS`` (the runs' folder under the login home) and ``KIND`` (the ``.compute`` type, for
    messages) are set by the target.
    """

    RUNS = ""
    KIND = ""

    def __init__(self, compute: "ComputeConfig", *, project_dir: "Path | None" = None,
                 pool: "SSHPool | None" = None) -> None:
        self.runs = HostRuns(compute, pool=pool, runs=self.RUNS, kind=self.KIND)
        self.name = compute.name
        self.compute = compute
        self.project_dir = project_dir

    @property
    def max_concurrent_runs(self) -> int:
        return self.runs.max_concurrent_runs

    @property
    def host(self) -> "SSHHost":
        return self.runs.host

    @property
    def python(self) -> str:
        """The host's Python that runs scripts (or, on a cluster, builds executor venvs)."""
        return self.compute.python_location or "python3"

    async def accept_host_key(self, fingerprint: str) -> None:
        await self.host.accept_host_key(fingerprint)

    async def remote_host(self) -> "SSHHost":
        await self.runs.connect()
        return self.host

    def host_slots(self) -> "HostSlots | None":
        """``maxConcurrentRuns`` counted on the host, for every machine (none when unset)."""
        from launchdeck.core.remote.hostslots import HostSlots, slot_key

        limit = self.compute.max_concurrent_runs
        if limit is None:
            return None
        return HostSlots(self.remote_host, key=slot_key(self.KIND, self.name), limit=limit,
                         target=self.name)

    async def slot_watch(self, spec: "RunSpec", execution: "Execution") -> dict:
        """The runner's processes of the run (the program and its waiter), by start time."""
        report = await self.runs.report(self.runs.root(spec.run_id), check=True)
        return {"pids": [[report[pid], report[start]] for pid, start in
                         (("pid", "start"), ("waiter", "waiter_start")) if report.get(pid)]}

    async def close(self) -> None:
        self.runs.close()


def _last_json(result: "CommandResult") -> dict | None:
    try:
        report = json.loads(result.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return report if isinstance(report, dict) else None


def runtime_files() -> dict[str, str]:
    """The stdlib metrics helpers, written into the run's folder on the host."""
    return {f"runtime/{path.relative_to(RUNTIME_DIR).as_posix()}": path.read_text()
            for path in RUNTIME_DIR.rglob("*.py")}
