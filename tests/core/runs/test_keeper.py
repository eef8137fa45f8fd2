"""The keeper once the run is over: the slot is freed first, the clean-up cannot hang it."""

import asyncio

from core.project import Project
from core.runs import keeper, slots
from core.runs.submit import submit
from core.targets.local import LocalExecution


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
    monkeypatch.setattr("core.targets.priority.lower_priority", lambda niceness: None)

    await asyncio.wait_for(keeper.Keeper(deck_project, run.run_id).run(), 60)

    assert deck_project.history.get_run(run.run_id).status == "Completed"
    assert seen["busy slots"] == 0
    log = (deck_project.run_dir(run.run_id) / "output.log").read_text()
    assert "training for 1 epochs" in log
    assert log.endswith("deck: the run's files on the target were not cleaned up: no answer "
                        "within 0.5 s\n")
