"""The history database: connection settings, schema and migrations.

SQLite in WAL mode so that many keepers write while the CLI and the dashboard read. The schema
version lives in ``PRAGMA user_version``; each entry of ``MIGRATIONS`` moves it up by one, inside
one transaction, so a database left by a killed process opens with everything it committed.

A database that is missing, empty or damaged is never taken for an empty history: a fresh one
is filled from the run folders' records (``core.history.runfile``) in the very transaction that
creates its schema, and a damaged one is moved aside (never overwritten) before that.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from launchdeck.core.errors import DeckError, HistoryBusy, HistoryCorrupt, HistoryError
from launchdeck.core.history.repair import RepairReport, move_aside, restore_runs

MIGRATIONS: list[str] = [
    # 1: runs, their state changes, metrics and artifacts
    """
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        target TEXT NOT NULL,
        run_configuration TEXT NOT NULL,
        script TEXT NOT NULL,
        arguments TEXT NOT NULL,
        framework TEXT NOT NULL,
        snapshot TEXT NOT NULL,
        config TEXT NOT NULL,
        created_utc TEXT NOT NULL,
        start_time_utc TEXT,
        end_time_utc TEXT,
        first_output_utc TEXT,
        exit_code INTEGER,
        error TEXT,
        keeper_pid INTEGER,
        external_id TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        metrics_offset INTEGER NOT NULL DEFAULT 0,
        disconnected_since TEXT,
        environment_id TEXT
    );
    CREATE INDEX runs_by_created ON runs(created_utc);
    CREATE INDEX runs_by_status ON runs(status, target);
    CREATE TABLE run_events (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        time_utc TEXT NOT NULL,
        status TEXT NOT NULL,
        note TEXT
    );
    CREATE INDEX events_by_run ON run_events(run_id);
    CREATE TABLE metrics (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        time_utc TEXT,
        PRIMARY KEY (run_id, seq)
    );
    CREATE TABLE artifacts (
        run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        PRIMARY KEY (run_id, path)
    );
    """,
    # 2: a per-project run number (1, 2, 3, ... in creation order; never reused, so "run 7"
    # keeps naming the same run after others are deleted) and the counter that hands them out
    """
    ALTER TABLE runs ADD COLUMN run_number INTEGER;
    UPDATE runs SET run_number = (
        SELECT n FROM (SELECT run_id AS id,
                              ROW_NUMBER() OVER (ORDER BY created_utc, rowid) AS n FROM runs)
        WHERE id = runs.run_id);
    CREATE UNIQUE INDEX runs_by_number ON runs(run_number);
    CREATE TABLE run_counter (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        last_number INTEGER NOT NULL
    );
    INSERT INTO run_counter VALUES (1, (SELECT COALESCE(MAX(run_number), 0) FROM runs));
    """,
    # 3: a run's place in its target's queue while Queued (lower goes first): submit order
    # (the row's own order) until ``deck runs move`` puts it before or after others
    """
    ALTER TABLE runs ADD COLUMN queue_order REAL;
    UPDATE runs SET queue_order = rowid;
    """,
    # 4: the sweep a run is a trial of, and its tags (a JSON object: the trial's number and
    # parameters, and why the sweep stopped it); run.json holds them like every column
    """
    ALTER TABLE runs ADD COLUMN sweep_id TEXT;
    ALTER TABLE runs ADD COLUMN tags TEXT;
    CREATE INDEX runs_by_sweep ON runs(sweep_id);
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)

#: Seconds a connection waits for another's write lock before it gives up with "locked".
#: ``DECK_SQLITE_BUSY_TIMEOUT`` overrides it (tests use a short one).
DEFAULT_BUSY_TIMEOUT = 30.0

# SQLite's primary result codes (the low byte of extended ones).
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, \
    14, 26


def busy_timeout() -> float:
    try:
        return max(0.0, float(os.environ["DECK_SQLITE_BUSY_TIMEOUT"]))
    except (KeyError, ValueError):
        return DEFAULT_BUSY_TIMEOUT


def notice_on_stderr(message: str) -> None:
    print(f"deck: {message}", file=sys.stderr)


def connect(path: Path, *, rebuild: bool = True,
            notice: Callable[[str], None] = notice_on_stderr) -> sqlite3.Connection:
    """Open (creating and migrating as needed) the history database at ``path``.

    With ``rebuild``, a database created here is filled from the run folders' records, and a
    damaged one is moved aside first; ``notice`` says what was done.
    """
    from launchdeck.core.diskerrors import storage_error

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, path.parent) from exc
    try:
        return _open(path, rebuild, notice)
    except HistoryCorrupt as exc:
        if not rebuild:
            raise
        damage = exc
    with repair_lock(path):
        try:  # another process may have repaired it while we waited for the lock
            return _open(path, rebuild, notice)
        except HistoryCorrupt:
            pass
        try:
            aside = move_aside(path)
        except OSError:  # a read-only folder: say what is wrong, change nothing
            raise damage from None
        notice(f"the run history could not be read ({damage.detail}); it was moved to "
               f"{aside} and is rebuilt from the run folders")
        return _open(path, rebuild, notice)


