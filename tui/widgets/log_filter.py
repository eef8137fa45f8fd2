"""``LogLineFilter``: the part of ``LogView`` that shows only the lines a pattern finds.

Apart from ``log_view`` only to keep each module readable: it is a mixin of ``LogView`` and uses
the view's line index, its cache of laid-out lines and its scrolling. While a filter is set the
view's rows are the matching lines (``_rows``, file line numbers in order), read by a worker off
the UI thread, and extended as the log grows.
"""

from __future__ import annotations

import re

from textual import work
from textual.message import Message


class LogLineFilter:
    """Only the lines a pattern finds (or, with "!" first, those it does not)."""

    line_filter: tuple[re.Pattern[str], bool] | None = None  # (pattern, inverted)
    filter_text = ""
    _rows: list[int] | None = None  # while filtered: the file line of each row
    _rows_upto = 0  # lines the filter has read
    _filter_generation = 0

    # Named as if nested in LogView (its handler is on_log_view_filtered, the screen asks for
    # LogView.Filtered): the view is what sends it.
    class Filtered(Message, namespace="log_view"):
        """A filter's scan found ``hits`` among lines ``start`` to ``upto`` (from a worker)."""

        def __init__(self, generation: int, start: int, hits: list[int], upto: int) -> None:
            super().__init__()
            self.generation, self.start, self.hits, self.upto = generation, start, hits, upto

    @property
    def row_count(self) -> int:
        """Rows the view has: the log's lines, or those the filter keeps."""
        return len(self._rows) if self._rows is not None else self.index.line_count

    def _file_line(self, row: int) -> int:
        return self._rows[row] if self._rows is not None else row

    def set_line_filter(self, text: str) -> str | None:
        """Show only the lines the regular expression ``text`` finds (case-insensitive);
        ``!`` first: only those it does not. Empty: every line. Returns an error, or None."""
        text = text.strip()
        if not text:
            self.line_filter, self.filter_text, self._rows = None, "", None
        else:
            invert = text.startswith("!")
            try:
                pattern = re.compile(text[1:] if invert else text, re.IGNORECASE)
            except re.error as exc:
                return f"not a regular expression: {exc}"
            self.line_filter, self.filter_text = (pattern, invert), text
            self._rows, self._rows_upto = [], 0
            self._filter_generation += 1
            self._scan_filter()
        self._strips.clear()
        self._update_virtual_size()
        if self.following:
            self.scroll_end(animate=False, immediate=True, force=True)
        self.refresh()
        return None

    @property
    def filter_summary(self) -> str:
        if self._rows is None:
            return ""
        return f"{len(self._rows)} of {self._rows_upto} lines" + \
            (" (reading…)" if self._rows_upto < self.index.line_count else "")

    @work(thread=True, group="log-filter", name="log filter")
    def _scan_filter(self) -> None:
        self._indexed.wait()
        spec, generation, start = self.line_filter, self._filter_generation, self._rows_upto
        if spec is None:
            return
        hits, upto = self.index.matching(spec[0], invert=spec[1], start=start)
        self.post_message(self.Filtered(generation, start, hits, upto))

    def on_log_view_filtered(self, event: "LogLineFilter.Filtered") -> None:
        # Bubbles on: the screen shows the count. Stale answers (another filter, or a scan
        # that started where another had already read) are dropped.
        if event.generation != self._filter_generation or self._rows is None or \
                event.start != self._rows_upto:
            event.stop()
            return
        self._rows.extend(event.hits)
        self._rows_upto = event.upto
        self._update_virtual_size()
        if self.following:
            self.scroll_end(animate=False, immediate=True, force=True)
        self.refresh()

    def shown_lines(self):
        """The text of every line the view shows (the filter's, or all): what save writes.
        Reads the file: call from a worker."""
        rows = list(self._rows) if self._rows is not None else range(self.index.line_count)
        for number in rows:
            yield self.index.line(number)
