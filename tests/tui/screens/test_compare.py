"""The compare screen: config differences, final metrics, overlaid plots."""

from __future__ import annotations

from tests.tui.conftest import screen_text, shows, until
from tui.screens.compare import CompareScreen, compare_rows
from tui.widgets.plot import LinePlot


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
    from core.history.store import HistoryStore

    project, ids = history_project
    store = HistoryStore(project.deck_dir / "history.db")
    runs = [store.get_run(ids[0], details=True), store.get_run(ids[1], details=True)]
    rows = {label: (values, differs) for label, values, differs in
            compare_rows(runs, everything=False)}
    assert rows["script"][1] and rows["status"][1]
    assert "Target" not in rows  # same in both
    assert rows["loss (final)"][0] == [0.05, "—"]
