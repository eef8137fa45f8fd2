"""``LinePlot``: values over steps drawn in braille dots (2x4 per cell), one colour per series.

More points than dot columns are binned: each column draws the span between the lowest and the
highest value that fall in it, so a spike is never averaged away.
"""

from __future__ import annotations

import math
from typing import Sequence

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

# Bit of each dot in a braille cell, by (column, row).
_DOT = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
PALETTE = ("cyan", "magenta", "yellow", "green", "red", "blue", "white")


def numeric(values: Sequence[object]) -> list[float]:
    """The values a plot can draw (numbers; booleans, strings and lists are left out)."""
    return [float(v) for v in values
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)]


def axis_label(value: float) -> str:
    return f"{value:.3g}"


class LinePlot(Widget):
    """One or more series over their step number."""

    DEFAULT_CSS = """
    LinePlot { height: 8; min-height: 4; }
    """

    series: reactive[tuple[tuple[str, tuple[float, ...]], ...]] = reactive((), layout=False)

    def __init__(self, title: str = "", *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.border_title = title

    def set_series(self, series: Sequence[tuple[str, Sequence[float]]]) -> None:
        value = tuple((name, tuple(values)) for name, values in series)
        if value != self.series:
            self.series = value

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        # Colours follow each series' place in ``series``, drawn or not, so legends stay right.
        drawable = [(i, values) for i, (_, values) in enumerate(self.series) if values]
        if not drawable or width < 12 or height < 2:
            return Text("no numeric values yet", style="dim")
        low = min(min(v) for _, v in drawable)
        high = max(max(v) for _, v in drawable)
        if high == low:
            high, low = high + 0.5, low - 0.5
        labels = [axis_label(high), axis_label((high + low) / 2), axis_label(low)]
        label_width = max(len(label) for label in labels) + 1
        cols, rows = width - label_width, height - 1
        grid = [[0] * cols for _ in range(rows)]
        owner = [[-1] * cols for _ in range(rows)]
        steps = max(len(v) for _, v in drawable)
        for index, values in drawable:
            points = _points(values, steps, cols * 2, rows * 4, low, high)
            for (x0, y0), (x1, y1) in zip(points, points[1:] or points):
                for x, y in _segment(x0, y0, x1, y1):
                    cell_row, cell_col = y // 4, x // 2
                    grid[cell_row][cell_col] |= _DOT[x % 2][y % 4]
                    owner[cell_row][cell_col] = index
        text = Text(no_wrap=True, overflow="crop")
        for row in range(rows):
            label = labels[0] if row == 0 else labels[2] if row == rows - 1 else \
                labels[1] if row == rows // 2 else ""
            text.append(label.rjust(label_width - 1) + "┤", style="dim")
            for col in range(cols):
                bits = grid[row][col]
                style = PALETTE[owner[row][col] % len(PALETTE)] if bits else None
                text.append(chr(0x2800 + bits), style=style)
            text.append("\n")
        last = str(steps)
        footer = "1" + " " * max(1, cols - 1 - len(last)) + last
        text.append(" " * label_width + footer[:cols], style="dim")
        return text


def _points(values: Sequence[float], steps: int, dots_x: int, dots_y: int, low: float,
            high: float) -> list[tuple[int, int]]:
    """Dot coordinates of a series; several values per dot column become a vertical span."""
    def dot_y(value: float) -> int:
        return (dots_y - 1) - round((value - low) / (high - low) * (dots_y - 1))

    if steps <= 1:
        return [(0, dot_y(values[0])), (dots_x - 1, dot_y(values[0]))]
    scale = (dots_x - 1) / (steps - 1)
    if len(values) <= dots_x:
        return [(round(i * scale), dot_y(v)) for i, v in enumerate(values)]
    columns: dict[int, list[float]] = {}
    for i, v in enumerate(values):
        columns.setdefault(round(i * scale), []).append(v)
    points = []
    for x, bucket in sorted(columns.items()):
        first, lo, hi, last = bucket[0], min(bucket), max(bucket), bucket[-1]
        points.append((x, dot_y(first)))
        if lo != hi:
            points += [(x, dot_y(hi if first <= last else lo)), (x, dot_y(lo if first <= last else hi))]
        points.append((x, dot_y(last)))
    return points


def _segment(x0: int, y0: int, x1: int, y1: int):
    """The dots of a line from (x0, y0) to (x1, y1) (Bresenham)."""
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    err = dx + dy
    while True:
        yield x0, y0
        if x0 == x1 and y0 == y1:
            return
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy
