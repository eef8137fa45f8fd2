"""``RunPreview``: the highlighted run at a glance, beside the table on wide terminals: its
facts, and below them the live end of its log (as lazydocker's main panel)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from launchdeck.core.history.records import RunRecord
from launchdeck.tui.format import (duration_s, format_duration, format_value, full_time, join_args,
                        printable, status_text)
from launchdeck.tui.widgets.log_tail import LogTail


class RunPreview(Vertical):
    """Facts of one run that history already gave the table (no reads of their own), and the
    end of its log (``LogTail`` reads it, only while shown)."""

    DEFAULT_CSS = """
    RunPreview #preview-facts { height: auto; max-height: 50%; }
    RunPreview #preview-log { border-top: solid $primary; border-title-align: left; }
    """

    def __init__(self, project_name: str, *, run_dir: Callable[[str], Path],
                 clock: Callable[[], float] = time.time, id: str | None = None) -> None:
        super().__init__(id=id)
        self.project_name = project_name
        self.run_dir = run_dir
        self.clock = clock
        self._facts_shown: tuple | None = None  # (label, text) of each fact shown
        self._facts_shape: tuple | None = None  # (label, each line's width) of each fact

    def compose(self) -> ComposeResult:
        yield Static("", id="preview-facts")
        tail = LogTail(id="preview-log")
        tail.border_title = "output"
        yield tail

    @property
    def log_tail(self) -> LogTail:
        return self.query_one(LogTail)

    def show_text(self, text: Text) -> None:
        """Words in place of a run's facts (a sweep's row is highlighted), and no log."""
        self._show_words(text)
        self.log_tail.watch(None, over=True)

    def _show_words(self, text: Text) -> None:
        self._facts_shown = self._facts_shape = None
        self.query_one("#preview-facts", Static).update(text)

    def show(self, run: RunRecord | None, metric: tuple[str, Any] | None,
             wait: Any = None) -> None:
        """``wait``: why the run is still queued (a ``core.runs.waiting.QueueWait``), if it is."""
        if run is None:
            self._show_words(Text("no run selected", style="dim"))
            self.log_tail.watch(None, over=True)
            return
        self.log_tail.watch(self.run_dir(run.run_id) / "output.log",
                            over=run.status.is_terminal)
        rows: list[tuple[str, str | Text]] = [("run", run.run_id),
                                              ("status", status_text(run.status))]
        if run.exit_code is not None:
            rows.append(("exit code", str(run.exit_code)))
        rows.append(("script", printable(join_args([run.script, *run.arguments]))))
        rows.append(("config", printable(f"{run.run_configuration} on {run.target} "
                                         f"({run.framework})")))
        rows.append(("queued", full_time(run.created_utc)))
        if wait is not None:
            rows.append(("waits", wait.reason))
        if run.start_time_utc:
            rows.append(("started", full_time(run.start_time_utc)))
        if run.end_time_utc:
            rows.append(("ended", full_time(run.end_time_utc)))
        rows.append(("took", format_duration(duration_s(run, self.clock()))))
        if metric:
            rows.append((printable(metric[0]), format_value(metric[1], 30)))
        rows.append(("snapshot", run.snapshot[:16]))
        if run.error:
            rows.append(("error", Text(printable(run.error, keep="\n"), style="red")))
        self._show_facts(rows)

    def _show_facts(self, rows: list[tuple[str, str | Text]]) -> None:
        # Asked at every change the table draws (a running run's time, each second): the same
        # facts are not drawn again, and facts of the same shape (every line as long as
        # before) take as many lines as before, so the screen needs no new layout for them.
        plain = tuple((label, str(value)) for label, value in rows)
        if plain == self._facts_shown:
            return
        # A str with "[" may hold markup, whose shown length is not its own: kept whole.
        shape = tuple((label, value if "[" in value else
                       tuple(cell_len(line) for line in value.split("\n")))
                      for label, value in plain)
        same_height = self._facts_shown is not None and shape == self._facts_shape
        self._facts_shown, self._facts_shape = plain, shape
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for label, value in rows:
            grid.add_row(label, value)
        self.query_one("#preview-facts", Static).update(grid, layout=not same_height)