def _open(path: Path, rebuild: bool, notice) -> sqlite3.Connection:
    conn = None
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout(), isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across process crashes in WAL mode; only a power cut may lose the
        # last transactions, never corrupt the file.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        _migrate(conn, path, rebuild, notice)
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        error = history_error(exc, path, "open")
        if path.exists() and (_unwritable(path) or _closed_cleanly_on_a_full_disk(path)):
            # A read-only project (or .deck/) can still be read: list, show, logs. So can one
            # on a full disk, where WAL mode cannot make its -shm file to open normally.
            return _open_read_only(path, error)
        raise error from exc
    return conn


def _open_read_only(path: Path, error: DeckError) -> sqlite3.Connection:
    # immutable: no -shm/-wal can be created in a read-only folder, and nobody can write it.
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True,
                               isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.Error:
        raise error from None
    if version != SCHEMA_VERSION:
        conn.close()
        raise error
    return conn


def _closed_cleanly_on_a_full_disk(path: Path) -> bool:
    """An empty or absent -wal file (every change is in the main file, so an immutable read
    misses nothing), and no room for the -shm file a normal open needs."""
    from launchdeck.core.diskerrors import disk_full

    try:
        wal_empty = os.path.getsize(f"{path}-wal") == 0
    except FileNotFoundError:
        wal_empty = True
    return wal_empty and disk_full(path.parent)


def _unwritable(path: Path) -> bool:
    folder = path.parent
    return not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK))


def history_error(exc: sqlite3.Error, path: Path, doing: str = "write") -> DeckError:
    """A sqlite3 error as the one-line error a user reads (full disk and lock said plainly)."""
    from launchdeck.core.diskerrors import disk_full, no_space, read_only

    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code in (_BUSY, _LOCKED):
        return HistoryBusy(f"{path}: the run history is locked by another process ({exc})")
    # READONLY too: on a full disk history is opened read-only, so a write fails that way.
    if code == _FULL or (code in (_IOERR, _CANTOPEN, _READONLY) and disk_full(path.parent)):
        return no_space(path)
    if code == _READONLY or (code in (_IOERR, _CANTOPEN) and _unwritable(path)):
        return read_only(path)
    if code in (_CORRUPT, _NOTADB):
        return HistoryCorrupt(f"{path}: the run history is damaged ({exc}); 'deck history "
                              "repair' moves it aside and rebuilds it from the run folders",
                              detail=str(exc))
    return HistoryError(f"{path}: cannot {doing} run history: {exc}")


@contextmanager
def repair_lock(path: Path) -> Iterator[None]:
    """One process at a time moves a damaged database aside and rebuilds it."""
    try:
        fd = os.open(path.with_name(path.name + ".repair.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        yield  # a read-only folder: nothing can be repaired there anyway
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _migrate(conn: sqlite3.Connection, path: Path, rebuild: bool, notice) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"{path}: run history has schema version {version}, newer than this deck "
            f"understands ({SCHEMA_VERSION}); upgrade launchdeck")
    while version < SCHEMA_VERSION:
        report = None
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            # A database made here gets its whole schema and its runs in one transaction, so
            # no other process ever sees it empty while run folders hold runs.
            last = SCHEMA_VERSION if version == 0 else min(version + 1, SCHEMA_VERSION)
            fresh = version == 0
            while version < last:
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                version += 1
            conn.execute(f"PRAGMA user_version = {version}")
            if fresh and rebuild:
                report = restore_runs(conn, path.parent / "runs")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if report is not None and (report.restored or report.problems):
            notice(report.summary())


def repair(db_path: Path) -> RepairReport:
    """``deck history repair``: check the database, move it aside if damaged, restore runs."""
    from launchdeck.core.diskerrors import read_only

    if not os.access(db_path.parent, os.W_OK):
        raise read_only(db_path.parent)
    with repair_lock(db_path):
        moved = None
        if db_path.exists() and _damaged(db_path):
            moved = move_aside(db_path)
        conn = connect(db_path, rebuild=False)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                report = restore_runs(conn, db_path.parent / "runs")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise history_error(exc, db_path) from exc
        except HistoryCorrupt:
            raise
        finally:
            conn.close()
    report.moved_aside = moved
    return report


def _damaged(path: Path) -> bool:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
        if code in (11, 26):  # SQLITE_CORRUPT, SQLITE_NOTADB
            return True
        raise history_error(exc, path, "read") from exc
    return result != "ok"
