"""The run record: what each run folder keeps so history can be rebuilt without the database.

``.deck/runs/RUN_ID/run.json`` holds the run's whole ``runs`` row (every column, by name, so
columns added by later migrations come back too), its timeline and its artifacts; it is
replaced atomically after every change the history store commits. Metric values are appended
to ``run_metrics.jsonl`` beside it (rewriting them all at each metric would cost O(n^2)).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator

RECORD_NAME = "run.json"
METRICS_NAME = "run_metrics.jsonl"
FORMAT = 1


def run_folder(runs_dir: Path, run_id: str) -> Path | None:
    # Ids come from history; a foreign one that could point elsewhere gets no record file.
    if not run_id or run_id in (".", "..") or "/" in run_id or "\0" in run_id:
        return None
    return runs_dir / run_id


def save_record(conn: sqlite3.Connection, runs_dir: Path, run_id: str) -> None:
    """Write ``run.json`` for ``run_id`` from what the database holds now."""
    folder = run_folder(runs_dir, run_id)
    if folder is None:
        return
    row = conn.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
    if row is None:
        return
    data = {
        "format": FORMAT,
        "run": {key: row[key] for key in row.keys()},
        "events": [list(r) for r in conn.execute(
            "SELECT time_utc, status, note FROM run_events WHERE run_id=? ORDER BY rowid",
            (run_id,))],
        "artifacts": [list(r) for r in conn.execute(
            "SELECT path, size FROM artifacts WHERE run_id=? ORDER BY path", (run_id,))],
    }
    _guarded(folder, lambda: _write_atomic(folder / RECORD_NAME,
                                           json.dumps(data, ensure_ascii=False).encode()))


def append_metrics(runs_dir: Path, run_id: str,
                   rows: Iterable[tuple[int, str, str, str | None]]) -> None:
    """Append ``(seq, name, value as JSON text, time)`` rows to the run's metrics record."""
    folder = run_folder(runs_dir, run_id)
    if folder is None:
        return
    text = "".join(json.dumps([seq, name, value, time_utc], ensure_ascii=False) + "\n"
                   for seq, name, value, time_utc in rows)
    if text:
        def append() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / METRICS_NAME, "a", encoding="utf-8") as f:
                f.write(text)
        _guarded(folder, append)


def read_record(folder: Path) -> dict[str, Any]:
    """The record of one run folder; ``ValueError`` or ``OSError`` when it cannot be read."""
    data = json.loads((folder / RECORD_NAME).read_bytes())
    if not isinstance(data, dict) or not isinstance(data.get("run"), dict) \
            or data["run"].get("run_id") != folder.name:
        raise ValueError(f"{folder / RECORD_NAME}: not a run record of {folder.name}")
    return data


def read_metrics(folder: Path) -> Iterator[tuple[int, str, str, str | None]]:
    """The metric rows of a run folder; a torn last line (a crash mid-append) is skipped."""
    try:
        f = open(folder / METRICS_NAME, encoding="utf-8")
    except FileNotFoundError:
        return
    with f:
        for line in f:
            try:
                seq, name, value, time_utc = json.loads(line)
            except ValueError:
                continue
            yield int(seq), str(name), str(value), time_utc


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _guarded(folder: Path, write) -> None:
    # The database already committed the change; a record that cannot be written (full disk,
    # read-only folder) is said, and the next change writes it whole again.
    try:
        write()
    except OSError as exc:
        from launchdeck.core.diskerrors import storage_error

        print(f"deck: warning: the run record in {folder} was not updated: "
              f"{storage_error(exc)}", file=sys.stderr)


def output_log(run_dir: Path, run) -> Path | None:
    """The run's log, None when it has none yet; a log or run folder that is gone is an error.

    ``run`` is its ``RunRecord``: a run that never started has written no log, while one that
    started always has (its keeper creates it), so a missing file then means it was lost.
    """
    from launchdeck.core.errors import HistoryError
    from launchdeck.core.runs.state import RunState

    log = run_dir / "output.log"
    if log.exists():
        return log
    if not run_dir.is_dir() and run.status is not RunState.QUEUED:
        raise HistoryError(f"run {run.run_id}: its run folder {run_dir} is gone (its output, "
                           "outputs and record were there)")
    if run.start_time_utc is not None:
        raise HistoryError(f"run {run.run_id}: its log {log} is gone")
    return None
