"""The dashboard shows names from runs with control characters escaped, never sends them."""

from __future__ import annotations

from launchdeck.core.runs.submit import submit
from tests.tui.conftest import make_app, screen_text, shows, until
from launchdeck.tui.screens.run_detail import RunDetailScreen

HOSTILE = "\x1b]0;pwned\x07x.py"
SCRIPT = (
    "import deckrun\n"
    "deckrun.log('\\x1b[2Jloss', 0.5)\n"
    "print('\\x1b[31mred\\x1b[0m output \\x1bc reset')\n"
    "raise ValueError('\\x1b]0;boom\\x07')\n")


def terminal_bytes(app) -> str:
    """Everything the screen's segments would write, styles aside."""
    strips = app.screen._compositor.render_strips()  # noqa: SLF001 - no public dump
    return "".join(segment.text for strip in strips for segment in strip)


async def test_a_hostile_script_name_metric_and_output_are_shown_escaped(live_project):
    (live_project.root / HOSTILE).write_text(SCRIPT)
    run = submit(live_project, "local", str(live_project.root / HOSTILE))
    app = make_app(live_project)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: run.run_id in app.runs
                    and app.runs[run.run_id].status.is_terminal, timeout=60, what="run ended")
        text = await shows(pilot, app, "\\x1b]0;pwned\\x07x.py")  # the runs table
        assert "\x1b" not in terminal_bytes(app) and "\x07" not in terminal_bytes(app)
        app.action_goto("run", run.run_id)
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        text = await shows(pilot, app, "output \\x1bc reset")  # the log: colours kept
        assert "red output" in text and "\\x1b[31m" not in text
        assert "\x1b" not in terminal_bytes(app)
        await pilot.press("2")
        await shows(pilot, app, "\\x1b[2Jloss")
        assert "\x1b" not in terminal_bytes(app)
        await pilot.press("4")
        text = await shows(pilot, app, "ValueError: \\x1b]0;boom\\x07")
        assert "\x1b" not in terminal_bytes(app)

