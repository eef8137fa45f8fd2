"""What a running run uses now: the CPU and memory of its processes, or of its container.

A local run is its script's process, every process started under it and every member of its
process group, read from ``/proc``. A Docker run (local or remote engine) is its container, as
the engine's stats API reports it (one-shot: no waiting for the engine's own second sample).
CPU is a share of one core (100 % = one core busy), from the CPU time used between two reads;
``UsageMeter`` keeps the previous read.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from launchdeck.core.errors import DeckError
from launchdeck.core.procstat import stat_fields

if TYPE_CHECKING:
    from launchdeck.core.docker.client import EngineClient
    from launchdeck.core.history.records import RunRecord
    from launchdeck.core.project import Project
    from launchdeck.core.targets.docker.target import DockerTarget

PROC = Path("/proc")
_DOCKER_TYPES = ("docker", "remotedocker")


@dataclass(frozen=True)
class UsageSample:
    """One read: CPU time so far, resident memory now."""

    cpu_seconds: float
    memory_bytes: int
    processes: int | None  # None where the source does not count them
    taken: float  # time.monotonic() of the read


@dataclass(frozen=True)
class Usage:
    """What the run uses: CPU as % of one core (None after the first read), memory in bytes."""

    cpu_percent: float | None
    memory_bytes: int
    processes: int | None


def cpu_percent(before: UsageSample, after: UsageSample) -> float | None:
    elapsed = after.taken - before.taken
    if elapsed <= 0 or after.cpu_seconds < before.cpu_seconds:
        return None  # a restarted container counts from zero again
    return (after.cpu_seconds - before.cpu_seconds) / elapsed * 100


# -- local processes ------------------------------------------------------------------------

def _stat(pid_dir: Path) -> tuple[int, int, int, float, int, int] | None:
    """(pid, ppid, pgrp, cpu seconds, rss pages, start time) from /proc/PID/stat."""
    fields = stat_fields(int(pid_dir.name), proc=pid_dir.parent)
    if fields is None:
        return None  # gone meanwhile, or not ours to read
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(pid_dir.name), int(fields[1]), int(fields[2]),
            (int(fields[11]) + int(fields[12])) / ticks, int(fields[21]), int(fields[19]))


def _all_stats(proc: Path = PROC) -> dict[int, tuple[int, int, int, float, int, int]]:
    """Every process's stat fields (one walk of /proc)."""
    stats = {}
    for entry in proc.iterdir():
        if entry.name.isdigit():
            stat = _stat(entry)
            if stat is not None:
                stats[stat[0]] = stat
    return stats


def process_tree_sample(pid: int, started: int | None = None, *,
                        proc: Path = PROC, stats: dict | None = None) -> UsageSample | None:
    """CPU and memory of process ``pid``, its descendants and its process group; None when
    ``pid`` is gone (or, with ``started``, is a later process that reused the number).
    ``stats``: a walk of /proc already made (``_all_stats``), shared by several runs."""
    if stats is None:
        stats = _all_stats(proc)
    root = stats.get(pid)
    if root is None or (started is not None and root[5] != started):
        return None
    children: dict[int, list[int]] = {}
    for stat in stats.values():
        children.setdefault(stat[1], []).append(stat[0])
    members = {p for p, stat in stats.items() if stat[2] == root[2]}
    tree: set[int] = set()
    todo = [pid]
    while todo:  # descendants that left the group (setsid, setpgid) count too
        current = todo.pop()
        if current not in tree:
            tree.add(current)
            todo.extend(children.get(current, ()))
    members |= tree
    parent = root[1]
    while parent in stats and parent != pid:  # whoever started it (deck's waiter) is not the run
        members.discard(parent)
        parent = stats[parent][1] if stats[parent][1] != parent else 0
    page = os.sysconf("SC_PAGE_SIZE")
    return UsageSample(cpu_seconds=sum(stats[p][3] for p in members),
                       memory_bytes=sum(stats[p][4] for p in members) * page,
                       processes=len(members), taken=time.monotonic())


def local_run_sample(external_id: str, *, stats: dict | None = None) -> UsageSample | None:
    """A local run's usage from its external id (``PID:START/WAITER_PID:WAITER_START``)."""
    script = external_id.partition("/")[0]
    pid_text, _, start_text = script.partition(":")
    if not pid_text.isdigit():
        return None
    return process_tree_sample(int(pid_text), int(start_text) if start_text.isdigit() else None,
                               stats=stats)


def local_run_samples(external_ids: dict[str, str]) -> dict[str, UsageSample | None]:
    """Run id -> usage for many local runs from one walk of /proc (a walk per run would cost
    as many walks as runs shown)."""
    stats = _all_stats()
    return {run_id: local_run_sample(external_id, stats=stats)
            for run_id, external_id in external_ids.items()}


# -- containers ------------------------------------------------------------------------------

