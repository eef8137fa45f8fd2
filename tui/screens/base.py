"""What every dashboard screen shares: a name to jump to with ``:``, back, help."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, ClassVar

from textual import events, on
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Input

from launchdeck.tui.screens.dialogs import TYPE_AHEAD_BINDINGS
from launchdeck.tui.views import HOME

if TYPE_CHECKING:
    from launchdeck.tui.app import DeckApp


class DeckScreen(Screen):
    """A top-level view of the project."""

    #: The name ``:`` jumps to (``:runs``, ``:targets``); None for screens opened from others.
    SCREEN_NAME: ClassVar[str | None] = None
    #: One line on what the screen is for, in the help and the command palette.
    SUMMARY: ClassVar[str] = ""
    #: Narrower than this, the footer leaves out its "^p palette" hint (it is in "?"): at 80
    #: columns those twelve cells are worth more to the screen's own keys.
    PALETTE_HINT_MIN_WIDTH: ClassVar[int] = 0

    BINDINGS = [
        Binding("escape", "back", "Back", id="screen.back"),
        Binding("q", "back", "Back", show=False, id="screen.quit"),
        *TYPE_AHEAD_BINDINGS,
    ]

    @on(events.Mount)
    def _add_command_line(self) -> None:
        from launchdeck.tui.widgets.command_line import CommandLine

        self.mount(CommandLine())

    @on(events.Resize)
    def _fit_footer(self, event: events.Resize) -> None:
        if self.PALETTE_HINT_MIN_WIDTH:
            for footer in self.query(Footer):
                footer.show_command_palette = event.size.width >= self.PALETTE_HINT_MIN_WIDTH

    @property
    def covered(self) -> bool:
        """Whether another full screen hides this one (a dialog over it does not).

        Not ``is_current``: Textual counts the screen just below the top one as current, and
        a change drawn on it repaints the same region of the screen on top.
        """
        from textual.screen import ModalScreen

        top = self.app.screen
        return top is not self and not isinstance(top, ModalScreen)

    def open_command_line(self) -> None:
        from launchdeck.tui.widgets.command_line import CommandLine

        self.query_one(CommandLine).open("")

    # The footer shows the keys that act now: a screen's ``can()`` names its actions that
    # cannot act at the moment (False hides their keys; ``?`` still lists them).

    def can(self) -> dict[str, bool]:
        """Action name -> whether it can act now; actions not named always can."""
        return {}

    def check_action(self, action: str, parameters) -> bool | None:
        try:
            return self.can().get(action, True)
        except NoMatches:
            return True  # a key pressed before the screen's widgets are there

    def keys_may_have_changed(self) -> None:
        """Call when what ``can()`` says may have changed; the footer is rebuilt if it did."""
        can = self.can()
        if can != getattr(self, "_last_can", None):
            self._last_can = can
            self.refresh_bindings()  # a footer rebuild costs more than a repaint: only then

    def typing(self) -> bool:
        """Whether a text field has focus (then printable keys are text, not commands)."""
        return isinstance(self.focused, Input)

    @property
    def deck(self) -> "DeckApp":
        return self.app  # type: ignore[return-value]

    def leave(self, then: Callable[[], None]) -> None:
        """Call ``then()`` once this screen may go (a screen holding unsaved edits asks first)."""
        then()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > HOME + 1:
            self.leave(self.app.pop_screen)
