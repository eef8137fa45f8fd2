"""Queued runs hold no process: a keeper starts when its run gets a slot, started by the keeper
that frees it or by the next deck command; submit order, cancel and kill -9 as before."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from launchdeck.core.history.store import HistoryStore
from launchdeck.core.runs.liveness import pid_alive
from tests.fixtures.waiting import until

BLOCK = ("import os, time\n"
         "while not os.path.exists(os.environ['RELEASE']): time.sleep(0.05)\n")


def run_id_of(out: str) -> str:
    return out.split("RunId:")[1].split()[0]


def submit(deck, script: str) -> str:
    return run_id_of(deck("submit", "-c", "local", "--detach", script, check=True).out)


def queue_behind_a_blocker(deck, project: Path, count: int) -> tuple[str, list[str], Path]:
    """local with one slot, held by a run until ``release`` exists; ``count`` quick runs queued
    behind it. Returns (blocker, queued, release)."""
    compute = project / "aml_config" / "local.compute"
    compute.write_text(compute.read_text() + "maxConcurrentRuns: 1\n")
    (project / "block.py").write_text(BLOCK)
    (project / "quick.py").write_text("print('ran')\n")
    release = project.parent / "release"
    deck.env["RELEASE"] = str(release)
    blocker = submit(deck, "block.py")
    return blocker, [submit(deck, "quick.py") for _ in range(count)], release


def history_of(project: Path) -> HistoryStore:
    """History read directly: a deck command would dispatch the queue itself."""
    return HistoryStore(project / ".deck" / "history.db")


def keeper_processes(project: Path, history: HistoryStore) -> set[int]:
    """Live keepers of the project: the pids history recorded, and any process started to run
    the keeper module on this project (one not recorded yet; not a keeper's forked waiter)."""
    recorded = {r.keeper_pid for r in history.list_runs() if r.keeper_pid}
    found = {pid for pid in recorded if pid_alive(pid)}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            parent = int(Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if b"launchdeck.core.runs.keeper" in argv and str(project).encode() in argv \
                and parent not in recorded and pid_alive(int(entry)):
            found.add(int(entry))
    return found


def all_over(history: HistoryStore, ids: list[str]) -> bool:
    return all(history.get_run(run_id).status.is_terminal for run_id in ids)


def test_thirty_queued_runs_hold_no_process_and_the_keepers_pass_the_slot_on_in_order(
        deck, project):
    blocker, queued, release = queue_behind_a_blocker(deck, project, 30)
    history = history_of(project)
    try:
        until(lambda: history.get_run(blocker).status.value == "Running", what="the blocker")
        assert all(history.get_run(run_id).status.value == "Queued" for run_id in queued)
        # The head of the queue has a standby keeper (it waits for the slot); no other has.
        assert all(history.get_run(run_id).keeper_pid is None for run_id in queued[1:])
        until(lambda: len(keeper_processes(project, history)) <= 2,
              what="the abandoned keeper seeds to exit")
        # The blocker's keeper and the standby.
        assert len(keeper_processes(project, history)) <= 2
        release.touch()
        # No deck command from here on: each keeper starts the next one as its run ends.
        until(lambda: all_over(history, [blocker, *queued]), timeout=600,
              what="all 31 runs to end")
        runs = [history.get_run(run_id) for run_id in queued]
        assert all(r.status.value == "Completed" for r in runs)
        starts = [r.start_time_utc for r in runs]
        assert starts == sorted(starts), "the queue ran in submit order"
        ends = [r.end_time_utc for r in runs]
        assert all(end <= start for end, start in zip(ends, starts[1:])), "one at a time"
    finally:
        history.close()


def test_after_kill_9_of_the_running_keeper_the_next_command_moves_the_queue(deck, project):
    blocker, queued, release = queue_behind_a_blocker(deck, project, 3)
    history = history_of(project)
    try:
        until(lambda: history.get_run(blocker).status.value == "Running", what="the blocker")
        assert all(history.get_run(run_id).keeper_pid is None for run_id in queued[1:])
        os.kill(history.get_run(blocker).keeper_pid, signal.SIGKILL)
        release.touch()
        until(lambda: not pid_alive(history.get_run(blocker).keeper_pid), what="the kill")
        # No process is left to start anything: the next look at history does.
        deck("runs", "list", check=True)
        until(lambda: all_over(history, [blocker, *queued]), timeout=300,
              what="the blocker and the queue to end")
        runs = [history.get_run(run_id) for run_id in (blocker, *queued)]
        assert [r.status.value for r in runs] == ["Completed"] * 4
        starts = [r.start_time_utc for r in runs[1:]]
        assert starts == sorted(starts)
        assert runs[0].end_time_utc <= starts[0], "the queue waited for the killed run's end"
    finally:
        history.close()


def test_canceling_a_queued_run_needs_no_process_and_the_next_one_runs(deck, project):
    blocker, (second, third, fourth), release = queue_behind_a_blocker(deck, project, 3)
    history = history_of(project)
    try:
        assert history.get_run(third).keeper_pid is None  # second has the standby keeper
        deck("cancel", third, "--no-wait", check=True)
        # Done when the command returns: there was no process to stop.
        assert history.get_run(third).status.value == "Canceled"
        deck("cancel", second, check=True)  # the standby keeper stops and passes it on
        assert history.get_run(second).status.value == "Canceled"
        release.touch()
        until(lambda: all_over(history, [blocker, fourth]), timeout=120, what="the others")
        assert history.get_run(fourth).status.value == "Completed"
        for canceled in (second, third):
            assert history.get_run(canceled).start_time_utc is None
            assert not (project / ".deck" / "runs" / canceled / "output.log").exists()
    finally:
        history.close()
