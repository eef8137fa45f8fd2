"""The one-line bar on top of a screen, redrawn only when its text changes."""

from __future__ import annotations

from textual.widgets import Static


class TopBar(Static):
    """Asked to show its text each second and at every change history reports, but the text
    is mostly the same: the same text is not drawn again."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._shown: str | None = None

    def show(self, text: str) -> None:
        if text == self._shown:
            return
        self._shown = text
        # One line of fixed size: no layout pass (that arranges the whole screen again).
        self.update(text, layout=False)
