"""The help screen (?) describes every key in words, Textual's own keys included."""

from __future__ import annotations

from tests.tui.conftest import screen_text, until
from launchdeck.tui.screens.help import HelpScreen, describe


async def test_help_reads_as_words_not_action_names(fixed_app):
    app = fixed_app
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: len(app.runs) == 5)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        words = [describe(binding) for _, binding, _ in app.screen.rows]
        assert "Next field" in words and "Previous field" in words  # tab, shift+tab
        assert not [w for w in words if "." in w or "_" in w], words  # no raw action names
        app.screen.query_one("#keys").scroll_end(animate=False)
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "Next field" in text and "app.focus" not in text
