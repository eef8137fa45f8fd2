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
