"""The runs preview's facts: a running run's time goes on, and facts that did not change are
not drawn again (the runs screen asks for them at every change it draws)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Static

from launchdeck.core.history.records import RunRecord
from launchdeck.core.runs.state import RunState
from launchdeck.tui.widgets.run_preview import RunPreview
from tests.tui.conftest import refreshes, screen_text, until

RUN_START = 1790848800.0  # 2026-10-01T10:00:00Z
RUN = RunRecord(run_id="sample_1", status=RunState.RUNNING, target="local",
                run_configuration="local", script="train.py", arguments=("--epochs", "5"),
                framework="Python", snapshot="ab" * 32, config={},
                created_utc="2026-10-01T10:00:00.000000Z",
                start_time_utc="2026-10-01T10:00:00.000000Z")


class Preview(App):
    CSS = "RunPreview { width: 56; }"

    def __init__(self) -> None:
        super().__init__()
        self.now = RUN_START + 5
        self.preview = RunPreview("sample", run_dir=lambda rid: Path("/nonexistent") / rid,
                                  clock=lambda: self.now)

    def compose(self) -> ComposeResult:
        yield self.preview


async def test_a_running_runs_time_goes_on_without_a_new_layout_and_same_facts_stay():
    app = Preview()
    async with app.run_test(size=(60, 40)) as pilot:
        app.preview.show(RUN, ("loss", 0.5))
        await until(pilot, lambda: "took     5.0s" in screen_text(app), what="the time taken")
        drawn = refreshes(app.preview.query_one("#preview-facts", Static))
        app.preview.show(RUN, ("loss", 0.5))  # nothing changed: nothing is drawn
        assert drawn == []
        app.now += 1
        app.preview.show(RUN, ("loss", 0.4))  # as many lines as before: no layout
        await until(pilot, lambda: "6.0s" in screen_text(app) and "0.4" in screen_text(app),
                    what="the new time and metric")
        assert drawn == [False]
        ended = replace(RUN, status=RunState.COMPLETED, exit_code=0,
                        end_time_utc="2026-10-01T10:00:07.000000Z")
        app.preview.show(ended, ("loss", 0.4))  # more lines: laid out again
        assert drawn[-1] is True
        await until(pilot, lambda: "exit code" in screen_text(app) and
                    "snapshot" in screen_text(app), what="the end, and every line")
