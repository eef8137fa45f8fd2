import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from launchdeck.core.errors import AmbiguousRunRef, HistoryError, RunNotFound, RunStateError
from launchdeck.core.history.db import SCHEMA_VERSION
from launchdeck.core.history.records import RunRecord, utc_now
from launchdeck.core.history.store import HistoryStore
from launchdeck.core.runs.state import RunState


def make_record(run_id: str, **overrides) -> RunRecord:
    fields = dict(run_id=run_id, status=RunState.QUEUED, target="local",
                  run_configuration="local", script="train.py", arguments=("--epochs", "3"),
                  framework="Python", snapshot="f" * 64, config={"Target": "local"},
                  created_utc=utc_now())
    fields.update(overrides)
    return RunRecord(**fields)


@pytest.fixture
def history(tmp_path):
    store = HistoryStore(tmp_path / ".deck" / "history.db")
    yield store
    store.close()


def test_a_run_goes_through_its_states_and_keeps_a_timeline(history):
    history.insert_run(make_record("p_1"))
    history.transition("p_1", RunState.PREPARING)
    history.transition("p_1", RunState.RUNNING)
    done = history.transition("p_1", RunState.COMPLETED, exit_code=0)
    assert done.status is RunState.COMPLETED
    assert done.exit_code == 0
    assert done.start_time_utc <= done.end_time_utc
    assert done.duration_s is not None and done.duration_s >= 0
    assert [e.status for e in history.events("p_1")] == [
        "Queued", "Preparing", "Running", "Completed"]


def test_a_finished_run_cannot_change_state(history):
    history.insert_run(make_record("p_1"))
    history.transition("p_1", RunState.RUNNING)
    history.transition("p_1", RunState.FAILED, exit_code=3)
    with pytest.raises(RunStateError, match="already|cannot become"):
        history.transition("p_1", RunState.COMPLETED)
    assert history.get_run("p_1").status is RunState.FAILED


def test_state_cannot_be_set_behind_transition(history):
    history.insert_run(make_record("p_1"))
    with pytest.raises(HistoryError):
        history.update_run("p_1", status="Completed")


def test_a_state_change_records_its_launch_and_artifacts_in_the_same_write(history, tmp_path):
    history.insert_run(make_record("p_1"))
    running = history.transition("p_1", RunState.RUNNING, external_id="123:456")
    assert running.external_id == "123:456"
    done = history.transition("p_1", RunState.COMPLETED, exit_code=0,
                              artifacts=[("outputs/model.json", 12)])
    assert done.status is RunState.COMPLETED
    assert history.artifacts("p_1") == [("outputs/model.json", 12)]
    # The run's record file holds both, as it holds every committed change.
    record = json.loads((tmp_path / ".deck" / "runs" / "p_1" / "run.json").read_text())
    assert record["run"]["external_id"] == "123:456"
    assert record["run"]["status"] == "Completed"
    assert record["artifacts"] == [["outputs/model.json", 12]]


def test_a_state_change_cannot_set_the_state_behind_its_back(history):
    history.insert_run(make_record("p_1"))
    with pytest.raises(HistoryError, match="cannot set"):
        history.transition("p_1", RunState.RUNNING, status="Completed")
    assert history.get_run("p_1").status is RunState.QUEUED


def test_metrics_keep_every_value_in_order_with_their_offset(history):
    history.insert_run(make_record("p_1"))
    history.add_metrics("p_1", [("loss", 0.5, None), ("acc", "good", None)], new_offset=40)
    history.add_metrics("p_1", [("loss", 0.25, None), ("curve", [1, 2, 3], None)],
                        new_offset=90)
    assert history.metrics("p_1") == {"loss": [0.5, 0.25], "acc": ["good"],
                                      "curve": [[1, 2, 3]]}
    assert history.get_run("p_1").metrics_offset == 90
    assert history.last_metrics(["p_1"]) == {"p_1": {"loss": 0.25, "acc": "good",
                                                     "curve": [1, 2, 3]}}
    # The names come in the order they were first logged (the table shows the first).
    assert list(history.last_metrics(["p_1"])["p_1"]) == ["loss", "acc", "curve"]


