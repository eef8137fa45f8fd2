"""The sweep view, on real sweeps of a tiny script on the local target: one row in the runs
table that opens into the trials by objective, the best, plots, stopped reasons, its keys."""

from __future__ import annotations

import os
import signal

import pytest
from rich.text import Text

from launchdeck.core.runs.state import RunState
from launchdeck.core.sweeps.store import SweepState, SweepStore
from launchdeck.tui.screens.help import HelpScreen
from launchdeck.tui.screens.sweep import DROP_FIRST, SweepScreen
from launchdeck.tui.widgets.plot import LinePlot, ScatterPlot
from tests.tui.conftest import footer, make_app, notified, screen_text, shows, until

#: Scores n / 2; trial n waits for the file ``go-N`` in ``--gate`` when ``--hold N`` says so.
SCRIPT = """\
import argparse, os, time, deckrun
p = argparse.ArgumentParser()
p.add_argument("--epochs")
p.add_argument("--gate")
p.add_argument("--hold", type=int, default=-1)
p.add_argument("--n", type=int)
p.add_argument("--optimizer", default="sgd")
a = p.parse_args()
deadline = time.time() + 600
while a.n == a.hold and not os.path.exists(os.path.join(a.gate, "go-%d" % a.n)) \\
        and time.time() < deadline:
    time.sleep(0.05)
deckrun.log("score", a.n / 2)
"""


@pytest.fixture
def sweep_of(live_project, tmp_path):
    """Begin a grid sweep of SCRIPT (``grids``: name -> values) whose trial ``hold`` waits."""
    from launchdeck.core.sweeps.control import begin
    from launchdeck.core.sweeps.definition import SweepSettings, define
    from launchdeck.core.sweeps.space import parse_assignment

    (live_project.root / "sweepy.py").write_text(SCRIPT)
    gate = tmp_path / "gate"
    gate.mkdir()

    def start(grids: dict[str, str], hold: int) -> str:
        settings = SweepSettings(
            parameters=tuple(parse_assignment(f"{k}={v}", flag="--grid")
                             for k, v in grids.items()),
            maximize="score", parallel=len(grids["n"].split(",")))
        sweep = begin(live_project, define(settings), "local",
                      str(live_project.root / "sweepy.py"),
                      ("--gate", str(gate), "--hold", str(hold)))
        return sweep.sweep_id

    start.gate = gate
    yield start
    store = SweepStore(live_project.deck_dir)
    for sweep_id in store.ids():  # no owner outlives the test
        pid = store.status(sweep_id).owner_pid
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def trial_states(app, sweep_id):
    p = app.sweeps.get(sweep_id)
    return {t.index: t.run.status for t in p.trials} if p else {}