async def container_sample(docker: "EngineClient", container_id: str) -> UsageSample | None:
    """A container's usage from the engine's stats (one-shot); None when it is not running."""
    from launchdeck.core.docker.engine import is_missing
    from launchdeck.core.docker.session import EngineError

    try:
        stats = await docker.containers.container(container_id).stats()
    except EngineError as exc:
        if is_missing(exc):
            return None
        raise
    taken = time.monotonic()
    memory = stats.get("memory_stats") or {}
    cpu = ((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage")
    if not memory or cpu is None:
        return None  # a stopped container reports empty stats
    # What `docker stats` shows: usage less the page cache the kernel can drop at once.
    extra = memory.get("stats") or {}
    cache = extra.get("total_inactive_file", extra.get("inactive_file", 0))
    pids = (stats.get("pids_stats") or {}).get("current")
    return UsageSample(cpu_seconds=cpu / 1e9, memory_bytes=max(0, memory.get("usage", 0) - cache),
                       processes=pids, taken=taken)


def _target_type(project: "Project", run: "RunRecord") -> str:
    try:
        return str(project.load_compute(run.target).type)
    except DeckError:
        # The built-in local target works without a file; another unreadable one is unknown.
        return "local" if run.target == "local" else "unknown"


# -- one run, read again and again ------------------------------------------------------------

class UsageMeter:
    """Reads one run's usage on demand; keeps its target's engine link between reads."""

    def __init__(self, project: "Project", run: "RunRecord") -> None:
        self.project = project
        self.run = run
        self._target: DockerTarget | None = None
        self._last: UsageSample | None = None

    @staticmethod
    def measurable(project: "Project", run: "RunRecord") -> str | None:
        """None if this run's usage can be read; else why not (shown instead)."""
        if not run.status.is_active or run.external_id is None:
            return "not running"
        kind = _target_type(project, run)
        if kind == "local" or kind in _DOCKER_TYPES:
            return None
        return f"not measured on {kind} targets"

    async def read(self) -> Usage | None:
        """What the run uses now (None: it is not running any more)."""
        sample = await self._sample()
        if sample is None:
            return None
        before, self._last = self._last, sample
        return Usage(cpu_percent=cpu_percent(before, sample) if before else None,
                     memory_bytes=sample.memory_bytes, processes=sample.processes)

    async def _sample(self) -> UsageSample | None:
        external_id = self.run.external_id or ""
        if _target_type(self.project, self.run) == "local":
            return await asyncio.to_thread(local_run_sample, external_id)
        if self._target is None:
            from launchdeck.core.targets.docker.target import DockerTarget
            from launchdeck.core.targets.registry import open_target

            target = open_target(self.project, self.project.load_compute(self.run.target))
            assert isinstance(target, DockerTarget)  # measurable() lets only Docker runs here
            self._target = target
        return await container_sample(await self._target.client(), external_id)

    async def close(self) -> None:
        if self._target is not None:
            target, self._target = self._target, None
            await target.close()


# -- many runs, read again and again -----------------------------------------------------------

class UsageBoard:
    """Reads the usage of a changing set of running runs (the ones a table shows): local runs
    from one walk of /proc, containers through a ``UsageMeter`` each, kept between reads."""

    def __init__(self, project: "Project") -> None:
        self.project = project
        self._meters: dict[str, UsageMeter] = {}
        self._last: dict[str, UsageSample] = {}  # local runs' previous reads
        self.reads = 0

    async def read(self, runs: "list[RunRecord]") -> dict[str, Usage | None]:
        """Run id -> what it uses now (None: not running, or not measurable there)."""
        self.reads += 1
        wanted = {r.run_id for r in runs}
        for run_id in [rid for rid in self._meters if rid not in wanted]:
            await self._meters.pop(run_id).close()
        for run_id in [rid for rid in self._last if rid not in wanted]:
            del self._last[run_id]
        out: dict[str, Usage | None] = {}
        # Off the caller's loop: config files are parsed (once per target) and /proc walked.
        kinds, samples = await asyncio.to_thread(self._local_reads, runs)
        remote = [run for run in runs if kinds[run.run_id] in _DOCKER_TYPES]
        for run in runs:
            if kinds[run.run_id] not in _DOCKER_TYPES:
                out[run.run_id] = None
        for run_id, sample in samples.items():
            before = self._last.get(run_id)
            if sample is None:
                self._last.pop(run_id, None)
                continue
            self._last[run_id] = sample
            out[run_id] = Usage(cpu_percent=cpu_percent(before, sample) if before else None,
                                memory_bytes=sample.memory_bytes, processes=sample.processes)

        async def one(run: "RunRecord") -> None:
            meter = self._meters.get(run.run_id)
            if meter is None:
                meter = self._meters[run.run_id] = UsageMeter(self.project, run)
            try:
                out[run.run_id] = await meter.read()
            except Exception:  # noqa: BLE001 - an engine or link may fail any way
                out[run.run_id] = None  # the Info tab says why; a table cell stays empty

        await asyncio.gather(*(one(run) for run in remote))
        return out

    def _local_reads(self, runs: "list[RunRecord]"):
        """(run id -> its target's type, or "" when it cannot be measured; run id -> sample of
        the local ones)."""
        types: dict[str, str] = {}
        kinds: dict[str, str] = {}
        local: dict[str, str] = {}
        for run in runs:
            if not run.status.is_active or run.external_id is None:
                kinds[run.run_id] = ""
                continue
            if run.target not in types:
                types[run.target] = _target_type(self.project, run)
            kinds[run.run_id] = types[run.target]
            if types[run.target] == "local":
                local[run.run_id] = run.external_id
        return kinds, (local_run_samples(local) if local else {})

    async def close(self) -> None:
        meters, self._meters = self._meters, {}
        for meter in meters.values():
            await meter.close()
