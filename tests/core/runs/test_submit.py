"""Submitting again: a rerun executes the first run's snapshot and configuration."""

import sqlite3

import pytest

from launchdeck.core.errors import SnapshotError
from launchdeck.core.project import Project
from launchdeck.core.runs.submit import resubmit, submit


def test_a_rerun_ignores_edits_made_since(deck, project):
    first = submit(Project(project), "local", str(project / "train.py"),
                   ("--epochs", "1", "--sleep", "0"))
    assert deck.wait_for(first.run_id)["status"] == "Completed"
    (project / "train.py").write_text("print('edited since')\n")
    deck("runconfig", "env", "set", "local", "GREETING=changed since", check=True)

    again = resubmit(Project(project), first.run_id)

    assert again.run_id != first.run_id
    assert (again.snapshot, again.script, again.arguments, again.config) == (
        first.snapshot, first.script, first.arguments, first.config)
    assert deck.wait_for(again.run_id)["status"] == "Completed"
    out = deck("logs", again.run_id, check=True).out
    assert out.startswith("hello from local\ntraining for 1 epochs")  # old code, old env
    assert "edited since" not in out and "changed since" not in out


def test_a_run_whose_snapshot_lacks_its_script_is_refused(project):
    deck_project = Project(project)
    first = submit(deck_project, "local", str(project / "train.py"), start=False)
    db = sqlite3.connect(project / ".deck" / "history.db")
    with db:  # as if the script had been left out of the snapshot
        db.execute("UPDATE runs SET script='gone.py' WHERE run_id=?", (first.run_id,))
    db.close()
    with pytest.raises(SnapshotError, match="gone.py"):
        resubmit(deck_project, first.run_id, start=False)
    assert len(deck_project.history.list_runs()) == 1