async def test_a_sweep_is_one_row_that_opens_into_its_trials_at_160x48(live_project,
                                                                       sweep_of):
    sweep_id = sweep_of({"n": "0,1,2"}, hold=2)
    app = make_app(live_project)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: trial_states(app, sweep_id) == {
            0: RunState.COMPLETED, 1: RunState.COMPLETED, 2: RunState.RUNNING},
            timeout=120, what="trials 0 and 1 done, 2 held")
        runs = app.screen.table
        await until(pilot, lambda: runs.row_count == 1 and sweep_id in runs.shown_ids(),
                    what="the sweep's row")
        # its trials begun of those planned, its best value (drawn with the next flush)
        text = await shows(pilot, app, "score=0.5")
        assert sweep_id in text and "3/3" in text
        assert not any(rid in runs.shown_ids() for rid in app.runs)  # the trials fold in
        await shows(pilot, app, f"{sweep_id}: a sweep, 3/3 trials begun; best score=0.5")
        await until(pilot, lambda: "c Cancel" in footer(app) and "Mark" not in footer(app),
                    what="the sweep row's keys")

        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SweepScreen), what="the sweep view")
        screen = app.screen
        text = await shows(pilot, app, "best: trial 1")
        assert f"{sweep_id} · Running" in text and "maximize score" in text
        assert "3 of 3 trials" in text and "score=0.5" in text and "n=1" in text
        # parameters as columns, trials by objective, best first, the running one last
        labels = [str(c.label) for c in screen.table.ordered_columns]
        assert labels == ["trial", "#", "status", "target", "took", "n", "score", "stopped"]
        assert [t.index for t in screen.rows] == [1, 0, 2]
        # the objective per trial (and the best so far), each parameter against it
        line = screen.query_one("#plot-objective", LinePlot)
        await until(pilot, lambda: [v for _, v in line.series] == [(0.0, 0.5), (0.0, 0.5)],
                    what="the objective plot")
        scatters = list(screen.query(ScatterPlot))
        assert [p.border_title for p in scatters] == ["score by n"]
        await until(pilot, lambda: sorted(scatters[0].points) == [(0, 0.0), (1, 0.5)],
                    what="the n plot")
        assert any(0x2800 < ord(ch) < 0x2900 for ch in screen_text(app))  # dots drawn

        # every key in the footer, and in "?"
        await until(pilot, lambda: "X Cancel sweep" in footer(app) and "r Rerun best" in
                    footer(app), what="the sweep view's keys")
        assert "Cancel trial" not in footer(app)  # the cursor's trial is over
        await pilot.press("j", "j")  # to the running trial
        await until(pilot, lambda: "c Cancel trial" in footer(app), what="cancel trial key")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        help_text = screen_text(app)
        for words in ("Cancel the trial under the cursor", "Cancel the sweep",
                      "Run the best trial again", "sweep.cancel"):
            assert words in help_text, words
        await pilot.press("escape")

        # X cancels the sweep (asking first): the held trial stops, its reason shows
        await pilot.press("X")
        await shows(pilot, app, "Cancel sweep (y)")
        await pilot.press("y")
        await until(pilot, lambda: app.sweeps[sweep_id].status.state is SweepState.CANCELED
                    and trial_states(app, sweep_id)[2] is RunState.CANCELED, timeout=60,
                    what="the sweep and its held trial canceled")
        text = await shows(pilot, app, "the sweep was canceled")
        assert f"{sweep_id} · Canceled" in text
        await until(pilot, lambda: "X Cancel sweep" not in footer(app), what="key gone")

        # r reruns the best trial: an ordinary run with its parameters
        before = set(app.runs)
        await pilot.press("r")
        await until(pilot, lambda: set(app.runs) - before, what="the rerun", timeout=60)
        new = app.runs[(set(app.runs) - before).pop()]
        assert new.arguments[-2:] == ("--n", "1") and new.sweep_id is None
        assert notified(app, "Rerun submitted")


async def test_the_sweep_view_at_80x24_drops_columns_in_order_and_cancels_a_trial(
        live_project, sweep_of):
    sweep_id = sweep_of({"n": "0,1", "optimizer": "adam_with_warmup_and_decay"}, hold=1)
    app = make_app(live_project)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: trial_states(app, sweep_id) == {
            0: RunState.COMPLETED, 1: RunState.RUNNING}, timeout=120, what="trial 1 held")
        app.action_goto("sweep", sweep_id[len("sweep"):])  # :sweep 1 as the user types it
        await until(pilot, lambda: isinstance(app.screen, SweepScreen), what="the sweep view")
        screen = app.screen
        await shows(pilot, app, "best: trial 0")
        table = screen.table
        shown = screen.shown_columns
        # what gave way is the first of the stated order; what shows is whole
        dropped = [k for k in (*DROP_FIRST, "param:optimizer", "param:n") if k not in shown]
        assert dropped and dropped == list((*DROP_FIRST, "param:optimizer", "param:n"))[
            :len(dropped)], shown
        assert {"trial", "status", "value"} <= set(shown)
        assert table.virtual_size.width <= table.size.width  # no sideways scrolling
        text = screen_text(app)
        for row in range(table.row_count):
            for cell in table.get_row_at(row):
                plain = cell.plain if isinstance(cell, Text) else str(cell)
                assert plain.strip() in text, plain
        assert "best: trial 0" in text and "adam_with_warmup_and_decay" in text  # best line

        # j/k move; c cancels the trial under the cursor (asking first)
        assert screen.rows[table.cursor_row].index == 0
        await pilot.press("j")
        await until(pilot, lambda: "trial 1 · run" in screen_text(app), what="detail line")
        await pilot.press("k", "j")
        assert screen.rows[table.cursor_row].index == 1
        await until(pilot, lambda: "c Cancel trial" in footer(app) and "X Cancel sweep" in
                    footer(app), what="keys for a running trial")
        await pilot.press("c")
        await shows(pilot, app, "Cancel trial (y)")
        await pilot.press("y")
        await until(pilot, lambda: trial_states(app, sweep_id)[1] is RunState.CANCELED,
                    timeout=60, what="trial 1 canceled")
        await until(pilot, lambda: "c Cancel trial" not in footer(app), what="key gone")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SweepScreen), what="back home")
        await shows(pilot, app, sweep_id)
