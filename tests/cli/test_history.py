"""A lost, emptied or damaged history.db is rebuilt from the run folders, never read as empty."""

import sqlite3

from tests.fixtures.projects import run_id_of


def finished_run(deck, project):
    result = deck("submit", "-c", "local", "train.py", "--epochs", "2", "--sleep", "0",
                  check=True)
    run_id = run_id_of(result.out)
    return run_id, deck.json("runs", "show", run_id)


def remove_database(project):
    for suffix in ("", "-wal", "-shm"):
        (project / ".deck" / f"history.db{suffix}").unlink(missing_ok=True)


def test_an_emptied_history_is_rebuilt_from_the_run_folders_with_a_line_saying_so(deck, project):
    run_id, before = finished_run(deck, project)
    remove_database(project)
    (project / ".deck" / "history.db").write_bytes(b"")  # zero bytes, as a full disk leaves it

    listed = deck("runs", "list", "--json", check=True)

    assert [r["run_id"] for r in __import__("json").loads(listed.stdout)] == [run_id]
    assert "rebuilt 1 run(s) of the run history from their run folders" in listed.err
    after = deck.json("runs", "show", run_id)
    assert after == before  # state, exit code, times, metrics, artifacts: all of it
    assert after["status"] == "Completed" and after["metrics"]["loss"]
    assert "outputs/model.json" in after["artifacts"]
    timeline = sqlite3.connect(project / ".deck" / "history.db").execute(
        "SELECT status FROM run_events WHERE run_id=? ORDER BY rowid", (run_id,)).fetchall()
    assert [s for (s,) in timeline] == ["Queued", "Running", "Completed"]


def test_a_damaged_history_is_moved_aside_never_overwritten_and_rebuilt(deck, project):
    run_id, before = finished_run(deck, project)
    remove_database(project)
    garbage = b"this is not a database\n" * 100
    (project / ".deck" / "history.db").write_bytes(garbage)

    second = deck("submit", "-c", "local", "train.py", "--epochs", "1", "--sleep", "0")

    assert second.returncode == 0, second.err
    assert "could not be read (file is not a database); it was moved to" in second.err
    aside = list((project / ".deck").glob("history.db.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == garbage
    listed = [r["run_id"] for r in deck.json("runs", "list")]
    assert listed == [run_id_of(second.out), run_id]
    assert deck.json("runs", "show", run_id) == before


def test_history_repair_puts_back_runs_the_database_lacks(deck, project):
    run_id, before = finished_run(deck, project)
    db = sqlite3.connect(project / ".deck" / "history.db")
    with db:
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("DELETE FROM runs WHERE run_id=?", (run_id,))
    db.close()
    assert deck.json("runs", "list") == []

    repaired = deck("history", "repair", check=True)

    assert "Restored 1 run(s) from their run folders" in repaired.out
    assert deck.json("runs", "show", run_id) == before
    again = deck("history", "repair", check=True)
    assert "Restored 0 run(s)" in again.out


def test_history_repair_moves_a_damaged_database_aside(deck, project):
    run_id, before = finished_run(deck, project)
    remove_database(project)
    (project / ".deck" / "history.db").write_bytes(b"\0garbage" * 512)

    repaired = deck("history", "repair", check=True)

    assert "The run history was damaged; it was moved to" in repaired.out
    assert "Restored 1 run(s)" in repaired.out
    assert list((project / ".deck").glob("history.db.damaged-*"))
    assert deck.json("runs", "show", run_id) == before


def test_logs_of_a_run_whose_log_is_gone_is_an_error_not_empty_output(deck, project):
    run_id, _ = finished_run(deck, project)
    (project / ".deck" / "runs" / run_id / "output.log").unlink()

    result = deck("logs", run_id)

    assert result.returncode != 0
    assert f"run {run_id}: its log" in result.err and "is gone" in result.err
    assert result.out == ""


def test_logs_of_a_run_whose_run_folder_is_gone_is_an_error_with_or_without_follow(deck,
                                                                                   project):
    import shutil

    run_id, _ = finished_run(deck, project)
    shutil.rmtree(project / ".deck" / "runs" / run_id)

    for follow in ((), ("-f",)):
        result = deck("logs", run_id, *follow)
        assert result.returncode != 0
        assert f"run {run_id}: its run folder" in result.err and "is gone" in result.err


def test_a_database_damaged_inside_says_so_and_repair_rebuilds_it(deck, project):
    run_id, before = finished_run(deck, project)
    db_path = project / ".deck" / "history.db"
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(db_path.read_bytes())
    data[4096:] = b"\xa5" * (len(data) - 4096)  # every page but the header's
    db_path.write_bytes(bytes(data))

    listed = deck("runs", "list")

    assert listed.returncode != 0 and "Traceback" not in listed.err
    assert "the run history is damaged" in listed.err and "deck history repair" in listed.err
    repaired = deck("history", "repair", check=True)
    assert "The run history was damaged; it was moved to" in repaired.out
    assert deck.json("runs", "show", run_id) == before


def test_many_commands_opening_an_emptied_history_at_once_rebuild_it_once(deck, project):
    import json

    run_id, before = finished_run(deck, project)
    remove_database(project)

    readers = [deck.popen("runs", "list", "--json") for _ in range(6)]
    outputs = [p.communicate(timeout=120) for p in readers]

    for proc, (out, err) in zip(readers, outputs):
        assert proc.returncode == 0, err
        assert [r["run_id"] for r in json.loads(out)] == [run_id]
    said = [err for _, err in outputs if b"rebuilt 1 run(s)" in err]
    assert len(said) == 1  # one process rebuilt it; the others found it whole
    db = sqlite3.connect(project / ".deck" / "history.db")
    assert db.execute("SELECT COUNT(*) FROM run_events").fetchone()[0] == 3
    assert deck.json("runs", "show", run_id) == before


def test_many_commands_opening_a_damaged_history_at_once_move_it_aside_once(deck, project):
    import json

    run_id, before = finished_run(deck, project)
    remove_database(project)
    (project / ".deck" / "history.db").write_bytes(b"not a database " * 300)

    readers = [deck.popen("runs", "list", "--json") for _ in range(6)]
    outputs = [p.communicate(timeout=120) for p in readers]

    for proc, (out, err) in zip(readers, outputs):
        assert proc.returncode == 0, err
        assert [r["run_id"] for r in json.loads(out)] == [run_id]
    assert len(list((project / ".deck").glob("history.db.damaged-*"))) == 1
    assert deck.json("runs", "show", run_id) == before


def test_a_rebuilt_history_keeps_run_numbers_and_never_hands_one_out_twice(deck, project):
    first, _ = finished_run(deck, project)
    second, _ = finished_run(deck, project)
    remove_database(project)

    assert [r["run_number"] for r in deck.json("runs", "list")] == [2, 1]
    third, _ = finished_run(deck, project)

    assert deck.json("runs", "show", third)["run_number"] == 3
    assert deck.json("runs", "show", "1")["run_id"] == first
