"""Deck's overhead on the local target, and how fast history answers.

1. Median wall time of `deck submit -c local hello.py` against plain `python hello.py` in the
   same run, interleaved; the difference is deck's overhead (goal: at most 0.10 s). Then the
   same in CPU seconds of every process each starts (deck, its keeper, the script): on a busy
   machine wall time mostly measures the wait for a core, CPU time what deck costs.
2. Start-up of quick commands against `python -c pass`: `deck --version` and `deck runs list`
   on a small history (goal: the same 0.10 s over the interpreter's own start).
3. `deck runs list --json` on a history of 10,000 runs (goal: at most 0.3 s).

deck is the one `pip install .` gives (in a venv under .cache/, made once per source content).

Run: python bench/bench_submit.py [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import (copy_sample_project, cpu_command, installed_deck,  # noqa: E402
                           median, report, time_command)


def bench_submit(project: Path, repeat: int) -> None:
    (project / "hello.py").write_text("print('hello')\n")
    deck = installed_deck()
    time_command([*deck, "submit", "-c", "local", "hello.py"], cwd=project)  # warm the store
    deck_times, python_times = [], []
    for _ in range(repeat):
        python_times.append(time_command([sys.executable, "hello.py"], cwd=project))
        deck_times.append(time_command([*deck, "submit", "-c", "local", "hello.py"], cwd=project))
    d, p = median(deck_times), median(python_times)
    report("deck submit -c local hello.py (median)", d, baseline=p)
    report("  python hello.py (median)", p)
    report("deck overhead over plain python (median)", d - p, goal="<= 0.10 s")
    deck_cpu, python_cpu = [], []
    for _ in range(repeat):
        python_cpu.append(cpu_command([sys.executable, "hello.py"], cwd=project))
        deck_cpu.append(cpu_command([*deck, "submit", "-c", "local", "hello.py"], cwd=project))
    d, p = median(deck_cpu), median(python_cpu)
    report("deck submit, CPU of all its processes (median)", d, "s cpu", baseline=p)
    report("  python hello.py, CPU (median)", p, "s cpu")
    report("deck overhead over plain python, CPU (median)", d - p, "s cpu")


def bench_startup(project: Path, repeat: int) -> None:
    deck = installed_deck()
    commands = {"deck --version": [*deck, "--version"],
                "deck runs list": [*deck, "runs", "list"]}
    times: dict[str, list[float]] = {name: [] for name in commands}
    python_times = []
    for _ in range(repeat):
        python_times.append(time_command([sys.executable, "-c", "pass"], cwd=project))
        for name, argv in commands.items():
            times[name].append(time_command(argv, cwd=project))
    p = median(python_times)
    for name, values in times.items():
        report(f"{name} (median)", median(values), baseline=p)
        report(f"  {name}: over python -c pass (median)", median(values) - p,
               goal="<= 0.10 s")
    report("  python -c pass (median)", p)


def bench_runs_list(project: Path, repeat: int) -> None:
    from launchdeck.core.history.records import RunRecord
    from launchdeck.core.history.store import HistoryStore
    from launchdeck.core.runs.state import RunState

    history = HistoryStore(project / ".deck" / "history.db")
    existing = len(history.list_runs())
    conn = history._conn  # bulk insert in one transaction: filling is not what is measured
    conn.execute("BEGIN")
    for i in range(10_000 - existing):
        day = 1 + i % 28
        run = RunRecord(run_id=f"bench_{i:06d}", status=RunState.COMPLETED, target="local",
                        run_configuration="local", script="train.py", arguments=("--epochs", "3"),
                        framework="Python", snapshot="ab" * 32, config={"Target": "local"},
                        created_utc=f"2026-10-{day:02d}T00:00:{i % 60:02d}.{i:06d}Z")
        conn.execute(
            "INSERT INTO runs (run_id, status, target, run_configuration, script, arguments, "
            "framework, snapshot, config, created_utc, start_time_utc, end_time_utc, exit_code) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,0)",
            (run.run_id, "Completed", run.target, run.run_configuration, run.script,
             '["--epochs", "3"]', run.framework, run.snapshot, '{"Target": "local"}',
             run.created_utc, run.created_utc, run.created_utc))
    conn.execute("COMMIT")
    history.close()
    deck = installed_deck()
    times = [time_command([*deck, "runs", "list", "--json"], cwd=project) for _ in range(repeat)]
    report("deck runs list --json, 10,000 runs (median)", median(times), goal="<= 0.3 s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = copy_sample_project(Path(tmp) / "project")
        bench_submit(project, args.repeat)
        bench_startup(project, args.repeat)
        bench_runs_list(project, args.repeat)


if __name__ == "__main__":
    main()
