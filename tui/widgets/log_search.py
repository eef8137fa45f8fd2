"""``LogSearch``: the part of ``LogView`` that finds a word in the log, forwards or back.

Apart from ``log_view`` only to keep each module readable: it is a mixin of ``LogView`` and uses
the view's line index (searched by a worker, off the UI thread), its rows (a line filter's, if
set) and its scrolling. The matches are highlighted where the view lays out a line.
"""

from __future__ import annotations

from bisect import bisect_left

from textual import work
from textual.message import Message


class LogSearch:
    """Search for a term (case-insensitive), with ``n``/``N`` for the next and previous match."""

    search_term = ""
    current_match: int | None = None  # the file line of the match shown

    # Named as if nested in LogView (its handler is on_log_view_searched, the screen asks for
    # LogView.Searched): the view is what sends it.
    class Searched(Message, namespace="log_view"):
        """A search's answer: the line found (None: none further), and the match count."""

        def __init__(self, term: str, line: int | None, total: int = 0, position: int = 0,
                     backwards: bool = False) -> None:
            super().__init__()
            self.term = term
            self.line = line
            self.total = total
            self.position = position  # 1 for the first matching line
            self.backwards = backwards

        @property
        def summary(self) -> str:
            if not self.total:
                return f"{self.term!r} not found"
            if self.line is None:
                way = "earlier" if self.backwards else "more"
                return f"no {way} matches ({self.total} in all)"
            return f"match {self.position} of {self.total}"

    def search(self, term: str, *, backwards: bool = False) -> None:
        """Jump to the next line holding ``term`` (case-insensitive)."""
        if term != self.search_term:
            self.search_term = term
            self.current_match = None  # a new term starts from the view, not the old match
            self._strips.clear()
            self.refresh()
        if not term:
            return
        if self.current_match is None:
            row = int(self.scroll_y) if not backwards else int(self.scroll_y) + self.size.height
            start = self._file_line(min(row, self.row_count - 1)) if self._rows else row
        else:
            start = self.current_match + (0 if backwards else 1)
        self._search(term, start, backwards)

    def action_next_match(self) -> None:
        self.search(self.search_term)

    def action_previous_match(self) -> None:
        self.search(self.search_term, backwards=True)

    @work(thread=True, exclusive=True, group="log-search", name="log search")
    def _search(self, term: str, start: int, backwards: bool) -> None:
        self._indexed.wait()
        line = self.index.search(term, start, backwards=backwards)
        total, before = self.index.count(term, line)
        self.post_message(self.Searched(term, line, total, before + 1, backwards))

    def on_log_view_searched(self, event: "LogSearch.Searched") -> None:
        # Bubbles on: the screen shows the count (event.summary) where it has room.
        if event.line is None:
            return
        self.current_match = event.line
        self.following = False
        self._strips.clear()
        row = event.line
        if self._rows is not None:  # filtered: the row showing that line, or the nearest
            row = min(bisect_left(self._rows, event.line), max(0, len(self._rows) - 1))
        self.scroll_to(y=max(0, row - self.size.height // 2), animate=False,
                       immediate=True)
        self.refresh()
