"""``RunsTable``: the run queue and history, one row per run id, updated cell by cell."""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable

from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from core.history.records import RunRecord
from core.runs.state import RunState
from tui.format import (duration_s, format_duration, format_value, short_id, short_time,
                        status_text)
from tui.runfilter import RunFilter

# Most telling first: at 80 columns the start time is the one that scrolls off.
COLUMNS = (("run", "id"), ("status", "status"), ("script", "script"), ("config", "runconfig"),
           ("target", "target"), ("took", "duration"), ("metric", "metric"),
           ("started", "started"))
STATE_ORDER = {state: i for i, state in enumerate(RunState)}
MARK = "●"  # marked runs carry it before their id
# Above this many removals a filter change rebuilds the rows: DataTable.remove_row is O(rows).
REBUILD_OVER = 64


class RunId(str):
    """The id cell: shows the short id, remembers the run."""

    run_id: str

    def __new__(cls, shown: str, run_id: str) -> "RunId":
        cell = super().__new__(cls, shown)
        cell.run_id = run_id
        return cell


class RunsTable(DataTable):
    """Runs by id with marks, a filter and a sort order."""

    BINDINGS = [
        Binding("space", "toggle_mark", "Mark", id="runs.mark"),
        Binding("j", "cursor_down", show=False),
        Binding("k", "cursor_up", show=False),
        Binding("G", "scroll_bottom", show=False),
        Binding("g", "scroll_top", show=False),
    ]

    def __init__(self, project_name: str, *, clock: Callable[[], float] = time.time,
                 id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.project_name = project_name
        self.clock = clock
        self.records: dict[str, RunRecord] = {}
        self.first_metric: dict[str, tuple[str, Any]] = {}
        self.marked: set[str] = set()
        self.filter = RunFilter()
        self.sort_column = "id"
        self.sort_reverse = True  # newest first
        self._shown: dict[str, dict[str, Any]] = {}

    def on_mount(self) -> None:
        for label, key in COLUMNS:
            self.add_column(label, key=key)

    # -- data in ------------------------------------------------------------------------------

    def apply(self, runs: dict[str, RunRecord], first_metric: dict[str, tuple[str, Any]]) -> None:
        """Bring rows up to date with changed runs and metric values (call in a batch update)."""
        self.records.update(runs)
        self.first_metric.update(first_metric)
        was_empty = not self._shown
        added = False
        resort = False
        for run_id in set(runs) | set(first_metric):
            run = self.records.get(run_id)
            if run is None:
                continue
            visible = self.filter.matches(run)
            if run_id in self._shown:
                if visible:
                    resort |= self._update_row(run)
                else:
                    self._remove(run_id)
            elif visible:
                self._add(run)
                added = True
        if added or resort:
            self.resort()
        if was_empty and self._shown:
            self.move_cursor(row=0, animate=False)  # the first look starts at the top

    def tick(self) -> None:
        """Refresh the duration of runs still going (once a second)."""
        now = self.clock()
        for run_id in self._shown:
            run = self.records[run_id]
            if run.status.is_active and run.start_time_utc:
                self._set(run_id, "duration", format_duration(duration_s(run, now)))

    def set_filter(self, text: str) -> None:
        self.filter = RunFilter(text)
        wanted = [r for r in self.records.values() if self.filter.matches(r)]
        keep = {r.run_id for r in wanted}
        gone = [rid for rid in self._shown if rid not in keep]
        cursor = self.cursor_run_id
        if len(gone) > REBUILD_OVER:
            self.clear()
            self._shown.clear()
        else:
            for run_id in gone:
                self._remove(run_id)
        for run in wanted:
            if run.run_id not in self._shown:
                self._add(run)
        self.resort()
        self.select(cursor)

    def sort_by(self, column: str) -> None:
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, column in ("id", "started", "duration")
        self.resort()

    def resort(self) -> None:
        records, metric, column = self.records, self.first_metric, self.sort_column

        def key(cell: RunId):
            run = records[cell.run_id]
            if column == "status":
                value: Any = STATE_ORDER[run.status]
            elif column == "duration":
                value = duration_s(run, self.clock()) or 0.0
            elif column == "metric":
                got = metric.get(cell.run_id)
                value = (0, got[1], "") if got and isinstance(got[1], (int, float)) \
                    else (1, 0, str(got[1]) if got else "")
            elif column == "started":
                value = run.start_time_utc or ""
            elif column == "id":
                value = run.created_utc
            else:
                value = getattr(run, {"runconfig": "run_configuration"}.get(column, column))
            return (value, run.created_utc)

        cursor = self.cursor_run_id
        self.sort("id", key=key, reverse=self.sort_reverse)
        self.select(cursor)

    # -- marks and cursor ---------------------------------------------------------------------

    @property
    def cursor_run_id(self) -> str | None:
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value
        except CellDoesNotExist:
            return None

    def select(self, run_id: str | None) -> None:
        if run_id is None or run_id not in self._shown:
            return
        try:
            self.move_cursor(row=self.get_row_index(run_id), animate=False)
        except RowDoesNotExist:
            pass

    def action_toggle_mark(self) -> None:
        run_id = self.cursor_run_id
        if run_id is None:
            return
        self.marked ^= {run_id}
        self._set(run_id, "id", self._id_cell(self.records[run_id]))
        self.action_cursor_down()

    def unmark_all(self) -> None:
        marked, self.marked = self.marked, set()
        for run_id in marked:
            if run_id in self._shown:
                self._set(run_id, "id", self._id_cell(self.records[run_id]))

    def marked_in_order(self) -> list[str]:
        return sorted(self.marked, key=lambda rid: self.records[rid].created_utc)

    # -- rows ---------------------------------------------------------------------------------

    def _cells(self, run: RunRecord) -> dict[str, Any]:
        got = self.first_metric.get(run.run_id)
        metric = f"{got[0][:6]}={format_value(got[1], 7)}" if got else ""
        return {
            "id": self._id_cell(run),
            "status": status_text(run.status),
            "script": run.script,
            "runconfig": run.run_configuration,
            "target": run.target,
            "started": short_time(run.start_time_utc, self.clock()),
            "duration": format_duration(duration_s(run, self.clock())),
            "metric": metric,
        }

    def _id_cell(self, run: RunRecord) -> RunId:
        mark = MARK if run.run_id in self.marked else " "
        return RunId(mark + short_id(run.run_id, self.project_name), run.run_id)

    def _add(self, run: RunRecord) -> None:
        cells = self._cells(run)
        self._shown[run.run_id] = cells
        self.add_row(*(cells[key] for _, key in COLUMNS), key=run.run_id)

    def _update_row(self, run: RunRecord) -> bool:
        """Update the cells that changed; whether the sort column was one of them."""
        old = self._shown[run.run_id]
        resort = False
        for key, value in self._cells(run).items():
            if value != old[key]:
                self._set(run.run_id, key, value)
                resort |= key == self.sort_column
        return resort

    def _set(self, run_id: str, key: str, value: Any) -> None:
        self._shown[run_id][key] = value
        self.update_cell(run_id, key, value, update_width=key in ("metric", "status", "script"))

    def _remove(self, run_id: str) -> None:
        self._shown.pop(run_id, None)
        self.remove_row(run_id)

    def shown_ids(self) -> Iterable[str]:
        return self._shown.keys()
