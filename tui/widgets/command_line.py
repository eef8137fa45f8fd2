"""``CommandLine``: the ``:`` prompt at the bottom of every screen (``:targets``, ``:run ID``).

As in k9s: Tab (or →) takes the name the prompt suggests, enter goes where the suggestion
shows (``:targ`` enter opens targets), up and down recall earlier commands. The prompt keeps
focus until enter or escape, and whatever closes it leaves no text behind.
"""

from __future__ import annotations

from textual import events
from textual.suggester import Suggester

from launchdeck.tui.views import NAMES, complete_name
from launchdeck.tui.widgets.search_box import SearchBox


class NameSuggester(Suggester):
    """Suggests what ``complete_name`` completes to: the prompt shows what Tab and enter do."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=False)

    async def get_suggestion(self, value: str) -> str | None:
        return complete_name(value)


class CommandLine(SearchBox):
    DEFAULT_CSS = """
    CommandLine { dock: bottom; height: 1; border: none; padding: 0; }
    """

    def __init__(self) -> None:
        super().__init__(placeholder=":" + "  :".join(NAMES), compact=True,
                         suggester=NameSuggester(), id="command-line")
        self._recalled: int | None = None  # index into the history while up/down browse it
        self._draft = ""

    @property
    def history(self) -> list[str]:
        """Commands entered so far, oldest first: one list for the whole app."""
        history = getattr(self.app, "command_history", None)
        if history is None:
            history = self.app.command_history = []
        return history

    def open(self, value: str | None = None) -> None:
        self._recalled = None
        super().open(value)

    async def action_submit(self) -> None:
        command = self.value
        if command.strip() and (not self.history or self.history[-1] != command.strip()):
            self.history.append(command.strip())
        self.value = ""
        self.display = False
        self.give_back_focus()
        self.app.goto_command(command)  # before the keys typed after enter are handled
        self.hand_on_typed_ahead()

    def action_close(self) -> None:
        self.value = ""
        super().action_close()

    def complete(self) -> None:
        """Take the suggested name (Tab); with nothing to complete, stay as typed."""
        completed = complete_name(self.value)
        if completed and completed != self.value.strip().lower():
            self.value = completed
            self.cursor_position = len(completed)

    def recall(self, step: int) -> None:
        """Show an earlier (``step`` -1) or later (+1) command; past the newest, what was typed."""
        history = self.history
        if not history:
            return
        if self._recalled is None:
            if step > 0:
                return
            self._draft = self.value
            index = len(history) - 1
        else:
            index = self._recalled + step
        if index < 0:
            index = 0
        if index >= len(history):
            self._recalled = None
            self.value = self._draft
        else:
            self._recalled = index
            self.value = history[index]
        self.cursor_position = len(self.value)

    async def _on_key(self, event: events.Key) -> None:
        # Handled here, in turn with the text typed before them (see SearchBox), and before
        # any binding: Tab must never move focus out of the prompt.
        if self.has_focus and event.key in ("tab", "shift+tab", "up", "down"):
            event.stop()
            event.prevent_default()
            if event.key == "tab":
                self.complete()
            elif event.key in ("up", "down"):
                self.recall(-1 if event.key == "up" else 1)
            return
        await super()._on_key(event)

    def on_blur(self) -> None:
        # Focus taken away (a click elsewhere, a dialog): the prompt closes, empty.
        if self.display:
            self.value = ""
            self.display = False
