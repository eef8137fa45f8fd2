"""``CommandLine``: the ``:`` prompt at the bottom of every screen (``:targets``, ``:run ID``)."""

from __future__ import annotations

from textual.suggester import SuggestFromList

from tui.navigation import ALIASES, NAMES
from tui.widgets.search_box import SearchBox


class CommandLine(SearchBox):
    DEFAULT_CSS = """
    CommandLine { dock: bottom; height: 1; border: none; padding: 0; }
    """

    def __init__(self) -> None:
        super().__init__(placeholder=":" + "  :".join(NAMES), compact=True,
                         suggester=SuggestFromList([*NAMES, *ALIASES], case_sensitive=False),
                         id="command-line")

    async def action_submit(self) -> None:
        command = self.value
        self.value = ""
        self.display = False
        self.give_back_focus()
        self.app.goto_command(command)  # before the keys typed after enter are handled
        self.hand_on_typed_ahead()