def test_find_run_by_unambiguous_part(history):
    history.insert_run(make_record("proj_1764290000001"))
    history.insert_run(make_record("proj_1764290000002"))
    assert history.find_run("0001").run_id == "proj_1764290000001"
    with pytest.raises(RunNotFound, match="matches 2 runs"):
        history.find_run("proj_17642")
    with pytest.raises(RunNotFound, match="no run"):
        history.find_run("nope")


def test_list_filters_and_orders_newest_first(history):
    for i in range(5):
        history.insert_run(make_record(f"p_{i}", created_utc=f"2026-01-0{i + 1}T00:00:00.000000Z"))
    history.transition("p_3", RunState.RUNNING)
    history.transition("p_3", RunState.FAILED, exit_code=1)
    assert [r.run_id for r in history.list_runs(limit=2)] == ["p_4", "p_3"]
    assert [r.run_id for r in history.list_runs(status=[RunState.FAILED])] == ["p_3"]
    assert [r.run_id for r in history.queued_ahead("p_4", "local")] == ["p_0", "p_1", "p_2"]


def test_json_has_the_documented_fields(history):
    history.insert_run(make_record("p_1"))
    history.set_artifacts("p_1", [("outputs/model.json", 12)])
    data = history.get_run("p_1", details=True).to_json()
    for key in ("run_id", "status", "exit_code", "target", "run_configuration", "script",
                "arguments", "created_utc", "start_time_utc", "end_time_utc", "duration_s",
                "metrics", "artifacts", "snapshot"):
        assert key in data
    assert data["artifacts"] == ["outputs/model.json"]
    json.dumps(data)


def test_schema_is_versioned(history):
    conn = sqlite3.connect(history.path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "history.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(HistoryError, match="newer than this deck"):
        HistoryStore(path)


def test_a_writer_killed_mid_transaction_loses_nothing_committed(tmp_path):
    path = tmp_path / "history.db"
    HistoryStore(path).insert_run(make_record("kept"))
    # A process that commits one run, then dies with a transaction half written.
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(os.getcwd())!r})
        from tests.core.history.test_store import make_record
        from launchdeck.core.history.store import HistoryStore
        h = HistoryStore(__import__('pathlib').Path({str(path)!r}))
        h.insert_run(make_record("committed"))
        c = h._conn
        c.execute("BEGIN IMMEDIATE")
        c.execute("INSERT INTO runs (run_id, status, target, run_configuration, script, "
                  "arguments, framework, snapshot, config, created_utc) "
                  "VALUES ('torn','Queued','l','l','s','[]','Python','x','{{}}','t')")
        print("ready", flush=True)
        import time; time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"ready"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reopened = HistoryStore(path)
    ids = {r.run_id for r in reopened.list_runs()}
    assert ids == {"kept", "committed"}
    reopened.insert_run(make_record("after"))  # and it is writable again


def test_fast_json_listing_matches_the_records(history):
    history.insert_run(make_record("p_1", arguments=("a b", "ü", '"q"')))
    history.transition("p_1", RunState.RUNNING)
    history.transition("p_1", RunState.FAILED, exit_code=2, error="exit code 2: boom")
    history.insert_run(make_record("p_2"))
    fast = [json.loads(text) for text in history.list_runs_json()]
    slow = [r.to_json() for r in history.list_runs()]
    assert len(fast) == 2
    for quick, full in zip(fast, slow):
        assert quick.keys() == full.keys()
        for key in full:
            if key == "duration_s" and full[key] is not None:
                assert quick[key] == pytest.approx(full[key], abs=0.01)
            else:
                assert quick[key] == full[key], key


def test_runs_are_numbered_per_project_and_numbers_are_never_reused(history):
    for i in range(3):
        history.insert_run(make_record(f"proj_176429000000{i}"))
    assert [r.run_number for r in history.list_runs(newest_first=False)] == [1, 2, 3]
    history.delete_runs(["proj_1764290000002"])
    history.insert_run(make_record("proj_1764290000009"))
    assert history.get_run("proj_1764290000009").run_number == 4
    assert history.get_run("proj_1764290000009").to_json()["run_number"] == 4


