"""The runs preview's live log tail (#14.12): at 160x48 it follows the highlighted run's log;
at 80x24, where the preview does not fit, and under another screen it reads nothing."""

from __future__ import annotations

from launchdeck.tui.logindex import tail_lines
from launchdeck.tui.screens.run_detail import RunDetailScreen
from launchdeck.tui.widgets.log_tail import LogTail
from launchdeck.tui.widgets.runs_table import RunsTable
from tests.tui.conftest import screen_text, shows, until


def tail(app) -> LogTail:
    return app.screen.query_one(LogTail)


async def test_the_wide_preview_follows_the_highlighted_runs_log(fixed_app, history_project):
    project, ids = history_project  # ids[3]: Running, with a log; ids[4]: Queued, none yet
    app = fixed_app
    log = project.run_dir(ids[3]) / "output.log"
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.screen.query_one(RunsTable).row_count == 5)
        await shows(pilot, app, "no output yet")  # the Queued run under the cursor
        await pilot.press("j")
        await shows(pilot, app, "epoch 7: loss=0.125")
        with log.open("a") as out:
            out.write("\nwritten now\nthen \x1b[2Jcleared?\n")
        text = await shows(pilot, app, "then \\x1b[2Jcleared?")  # live; escapes shown, not run
        assert "written now" in text
        await pilot.press("G")  # the Completed run: its whole end
        await shows(pilot, app, "model written to outputs/model.json")
        assert "written now" not in screen_text(app)
        # Under a run's detail the preview reads nothing, and follows again on return.
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        assert not app.screen_stack[-2].query_one(LogTail)._shown.is_set()
        await pilot.press("escape")
        await until(pilot, lambda: tail(app)._shown.is_set(), what="reading again")


async def test_at_80x24_the_preview_does_not_show_and_reads_nothing(fixed_app, history_project):
    project, ids = history_project
    app = fixed_app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.query_one(RunsTable).row_count == 5)
        await pilot.press("j")  # the Running run, whose log grows
        with (project.run_dir(ids[3]) / "output.log").open("a") as out:
            out.write("\nwritten now\n")
        await until(pilot, lambda: app.screen.query_one(RunsTable).cursor_run_id == ids[3])
        assert not tail(app).display or not tail(app).parent.display
        assert not tail(app)._shown.is_set() and tail(app).reads == 0
        assert "epoch" not in screen_text(app)
        await pilot.resize_terminal(160, 48)  # grown wide enough: it shows and follows
        await shows(pilot, app, "written now")


def test_a_tail_reads_the_end_only(tmp_path):
    log = tmp_path / "output.log"
    log.write_bytes(b"".join(b"line %d\n" % i for i in range(100_000)) + b"partial\rdone")
    size, lines = tail_lines(log, 3)
    assert size == log.stat().st_size and lines == ["line 99998", "line 99999", "done"]
    assert tail_lines(tmp_path / "missing.log", 3) == (-1, [])
