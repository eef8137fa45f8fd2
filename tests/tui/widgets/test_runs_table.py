"""At 80 columns nothing is cut or scrolled sideways: the runs table drops whole columns in
DROP_ORDER, the run header keeps target and time, the filter hint and snapshot hash fit."""

from __future__ import annotations

import pytest

from launchdeck.core.runs.state import RunState
from tests.tui.conftest import make_app, screen_text, shows, until
from tests.tui.projects import FakeRun, clock, copy_sample, fill_history
from launchdeck.tui.format import format_value
from launchdeck.tui.screens.run_detail import RunDetailScreen
from launchdeck.tui.widgets.runs_table import COLUMNS, DROP_ORDER, RunsTable

LONG = dict(script="experiments/train_resnet50.py", runconfig="docker-gpu-large",
            target="docker-gpu-large")


@pytest.fixture
def wide_project(tmp_path):
    project = copy_sample(tmp_path)
    ids = fill_history(project, [
        FakeRun(RunState.COMPLETED, metrics={"validation_accuracy": [12345.678]},
                arguments=("--epochs", "500", "--learning-rate", "0.0001", "--batch-size",
                           "256", "--data", "/data/imagenet/train"), **LONG),
        FakeRun(RunState.FAILED, **LONG),
    ])
    return project, ids


def table(app) -> RunsTable:
    return app.screen.query_one(RunsTable)


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (160, 48)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_runs_table_drops_columns_in_order_and_never_cuts(wide_project, size):
    project, ids = wide_project
    app = make_app(project, clock=clock)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: table(app).row_count == 2)
        await pilot.pause(0.3)
        t = table(app)
        shown = t.shown_columns
        dropped = [key for _, key in COLUMNS if key not in shown]
        assert set(dropped) == set(DROP_ORDER[:len(dropped)])  # the first ones of the order
        assert t.virtual_size.width <= t.scrollable_content_region.width  # no sideways scroll
        assert not t.show_horizontal_scrollbar
        text = screen_text(app)
        cells = {"script": LONG["script"], "runconfig": LONG["runconfig"],
                 "metric": "validation_accuracy=1.235e+04", "duration": "42.0s"}
        for key, value in cells.items():
            if key in shown:
                assert value in text, f"{key} cut: {value!r}\n{text}"
        assert "id" in shown and "status" in shown
        if size[0] == 100:  # no preview pane: the widest table; the run number took the
            # room this long metric had, which gives way before the script and the time
            assert "number" in shown and "script" in shown and "duration" in shown


async def test_the_run_header_keeps_target_and_time_at_80_columns(wide_project):
    project, ids = wide_project
    app = make_app(project, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.runs) == 2)
        app.action_goto("run", ids[0])
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        header = (await shows(pilot, app, "42.0s")).split("\n")[0]
        assert "on docker-gpu-large · 42.0s" in header
        assert "· experiments/tr" in header and "…" in header
        await pilot.press("4")
        line = next(l for l in (await shows(pilot, app, "snapshot")).split("\n")
                    if "snapshot" in l)
        assert line.rstrip().endswith("…") and "00ababab" in line  # one line, abbreviated


async def test_the_filter_hint_fits_80_columns(fixed_app):
    async with fixed_app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash")
        await shows(pilot, fixed_app, "· esc clears")


def test_metric_values_lose_digits_rather_than_being_cut():
    assert format_value(12345.678, 7) == "1.2e+04"
    assert format_value(0.123456, 6) == "0.1235"
    assert format_value(12345.678, 10) == "1.235e+04"


async def test_a_running_runs_time_is_drawn_without_parsing_markup(history_project, monkeypatch):
    # Every cell is Text: DataTable parses a str cell as markup each time it draws its row,
    # and a running run's row is drawn each second.
    from rich.text import Text

    project, ids = history_project
    now = [clock()]
    app = make_app(project, clock=lambda: now[0])
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: table(app).row_count == 5, what="the runs")
        await pilot.pause()
        parsed: list[str] = []
        from_markup = Text.from_markup

        def counted(text, *args, **kwargs):
            parsed.append(text)
            return from_markup(text, *args, **kwargs)

        monkeypatch.setattr(Text, "from_markup", counted)
        took = str(table(app).get_cell(ids[3], "duration"))
        now[0] += 61
        table(app).tick()
        await until(pilot, lambda: str(table(app).get_cell(ids[3], "duration")) != took,
                    what="the time going on")
        await shows(pilot, app, str(table(app).get_cell(ids[3], "duration")))
        assert parsed == []
