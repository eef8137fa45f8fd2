"""Keepers: a run whose submitter died before handing it over is adopted by the next look."""

import sqlite3

from core.project import Project
from core.runs.submit import submit


def test_an_orphaned_queued_run_is_adopted_and_completes(deck, project):
    (project / "hello.py").write_text("print('adopted')\n")
    record = submit(Project(project), "local", str(project / "hello.py"), start=False)
    db = sqlite3.connect(project / ".deck" / "history.db")
    with db:  # as if the submitter died a minute ago, right after queuing the run
        db.execute("UPDATE runs SET created_utc='2020-01-01T00:00:00.000000Z' WHERE run_id=?",
                   (record.run_id,))
    db.close()
    assert deck.json("runs", "show", record.run_id)["status"] == "Queued"
    deck("runs", "list", check=True)  # any look at history adopts it
    run = deck.wait_for(record.run_id)
    assert run["status"] == "Completed"
    assert deck("logs", record.run_id, check=True).out == "adopted\n"


def test_a_just_submitted_run_is_not_adopted_twice(deck, project):
    (project / "hello.py").write_text("print('once')\n")
    record = submit(Project(project), "local", str(project / "hello.py"), start=False)
    deck("runs", "list", check=True)
    assert deck.json("runs", "show", record.run_id)["status"] == "Queued"
