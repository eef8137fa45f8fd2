"""Rebuild the run history from the run folders' records; move a damaged database aside.

Used when a database is created while run folders exist (it was deleted, emptied, or moved
aside because it was damaged) and by ``deck history repair`` (``core.history.db.repair``).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from launchdeck.core.history.runfile import RECORD_NAME, read_metrics, read_record


@dataclass
class RepairReport:
    restored: list[str] = field(default_factory=list)
    #: Run folders that could not be restored, with the reason.
    problems: list[tuple[str, str]] = field(default_factory=list)
    moved_aside: Path | None = None

    def summary(self) -> str:
        text = f"rebuilt {len(self.restored)} run(s) of the run history from their run folders"
        if self.problems:
            shown = "; ".join(f"{name}: {why}" for name, why in self.problems[:5])
            more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
            text += f"; {len(self.problems)} run folder(s) could not be restored: {shown}{more}"
        return text


def restore_runs(conn: sqlite3.Connection, runs_dir: Path) -> RepairReport:
    """Insert every run recorded under ``runs_dir`` that the database lacks.

    Runs inside the caller's transaction. Runs go in by creation time, so the database's own
    order (which decides who is next in a target's queue) is submit order again.
    """
    report = RepairReport()
    columns = {r[1] for r in conn.execute("PRAGMA table_info(runs)")}
    known = {r[0] for r in conn.execute("SELECT run_id FROM runs")}
    records = []
    try:
        folders = sorted(p for p in runs_dir.iterdir() if p.is_dir())
    except FileNotFoundError:
        folders = []
    for folder in folders:
        if folder.name in known:
            continue
        if not (folder / RECORD_NAME).exists():
            report.problems.append((folder.name, f"no {RECORD_NAME} (a run of an older deck)"))
            continue
        try:
            records.append((folder, read_record(folder)))
        except (OSError, ValueError) as exc:
            report.problems.append((folder.name, f"unreadable {RECORD_NAME}: {exc}"))
    records.sort(key=lambda item: (str(item[1]["run"].get("created_utc") or ""), item[0].name))
    for folder, data in records:
        row = {k: v for k, v in data["run"].items() if k in columns}
        try:
            conn.execute(f"INSERT INTO runs ({', '.join(row)}) "
                         f"VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
            conn.executemany("INSERT INTO run_events VALUES (?,?,?,?)",
                             [(folder.name, *event) for event in data.get("events", [])])
            conn.executemany("INSERT OR IGNORE INTO artifacts VALUES (?,?,?)",
                             [(folder.name, *a) for a in data.get("artifacts", [])])
            conn.executemany("INSERT OR IGNORE INTO metrics VALUES (?,?,?,?,?)",
                             [(folder.name, *m) for m in read_metrics(folder)])
        except (sqlite3.IntegrityError, TypeError, ValueError) as exc:
            report.problems.append((folder.name, f"record does not fit the history: {exc}"))
            continue
        report.restored.append(folder.name)
    if "run_number" in columns:
        _renumber(conn)
    if "queue_order" in columns:  # records older than queue places: submit (row) order
        conn.execute("UPDATE runs SET queue_order = rowid WHERE queue_order IS NULL")
    return report


def _renumber(conn: sqlite3.Connection) -> None:
    """Runs recorded before run numbers existed get the next ones, in creation order; the
    counter goes past every number in use, so none is handed out twice."""
    unnumbered = [r[0] for r in conn.execute(
        "SELECT run_id FROM runs WHERE run_number IS NULL ORDER BY created_utc, rowid")]
    top = conn.execute("SELECT COALESCE(MAX(run_number), 0) FROM runs").fetchone()[0]
    for number, run_id in enumerate(unnumbered, start=top + 1):
        conn.execute("UPDATE runs SET run_number=? WHERE run_id=?", (number, run_id))
    top += len(unnumbered)
    conn.execute("UPDATE run_counter SET last_number = MAX(last_number, ?)", (top,))


def move_aside(path: Path) -> Path:
    """Rename a damaged database (and its -wal, -shm) to a new, timestamped name."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while any(Path(f"{aside}{s}").exists() for s in ("", "-wal", "-shm")):
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    for suffix in ("-wal", "-shm", ""):  # the main file last: it is what says "damaged"
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.rename(source, f"{aside}{suffix}")
    return aside
