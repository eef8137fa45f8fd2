"""Keepers: a run whose submitter died before handing it over is started by the next look;
keepers started by a threaded process (the dashboard) are reaped, not left as zombies."""

import os
import threading
import time

from launchdeck.core.project import Project
from launchdeck.core.runs.liveness import pid_alive
from launchdeck.core.runs.submit import resubmit, submit


def test_a_queued_run_nobody_started_is_started_by_the_next_look_and_runs_once(deck, project):
    # As if the submitter died right after queuing the run: a queued run holds no process, so
    # the next look at history (any deck command) finds the free slot and starts it at once.
    (project / "hello.py").write_text("print('once')\n")
    record = submit(Project(project), "local", str(project / "hello.py"), start=False)
    assert deck.json("runs", "show", record.run_id)["status"] in ("Queued", "Preparing",
                                                                   "Running", "Completed")
    deck("runs", "list", check=True)  # a second look while the first keeper may be starting
    run = deck.wait_for(record.run_id)
    assert run["status"] == "Completed"
    assert deck("logs", record.run_id, check=True).out == "once\n"


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
