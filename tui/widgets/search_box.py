"""``SearchBox``: a one-line input that escape closes (instead of leaving the screen)."""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class SearchBox(Input):
    BINDINGS = [Binding("escape", "close", "Close", id="search.close")]

    class Closed(Message):
        def __init__(self, box: "SearchBox") -> None:
            super().__init__()
            self.box = box

        @property
        def control(self) -> "SearchBox":
            return self.box

    def action_close(self) -> None:
        self.add_class("hidden")
        self.post_message(self.Closed(self))
