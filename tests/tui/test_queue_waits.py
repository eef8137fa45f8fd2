"""Queued runs say why they wait, in the runs table and on the run's log tab (80x24), read from
the target's real slot locks through core."""

from __future__ import annotations

from launchdeck.core.runs import slots
from tests.tui.conftest import make_app, screen_text, shows, until
from tests.tui.projects import clock
from launchdeck.tui.screens.run_detail import RunDetailScreen


async def test_a_queued_run_says_its_place_and_the_busy_slots(history_project):
    await _says_why(history_project, (80, 24))


async def test_the_wide_preview_says_why_too(history_project):
    await _says_why(history_project, (160, 48), preview=True)


async def _says_why(history_project, size, preview=False):
    project, ids = history_project  # ids[4] is Queued on local
    compute = project.compute_path("local")
    compute.write_text(compute.read_text() + "\nmaxConcurrentRuns: 2\n")
    folder = slots.folder(project.deck_dir, "local")
    held = [slots.try_acquire(folder, 2) for _ in range(2)]
    app = make_app(project, clock=clock)
    try:
        async with app.run_test(size=size) as pilot:
            await shows(pilot, app, "… Queued #1 2/2 busy")
            if preview:  # the newest run, the queued one, is under the cursor
                await shows(pilot, app, "waits    1st in line for local; 2/2 slots of local")
            app.action_goto("run", ids[4])
            await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
            await shows(pilot, app, "queued: 1st in line for local; 2/2 slots of local busy")
            held.pop().release()
            await shows(pilot, app, "a slot is free: starting")
            await pilot.press("escape")
            await until(pilot, lambda: "… Queued #1" in screen_text(app)
                        and "2/2 busy" not in screen_text(app), what="the table told")
    finally:
        for lease in held:
            lease.release()
