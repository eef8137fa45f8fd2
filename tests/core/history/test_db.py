"""The database opens, rebuilds from run records, and translates sqlite errors to one line."""

import json
import sqlite3

from launchdeck.core.history import db
from launchdeck.core.history.records import RunRecord, utc_now
from launchdeck.core.history.store import HistoryStore
from launchdeck.core.runs.state import RunState


def record(run_id: str) -> RunRecord:
    return RunRecord(run_id=run_id, status=RunState.QUEUED, target="local",
                     run_configuration="local", script="train.py", arguments=("--epochs", "3"),
                     framework="Python", snapshot="f" * 64, config={"Target": "local"},
                     created_utc=utc_now())


def test_columns_added_by_a_later_migration_round_trip_through_the_run_record(
        tmp_path, monkeypatch):
    # A column a future migration adds: the record keeps the row by column name.
    migrations = [*db.MIGRATIONS, "ALTER TABLE runs ADD COLUMN later_column TEXT"]
    monkeypatch.setattr(db, "MIGRATIONS", migrations)
    monkeypatch.setattr(db, "SCHEMA_VERSION", len(migrations))
    path = tmp_path / ".deck" / "history.db"
    store = HistoryStore(path)
    store.insert_run(record("p_1"))
    store._conn.execute("UPDATE runs SET later_column='seven' WHERE run_id='p_1'")
    store.transition("p_1", RunState.RUNNING)
    store.add_metrics("p_1", [("loss", 0.5, None), ("loss", 0.25, None)], new_offset=40)
    store.transition("p_1", RunState.COMPLETED, exit_code=0)
    saved = json.loads((tmp_path / ".deck" / "runs" / "p_1" / "run.json").read_text())
    assert saved["run"]["later_column"] == "seven" and saved["run"]["status"] == "Completed"
    store.close()
    for suffix in ("", "-wal", "-shm"):
        path.with_name("history.db" + suffix).unlink(missing_ok=True)

    notices = []
    rebuilt = HistoryStore.__new__(HistoryStore)
    rebuilt.path = path
    rebuilt._conn = db.connect(path, notice=notices.append)

    run = rebuilt.get_run("p_1", details=True)
    assert run.status is RunState.COMPLETED and run.exit_code == 0
    assert run.metrics == {"loss": [0.5, 0.25]} and run.metrics_offset == 40
    assert tuple(rebuilt._conn.execute("SELECT later_column, run_number FROM runs").fetchone()) \
        == ("seven", 1)
    assert [e.status for e in rebuilt.events("p_1")] == ["Queued", "Running", "Completed"]
    assert notices == ["rebuilt 1 run(s) of the run history from their run folders"]


def test_a_run_folder_without_a_record_is_named_not_silently_skipped(tmp_path):
    (tmp_path / ".deck" / "runs" / "old_1").mkdir(parents=True)
    (tmp_path / ".deck" / "runs" / "torn_2").mkdir()
    (tmp_path / ".deck" / "runs" / "torn_2" / "run.json").write_text('{"run": {"run_id"')
    notices = []

    db.connect(tmp_path / ".deck" / "history.db", notice=notices.append).close()

    assert len(notices) == 1
    assert "2 run folder(s) could not be restored" in notices[0]
    assert "old_1: no run.json" in notices[0] and "torn_2: unreadable run.json" in notices[0]


def test_sqlite_errors_read_as_what_happened():
    path = db.Path("/p/.deck/history.db")

    def error(code: int, text: str) -> sqlite3.Error:
        exc = sqlite3.OperationalError(text)
        exc.sqlite_errorcode = code
        return exc

    assert str(db.history_error(error(13, "database or disk is full"), path)) \
        == "no space left on device (/p/.deck/history.db)"
    assert isinstance(db.history_error(error(5, "database is locked"), path), db.HistoryBusy)
    assert "deck history repair" in str(db.history_error(error(26, "file is not a database"),
                                                          path))


def test_a_trials_sweep_and_tags_survive_a_rebuild_from_run_folders(tmp_path):
    from dataclasses import replace

    path = tmp_path / ".deck" / "history.db"
    store = HistoryStore(path)
    store.insert_run(replace(record("p_1"), sweep_id="sweep1",
                             tags={"trial": 0, "params": {"lr": 0.01}}))
    store.insert_run(record("p_2"))
    store.update_run("p_1", tags={"trial": 0, "params": {"lr": 0.01}, "stopped": "median"})
    store.close()
    for suffix in ("", "-wal", "-shm"):
        path.with_name("history.db" + suffix).unlink(missing_ok=True)

    rebuilt = HistoryStore(path)
    assert [r.run_id for r in rebuilt.list_runs(sweep="sweep1")] == ["p_1"]
    run = rebuilt.get_run("p_1")
    assert run.sweep_id == "sweep1" and run.tags["stopped"] == "median"
    assert run.tags["params"] == {"lr": 0.01}
    assert rebuilt.get_run("p_2").tags == {} and rebuilt.get_run("p_2").sweep_id is None


def test_a_history_of_schema_3_gets_the_sweep_columns(tmp_path):
    path = tmp_path / "history.db"
    conn = sqlite3.connect(path)
    for migration in db.MIGRATIONS[:3]:
        conn.executescript(migration)
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    store = HistoryStore(path)
    store.insert_run(record("p_1"))
    assert store.get_run("p_1").sweep_id is None
    assert store._conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
