"""The keeper at its start (a cancel that comes before its loop runs) and once the run is over
(the slot is freed first, the clean-up cannot hang it)."""

import asyncio

from launchdeck.core.project import Project
from launchdeck.core.runs import keeper, slots
from launchdeck.core.runs.submit import submit
from launchdeck.core.targets.local.target import LocalExecution


async def test_a_finished_run_frees_its_slot_first_and_a_hung_clean_up_is_given_up(
        project, monkeypatch):
    # As when a remote host goes away while its container is being removed.
    deck_project = Project(project)
    run = submit(deck_project, "local", str(project / "train.py"),
                 ("--epochs", "1", "--sleep", "0"), start=False)
    seen = {}

    async def release_that_hangs(self):
        seen["busy slots"] = slots.busy_slots(deck_project.deck_dir / "slots" / "local", 8)
        await asyncio.sleep(3600)

    monkeypatch.setattr(LocalExecution, "release", release_that_hangs)
    monkeypatch.setattr(keeper, "RELEASE_TIMEOUT_SECONDS", 0.5)
    # In-process: this test's own priority must stay as it is.
    monkeypatch.setattr("launchdeck.core.targets.priority.lower_priority", lambda niceness: None)

    await asyncio.wait_for(keeper.Keeper(deck_project, run.run_id).run(), 60)

    assert deck_project.history.get_run(run.run_id).status == "Completed"
    assert seen["busy slots"] == 0
    log = (deck_project.run_dir(run.run_id) / "output.log").read_text()
    assert "training for 1 epochs" in log
    assert log.endswith("deck: the run's files on the target were not cleaned up: no answer "
                        "within 0.5 s\n")


def _until(condition, timeout=90.0, what="condition"):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_keeper_waits_out_a_history_lock_held_past_the_busy_timeout(deck, project, tmp_path):
    # Another process (a backup, a sqlite3 shell) holds the write lock across the run's end.
    import sqlite3

    from tests.fixtures.projects import run_id_of

    go = tmp_path / "go"
    (project / "gated.py").write_text(
        "import os, time\n"
        f"while not os.path.exists({str(go)!r}):\n    time.sleep(0.05)\n"
        "print('script done', flush=True)\n")
    deck.env["DECK_SQLITE_BUSY_TIMEOUT"] = "0.2"
    run_id = run_id_of(deck("submit", "-a", "-c", "local", "gated.py", check=True).out)
    db_path = project / ".deck" / "history.db"
    log = project / ".deck" / "runs" / run_id / "output.log"

    def status() -> str:
        reader = sqlite3.connect(db_path)
        try:
            return reader.execute("SELECT status FROM runs WHERE run_id=?",
                                  (run_id,)).fetchone()[0]
        finally:
            reader.close()

    _until(lambda: status() == "Running", what="the run to be Running")
    lock = sqlite3.connect(db_path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        go.touch()
        _until(lambda: log.exists() and "script done" in log.read_text()
               and "is locked by another process; this run's keeper waits for it"
               in log.read_text(), what="the keeper to say it waits for the lock")
        assert status() == "Running"
    finally:
        lock.execute("ROLLBACK")
        lock.close()

    final = deck.wait_for(run_id, timeout=90)

    assert final["status"] == "Completed" and final["exit_code"] == 0
    text = log.read_text()
    assert text.startswith("script done\n")
    assert "deck: the run history can be written again (waited" in text


def test_the_keeper_of_a_local_python_run_loads_no_spark_or_host_slot_code(project):
    # spark-submit's command line is built only for a PySpark run, and slots kept on a host
    # only for remote targets: a keeper (a process per run) of a plain Python run on this
    # machine does not pay for their import.
    import subprocess
    import sys

    run = submit(Project(project), "local", str(project / "train.py"),
                 ("--epochs", "1", "--sleep", "0"), start=False)
    probe = ("import sys\n"
             "from launchdeck.core.runs.keeper import keep\n"
             f"code = keep({str(project)!r}, {run.run_id!r})\n"
             "print(sorted(m for m in sys.modules if m.startswith('launchdeck.')))\n"
             "sys.exit(code)\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=project, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = result.stdout.splitlines()[-1]
    assert "launchdeck.core.targets.local.target" in loaded  # it did run the script here
    assert "launchdeck.core.targets.spark.submit" not in loaded
    assert "launchdeck.core.runs.hostwait" not in loaded
    assert Project(project).history.get_run(run.run_id).status == "Completed"


# A keeper process that is sent SIGTERM (what `deck cancel` sends to the run lock's holder)
# the moment it holds the run's lock, before its event loop is running.
TERM_AT_LOCK = ("import os, signal, sys\n"
                "from launchdeck.core.runs import keeper\n"
                "take = keeper.run_lock\n"
                "def run_lock_then_term(run_dir):\n"
                "    lock = take(run_dir)\n"
                "    os.kill(os.getpid(), signal.SIGTERM)\n"
                "    return lock\n"
                "keeper.run_lock = run_lock_then_term\n"
                "sys.exit(keeper.keep(sys.argv[1], sys.argv[2]))\n")


def test_a_cancel_that_reaches_a_keeper_still_starting_ends_the_run_canceled(project):
    import subprocess
    import sys

    from launchdeck.core.history.store import HistoryStore

    deck_project = Project(project)
    run = submit(deck_project, "local", str(project / "train.py"), start=False)
    deck_project.history.update_run(run.run_id, cancel_requested=1)  # as deck cancel does
    deck_project.history.close()
    keeper_process = subprocess.run([sys.executable, "-c", TERM_AT_LOCK, str(project),
                                     run.run_id], capture_output=True, text=True, timeout=120)
    assert keeper_process.returncode == 0, keeper_process.stderr
    history = HistoryStore(project / ".deck" / "history.db")
    try:
        assert history.get_run(run.run_id).status == "Canceled"
    finally:
        history.close()
