"""Marked runs side by side: what differs in their configuration, their metrics, final values."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import DataTable, Footer, Static

from launchdeck.core.errors import DeckError
from launchdeck.core.history.records import RunRecord
from launchdeck.tui.format import (duration_s, format_duration, format_value, join_args, printable,
                        short_id, status_text)
from launchdeck.tui.screens.base import DeckScreen
from launchdeck.tui.widgets.plot import PALETTE, LinePlot, numeric
from launchdeck.tui.widgets.table import Table
from launchdeck.tui.widgets.scrolling import Scroll


def compare_rows(runs: list[RunRecord], *, everything: bool) -> list[tuple[str, list[Any], bool]]:
    """(label, one value per run, differs) for the facts, config keys and final metrics."""
    rows: list[tuple[str, list[Any], bool]] = []

    def add(label: str, values: list[Any], always: bool = False) -> None:
        differs = len({repr(v) for v in values}) > 1
        if always or everything or differs:
            rows.append((label, values, differs))

    add("status", [r.status for r in runs], always=True)
    add("script", [join_args([r.script, *r.arguments]) for r in runs], always=True)
    add("snapshot", [r.snapshot[:12] for r in runs], always=True)
    keys: list[str] = []
    for run in runs:
        keys += [k for k in run.config if k not in keys]
    for key in keys:
        add(key, [run.config.get(key, "—") for run in runs])
    names: list[str] = []
    for run in runs:
        names += [n for n in (run.metrics or {}) if n not in names]
    for name in names:
        add(f"{name} (final)", [(run.metrics or {}).get(name, ["—"])[-1] for run in runs],
            always=True)
    return rows


class CompareScreen(DeckScreen):
    SCREEN_NAME = "compare"
    SUMMARY = "marked runs side by side"
    CSS_PATH = "compare.tcss"
    AUTO_FOCUS = "#compare"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    BINDINGS = [Binding("a", "toggle_all", "All settings", id="compare.all")]
    PALETTE_HINT_MIN_WIDTH = 100

    def __init__(self, run_ids: list[str]) -> None:
        super().__init__()
        self.run_ids = run_ids
        self.runs: list[RunRecord] = []
        self.everything = False

    def compose(self) -> ComposeResult:
        yield Static(f"comparing {len(self.run_ids)} runs · ≠ marks a difference · "
                     "a: show every setting", classes="topbar")
        with Scroll():
            yield Table(id="compare", cursor_type="row", zebra_stripes=True)
            yield Grid(id="compare-plots")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, name="load runs to compare")
    def _load(self) -> None:
        history = self.deck.stores.history()
        try:
            runs = [history.get_run(run_id, details=True) for run_id in self.run_ids]
        except DeckError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        self.app.call_from_thread(self._show, runs)

    def _show(self, runs: list[RunRecord]) -> None:
        self.runs = runs
        table = self.query_one("#compare", DataTable)
        table.clear()
        if not table.columns:  # the same runs every time: columns once (re-adding them garbles)
            table.add_column("", key="label")
            for index, run in enumerate(runs):
                colour = PALETTE[index % len(PALETTE)]
                table.add_column(Text(short_id(run.run_id, self.deck.project.name),
                                      style=colour), key=run.run_id)
        took = ["took", *[format_duration(duration_s(r, self.deck.clock())) for r in runs]]
        for label, values, differs in compare_rows(runs, everything=self.everything):
            cells = [status_text(v) if label == "status" else format_value(v, 40) for v in values]
            mark = Text(("≠ " if differs else "  ") + printable(label),
                        style="bold" if differs else "")
            table.add_row(mark, *cells)
            if label == "snapshot":
                table.add_row(Text("  " + took[0]), *took[1:])
        self._plots(runs)

    def _plots(self, runs: list[RunRecord]) -> None:
        grid = self.query_one("#compare-plots", Grid)
        grid.remove_children()
        names: list[str] = []
        for run in runs:
            names += [n for n, v in (run.metrics or {}).items()
                      if n not in names and len(numeric(v)) > 1]
        for name in names:
            plot = LinePlot(printable(name))
            plot.border_subtitle = "  ".join(
                f"[{PALETTE[i % len(PALETTE)]}]{short_id(r.run_id, self.deck.project.name)}[/]"
                for i, r in enumerate(runs))
            plot.set_series([(r.run_id, numeric((r.metrics or {}).get(name, [])))
                             for r in runs])
            grid.mount(plot)

    def action_toggle_all(self) -> None:
        self.everything = not self.everything
        if self.runs:
            self._show(self.runs)
