"""``deck store prune`` over real runs on the local target: what goes, what stays, and that a
dry run changes nothing.

Time is not waited for: a test ages runs (their end time in history) and store files (mtime)
the way weeks would.
"""

import os
import re
import sqlite3
import time
from pathlib import Path

from tests.cli.test_sweep import sweeping  # noqa: F401 - a fixture
from tests.fixtures.projects import run_id_of
from tests.fixtures.waiting import until

DAY = 86400
SIZE = r"\d+(\.\d)? (B|kB|MB|GB)"


def submit(deck, *args: str) -> str:
    return run_id_of(deck("submit", "-c", "local", *args, check=True).out)


def age_run(project: Path, run_id: str, days: float) -> None:
    when = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(time.time() - days * DAY))
    with sqlite3.connect(project / ".deck" / "history.db") as db:
        db.execute("UPDATE runs SET end_time_utc=?, created_utc=? WHERE run_id=?",
                   (when, when, run_id))


def age_store(project: Path, days: float) -> None:
    then = time.time() - days * DAY
    for folder, _dirs, files in os.walk(project / ".deck" / "store"):
        for name in files:
            os.utime(os.path.join(folder, name), (then, then), follow_symlinks=False)


def files_under(root: Path) -> dict[str, tuple[int, int]]:
    """Every file of .deck but the history database: path -> (size, mtime)."""
    out = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            if not name.startswith("history.db"):
                st = path.lstat()
                out[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns)
    return out


def keepers_gone(project: Path) -> None:
    """Wait until every run's keeper has exited (it tidies the run's folder after the end)."""
    with sqlite3.connect(project / ".deck" / "history.db") as db:
        pids = [row[0] for row in db.execute("SELECT keeper_pid FROM runs") if row[0]]
    until(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in pids), timeout=60,
          what="the keepers to exit")


def blob(project: Path, text: bytes) -> Path:
    import hashlib

    digest = hashlib.sha256(text).hexdigest()
    return project / ".deck" / "store" / "objects" / digest[:2] / digest[2:]


def two_runs_the_first_old(deck, project) -> tuple[str, str, bytes]:
    first_code = b"print('first version')\n"
    (project / "job.py").write_bytes(first_code)
    old = submit(deck, "job.py")
    (project / "job.py").write_bytes(b"print('second version')\n")
    new = submit(deck, "job.py")
    age_run(project, old, 40)
    age_store(project, 40)
    return old, new, first_code


def test_a_dry_run_lists_what_would_go_with_sizes_and_changes_nothing(deck, project):
    old, new, first_code = two_runs_the_first_old(deck, project)
    keepers_gone(project)
    before = files_under(project / ".deck")

    result = deck("store", "prune", "--older-than", "30d")

    assert result.returncode == 0, result.err
    rows = result.out.splitlines()
    run_row = next(line for line in rows if old in line)
    assert run_row.startswith("run ") and re.search(SIZE, run_row) and "Completed" in run_row
    assert not any(new in line for line in rows)
    assert any(line.startswith("snapshot ") and re.search(SIZE, line) for line in rows)
    assert any(line.startswith("blobs ") and "1 file " in line for line in rows)
    assert re.search(rf"Total: {SIZE} in 3 items\. Dry run: nothing removed", result.out)
    assert files_under(project / ".deck") == before
    assert {r["run_id"] for r in deck.json("runs", "list")} == {old, new}


def test_yes_removes_old_runs_with_their_history_and_keeps_what_kept_runs_need(deck, project):
    old, new, first_code = two_runs_the_first_old(deck, project)
    assert blob(project, first_code).is_file()

    result = deck("store", "prune", "--older-than", "30d", "--yes")

    assert result.returncode == 0, result.err
    assert re.search(rf"Removed 3 items: {SIZE} freed", result.out)
    assert [r["run_id"] for r in deck.json("runs", "list")] == [new]
    assert not (project / ".deck" / "runs" / old).exists()
    assert deck("runs", "show", old).returncode == 2
    # the history cannot bring it back from a folder: both went
    deck("history", "repair", check=True)
    assert [r["run_id"] for r in deck.json("runs", "list")] == [new]
    assert not blob(project, first_code).exists()
    # everything the kept run needs is there: it runs again from its snapshot
    again = deck("rerun", new, check=True)
    assert "second version" in again.out
    # and a second prune finds nothing more
    assert "Total: 0 B in 0 items" in deck("store", "prune", "--older-than", "30d").out


