"""``KeptCellsTable``: a DataTable for live one-line cells, which renders and measures each
cell once for as long as it stays the same."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.widgets.data_table import CellDoesNotExist, CellKey, ColumnKey, RowKey

from launchdeck.tui.widgets.table import Table


class KeptCellsTable(Table):
    """A table whose cells are one line of Text or plain str each (rows one line high)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._kept_cells: LRUCache[tuple, Any] = LRUCache(8192)
        # While a repaint runs: its styles, each worked out once (see render_lines).
        self._repaint_styles: dict[tuple[str, ...], Any] | None = None

    # -- styles -------------------------------------------------------------------------------
    # DataTable asks for its own style at every line and for its header's component style at
    # every row, and each answer walks every ancestor's CSS again: a tenth of the dashboard's
    # time while runs go. Within one repaint they cannot change, so they are worked out once.

    def render_lines(self, crop: Region):
        self._repaint_styles = {}
        try:
            return super().render_lines(crop)
        finally:
            self._repaint_styles = None

    @property
    def rich_style(self) -> Style:
        styles = self._repaint_styles
        if styles is None:
            return super().rich_style
        if () not in styles:
            styles[()] = super().rich_style
        return styles[()]

    def get_component_styles(self, *names: str):
        styles = self._repaint_styles
        if styles is None:
            return super().get_component_styles(*names)
        if names not in styles:
            styles[names] = _RepaintStyles(super().get_component_styles(*names))
        return styles[names]

    # -- cells --------------------------------------------------------------------------------
    # DataTable forgets every rendered cell whenever any cell changes (its caches are keyed by
    # an update counter), so a live table renders all its visible cells through Rich again
    # at each change: with busy runs, most of the dashboard's CPU. Here a rendered cell is kept
    # for as long as its value and look are the same, wherever its row moves (a sort, or a
    # table sorted by time taken, moves every row): only the row and column numbers DataTable
    # puts in each cell's mouse metadata are stamped again.

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False):
        if row_index < 0 or column_index < 0:  # the header (and labels): DataTable's own way
            return super()._render_cell(row_index, column_index, base_style, width, cursor,
                                        hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        value = self._data.get(row_key, {}).get(column_key)
        fixed = row_index < self.fixed_rows or column_index < self.fixed_columns  # its style
        key = (row_key, column_key, _value_key(value), base_style, width, cursor, hover, fixed,
               self._show_hover_cursor, self._pseudo_class_state)
        place = (row_index, column_index)
        kept = self._kept_cells.get(key)
        if kept is None:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor,
                                         hover)
        elif kept[0] != place:
            meta = Style.from_meta({"row": row_index, "column": column_index})
            lines = [list(Segment.apply_style(line, post_style=meta)) for line in kept[1]]
        else:
            return kept[1]
        self._kept_cells[key] = (place, lines)
        return lines

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: Any, *,
                    update_width: bool = False) -> None:
        """DataTable's, but only the cell's row is drawn again.

        DataTable moves its update counter, which is part of every cached line's key and of
        its row order and offsets: one changed cell repainted every visible row (with a run
        going, each second: most of what a live table costs). Cells change here, never rows'
        order or heights, so only the cached lines and cells go, and only this row repaints.
        """
        row_key = RowKey(row_key) if isinstance(row_key, str) else row_key
        column_key = ColumnKey(column_key) if isinstance(column_key, str) else column_key
        row_index = self._row_locations.get(row_key)
        if row_index is None or column_key not in self._column_locations:
            raise CellDoesNotExist(
                f"No cell exists for row_key={row_key!r}, column_key={column_key!r}.")
        self._data[row_key][column_key] = value
        if update_width:  # measured when idle; a column that widens redraws it all then
            self._updated_cells.add(CellKey(row_key, column_key))
            self._require_update_dimensions = True
        self._line_cache.clear()
        self._row_render_cache.clear()
        self._cell_render_cache.clear()  # our own cache keeps the cells still the same
        self._row_renderable_cache.discard((self._update_count, row_index))
        # Every row is one line high (DataTable.refresh_row adds up the heights of the rows
        # above, and lists them all again after each sort: thousands of runs, each update).
        y = row_index + (self.header_height if self.show_header else 0)
        self._refresh_region(Region(0, y, max(self.size.width, self.virtual_size.width), 1))

    def _clear_caches(self) -> None:
        super()._clear_caches()  # a new theme, cursor type, zebra...: then ours go too
        self._kept_cells.clear()

    def notify_style_update(self) -> None:
        self._kept_cells.clear()
        super().notify_style_update()

    # -- widths -------------------------------------------------------------------------------
    # DataTable measures each new or updated cell through Rich (markup parsing, terminal size
    # calls: about a millisecond a row, seconds for thousands of runs). Every cell here is one
    # line of Text or plain str, so its width is its cell length. Columns only grow: a live
    # table that jitters as values change is harder to read.

    def _update_dimensions(self, new_rows) -> None:
        for row_key in new_rows:
            cells = self._data.get(row_key)
            if cells is not None:
                for column in self.ordered_columns:
                    _widen(column, cells.get(column.key))
        width = sum(column.get_render_width(self) for column in self.columns.values())
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(width + self._row_label_column_width,
                                 self._total_row_height + header)
        self._redraw_if_widths_changed()

    def _update_column_widths(self, updated_cells) -> None:
        for row_key, column_key in updated_cells:
            column, cells = self.columns.get(column_key), self._data.get(row_key)
            if column is not None and cells is not None:
                _widen(column, cells.get(column_key))
        self._require_update_dimensions = True


def _value_key(value: Any) -> Any:
    """A hashable stand-in for a cell value (Rich ``Text`` is not hashable)."""
    if isinstance(value, Text):
        return (value.plain, str(value.style), tuple(value.spans))
    return value


def _widen(column, cell: Any) -> None:
    if cell is None:
        return
    width = cell.cell_len if isinstance(cell, Text) else cell_len(str(cell))
    if width > column.content_width:
        column.content_width = width


class _RepaintStyles:
    """A component's styles for one repaint, its Rich style worked out once."""

    def __init__(self, styles) -> None:
        self._styles = styles
        self.rich_style = styles.rich_style

    def __getattr__(self, name: str) -> Any:
        return getattr(self._styles, name)