def test_a_run_is_named_by_its_number_and_a_short_number_never_matches_inside_ids(history):
    # ids full of 7s: "7" must mean run number 7 or nothing, never some id holding a 7
    for i in range(3):
        history.insert_run(make_record(f"proj_17777777777{i}"))
    assert history.find_run("2").run_id == "proj_177777777771"
    assert history.find_run("#3").run_id == "proj_177777777772"
    with pytest.raises(RunNotFound, match="no run number 7"):
        history.find_run("7")
    # a part of an id (middle, prefix, suffix), with or without the project name, when only
    # one id holds it; digits too short to be an id part but starting with 0 are one
    history.insert_run(make_record("proj_1234567890123"))
    assert history.find_run("4567890").run_id == "proj_1234567890123"
    assert history.find_run("j_1234").run_id == "proj_1234567890123"
    assert history.find_run("proj_177777777770").run_id == "proj_177777777770"
    assert history.find_run("0123").run_id == "proj_1234567890123"
    with pytest.raises(RunNotFound) as ambiguous:
        history.find_run("proj_1777")
    message = str(ambiguous.value)
    assert "matches 3 runs" in message
    for i in range(3):
        assert f"#{i + 1} proj_17777777777{i}" in message
    # and every one of them, newest first, for a face that asks which one (the dashboard)
    assert isinstance(ambiguous.value, AmbiguousRunRef)
    assert ambiguous.value.run_ids == tuple(f"proj_17777777777{i}" for i in (2, 1, 0))


def test_an_existing_history_gets_run_numbers_in_creation_order(tmp_path):
    path = tmp_path / "history.db"
    conn = sqlite3.connect(path)
    from launchdeck.core.history.db import MIGRATIONS

    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    for run_id, created in (("p_b", "2026-01-02T00:00:00.000000Z"),
                            ("p_a", "2026-01-01T00:00:00.000000Z"),
                            ("p_c", "2026-01-03T00:00:00.000000Z")):
        conn.execute("INSERT INTO runs (run_id, status, target, run_configuration, script, "
                     "arguments, framework, snapshot, config, created_utc) VALUES "
                     "(?, 'Completed', 'local', 'local', 'x.py', '[]', 'Python', 's', '{}', ?)",
                     (run_id, created))
    conn.commit()
    conn.close()
    store = HistoryStore(path)
    try:
        assert {r.run_id: r.run_number for r in store.list_runs()} == \
            {"p_a": 1, "p_b": 2, "p_c": 3}
        store.insert_run(make_record("p_d"))
        assert store.get_run("p_d").run_number == 4
    finally:
        store.close()


def test_json_listing_with_last_metrics(history):
    history.insert_run(make_record("p_1"))
    history.insert_run(make_record("p_2"))
    history.add_metrics("p_1", [("acc", 0.5, None), ("acc", 0.9, None), ("tag", "x", None)],
                        new_offset=10)
    rows = [json.loads(t) for t in history.list_runs_json(last_metrics=True)]
    assert {r["run_id"]: r["metrics"] for r in rows} == {"p_1": {"acc": 0.9, "tag": "x"},
                                                         "p_2": {}}


def test_concurrent_submitters_never_share_a_run_number(tmp_path):
    path = tmp_path / ".deck" / "history.db"
    HistoryStore(path).close()
    script = textwrap.dedent(f"""
        import sys
        from launchdeck.core.history.store import HistoryStore
        from tests.core.history.test_store import make_record
        from pathlib import Path
        store = HistoryStore(Path({str(path)!r}))
        for i in range(15):
            store.insert_run(make_record(f"p_{{sys.argv[1]}}_{{i}}"))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(n)]) for n in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    store = HistoryStore(path)
    try:
        numbers = sorted(r.run_number for r in store.list_runs())
    finally:
        store.close()
    assert numbers == list(range(1, 61))
