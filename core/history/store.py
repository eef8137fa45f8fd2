"""``HistoryStore``: the only reader and writer of the run history database.

``transition`` is the one function in Launchdeck that changes a run's state: it checks the move
against ``core.runs.state.ALLOWED``, writes the new state and its timestamps, and appends a row to
the run's timeline in the same transaction.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Iterable

from launchdeck.core.errors import HistoryError, RunExists, RunNotFound, RunStateError
from launchdeck.core.history import runfile
from launchdeck.core.history.db import connect, history_error
from launchdeck.core.history.records import RunEvent, RunRecord, utc_now
from launchdeck.core.runs.state import ALLOWED, RunState

# Fields a caller may set without changing state (state goes through ``transition`` only).
_MUTABLE = frozenset({
    "keeper_pid", "external_id", "first_output_utc", "cancel_requested", "disconnected_since",
    "environment_id", "error", "tags",
})


def _check_mutable(fields: dict[str, Any]) -> None:
    """Refuse fields no caller may set directly; put ``tags`` in the form stored."""
    unknown = set(fields) - _MUTABLE
    if unknown:
        raise HistoryError(f"cannot set {', '.join(sorted(unknown))} directly")
    if "tags" in fields:
        fields["tags"] = json.dumps(fields["tags"]) if fields["tags"] else None


def _replace_artifacts(conn: sqlite3.Connection, run_id: str,
                       artifacts: Iterable[tuple[str, int]]) -> None:
    conn.execute("DELETE FROM artifacts WHERE run_id=?", (run_id,))
    conn.executemany("INSERT INTO artifacts VALUES (?,?,?)",
                     [(run_id, path, size) for path, size in artifacts])


class HistoryStore:
    """Runs, their timeline, metrics and artifacts, in ``.deck/history.db``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = connect(path)

    def close(self) -> None:
        self._conn.close()

    # -- writing ------------------------------------------------------------------------------

    def insert_run(self, record: RunRecord) -> None:
        """Record a newly submitted run (its state must be Queued)."""
        if record.status is not RunState.QUEUED:
            raise RunStateError(f"a new run starts as Queued, not {record.status}")
        with self._write() as conn:
            try:
                conn.execute(
                    "INSERT INTO runs (run_id, status, target, run_configuration, script, "
                    "arguments, framework, snapshot, config, created_utc, sweep_id, tags) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (record.run_id, str(record.status), record.target,
                     record.run_configuration, record.script, json.dumps(list(record.arguments)),
                     record.framework, record.snapshot, json.dumps(record.config),
                     record.created_utc, record.sweep_id,
                     json.dumps(record.tags) if record.tags else None))
            except sqlite3.IntegrityError as exc:
                raise RunExists(f"run {record.run_id} already exists") from exc
            # Inside the same write transaction: two submits never get one number.
            # fetchall: a RETURNING statement must be stepped to its end before COMMIT.
            number = conn.execute("UPDATE run_counter SET last_number = last_number + 1 "
                                  "RETURNING last_number").fetchall()[0][0]
            # Last in its target's queue; past any queued run that a rebuilt history (new row
            # order, kept queue places) left behind it.
            conn.execute(
                f"UPDATE runs SET run_number=?, queue_order=MAX(rowid, COALESCE((SELECT MAX("
                f"{_QUEUE_KEY}) FROM runs WHERE status=? AND target=?), 0) + 1) WHERE run_id=?",
                (number, str(RunState.QUEUED), record.target, record.run_id))
            conn.execute("INSERT INTO run_events VALUES (?,?,?,?)",
                         (record.run_id, record.created_utc, str(RunState.QUEUED), None))
        self._save_record(record.run_id)

    def transition(self, run_id: str, new: RunState, *, note: str | None = None,
                   exit_code: int | None = None, error: str | None = None,
                   artifacts: Iterable[tuple[str, int]] | None = None,
                   **fields: Any) -> RunRecord:
        """Move a run to ``new``; the one place a run changes state.

        ``artifacts`` (as ``set_artifacts`` takes them) and bookkeeping ``fields`` (as
        ``update_run`` takes them) are written in the same transaction: a keeper records its
        launch or its end in one write, not two (each also rewrites the run's record file).
        """
        _check_mutable(fields)
        now = utc_now()
        with self._write() as conn:
            row = conn.execute("SELECT status FROM runs WHERE run_id=?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFound(f"no run {run_id!r} in this project's history")
            old = RunState(row["status"])
            if new not in ALLOWED[old]:
                raise RunStateError(f"run {run_id} is {old}; it cannot become {new}")
            sets: dict[str, Any] = {"status": str(new)}
            if new in (RunState.PREPARING, RunState.RUNNING):
                conn.execute("UPDATE runs SET start_time_utc=COALESCE(start_time_utc, ?) "
                             "WHERE run_id=?", (now, run_id))
            if new.is_terminal:
                sets["end_time_utc"] = now
                sets["exit_code"] = exit_code
                sets["disconnected_since"] = None
            if error is not None:
                sets["error"] = error
            sets.update(fields)
            assignments = ", ".join(f"{k}=?" for k in sets)
            conn.execute(f"UPDATE runs SET {assignments} WHERE run_id=?",
                         (*sets.values(), run_id))
            conn.execute("INSERT INTO run_events VALUES (?,?,?,?)",
                         (run_id, now, str(new), note or error))
            if artifacts is not None:
                _replace_artifacts(conn, run_id, artifacts)
        self._save_record(run_id)
        return self.get_run(run_id)

    def update_run(self, run_id: str, **fields: Any) -> None:
        """Set bookkeeping fields (never the state)."""
        _check_mutable(fields)
        assignments = ", ".join(f"{k}=?" for k in fields)
        with self._write() as conn:
            cur = conn.execute(f"UPDATE runs SET {assignments} WHERE run_id=?",
                               (*fields.values(), run_id))
            if cur.rowcount == 0:
                raise RunNotFound(f"no run {run_id!r} in this project's history")
        self._save_record(run_id)

    def add_metrics(self, run_id: str, entries: Iterable[tuple[str, Any, str | None]],
                    *, new_offset: int) -> None:
        """Append metric values and the metrics-file offset they were read up to, atomically."""
        with self._write() as conn:
            seq = conn.execute("SELECT COALESCE(MAX(seq), -1) FROM metrics WHERE run_id=?",
                               (run_id,)).fetchone()[0]
            rows = []
            for name, value, time_utc in entries:
                seq += 1
                rows.append((run_id, seq, name, json.dumps(value), time_utc))
            conn.executemany("INSERT INTO metrics VALUES (?,?,?,?,?)", rows)
            conn.execute("UPDATE runs SET metrics_offset=? WHERE run_id=?", (new_offset, run_id))
        runfile.append_metrics(self._runs_dir, run_id, [r[1:] for r in rows])

    def delete_runs(self, run_ids: Iterable[str]) -> None:
        """Remove runs with their timeline, metrics and artifacts (their numbers stay used)."""
        ids = list(run_ids)
        with self._write() as conn:
            conn.executemany("DELETE FROM runs WHERE run_id=?", [(i,) for i in ids])

    def set_artifacts(self, run_id: str, artifacts: Iterable[tuple[str, int]]) -> None:
        with self._write() as conn:
            _replace_artifacts(conn, run_id, artifacts)
        self._save_record(run_id)

    # -- reading ------------------------------------------------------------------------------

    def get_run(self, run_id: str, *, details: bool = False) -> RunRecord:
        row = self._conn.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(f"no run {run_id!r} in this project's history")
        record = RunRecord.from_row(row)
        if details:
            from dataclasses import replace
            record = replace(record, metrics=self.metrics(run_id),
                             artifacts=tuple(p for p, _ in self.artifacts(run_id)))
        return record

    def find_exact(self, run_id: str) -> RunRecord | None:
        """The run with this id, or None if history has none (deleted meanwhile)."""
        row = self._conn.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone()
        return RunRecord.from_row(row) if row is not None else None

    def count_runs(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def run_ids(self) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT run_id FROM runs")]

    def find_run(self, ref: str) -> RunRecord:
        """The run ``ref`` names: its id, its run number, or a unique part of its id.

        The rule is ``core.history.runref.resolve_run_ref`` (the dashboard uses it too); SQL
        only narrows the runs it looks at.
        """
        from launchdeck.core.history.runref import resolve_run_ref

        text = ref.strip()
        digits = text.lstrip("#")
        number = int(digits) if digits.isdigit() else None
        rows = self._conn.execute(
            "SELECT run_id, run_number FROM runs WHERE run_id=? OR run_number=? "
            "OR instr(run_id, ?) > 0", (text, number, text)).fetchall()
        found = resolve_run_ref(text, [_RunKey(r[0], r[1]) for r in rows])
        return self.get_run(found.run_id)

    def last_run(self) -> RunRecord:
        """The most recently submitted run."""
        row = self._conn.execute(
            "SELECT * FROM runs ORDER BY created_utc DESC, rowid DESC LIMIT 1").fetchone()
        if row is None:
            raise RunNotFound("this project has no runs yet")
        return RunRecord.from_row(row)

    def list_runs(self, *, status: Iterable[RunState] | None = None, target: str | None = None,
                  limit: int | None = None, newest_first: bool = True,
                  sweep: str | None = None) -> list[RunRecord]:
        sql, params = self._list_query("*", status, target, limit, newest_first, sweep)
        return [RunRecord.from_row(r) for r in self._conn.execute(sql, params)]

    def list_runs_json(self, *, status: Iterable[RunState] | None = None,
                       target: str | None = None, limit: int | None = None,
                       last_metrics: bool = False, sweep: str | None = None) -> list[str]:
        """``list_runs`` as ready JSON texts (RunRecord.to_json without metrics), built by
        SQLite itself: ten thousand runs in a few milliseconds.

        With ``last_metrics`` each object also has ``"metrics"``: name -> the last value logged
        (what ``runs list`` shows, and what a ``--query`` such as ``max_by(...)`` compares).
        """
        columns, source = _JSON_COLUMNS, _RUNS
        if last_metrics:
            metrics = _LAST_METRICS
            if limit is None:
                # Every run listed: the last values of every run's metrics come from one pass
                # over the metrics table, not one lookup per run (10,000 runs: a tenth faster).
                metrics, source = "COALESCE(last.m, '{}')", _RUNS_WITH_LAST_METRICS
            columns = f"json_set({_JSON_COLUMNS}, '$.metrics', json({metrics}))"
        sql, params = self._list_query(columns, status, target, limit, True, sweep, source)
        cursor = self._conn.execute(sql, params)
        cursor.row_factory = _first_column
        return cursor.fetchall()

    def _list_query(self, columns: str, status, target, limit, newest_first, sweep=None,
                    source: str | None = None):
        where, params = [], []
        if sweep is not None:
            where.append("sweep_id=?")
            params.append(sweep)
        if status is not None:
            states = [str(s) for s in status]
            where.append(f"status IN ({','.join('?' * len(states))})")
            params += states
        if target is not None:
            where.append("target=?")
            params.append(target)
        sql = (source or _RUNS).format(columns=columns)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY created_utc {'DESC' if newest_first else 'ASC'}, runs.rowid"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return sql, params

    def queued_ahead(self, run_id: str, target: str) -> list[RunRecord]:
        """Queued runs of ``target`` before ``run_id`` in its queue, first first."""
        return [RunRecord.from_row(r) for r in self._conn.execute(
            f"SELECT * FROM runs WHERE target=? AND status=? AND ({_QUEUE_KEY}, rowid) < "
            f"(SELECT {_QUEUE_KEY}, rowid FROM runs WHERE run_id=?) ORDER BY {_QUEUE_KEY}, rowid",
            (target, str(RunState.QUEUED), run_id))]

    def queue(self, target: str) -> list[str]:
        """The ids of ``target``'s queued runs in the order they take its slots."""
        return [r[0] for r in self._conn.execute(
            f"SELECT run_id FROM runs WHERE target=? AND status=? ORDER BY {_QUEUE_KEY}, rowid",
            (target, str(RunState.QUEUED)))]

    def queue_keepers(self, target: str) -> list[tuple[str, int | None, bool]]:
        """``target``'s queued runs in queue order as (run id, keeper pid, launched): what the
        dispatcher counts (``core.runs.dispatch``), without reading a thousand whole records."""
        return [(r[0], r[1], r[2] is not None) for r in self._conn.execute(
            f"SELECT run_id, keeper_pid, external_id FROM runs WHERE target=? AND status=? "
            f"ORDER BY {_QUEUE_KEY}, rowid", (target, str(RunState.QUEUED)))]

    def move_in_queue(self, run_id: str, where: str) -> list[str]:
        """Move a queued run ``up`` or ``down`` one place, or to the ``front``, of its target's
        queue; its queue after the move (ids, first first)."""
        if where not in QUEUE_MOVES:
            raise HistoryError(f"cannot move a run {where!r}: say one of "
                               f"{', '.join(QUEUE_MOVES)}")
        with self._write() as conn:
            row = conn.execute("SELECT status, target FROM runs WHERE run_id=?",
                               (run_id,)).fetchone()
            if row is None:
                raise RunNotFound(f"no run {run_id!r} in this project's history")
            if row["status"] != str(RunState.QUEUED):
                raise RunStateError(f"run {run_id} is {row['status']}; only a queued run has a "
                                    "place in the queue")
            queue = [(r[0], r[1]) for r in conn.execute(
                f"SELECT run_id, {_QUEUE_KEY} FROM runs WHERE target=? AND status=? "
                f"ORDER BY {_QUEUE_KEY}, rowid", (row["target"], str(RunState.QUEUED)))]
            keys = [key for _, key in queue]
            at = [rid for rid, _ in queue].index(run_id)
            # One row is written: its key goes between its new neighbours' keys.
            if where == "front" or (where == "up" and at == 1):
                new = keys[0] - 1 if at > 0 else None
            elif where == "up":
                new = (keys[at - 2] + keys[at - 1]) / 2 if at > 0 else None
            elif at + 1 >= len(queue):
                new = None  # down from the back: nowhere to go
            else:
                new = (keys[at + 1] + keys[at + 2]) / 2 if at + 2 < len(queue) \
                    else keys[at + 1] + 1
            if new is not None:
                conn.execute("UPDATE runs SET queue_order=? WHERE run_id=?", (new, run_id))
        if new is not None:
            self._save_record(run_id)
        return self.queue(row["target"])

    def metrics(self, run_id: str) -> dict[str, list[Any]]:
        """Metric name -> every value logged, in order."""
        out: dict[str, list[Any]] = {}
        for name, value in self._conn.execute(
                "SELECT name, value FROM metrics WHERE run_id=? ORDER BY seq", (run_id,)):
            out.setdefault(name, []).append(json.loads(value))
        return out

    def last_metrics(self, run_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Run id -> metric name -> last value, for many runs in one query."""
        out: dict[str, dict[str, Any]] = {r: {} for r in run_ids}
        for chunk_start in range(0, len(run_ids), 500):
            chunk = run_ids[chunk_start:chunk_start + 500]
            marks = ",".join("?" * len(chunk))
            # SQLite picks each name's last row, and only that value is decoded here: a long
            # run logs thousands of values, and the dashboard asks for its last ones each second.
            for run_id, name, value in self._conn.execute(
                    "SELECT g.run_id, g.name, m.value FROM (SELECT run_id, name, MIN(seq) AS "
                    f"first, MAX(seq) AS last FROM metrics WHERE run_id IN ({marks}) "
                    "GROUP BY run_id, name) AS g JOIN metrics AS m ON m.run_id = g.run_id "
                    "AND m.seq = g.last ORDER BY g.run_id, g.first", chunk):
                out[run_id][name] = json.loads(value)  # names in the order first logged
        return out

    def artifacts(self, run_id: str) -> list[tuple[str, int]]:
        return [(r[0], r[1]) for r in self._conn.execute(
            "SELECT path, size FROM artifacts WHERE run_id=? ORDER BY path", (run_id,))]

    def events(self, run_id: str) -> list[RunEvent]:
        return [RunEvent(time_utc=r[0], status=r[1], note=r[2]) for r in self._conn.execute(
            "SELECT time_utc, status, note FROM run_events WHERE run_id=? ORDER BY rowid",
            (run_id,))]

    def data_version(self) -> int:
        """Changes whenever another connection commits: a cheap "did anything change?"."""
        return self._conn.execute("PRAGMA data_version").fetchone()[0]

    # -- internals ----------------------------------------------------------------------------

    def _write(self) -> "_Transaction":
        return _Transaction(self._conn, self.path)

    @property
    def _runs_dir(self) -> Path:
        return self.path.parent / "runs"

    def _save_record(self, run_id: str) -> None:
        """Keep the run folder's record (``run.json``) in step: history is rebuilt from it."""
        runfile.save_record(self._conn, self._runs_dir, run_id)


#: How ``move_in_queue`` moves a queued run.
QUEUE_MOVES = ("up", "down", "front")
# A run's place in its target's queue (queue_order is NULL only in a history rebuilt from
# run folders older than queue places: then the row order is submit order).
_QUEUE_KEY = "COALESCE(queue_order, rowid)"

# Must give the same keys and values as RunRecord.to_json (a test compares them).
_JSON_COLUMNS = """json_object(
    'run_id', run_id, 'run_number', run_number, 'status', status, 'exit_code', exit_code, 'target', target,
    'run_configuration', run_configuration, 'script', script, 'arguments', json(arguments),
    'framework', framework, 'created_utc', created_utc, 'start_time_utc', start_time_utc,
    'end_time_utc', end_time_utc,
    'duration_s', CASE WHEN start_time_utc IS NULL THEN NULL ELSE round(
        (julianday(COALESCE(end_time_utc, 'now')) - julianday(start_time_utc)) * 86400.0, 3) END,
    'snapshot', snapshot, 'error', error, 'external_id', external_id,
    'environment_id', environment_id, 'disconnected_since', disconnected_since,
    'sweep_id', sweep_id, 'tags', json(COALESCE(tags, '{}')))"""

# Name -> last value of one run's metrics (SQLite takes a bare column from the MAX(seq) row).
_LAST_METRICS = """(SELECT json_group_object(name, json(value)) FROM (
    SELECT name, value, MAX(seq) FROM metrics WHERE metrics.run_id = runs.run_id GROUP BY name))"""

_RUNS = "SELECT {columns} FROM runs"
# Runs joined with their metrics' last values as one JSON object (``last.m``; NULL: none).
_RUNS_WITH_LAST_METRICS = """WITH last AS (
    SELECT run_id AS rid, json_group_object(name, json(value)) AS m FROM (
        SELECT run_id, name, value, MAX(seq) FROM metrics GROUP BY run_id, name)
    GROUP BY run_id)
SELECT {columns} FROM runs LEFT JOIN last ON last.rid = runs.run_id"""


def _first_column(cursor, row):
    return row[0]


class _RunKey:
    """What run references are resolved against (id and number only: cheap to fetch)."""

    __slots__ = ("run_id", "run_number")

    def __init__(self, run_id: str, run_number: int | None) -> None:
        self.run_id = run_id
        self.run_number = run_number


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, with sqlite errors turned into HistoryError."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path

    def __enter__(self) -> sqlite3.Connection:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise history_error(exc, self._path) from exc
        return self._conn

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            try:
                self._conn.execute("COMMIT")
                return
            except sqlite3.Error as err:
                _rollback(self._conn)
                raise history_error(err, self._path) from err
        _rollback(self._conn)
        if isinstance(exc, sqlite3.Error):
            raise history_error(exc, self._path) from exc


def _rollback(conn: sqlite3.Connection) -> None:
    # A failed COMMIT (disk full, lock) may have ended the transaction already.
    if conn.in_transaction:
        conn.execute("ROLLBACK")
