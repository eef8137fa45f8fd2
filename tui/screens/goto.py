"""``:``: a one-line prompt at the bottom to jump to a view (``:targets``, ``:run 1764``)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Static

from tui.navigation import ALIASES, NAMES


class GotoPrompt(ModalScreen[str]):
    DEFAULT_CSS = """
    GotoPrompt { align: left bottom; background: $background 0%; }
    GotoPrompt Input { width: 100%; border: none; height: 1; padding: 0; }
    GotoPrompt Static { width: 100%; height: auto; background: $panel; color: $text-muted; }
    """
    BINDINGS = [Binding("escape", "dismiss_empty", "Cancel")]

    def compose(self) -> ComposeResult:
        yield Static("  ".join(f":{n}" for n in NAMES), id="names")
        yield Input(placeholder=":", suggester=SuggestFromList([*NAMES, *ALIASES],
                                                                case_sensitive=False))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_dismiss_empty(self) -> None:
        self.dismiss("")
