"""Every screen at 80x24 and 160x48, on a history with fixed ids and times.

Update after an intended change: ``pytest tests/tui/test_snapshots.py --snapshot-update``, then
look at the report before committing.
"""

from __future__ import annotations

import pytest

from tests.tui.conftest import make_app, until
from tests.tui.projects import clock

SIZES = [(80, 24), (160, 48)]


@pytest.fixture
def snap_app(history_project, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", "/home/user/.config")  # shown by the help screen
    project, ids = history_project
    return make_app(project, clock=clock), ids


def loaded(app):
    async def wait(pilot):
        await until(pilot, lambda: len(app.runs) == 5 and app.first_metric, what="history")
        await until(pilot, lambda: app.screen.settled, what="table up to date")
        await pilot.pause(0.2)
    return wait


def then(app, *steps):
    async def run(pilot):
        await loaded(app)(pilot)
        for step in steps:
            if callable(step):
                await step(pilot)
            else:
                await pilot.press(*step)
            await pilot.pause(0.3)
        await pilot.wait_for_scheduled_animations()
    return run


async def preview_log_read(pilot):
    """The wide preview's log tail shows the highlighted run's (read in a thread)."""
    from launchdeck.tui.widgets.log_tail import LogTail

    tail = pilot.app.screen.query_one(LogTail)
    if tail.parent.display and pilot.app.size.width >= 140:
        await until(pilot, lambda: tail.settled, what="the preview's log read")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_runs(snap_app, snap_compare, size):
    app, _ = snap_app
    assert snap_compare(app, terminal_size=size,
                        run_before=then(app, ["space", "space"], preview_log_read))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_run_detail_log(snap_app, snap_compare, size):
    app, ids = snap_app
    assert snap_compare(app, terminal_size=size, run_before=then(app, ["j", "j", "j", "j", "enter"]))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_run_detail_metrics(snap_app, snap_compare, size):
    app, _ = snap_app
    assert snap_compare(app, terminal_size=size,
                        run_before=then(app, ["j", "j", "j", "j", "enter"], ["2"]))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_run_detail_info(snap_app, snap_compare, size):
    app, _ = snap_app
    assert snap_compare(app, terminal_size=size,
                        run_before=then(app, ["j", "j", "j", "j", "enter"], ["4"]))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_targets(snap_app, snap_compare, size):
    app, _ = snap_app
    assert snap_compare(app, terminal_size=size, run_before=then(app, ["T"]))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_runconfigs(snap_app, snap_compare, size):
    app, _ = snap_app
    assert snap_compare(app, terminal_size=size, run_before=then(app, ["C"]))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_envvars(snap_app, snap_compare, size):
    app, _ = snap_app
    assert snap_compare(app, terminal_size=size, run_before=then(app, ["E"]))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_compare(snap_app, snap_compare, size):
    app, ids = snap_app
    assert snap_compare(app, terminal_size=size,
                        run_before=then(app, ["j", "j", "space", "j", "j", "space", "equals_sign"]))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_app, snap_compare, size):
    app, _ = snap_app
    assert snap_compare(app, terminal_size=size, run_before=then(app, ["question_mark"]))
