"""``Table``: Textual's DataTable, redrawn when its columns change width."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import DataTable

from launchdeck.tui.widgets.scrolling import CURSOR_BINDINGS

CELL_PADDING = 2  # DataTable pads each cell by one either side


def columns_fitting(keys, widest: dict[str, int], drop_order, width: int) -> tuple[str, ...]:
    """The columns ``keys`` (in order) that fit ``width`` cells, each ``widest[key]`` wide:
    all, less ``drop_order``'s first ones as needed (a value is never cut instead)."""
    keys = list(keys)
    droppable = [key for key in drop_order if key in keys]
    while sum(widest[key] + CELL_PADDING for key in keys) > width and droppable:
        keys.remove(droppable.pop(0))
    return tuple(keys)


class Table(DataTable):
    """A DataTable that never shows lines drawn at old column widths, moved with j/k too.

    DataTable measures new and changed cells when it is next idle, but keys its cached lines
    on an update counter that this does not move. A repaint that falls between a change and
    that idle moment (likely on a busy machine) caches lines at the old widths, and they stay
    on screen, cut short, until some other cell changes.
    """

    # j/k move in every table as the arrows do; g/G go to the first and last row.
    BINDINGS = [*CURSOR_BINDINGS, Binding("g", "scroll_top", show=False),
                Binding("G", "scroll_bottom", show=False)]

    _drawn_widths: tuple[int, ...] = ()

    def _update_dimensions(self, new_rows) -> None:
        super()._update_dimensions(new_rows)
        self._redraw_if_widths_changed()

    def _redraw_if_widths_changed(self) -> None:
        widths = (self._label_column.content_width,
                  *(column.content_width for column in self.ordered_columns))
        if widths != self._drawn_widths:
            self._drawn_widths = widths
            self._update_count += 1  # part of every line cache key: the old lines are dropped
            self.refresh()
