"""Following a run's output: when the follower looks for a dead keeper."""

import types

import pytest

from launchdeck.core import filetail
from launchdeck.core.project import Project
from launchdeck.core.runs.control import follow_output_blocking
from launchdeck.core.runs.state import RunState
from launchdeck.core.runs.submit import submit


@pytest.mark.parametrize("dispatched, looks", [(False, 1), (True, 0)])
def test_a_follower_that_just_dispatched_the_run_does_not_look_for_its_keeper_at_once(
        project, monkeypatch, dispatched, looks):
    # `deck logs -f` looks at once (the keeper may have died long ago); `deck submit` has just
    # started the keeper (or queued the run) and looks only after REVIVE_EVERY_SECONDS.
    deck_project = Project(project)
    run = submit(deck_project, "local", str(project / "train.py"), start=False)
    revived = []
    monkeypatch.setattr("launchdeck.core.runs.launcher.revive",
                        lambda project, runs=None: revived.append(runs) or [])

    def run_ends(seconds):  # the follower's first pause: the run ends meanwhile (its keeper
        keeper = Project(project)  # writes through a connection of its own)
        if not keeper.history.get_run(run.run_id).status.is_terminal:
            keeper.history.transition(run.run_id, RunState.CANCELED)
        keeper.history.close()

    monkeypatch.setattr(filetail, "time", types.SimpleNamespace(sleep=run_ends))
    assert list(follow_output_blocking(deck_project, run.run_id, dispatched=dispatched)) == []
    assert len(revived) == looks


def test_a_follower_wakes_when_the_runs_keeper_exits_rather_than_sleep_out_its_poll(
        project, monkeypatch):
    # A keeper records the run's end and then exits: `deck submit` ends with it.
    import select
    import subprocess
    import sys

    deck_project = Project(project)
    run = submit(deck_project, "local", str(project / "train.py"), start=False)
    ends_the_run = (
        "import sys\n"
        "from pathlib import Path\n"
        "from launchdeck.core.history.store import HistoryStore\n"
        "from launchdeck.core.runs.state import RunState\n"
        "sys.stdin.read()\n"  # until the test lets it go on
        "history = HistoryStore(Path('.deck/history.db'))\n"
        f"history.transition({run.run_id!r}, RunState.CANCELED)\n"
        "history.close()\n")
    keeper = subprocess.Popen([sys.executable, "-c", ends_the_run], cwd=project,
                              stdin=subprocess.PIPE)
    deck_project.history.update_run(run.run_id, keeper_pid=keeper.pid)
    real_select = select.select

    def first_pause_lets_the_keeper_go_on(*args):
        if not keeper.stdin.closed:
            keeper.stdin.close()
        return real_select(*args)

    def sleep(seconds):
        raise AssertionError("the follower slept out its poll while its keeper was exiting")

    monkeypatch.setattr(select, "select", first_pause_lets_the_keeper_go_on)
    monkeypatch.setattr(filetail, "time", types.SimpleNamespace(sleep=sleep))
    try:
        assert list(follow_output_blocking(deck_project, run.run_id)) == []
    finally:
        if not keeper.stdin.closed:
            keeper.stdin.close()
        keeper.wait(timeout=60)
    assert keeper.returncode == 0
    assert deck_project.history.get_run(run.run_id).status is RunState.CANCELED
