"""Dialogs at 80x24: they fit (the body scrolls, the buttons stay), their footer shows their own
keys, ``?`` lists them."""

from __future__ import annotations

from tests.tui.conftest import footer, screen_text, shows, until
from launchdeck.tui.screens.dialogs import Confirm, ReviewDiff
from launchdeck.tui.screens.help import HelpScreen

SIZE = (80, 24)
LONG_DIFF = "".join(f"-old line {i}\n+new line {i}\n" for i in range(40))


async def test_a_long_diff_scrolls_and_its_buttons_show(fixed_app):
    app = fixed_app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.runs) == 5)
        answers = []
        app.push_screen(ReviewDiff("Write aml_config/local.runconfig?", LONG_DIFF),
                        answers.append)
        text = await shows(pilot, app, "Keep editing (n)")
        assert "Write (y)" in text and "+new line 39" not in text
        body = app.screen.query_one("#diff").parent  # what scrolls the diff
        for key in ("j", "down", "pagedown"):
            before = body.scroll_y
            await pilot.press(key)
            await until(pilot, lambda: body.scroll_y > before, what=f"{key} scrolls the diff")
        await pilot.press("G")
        text = await shows(pilot, app, "+new line 39")
        assert "Write (y)" in text and "Keep editing (n)" in text  # still there
        assert footer(app).startswith("esc Cancel") and "y Write" in footer(app)
        assert "Submit" not in footer(app)  # the runs screen's keys are not offered here
        await pilot.press("y")
        await until(pilot, lambda: answers == [True])


async def test_the_attach_form_fits_with_every_field_reachable(fixed_app):
    app = fixed_app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("T")
        await until(pilot, lambda: app.screen.__class__.__name__ == "TargetsScreen")
        await pilot.press("a")
        await shows(pilot, app, "Attach a compute target")
        app.screen.query_one("#type").value = "cluster"  # the type with the most fields
        await pilot.press("tab")  # from the name field on
        text = await shows(pilot, app, "Write (ctrl+s)")
        assert "Cancel (esc)" in text
        for _ in range(16):  # on to "Max concurrent runs", the last field
            if app.focused is not None and app.focused.id == "f-max_runs":
                break
            await pilot.press("tab")
        assert app.focused.id == "f-max_runs"
        text = await shows(pilot, app, "Max concurrent runs")
        assert "Write (ctrl+s)" in text and "Cancel (esc)" in text
        assert "^s Write" in footer(app) and "Attach" not in footer(app)


async def test_question_mark_lists_a_dialogs_keys(fixed_app):
    app = fixed_app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.runs) == 5)
        app.push_screen(Confirm("Cancel 2 runs?", yes="Cancel 2 runs"))
        await shows(pilot, app, "Cancel 2 runs?")
        await until(pilot, lambda: "y Yes" in footer(app), what="the dialog's footer")
        assert "n No" in footer(app)
        assert "Submit" not in footer(app) and "Filter" not in footer(app)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help over a dialog")
        text = screen_text(app)
        assert "Yes" in text and "No" in text
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, Confirm))


async def test_a_long_pick_list_fits_and_follows_its_cursor(fixed_app):
    from textual.widgets import OptionList

    from launchdeck.tui.screens.dialogs import Choose

    app = fixed_app
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.runs) == 5)
        app.push_screen(Choose("Copy variables from", [f"config{i:02d}" for i in range(40)]))
        await shows(pilot, app, "config00")
        await until(pilot, lambda: "esc Cancel" in footer(app), what="the dialog's footer")
        options = app.screen.query_one(OptionList)
        options.focus()
        for _ in range(30):
            await pilot.press("j")
        await until(pilot, lambda: options.highlighted == 30)
        text = await shows(pilot, app, "config30")  # the list scrolled to its cursor
        assert "config00" not in text and "Copy variables from" in text
