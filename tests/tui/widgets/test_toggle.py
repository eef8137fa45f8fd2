"""Focus and states read at a glance at 80x24, with colour and without (NO_COLOR): the focused
field's label is reversed; a checkbox shows [x] on and [ ] off."""

from __future__ import annotations

import pytest

from tests.tui.conftest import make_app, screen_text, until
from tests.tui.projects import clock
from launchdeck.tui.screens.runconfigs import RunConfigsScreen

SIZE = (80, 24)


def cell_styles(app, text: str):
    """The Rich styles of the cells showing ``text`` (its first occurrence on screen)."""
    for strip in app.screen._compositor.render_strips():  # noqa: SLF001 - as screen_text
        plain = strip.text
        at = plain.find(text)
        if at < 0:
            continue
        styles, x = [], 0
        for segment in strip:
            for _ in segment.text:
                if at <= x < at + len(text):
                    styles.append(segment.style)
                x += 1
        return styles
    raise AssertionError(f"{text!r} not on screen:\n{screen_text(app)}")


def stands_out(style) -> bool:
    """Marked in a way that survives without colour."""
    return bool(style and (style.reverse or style.underline))


@pytest.fixture(params=[False, True], ids=["colour", "NO_COLOR"])
def app(request, history_project, monkeypatch):
    """The dashboard on ``history_project``, once with colour and once under NO_COLOR."""
    if request.param:
        monkeypatch.setenv("NO_COLOR", "1")
    project, _ = history_project
    return make_app(project, clock=clock)


async def test_the_focused_field_and_checkbox_states_read_without_colour(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, RunConfigsScreen))
        screen = app.screen
        await until(pilot, lambda: screen.name_shown is not None)
        await pilot.press("enter", "tab", "tab")  # the form: Target, Framework, Arguments
        assert screen.focused is screen.query_one("#f-ArgumentVector")
        await pilot.pause(0.2)
        assert all(stands_out(s) for s in cell_styles(app, "Arguments"))
        for other in ("Target", "Framework", "Conda file"):
            assert not any(stands_out(s) for s in cell_styles(app, other)), other

        prepare = screen.query_one("#f-PrepareEnvironment")
        prepare.value = False
        await pilot.pause(0.2)
        assert "[ ] build the environment in each run" in screen_text(app)
        prepare.value = True
        await pilot.pause(0.2)
        assert "[x] build the environment in each run" in screen_text(app)
        prepare.focus()
        await pilot.pause(0.2)
        assert all(stands_out(s) for s in cell_styles(app, "Prepare env"))


async def test_the_attach_forms_build_offline_box_reads_without_colour(app):
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("T")
        await until(pilot, lambda: app.screen.__class__.__name__ == "TargetsScreen")
        await pilot.press("a")
        await until(pilot, lambda: app.screen.__class__.__name__ == "AttachDialog")
        dialog = app.screen
        dialog.query_one("#type").value = "docker"  # a type that builds images offline
        offline = dialog.query_one("#f-offline")
        for _ in range(16):  # by keyboard, from the name field on to the box
            if dialog.focused is offline:
                break
            await pilot.press("tab")
        assert dialog.focused is offline
        await pilot.pause(0.2)
        assert "[ ] wheels gathered here, no network" in screen_text(app)
        assert all(stands_out(s) for s in cell_styles(app, "Build offline"))
        assert not any(stands_out(s) for s in cell_styles(app, "Base Docker image"))
        await pilot.press("space")
        await until(pilot, lambda: "[x] wheels gathered here, no network" in screen_text(app),
                    what="ticked")
        await pilot.press("space")
        await until(pilot, lambda: "[ ] wheels gathered here, no network" in screen_text(app),
                    what="unticked")
