"""The run detail screen of a run whose log is gone says so (not an empty log)."""

from __future__ import annotations

from launchdeck.core.runs.submit import submit
from tests.tui.conftest import make_app, notified, until
from launchdeck.tui.screens.run_detail import RunDetailScreen


async def test_a_run_whose_log_is_gone_says_so_in_the_dashboard(live_project):
    run = submit(live_project, "local", str(live_project.root / "train.py"),
                 ("--epochs", "1", "--sleep", "0"))
    app = make_app(live_project)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: run.run_id in app.runs
                    and app.runs[run.run_id].status.is_terminal, timeout=60, what="run ended")
        (live_project.run_dir(run.run_id) / "output.log").unlink()
        app.action_goto("run", run.run_id)
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await until(pilot, lambda: notified(app, "is gone"), what="the lost log said")
