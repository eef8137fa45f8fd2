"""A full disk or a read-only project: one clear line, runs end with the reason, deck recovers.

The project lives on a real, small tmpfs (the tests run as root, as the suite does), filled by
a real run's output and by a file the test writes; read-only is the same tmpfs remounted ro.
"""

from __future__ import annotations

import errno
import shutil
import subprocess

import pytest

from launchdeck.core.runs.liveness import pid_alive
from tests.fixtures.projects import REPO, Deck, _stop_runs, run_id_of
from tests.fixtures.waiting import until

BIG_OUTPUT = "for i in range(60000):\n    print('x' * 100, i)\nprint('done')\n"


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)], check=True)
    project = mount / "project"
    shutil.copytree(REPO / "sample_project", project, ignore=shutil.ignore_patterns(".deck"))
    yield mount, project, Deck(project)
    subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=False)
    _stop_runs(project)
    subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(path, size: int | None = None) -> None:
    """Write zeros to ``path`` until ``size`` bytes or the disk is full."""
    block = b"\0" * 65536
    written = 0
    with open(path, "wb", buffering=0) as f:
        try:
            while size is None or written < size:
                written += f.write(block[: (size - written) if size else None])
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def assert_one_clear_line(result, words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.err and "Error:" not in result.err, result.err
    lines = [line for line in result.err.splitlines() if line.startswith("deck: ")]
    assert len(lines) == 1 and words in lines[0], result.err


def test_a_run_that_fills_the_disk_ends_failed_with_the_reason_and_deck_recovers(small_disk):
    mount, project, deck = small_disk
    filler = mount / "filler"
    fill(filler, 1 << 20)  # the user's other files; the run's output takes the rest
    (project / "big.py").write_text(BIG_OUTPUT)

    result = deck("submit", "-c", "local", "big.py", timeout=300)

    run_id = run_id_of(result.out)
    assert result.returncode != 0 and "Traceback" not in result.err
    run = deck.json("runs", "show", run_id)
    assert run["status"] == "Failed"
    assert run["error"].startswith("no space left on device (" + str(project / ".deck"))
    assert "no space left on device" in deck("logs", run_id).out  # said in its log too
    listed = deck("runs", "list", check=True)  # reading still works
    assert run_id in listed.out

    filler.unlink()  # space is back
    again = deck("submit", "-c", "local", "train.py", "--epochs", "1", "--sleep", "0",
                 timeout=300)

    assert again.returncode == 0, again.err
    assert [r["status"] for r in deck.json("runs", "list")] == ["Completed", "Failed"]


def test_submit_on_a_full_disk_says_so_in_one_line_and_works_once_space_is_back(small_disk):
    mount, project, deck = small_disk
    first = run_id_of(deck("submit", "-c", "local", "train.py", "--epochs", "1", "--sleep",
                           "0", check=True).out)
    # The run's keeper frees its space reserve as it exits, which may come after submit
    # returned: filled before that, the disk had room again for the next submit.
    from launchdeck.core.history.store import HistoryStore

    history = HistoryStore(project / ".deck" / "history.db")
    keeper = history.get_run(first).keeper_pid
    history.close()
    until(lambda: not keeper or not pid_alive(keeper), what="the first run's keeper to exit")
    filler = mount / "filler"
    fill(filler)

    full = deck("submit", "-c", "local", "train.py", "--epochs", "1", "--sleep", "0")

    if full.out.startswith("RunId: "):  # history had room for the run; its files had none
        assert full.returncode != 0 and "Traceback" not in full.err
        failed = deck.json("runs", "show", run_id_of(full.out))
        assert failed["status"] == "Failed"
        assert "no space left on device (" + str(project) in failed["error"]
    else:
        assert_one_clear_line(full, "no space left on device (" + str(mount))
    listed = deck("runs", "list", check=True)
    assert first in listed.out
    assert deck("logs", first, check=True).out.startswith("hello from local")

    filler.unlink()
    again = deck("submit", "-c", "local", "train.py", "--epochs", "1", "--sleep", "0")

    assert again.returncode == 0, again.err
    runs = deck.json("runs", "list")
    assert [r["status"] for r in runs] == ["Completed", "Completed"]  # nothing left half-made


def test_a_read_only_project_reads_and_refuses_writes_in_one_line(small_disk):
    mount, project, deck = small_disk
    run_id = run_id_of(deck("submit", "-c", "local", "train.py", "--epochs", "1", "--sleep",
                            "0", check=True).out)
    # A database closed cleanly has no -wal/-shm files, which a read-only folder cannot make.
    import sqlite3

    db = sqlite3.connect(project / ".deck" / "history.db")
    keeper = db.execute("SELECT keeper_pid FROM runs").fetchone()[0]
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    # The keeper's clean-up after the run holds files open for writing for a moment, and so
    # does the run's waiter (the script's output file) as it exits: the kernel refuses to make
    # a mount read-only while any file on it is open for writing.
    until(lambda: not pid_alive(keeper), what="the run's keeper to exit")
    until(lambda: subprocess.run(["mount", "-o", "remount,ro", str(mount)],
                                 capture_output=True).returncode == 0,
          what="the project's disk remounted read-only (nothing writing to it)")

    assert run_id in deck("runs", "list", check=True).out
    assert deck.json("runs", "show", run_id)["status"] == "Completed"
    assert "training for 1 epochs" in deck("logs", run_id, check=True).out

    assert_one_clear_line(deck("submit", "-c", "local", "train.py"), "read-only")
    assert_one_clear_line(deck("history", "repair"), "read-only")


def test_a_run_that_fills_the_disk_quietly_is_not_said_to_have_lost_its_waiter(small_disk):
    # The script writes no output, so only its exit code finds no room.
    mount, project, deck = small_disk
    (project / "hog.py").write_text(
        "try:\n"
        "    with open('hog', 'wb', buffering=0) as f:\n"
        "        while True:\n"
        "            f.write(bytes(65536))\n"
        "except OSError:\n"
        "    pass\n")

    result = deck("submit", "-c", "local", "hog.py", timeout=300)

    run = deck.json("runs", "show", run_id_of(result.out))
    assert run["status"] == "Failed" and "Traceback" not in result.err
    assert "waiter was killed" not in run["error"]
    assert "no space left on device (" + str(project) in run["error"]
    hog = project / ".deck" / "runs" / run["run_id"] / "target" / "work" / "hog"
    until(lambda: not hog.exists(), what="the run's files to be cleaned up")  # space is back
    again = deck("submit", "-c", "local", "train.py", "--epochs", "1", "--sleep", "0")
    assert again.returncode == 0, again.err
