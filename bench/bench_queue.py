"""Queued runs cost nothing: the processes and memory of N runs queued on a target with one
slot, and how soon the next run starts when the slot frees.

1. A blocker holds local's only slot (``maxConcurrentRuns: 1``); N runs of a one-line script
   are queued behind it with core's ``submit`` from a worker thread (as the dashboard submits;
   the CLI's own submit forks a keeper seed that exits when the run has to wait).
   Counted: every process of the project (keepers, the blocker's waiter and script: see
   ``_common.processes_of``), those running the keeper module, and the sum of their memory
   (``VmRSS``, and ``Pss``, which splits pages a keeper shares with its forked waiter).
2. The hand-over: the blocker is released, and the first H queued runs run one after the
   other with no deck command alive. For each, the time from the end of the run before it to
   its start (history's ``end_time_utc`` -> ``start_time_utc``): median and p95.
3. The rest of the queue is canceled (queued runs hold no process: each cancel is a write).

Run: python bench/bench_queue.py [--runs 1000] [--handovers 20]
The keeper-per-queued-run behaviour before the change (main before ``core/runs/dispatch.py``)
runs the same script with its own interpreter; keep ``--runs`` small there (30: about 14 MB a
queued run).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (copy_sample_project, median, p95, processes_of,  # noqa: E402
                           report, stop_project)


def memory_kib(pid: int, field: str = "VmRSS:", where: str = "status") -> int:
    """A memory figure of ``pid`` in KiB: resident (``VmRSS``, pages shared with a keeper's
    forked waiter counted in both) or proportional (``Pss`` of ``smaps_rollup``: shared pages
    split between their sharers, so the sum is the memory really used)."""
    try:
        for line in Path(f"/proc/{pid}/{where}").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid: int) -> int:
    return memory_kib(pid, "Pss:", "smaps_rollup")


def keepers_of(project: Path, history) -> set[int]:
    from launchdeck.core.runs.liveness import pid_alive

    found = {r.keeper_pid for r in history.list_runs()
             if r.keeper_pid and r.status.is_active and pid_alive(r.keeper_pid)}
    for pid in processes_of(project):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"launchdeck.core.runs.keeper" in argv:
            found.add(pid)
    return found


def in_thread(job):
    """Run ``job`` in a worker thread (so submit starts keepers as a threaded caller does)."""
    result: list = []
    failure: list = []

    def body():
        try:
            result.append(job())
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            failure.append(exc)

    worker = threading.Thread(target=body)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return result[0]


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def seconds_between(earlier: str, later: str) -> float:
    from launchdeck.core.history.records import parse_utc

    return (parse_utc(later) - parse_utc(earlier)).total_seconds()


def bench(project: Path, runs: int, handovers: int) -> None:
    from launchdeck.core.history.store import HistoryStore
    from launchdeck.core.project import Project
    from launchdeck.core.runs.submit import submit

    compute = project / "aml_config" / "local.compute"
    compute.write_text(compute.read_text() + "maxConcurrentRuns: 1\n")
    release = project.parent / "release"
    os.environ["RELEASE"] = str(release)
    (project / "block.py").write_text(
        "import os, time\nwhile not os.path.exists(os.environ['RELEASE']): time.sleep(0.05)\n")
    (project / "quick.py").write_text("print('ran')\n")
    deck = Project(project)
    history = HistoryStore(project / ".deck" / "history.db")
    blocker = in_thread(lambda: submit(deck, "local", str(project / "block.py"))).run_id
    wait_until(lambda: history.get_run(blocker).status.value == "Running", 120, "the blocker")
    began = time.perf_counter()
    queued = in_thread(lambda: [submit(deck, "local", str(project / "quick.py")).run_id
                                for _ in range(runs)])
    report(f"queue {runs} runs (core submit, total)", time.perf_counter() - began)
    # A keeper started for a queued run (the old way) needs a moment to load: count once the
    # count stops growing.
    counts: list[int] = []
    for _ in range(40):
        counts.append(len(keepers_of(project, history)))
        if len(counts) >= 5 and counts[-5:] == [counts[-1]] * 5:
            break
        time.sleep(0.25)
    everything = processes_of(project)
    keepers = keepers_of(project, history)
    report(f"processes of the project, {runs} queued + 1 running", len(everything), "")
    report("  running the keeper module (keepers, their waiters)", len(keepers), "")
    report("  memory of them all (sum of VmRSS)",
           sum(memory_kib(pid) for pid in everything) / 1024, "MB")
    report("  memory of them all (sum of Pss)", sum(pss_kib(p) for p in everything) / 1024, "MB")

    release.touch()
    chain = [blocker, *queued[:handovers]]
    wait_until(lambda: all(history.get_run(r).status.is_terminal for r in chain),
               60 + 20 * handovers, "the hand-overs")
    records = [history.get_run(r) for r in chain]
    gaps = [seconds_between(before.end_time_utc, after.start_time_utc)
            for before, after in zip(records, records[1:])]
    in_order = all(a.start_time_utc <= b.start_time_utc for a, b in zip(records, records[1:]))
    report(f"slot freed -> next run started, {len(gaps)} hand-overs (median)", median(gaps))
    report(f"  (p95)", p95(gaps))
    print(f"  started in submit order: {in_order}", flush=True)

    rest = [r for r in reversed(queued) if history.get_run(r).status.is_active]
    began = time.perf_counter()
    from launchdeck.core.runs.control import request_cancel

    for run_id in rest:
        try:
            request_cancel(deck, run_id)
        except Exception:  # noqa: BLE001 - it ended meanwhile
            pass
    report(f"cancel the {len(rest)} still queued (total)", time.perf_counter() - began)
    history.close()
    deck.history.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--handovers", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_sample_project(Path(tmp) / "project")
        try:
            bench(project, args.runs, args.handovers)
        finally:
            stop_project(project)


if __name__ == "__main__":
    main()
