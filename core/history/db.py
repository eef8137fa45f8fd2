"""The history database: connection settings, schema and migrations.

SQLite in WAL mode so that many keepers write while the CLI and the dashboard read. The schema
version lives in ``PRAGMA user_version``; each entry of ``MIGRATIONS`` moves it up by one, inside
one transaction, so a database left by a killed process opens with everything it committed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.errors import HistoryError

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
]

SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating and migrating as needed) the history database at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across process crashes in WAL mode; only a power cut may lose the
        # last transactions, never corrupt the file.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        _migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        raise HistoryError(f"{path}: cannot open run history: {exc}") from exc
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"{path}: run history has schema version {version}, newer than this deck "
            f"understands ({SCHEMA_VERSION}); upgrade launchdeck")
    while version < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        conn.execute(statement)
                version += 1
                conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
