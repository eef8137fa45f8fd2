"""``RunPreview``: the highlighted run at a glance, beside the table on wide terminals: its
facts, and below them the live end of its log (as lazydocker's main panel)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

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
        self.query_one("#preview-facts", Static).update(text)
        self.log_tail.watch(None, over=True)

    def show(self, run: RunRecord | None, metric: tuple[str, Any] | None,
             wait: Any = None) -> None:
        """``wait``: why the run is still queued (a ``core.runs.waiting.QueueWait``), if it is."""
        facts = self.query_one("#preview-facts", Static)
        if run is None:
            facts.update(Text("no run selected", style="dim"))
            self.log_tail.watch(None, over=True)
            return
        self.log_tail.watch(self.run_dir(run.run_id) / "output.log",
                            over=run.status.is_terminal)
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row("run", run.run_id)
        grid.add_row("status", status_text(run.status))
        if run.exit_code is not None:
            grid.add_row("exit code", str(run.exit_code))
        grid.add_row("script", printable(join_args([run.script, *run.arguments])))
        grid.add_row("config", printable(f"{run.run_configuration} on {run.target} "
                                         f"({run.framework})"))
        grid.add_row("queued", full_time(run.created_utc))
        if wait is not None:
            grid.add_row("waits", wait.reason)
        if run.start_time_utc:
            grid.add_row("started", full_time(run.start_time_utc))
        if run.end_time_utc:
            grid.add_row("ended", full_time(run.end_time_utc))
        grid.add_row("took", format_duration(duration_s(run, self.clock())))
        if metric:
            grid.add_row(printable(metric[0]), format_value(metric[1], 30))
        grid.add_row("snapshot", run.snapshot[:16])
        if run.error:
            grid.add_row("error", Text(printable(run.error, keep="\n"), style="red"))
        facts.update(grid)
