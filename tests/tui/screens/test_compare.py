"""The compare screen: config differences, final metrics, overlaid plots."""

from __future__ import annotations

from tests.tui.conftest import screen_text, shows, until
from launchdeck.tui.screens.compare import CompareScreen, compare_rows
from launchdeck.tui.widgets.plot import LinePlot


async def test_marked_runs_side_by_side(fixed_app, history_project):
    _, ids = history_project
    async with fixed_app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(fixed_app.runs) == 5)
        fixed_app.action_goto("compare", f"{ids[0]} {ids[2]}")
        await until(pilot, lambda: isinstance(fixed_app.screen, CompareScreen))
        screen = fixed_app.screen
        text = await shows(pilot, fixed_app, "≠ Target")
        assert "≠ env.LEARNING_RATE" in text and "0.3" in text and "0.5" in text
        assert "loss (final)" in text and "0.05" in text and "0.2" in text
        assert "Framework" not in text  # equal settings are hidden...
        await pilot.press("a")
        assert "Framework" in await shows(pilot, fixed_app, "Framework")  # ...until asked
        await until(pilot, lambda: len(screen.query(LinePlot)) >= 1)
        assert "1764320400000" in screen_text(fixed_app)


def test_rows_mark_differences(history_project):
    from launchdeck.core.history.store import HistoryStore

    project, ids = history_project
    store = HistoryStore(project.deck_dir / "history.db")
    runs = [store.get_run(ids[0], details=True), store.get_run(ids[1], details=True)]
    rows = {label: (values, differs) for label, values, differs in
            compare_rows(runs, everything=False)}
    assert rows["script"][1] and rows["status"][1]
    assert "Target" not in rows  # same in both
    assert rows["loss (final)"][0] == [0.05, "—"]


async def test_two_real_runs_compared(live_project):
    from launchdeck.core.runs.state import RunState
    from launchdeck.core.runs.submit import submit
    from tests.tui.conftest import make_app

    runs = [submit(live_project, "local", str(live_project.root / "train.py"),
                   ("--epochs", str(n), "--sleep", "0")) for n in (2, 6)]
    app = make_app(live_project)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: all(r.run_id in app.runs and app.runs[r.run_id].status
                                       is RunState.COMPLETED for r in runs),
                    what="both runs done", timeout=60)
        await until(pilot, lambda: app.screen.table.row_count == 2, what="rows")
        await pilot.press("space", "space", "equals_sign")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen))
        text = await shows(pilot, app, "loss (final)")
        assert "--epochs 6" in text and "--epochs 2" in text  # the arguments differ
        assert "Accuracy (final)" in text
        loss = {r.run_id: app.screen.runs[i].metrics["loss"] for i, r in enumerate(runs)}
        assert [len(v) for v in loss.values()] == [2, 6]
        await until(pilot, lambda: len(app.screen.query(LinePlot)) == 2, what="loss, w plots")
