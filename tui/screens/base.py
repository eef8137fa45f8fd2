"""What every dashboard screen shares: a name to jump to with ``:``, back, help."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import events, on
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input

from tui.screens.dialogs import TYPE_AHEAD_BINDINGS

if TYPE_CHECKING:
    from tui.app import DeckApp


class DeckScreen(Screen):
    """A top-level view of the project."""

    #: The name ``:`` jumps to (``:runs``, ``:targets``); None for screens opened from others.
    SCREEN_NAME: ClassVar[str | None] = None
    #: One line on what the screen is for, in the help and the command palette.
    SUMMARY: ClassVar[str] = ""

    BINDINGS = [
        Binding("escape", "back", "Back", id="screen.back"),
        Binding("q", "back", "Back", show=False, id="screen.quit"),
        *TYPE_AHEAD_BINDINGS,
    ]

    @on(events.Mount)
    def _add_command_line(self) -> None:
        from tui.widgets.command_line import CommandLine

        self.mount(CommandLine())

    def open_command_line(self) -> None:
        from tui.widgets.command_line import CommandLine

        self.query_one(CommandLine).open("")

    def typing(self) -> bool:
        """Whether a text field has focus (then printable keys are text, not commands)."""
        return isinstance(self.focused, Input)

    @property
    def deck(self) -> "DeckApp":
        return self.app  # type: ignore[return-value]

    def action_back(self) -> None:
        from tui.app import HOME

        if len(self.app.screen_stack) > HOME + 1:
            self.app.pop_screen()
