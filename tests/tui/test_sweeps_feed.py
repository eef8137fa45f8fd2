"""The dashboard's look at the sweeps: a running sweep whose owner died gets a new one, as
runs' keepers do."""

from __future__ import annotations

import os
import signal

from launchdeck.core.runs.state import RunState
from launchdeck.core.sweeps.owner import owner_alive
from launchdeck.core.sweeps.store import SweepStore
from tests.tui.conftest import make_app, until
from tests.tui.screens.test_sweep import sweep_of, trial_states  # noqa: F401 - a fixture


async def test_a_sweep_whose_owner_was_killed_gets_a_new_one(live_project, sweep_of):
    sweep_id = sweep_of({"n": "0,1"}, hold=1)
    store = SweepStore(live_project.deck_dir)
    app = make_app(live_project, revive_runs=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: trial_states(app, sweep_id).get(1) is RunState.RUNNING,
                    timeout=120, what="trial 1 held")
        first = store.status(sweep_id).owner_pid
        os.kill(first, signal.SIGKILL)
        await until(pilot, lambda: (pid := app.sweeps[sweep_id].status.owner_pid) != first
                    and pid is not None and owner_alive(store, sweep_id), timeout=60,
                    what="a new owner")
        (sweep_of.gate / "go-1").touch()
        await until(pilot, lambda: str(app.sweeps[sweep_id].status.state) == "Completed",
                    timeout=120, what="the sweep to complete under its new owner")
