"""``MetricsPanel``: a plot per numeric metric over its steps, and a table of last values."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Grid
from textual.widgets import DataTable, Static

from rich.text import Text

from launchdeck.tui.format import format_value, printable
from launchdeck.tui.widgets.plot import LinePlot, numeric
from launchdeck.tui.widgets.scrolling import Scroll
from launchdeck.tui.widgets.table import Table


class MetricsPanel(Scroll):
    DEFAULT_CSS = """
    MetricsPanel #plots { grid-size: 1; grid-rows: 10; grid-gutter: 0 1; height: auto; }
    MetricsPanel.-wide #plots { grid-size: 2; }
    MetricsPanel LinePlot { border: round $primary; height: 10; }
    MetricsPanel #last { height: auto; max-height: 12; margin-bottom: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._plots: dict[str, LinePlot] = {}
        self._shown: dict[str, tuple[int, Any]] = {}

    def compose(self) -> ComposeResult:
        yield Static("no metrics logged (yet): deckrun.log(name, value) or "
                     "get_azureml_logger().log(name, value)", classes="hint", id="empty")
        table = Table(id="last", cursor_type="row")
        table.add_column("metric", key="name")
        table.add_column("last", key="last")
        table.add_column("min", key="min")
        table.add_column("max", key="max")
        table.add_column("values", key="count")
        yield table  # the last values first: at 80x24 they are what fits
        yield Grid(id="plots")

    def on_resize(self) -> None:
        self.set_class(self.size.width >= 120, "-wide")

    def show(self, metrics: dict[str, list[Any]]) -> None:
        self.query_one("#empty").display = not metrics
        table = self.query_one("#last", DataTable)
        grid = self.query_one("#plots", Grid)
        for name, values in metrics.items():
            marker = (len(values), values[-1] if values else None)
            if self._shown.get(name) == marker:
                continue
            self._shown[name] = marker
            numbers = numeric(values)
            cells = (Text(printable(name)), format_value(values[-1], 24),
                     format_value(min(numbers)) if numbers else "",
                     format_value(max(numbers)) if numbers else "", str(len(values)))
            if name in table.rows:
                for key, value in zip(("name", "last", "min", "max", "count"), cells):
                    table.update_cell(name, key, value)
            else:
                table.add_row(*cells, key=name)
            if len(numbers) > 1:  # one value is a fact for the table, not a curve
                plot = self._plots.get(name)
                if plot is None:
                    plot = self._plots[name] = LinePlot(printable(name))
                    grid.mount(plot)
                plot.border_subtitle = f"last {format_value(numbers[-1])}"
                plot.set_series([(name, numbers)])
