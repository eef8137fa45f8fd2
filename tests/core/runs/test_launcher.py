"""Keepers: a run whose submitter died before handing it over is adopted by the next look;
keepers started by a threaded process (the dashboard) are reaped, not left as zombies."""

import os
import sqlite3
import threading
import time

from launchdeck.core.project import Project
from launchdeck.core.runs.liveness import pid_alive
from launchdeck.core.runs.submit import resubmit, submit


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


def zombie_children() -> list[int]:
    """Children of this process that ended and were never waited for."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if fields[0] == b"Z" and int(fields[1]) == me:
                found.append(int(entry))
    return found


def test_runs_submitted_from_a_threaded_process_leave_no_zombie(project):
    # The dashboard submits and reruns from worker threads, so its keepers are started with
    # Popen (a threaded process cannot fork one safely): the same path as here.
    (project / "hello.py").write_text("print('hi')\n")
    submitted = []

    def submit_and_rerun():
        mine = Project(project)
        first = submit(mine, "local", str(project / "hello.py"))
        submitted.append(first)
        wait_until_over(mine, first.run_id)
        submitted.append(resubmit(mine, first.run_id))
        wait_until_over(mine, submitted[-1].run_id)
        mine.history.close()

    worker = threading.Thread(target=submit_and_rerun)
    worker.start()
    worker.join(180)
    assert len(submitted) == 2
    keepers = [run.keeper_pid for run in submitted]
    assert all(keepers)
    # Wait for both keepers to end (a zombie has ended too), then for them to be reaped.
    deadline = time.monotonic() + 60
    while any(pid_alive(pid) for pid in keepers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(pid_alive(pid) for pid in keepers)
    deadline = time.monotonic() + 10
    while set(zombie_children()) & set(keepers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not set(zombie_children()) & set(keepers)


def wait_until_over(project, run_id, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not project.history.get_run(run_id).status.is_terminal:
        assert time.monotonic() < deadline, f"run {run_id} did not end"
        time.sleep(0.05)
