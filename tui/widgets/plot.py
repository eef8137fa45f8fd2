"""``LinePlot``: values over steps drawn in braille dots (2x4 per cell), one colour per series;
``ScatterPlot``: (x, y) pairs as dots, on the same braille canvas.

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
        canvas = _Canvas(width, height, low, high)
        steps = max(len(v) for _, v in drawable)
        for index, values in drawable:
            points = _points(values, steps, canvas.cols * 2, canvas.rows * 4, canvas.low,
                             canvas.high)
            for (x0, y0), (x1, y1) in zip(points, points[1:] or points):
                for x, y in _segment(x0, y0, x1, y1):
                    canvas.dot(x, y, index)
        return canvas.text("1", str(steps))


class ScatterPlot(Widget):
    """One dot per (x, y) pair: a parameter's value against the objective, say.

    Text values on x (a choice of words) are placed in order of first appearance, evenly.
    """

    DEFAULT_CSS = """
    ScatterPlot { height: 8; min-height: 4; }
    """

    points: reactive[tuple[tuple[object, float], ...]] = reactive((), layout=False)

    def __init__(self, title: str = "", *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.border_title = title

    def set_points(self, points: Sequence[tuple[object, float]]) -> None:
        value = tuple((x, float(y)) for x, y in points)
        if value != self.points:
            self.points = value

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        if not self.points or width < 12 or height < 2:
            return Text("no values yet", style="dim")
        xs = [x for x, _ in self.points]
        words = not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs)
        order = list(dict.fromkeys(str(x) for x in xs)) if words else []
        place = [float(order.index(str(x))) if words else float(x) for x in xs]  # type: ignore
        left, right = min(place), max(place)
        ys = [y for _, y in self.points]
        canvas = _Canvas(width, height, min(ys), max(ys))
        span = (right - left) or 1.0
        for px, (_, y) in zip(place, self.points):
            x = round((px - left) / span * (canvas.cols * 2 - 1)) if right > left else \
                canvas.cols - 1
            canvas.dot(x, canvas.dot_y(y), 0)
        if words:
            return canvas.text(order[0], order[-1])
        return canvas.text(axis_label(left), axis_label(right))


class _Canvas:
    """Braille cells with a value axis on the left and the x axis' two ends below."""

    def __init__(self, width: int, height: int, low: float, high: float) -> None:
        if high == low:
            high, low = high + 0.5, low - 0.5
        self.low, self.high = low, high
        self.labels = [axis_label(high), axis_label((high + low) / 2), axis_label(low)]
        self.label_width = max(len(label) for label in self.labels) + 1
        self.cols, self.rows = width - self.label_width, height - 1
        self.grid = [[0] * self.cols for _ in range(self.rows)]
        self.owner = [[-1] * self.cols for _ in range(self.rows)]

    def dot_y(self, value: float) -> int:
        dots_y = self.rows * 4
        return (dots_y - 1) - round((value - self.low) / (self.high - self.low) * (dots_y - 1))

    def dot(self, x: int, y: int, series: int) -> None:
        cell_row, cell_col = y // 4, x // 2
        self.grid[cell_row][cell_col] |= _DOT[x % 2][y % 4]
        self.owner[cell_row][cell_col] = series

    def text(self, first: str, last: str) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        labels, rows, cols = self.labels, self.rows, self.cols
        for row in range(rows):
            label = labels[0] if row == 0 else labels[2] if row == rows - 1 else \
                labels[1] if row == rows // 2 else ""
            text.append(label.rjust(self.label_width - 1) + "┤", style="dim")
            for col in range(cols):
                bits = self.grid[row][col]
                style = PALETTE[self.owner[row][col] % len(PALETTE)] if bits else None
                text.append(chr(0x2800 + bits), style=style)
            text.append("\n")
        footer = first + " " * max(1, cols - len(first) - len(last)) + last
        text.append(" " * self.label_width + footer[:cols], style="dim")
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
