"""The command palette (ctrl+p) opens on views and runs; actions come when typed."""

from __future__ import annotations

from tests.tui.conftest import screen_text, shows, until


async def test_the_palette_opens_on_views_and_runs(fixed_app, history_project):
    _, ids = history_project
    app = fixed_app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.runs) == 5)
        await pilot.press("ctrl+p")
        text = await shows(pilot, app, "Go to runs")
        await shows(pilot, app, ids[4])  # the newest run
        text = screen_text(app)
        assert "Cursor up" not in text and "Change theme" not in text
        first = [line for line in text.split("\n") if "Go to" in line or "sample_" in line]
        assert "Go to runs" in first[0]
        await pilot.press(*"cursor")  # Textual's own keys are no commands
        await pilot.pause(0.3)
        assert "Cursor up" not in screen_text(app)
