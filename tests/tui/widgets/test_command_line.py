"""The ``:`` prompt at 80x24: Tab and enter take the suggestion, short names, recall."""

from __future__ import annotations

from tests.tui.conftest import footer, screen_text, until
from launchdeck.tui.screens.envvars import EnvVarsScreen
from launchdeck.tui.screens.runconfigs import RunConfigsScreen
from launchdeck.tui.screens.runs import RunsScreen
from launchdeck.tui.screens.targets import TargetsScreen
from launchdeck.tui.widgets.command_line import CommandLine

SIZE = (80, 24)


def prompt(app) -> CommandLine:
    return app.screen.query_one(CommandLine)


async def test_tab_completes_the_suggestion_and_keeps_focus(fixed_app):
    async with fixed_app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(fixed_app.runs) == 5)
        await pilot.press("colon", *"targ")
        await until(pilot, lambda: "targets" in footer(fixed_app), what="the suggestion")
        await pilot.press("tab")
        assert prompt(fixed_app).value == "targets"
        assert fixed_app.focused is prompt(fixed_app)  # Tab did not leave the prompt
        await pilot.press("tab", "shift+tab")
        assert fixed_app.focused is prompt(fixed_app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(fixed_app.screen, TargetsScreen))


async def test_enter_takes_unique_prefixes_and_short_names(fixed_app):
    async with fixed_app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(fixed_app.runs) == 5)
        # Typed in one burst, as a fast typist or a slow link delivers it.
        for typed, screen in (("targ", TargetsScreen), ("c", RunConfigsScreen),
                              ("e", EnvVarsScreen), ("r", RunsScreen), ("t", TargetsScreen),
                              ("conf", RunConfigsScreen), ("ru", RunsScreen)):
            await pilot.press("colon", *typed, "enter")
            await until(pilot, lambda: isinstance(fixed_app.screen, screen), what=f":{typed}")
        assert "no such view" not in screen_text(fixed_app)


async def test_tab_then_escape_leaves_no_text_behind(fixed_app):
    async with fixed_app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(fixed_app.runs) == 5)
        table = fixed_app.focused
        await pilot.press("colon", *"con", "tab", "escape")
        assert fixed_app.focused is table
        assert not prompt(fixed_app).display and prompt(fixed_app).value == ""
        assert "configs" not in footer(fixed_app)
        await pilot.press("enter")  # the table's enter: opens the run, nothing typed lingers
        await until(pilot, lambda: fixed_app.screen.__class__.__name__ == "RunDetailScreen")


async def test_up_and_down_recall_earlier_commands(fixed_app):
    async with fixed_app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(fixed_app.runs) == 5)
        await pilot.press("colon", *"targets", "enter")
        await until(pilot, lambda: isinstance(fixed_app.screen, TargetsScreen))
        await pilot.press("colon", *"configs", "enter")
        await until(pilot, lambda: isinstance(fixed_app.screen, RunConfigsScreen))
        await pilot.press("colon", *"ru", "up")
        assert prompt(fixed_app).value == "configs"
        await pilot.press("up")
        assert prompt(fixed_app).value == "targets"
        await pilot.press("up")  # the oldest stays
        assert prompt(fixed_app).value == "targets"
        await pilot.press("down")
        assert prompt(fixed_app).value == "configs"
        await pilot.press("down")  # past the newest: what was being typed
        assert prompt(fixed_app).value == "ru"
        await pilot.press("up", "up", "enter")
        await until(pilot, lambda: isinstance(fixed_app.screen, TargetsScreen))