def test_active_and_pinned_runs_and_all_they_need_are_kept(deck, project):
    old, new, first_code = two_runs_the_first_old(deck, project)
    (project / "wait.py").write_text(
        "import os, sys, time\nprint('waiting', flush=True)\n"
        "while not os.path.exists(sys.argv[-1]): time.sleep(0.05)\nprint('went')\n")
    go = project.parent / "go"
    waiting = submit(deck, "--detach", "wait.py", str(go))
    until(lambda: "waiting" in deck("logs", waiting).out, timeout=60, what="the run to start")
    age_run(project, waiting, 40)  # submitted long ago, still running
    age_run(project, new, 40)
    age_store(project, 40)

    result = deck("store", "prune", "--older-than", "1s", "--keep", old, "--yes")

    assert result.returncode == 0, result.err
    assert not any(r in result.out for r in (old, waiting)), result.out
    assert new in result.out
    assert {r["run_id"] for r in deck.json("runs", "list")} == {old, waiting}
    assert blob(project, first_code).is_file()  # the pinned run's snapshot
    go.write_text("")
    done = deck.wait_for(waiting)
    assert done["status"] == "Completed"
    assert "went" in deck("rerun", waiting, check=True).out


def test_without_an_age_every_run_stays_and_only_snapshots_no_run_names_go(deck, project):
    old, new, first_code = two_runs_the_first_old(deck, project)
    deck("runs", "delete", old, "--yes", check=True)  # leaves its snapshot in the store

    dry = deck("store", "prune", check=True)
    assert "every run is kept (no --older-than given)" in dry.out
    assert blob(project, first_code).is_file()
    deck("store", "prune", "--yes", check=True)

    assert not blob(project, first_code).exists()
    assert [r["run_id"] for r in deck.json("runs", "list")] == [new]
    assert "second version" in deck("rerun", new, check=True).out


def test_a_snapshot_just_taken_is_never_removed(deck, project):
    (project / "job.py").write_bytes(b"print('fresh')\n")
    run = submit(deck, "job.py")
    deck("runs", "delete", run, "--yes", check=True)
    # minutes old, named by no run: a submit that is being queued could be about to use it
    deck("store", "prune", "--yes", check=True)
    assert blob(project, b"print('fresh')\n").is_file()


def test_a_wrong_age_is_refused_naming_the_option(deck):
    result = deck("store", "prune", "--older-than", "3 weeks")
    assert result.returncode == 2
    assert "--older-than must be an age such as 30d" in result.err and "'3 weeks'" in result.err


def test_an_unfinished_sweep_keeps_its_trials_and_its_snapshot(sweeping, project, tmp_path):
    from tests.cli.test_sweep import held_sweep, status, until_over

    deck = sweeping
    sweep_id, gate = held_sweep(deck, project, tmp_path, "--grid", "n=0,1")
    deck("sweep", "cancel", sweep_id, check=True)  # resumable: its trial 1 has not run
    first = until(lambda: [r for r in deck.json("runs", "list", "--sweep", sweep_id)
                           if r["status"] == "Canceled"], timeout=60, what="trial 0 to stop")
    keepers_gone(project)
    age_run(project, first[0]["run_id"], 40)
    age_store(project, 40)

    result = deck("store", "prune", "--older-than", "1s", "--yes", check=True)

    assert "1 trial of unfinished sweeps kept" in result.out
    assert first[0]["run_id"] not in result.out and "snapshot " not in result.out
    (gate / "go-1").touch()
    deck("sweep", "resume", sweep_id, check=True)
    assert until_over(deck, sweep_id)["state"] == "Completed"  # trial 1 ran from its snapshot

    # Over now: its trials go by age like any run; the sweep still names its snapshot.
    for run in deck.json("runs", "list", "--sweep", sweep_id):
        age_run(project, run["run_id"], 40)
    keepers_gone(project)
    gone = deck("store", "prune", "--older-than", "1s", "--yes", check=True)
    assert "snapshot " not in gone.out
    assert deck.json("runs", "list", "--sweep", sweep_id) == []
    assert status(deck, sweep_id)["state"] == "Completed"
