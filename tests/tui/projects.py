"""Projects for dashboard tests: a copy of sample_project, with a history filled by hand.

Times are fixed (and the app's clock with them) so snapshots are the same on every machine;
``transition`` stamps the current time, so the fixture rewrites the timestamps afterwards.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from launchdeck.core.history.records import RunRecord
from launchdeck.core.history.store import HistoryStore
from launchdeck.core.project import Project
from launchdeck.core.runs.state import RunState

SAMPLE = Path(__file__).resolve().parents[2] / "sample_project"
T0 = datetime(2026, 11, 28, 9, 0, 0, tzinfo=timezone.utc)
NOW = T0 + timedelta(hours=2)
PATHS = {RunState.QUEUED: [], RunState.PREPARING: [RunState.PREPARING],
         RunState.RUNNING: [RunState.RUNNING],
         RunState.COMPLETED: [RunState.RUNNING, RunState.COMPLETED],
         RunState.FAILED: [RunState.RUNNING, RunState.FAILED],
         RunState.CANCELED: [RunState.RUNNING, RunState.CANCELED]}


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def clock() -> float:
    return NOW.timestamp()


@dataclass
class FakeRun:
    status: RunState
    script: str = "train.py"
    runconfig: str = "local"
    target: str = "local"
    arguments: tuple[str, ...] = ("--epochs", "5")
    metrics: dict[str, list[Any]] = field(default_factory=dict)
    log: str | None = None
    artifacts: tuple[tuple[str, int], ...] = ()
    config: dict[str, Any] | None = None
    error: str | None = None


def copy_sample(tmp_path: Path, name: str = "sample") -> Project:
    root = tmp_path / name
    shutil.copytree(SAMPLE, root, ignore=shutil.ignore_patterns(".deck"))
    return Project(root)


def run_id(index: int) -> str:
    return f"sample_{1764320400000 + index * 60000}"


def fill_history(project: Project, runs: list[FakeRun]) -> list[str]:
    """Insert ``runs`` (oldest first) with fixed ids and times; return their ids."""
    store = HistoryStore(project.deck_dir / "history.db")
    ids = []
    for index, fake in enumerate(runs):
        rid = run_id(index)
        ids.append(rid)
        created = T0 + timedelta(minutes=index)
        config = fake.config or {"Target": fake.target, "type": "local", "Framework": "Python",
                                 "ArgumentVector": ["$file", "--epochs", "5"],
                                 "PrepareEnvironment": False, "TrackedRun": True,
                                 "env.LEARNING_RATE": "0.3"}
        store.insert_run(RunRecord(
            run_id=rid, status=RunState.QUEUED, target=fake.target,
            run_configuration=fake.runconfig, script=fake.script,
            arguments=tuple(fake.arguments), framework="Python",
            snapshot=f"{index:02d}" + "ab" * 31, config=config, created_utc=iso(created)))
        for state in PATHS[fake.status]:
            store.transition(rid, state, exit_code=0 if state is RunState.COMPLETED else
                             (1 if state is RunState.FAILED else None), error=fake.error
                             if state is RunState.FAILED else None)
        if fake.metrics:
            entries = [(name, value, None) for name, values in fake.metrics.items()
                       for value in values]
            store.add_metrics(rid, entries, new_offset=len(entries) * 40)
        if fake.artifacts:
            store.set_artifacts(rid, fake.artifacts)
        if fake.log is not None:
            run_dir = project.run_dir(rid)
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "output.log").write_text(fake.log)
            for path, size in fake.artifacts:
                (run_dir / path).parent.mkdir(parents=True, exist_ok=True)
                (run_dir / path).write_text("x" * size)
        _fix_times(project, rid, created, fake)
    store.close()
    return ids


def _fix_times(project: Project, rid: str, created: datetime, fake: FakeRun) -> None:
    start = created + timedelta(seconds=2)
    end = start + timedelta(seconds=42)
    conn = sqlite3.connect(project.deck_dir / "history.db")
    with conn:
        conn.execute("UPDATE runs SET start_time_utc=CASE WHEN start_time_utc IS NULL THEN NULL "
                     "ELSE ? END, end_time_utc=CASE WHEN end_time_utc IS NULL THEN NULL ELSE ? "
                     "END, first_output_utc=CASE WHEN start_time_utc IS NULL THEN NULL ELSE ? "
                     "END WHERE run_id=?",
                     (iso(start), iso(end), iso(start + timedelta(seconds=1)), rid))
        rows = conn.execute("SELECT rowid, status FROM run_events WHERE run_id=? ORDER BY rowid",
                            (rid,)).fetchall()
        for rowid, status in rows:
            when = created if status == "Queued" else start if status in (
                "Preparing", "Running") else end
            conn.execute("UPDATE run_events SET time_utc=? WHERE rowid=?", (iso(when), rowid))
    conn.close()


def sample_runs() -> list[FakeRun]:
    """A small history with every state, metrics, a log and an artifact."""
    loss = [round(1 / (i + 1), 4) for i in range(20)]
    log = "".join(f"epoch {i}: loss={v}\n" for i, v in enumerate(loss))
    return [
        FakeRun(RunState.COMPLETED, metrics={"loss": loss, "w": [0.5 * i for i in range(20)],
                                             "Accuracy": [0.93]},
                log="hello from local\n" + log + "model written to outputs/model.json\n",
                artifacts=(("outputs/model.json", 48),)),
        FakeRun(RunState.FAILED, arguments=("--epochs", "x"), error="exit code 2: bad epochs",
                log="usage: train.py [-h]\ntrain.py: error: argument --epochs: invalid int\n"),
        FakeRun(RunState.CANCELED, runconfig="docker", target="docker",
                metrics={"loss": loss[:5]}, config={
                    "Target": "docker", "type": "docker", "Framework": "Python",
                    "ArgumentVector": ["$file"], "PrepareEnvironment": True,
                    "TrackedRun": True, "env.LEARNING_RATE": "0.5"}),
        FakeRun(RunState.RUNNING, metrics={"loss": loss[:8]}, log=log[:200]),
        FakeRun(RunState.QUEUED, script="score.py", arguments=()),
    ]
