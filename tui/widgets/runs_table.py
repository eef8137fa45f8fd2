"""``RunsTable``: the run queue and history, one row per run id, updated cell by cell.

A sweep's trials are folded into one row for the sweep (``tui.sweep_rows``), keyed by its id.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, Callable, Iterable

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from launchdeck.core.history.records import RunRecord
from launchdeck.core.runs.state import RunState
from launchdeck.tui.format import duration_s, format_duration
from launchdeck.tui.run_cells import (COLUMNS, DROP_ORDER, USAGE_COLUMNS, RunId, id_cell,
                                      row_cells, sort_key)
from launchdeck.tui.runfilter import RunFilter
from launchdeck.tui.widgets.kept_cells_table import KeptCellsTable
from launchdeck.tui.widgets.table import columns_fitting

# Above this many removals a filter change rebuilds the rows: DataTable.remove_row is O(rows).
REBUILD_OVER = 64
# A long history is added a chunk at a time, newest first: the first screenful shows at once
# and keys are answered between chunks (DataTable.add_row costs about 0.3 ms).
FILL_CHUNK = 200


class RunsTable(KeptCellsTable):
    """Runs by id with marks, a filter and a sort order."""

    class MarksChanged(Message):
        """Runs were marked or unmarked."""

    BINDINGS = [
        Binding("space", "toggle_mark", "Mark", id="runs.mark"),
        # DataTable's own enter, given a name and an id (it posts RowSelected: the screen opens
        # the run).
        Binding("enter", "select_cursor", "Open", show=False, id="runs.open"),
    ]

    def __init__(self, project_name: str, *, clock: Callable[[], float] = time.time,
                 id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.project_name = project_name
        self.clock = clock
        self.records: dict[str, RunRecord] = {}
        self.status_counts: Counter[RunState] = Counter()
        self.first_metric: dict[str, tuple[str, Any]] = {}
        self.waits: dict[str, Any] = {}  # run id -> QueueWait, for Queued runs
        self.usage: dict[str, Any] = {}  # run id -> core.runs.usage.Usage, for running runs
        self.marked: set[str] = set()
        #: Sweep id -> the record standing for the sweep's row (its trials are not shown)
        self.sweep_rows: dict[str, RunRecord] = {}
        self.sweep_cells: dict[str, tuple[str, Any]] = {}  # sweep id -> (trials, best metric)
        self.filter = RunFilter()
        self.sort_column = "id"
        self.sort_reverse = True  # newest first
        self._shown: dict[str, dict[str, Any]] = {}
        self._to_fill: list[str] = []
        self.shown_columns: tuple[str, ...] = tuple(key for _, key in COLUMNS)
        # Each column's widest value so far, hidden columns included: what fitting decides by.
        self._widest: dict[str, int] = {key: cell_len(label) for label, key in COLUMNS}

    def on_mount(self) -> None:
        for label, key in COLUMNS:
            if key in self.shown_columns:
                self.add_column(label, key=key)

    # -- width --------------------------------------------------------------------------------

    def columns_for(self, width: int) -> tuple[str, ...]:
        """The columns to show in ``width`` cells: all, less DROP_ORDER's first ones as needed."""
        return columns_fitting([key for _, key in COLUMNS], self._widest, DROP_ORDER, width)

    def fit(self) -> None:
        """Show the columns that fit the table's width now (on resize, and as values widen)."""
        # The vertical scrollbar's room is kept whether it shows or not: rows arriving must not
        # tip the table into scrolling sideways.
        width = self.size.width - self.styles.scrollbar_size_vertical
        if width <= 0:
            return
        wanted = self.columns_for(width)
        if wanted == self.shown_columns:
            return
        self.shown_columns = wanted
        cursor = self.cursor_run_id
        shown = list(self._shown)
        self.clear(columns=True)
        self._shown.clear()
        for label, key in COLUMNS:
            if key in wanted:
                self.add_column(label, key=key)
        for run_id in shown:
            self._add(self.record(run_id))
        self.resort()
        self.select(cursor)

    def on_resize(self) -> None:
        self.fit()

    # -- data in ------------------------------------------------------------------------------

    def apply(self, runs: dict[str, RunRecord], first_metric: dict[str, tuple[str, Any]]) -> None:
        """Bring rows up to date with changed runs and metric values (call in a batch update)."""
        for run_id, run in runs.items():  # kept as runs change: the summary asks every flush
            old = self.records.get(run_id)
            if old is not None:
                self.status_counts[old.status] -= 1
            self.status_counts[run.status] += 1
        self.records.update(runs)
        self.first_metric.update(first_metric)
        was_empty = not self._shown
        if was_empty and len(runs) > FILL_CHUNK:
            self._fill([r.run_id for r in self.records.values() if self._visible(r)])
            return
        added = False
        resort = False
        for run_id in set(runs) | set(first_metric):
            run = self.records.get(run_id)
            if run is None or (run_id in self._to_fill and run_id not in self._shown):
                continue
            visible = self._visible(run)
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

    def forget(self, run_ids: Iterable[str]) -> None:
        """Take deleted runs out of the table (and out of the marks; call in a batch update)."""
        unmarked = False
        for run_id in run_ids:
            old = self.records.pop(run_id, None)
            if old is None:
                continue
            self.status_counts[old.status] -= 1
            self.first_metric.pop(run_id, None)
            if run_id in self.marked:
                self.marked.discard(run_id)
                unmarked = True
            if run_id in self._to_fill:
                self._to_fill.remove(run_id)
            if run_id in self._shown:
                self._remove(run_id)
        if unmarked:
            self.post_message(self.MarksChanged())

    def _visible(self, run: RunRecord) -> bool:
        """Whether the run has a row: it matches the filter and is not a sweep's trial."""
        return not run.sweep_id and self.filter.matches(run)

    def record(self, key: str) -> RunRecord:
        """The record of a row: a run's, or the one standing for a sweep."""
        return self.records.get(key) or self.sweep_rows[key]

    def set_sweeps(self, changed: dict[str, Any]) -> None:
        """Show sweeps (id -> ``SweepProgress``) as one row each (call in a batch update)."""
        from launchdeck.tui.sweep_rows import best_metric, sweep_record, trial_count

        resort = False
        for sweep_id, progress in changed.items():
            record = self.sweep_rows[sweep_id] = sweep_record(progress)
            self.sweep_cells[sweep_id] = (trial_count(progress), best_metric(progress))
            if sweep_id in self._shown:
                if self.filter.matches(record):
                    resort |= self._update_row(record)
                else:
                    self._remove(sweep_id)
            elif self.filter.matches(record):
                self._add(record)
                resort = True
        if resort:
            self.resort()

    def _fill(self, run_ids: list[str]) -> None:
        key = self._sort_key()
        self._to_fill = sorted(run_ids, key=lambda rid: key(RunId("", rid)),
                               reverse=self.sort_reverse)
        self._fill_chunk(first=True)

    def _fill_chunk(self, first: bool = False) -> None:
        chunk, self._to_fill = self._to_fill[:FILL_CHUNK], self._to_fill[FILL_CHUNK:]
        with self.app.batch_update():
            for run_id in chunk:
                if run_id not in self._shown:
                    self._add(self.record(run_id))
            if first:
                self.move_cursor(row=0, animate=False)
            if not self._to_fill:
                self.resort()  # sort or filter may have changed while filling
        if self._to_fill:
            self.call_later(self._fill_chunk)

    @property
    def filling(self) -> bool:
        return bool(self._to_fill)

    def set_waits(self, waits: dict[str, Any]) -> None:
        """Show why queued runs wait (call in a batch update)."""
        changed = set(waits) | {rid for rid in self.waits if rid not in waits}
        self.waits = dict(waits)
        for run_id in changed:
            if run_id in self._shown and run_id in self.records:
                self._set(run_id, "status", self._cells(self.records[run_id])["status"])

    def set_usage(self, usage: dict[str, Any]) -> None:
        """Show what running runs use (call in a batch update); runs not named keep theirs."""
        for run_id, used in usage.items():
            if used is None:
                self.usage.pop(run_id, None)
            else:
                self.usage[run_id] = used
            if run_id in self._shown and run_id in self.records:
                cells = self._cells(self.records[run_id])
                for key in USAGE_COLUMNS:
                    if cells[key] != self._shown[run_id][key]:
                        self._set(run_id, key, cells[key])

    @property
    def showing_usage(self) -> bool:
        return any(key in self.shown_columns for key in USAGE_COLUMNS)

    def visible_running(self) -> list[str]:
        """Ids of the running runs on the rows in view now (what usage is read for)."""
        first = int(self.scroll_y)
        last = first + max(0, self.size.height - (self.header_height if self.show_header
                                                   else 0))
        out = []
        for row in range(first, min(last + 1, self.row_count)):
            try:
                run_id = self._row_locations.get_key(row).value
            except AttributeError:
                continue
            run = self.records.get(run_id)
            if run is not None and run.status is RunState.RUNNING:
                out.append(run_id)
        return out

    def tick(self) -> None:
        """Refresh the duration of runs still going (once a second)."""
        now = self.clock()
        for run_id in self._shown:
            run = self.record(run_id)
            if run.status.is_active and run.start_time_utc:
                self._set(run_id, "duration", Text(format_duration(duration_s(run, now))))

    def set_filter(self, text: str) -> None:
        self.filter = RunFilter(text)
        wanted = [r for r in self.records.values() if self._visible(r)]
        wanted += [r for r in self.sweep_rows.values() if self.filter.matches(r)]
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
        from launchdeck.tui.state import remember

        remember("sort", {"column": self.sort_column, "reverse": self.sort_reverse})

    def restore_sort(self, saved: Any) -> None:
        """Take a sort order remembered from an earlier session (ignored if not one)."""
        keys = {key for _, key in COLUMNS}
        if isinstance(saved, dict) and saved.get("column") in keys:
            self.sort_column = saved["column"]
            self.sort_reverse = bool(saved.get("reverse"))

    def resort(self) -> None:
        cursor = self.cursor_run_id
        self.sort("id", key=self._sort_key(), reverse=self.sort_reverse)
        self.select(cursor)

    def _sort_key(self):
        return sort_key(self.sort_column, record=self.record, metric=self._metric,
                        usage=self.usage, clock=self.clock)

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

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "toggle_mark":  # a sweep's row: its trials are marked in its view
            return self.cursor_run_id not in self.sweep_rows
        return super().check_action(action, parameters)

    def action_toggle_mark(self) -> None:
        run_id = self.cursor_run_id
        if run_id is None or run_id in self.sweep_rows:
            return  # a sweep is not a run: its trials are marked in its view
        self.marked ^= {run_id}
        self._set(run_id, "id", self._id_cell(self.records[run_id]))
        self.post_message(self.MarksChanged())
        self.action_cursor_down()

    def unmark_all(self) -> None:
        marked, self.marked = self.marked, set()
        for run_id in marked:
            if run_id in self._shown:
                self._set(run_id, "id", self._id_cell(self.records[run_id]))
        self.post_message(self.MarksChanged())

    def marked_in_order(self) -> list[str]:
        return sorted(self.marked, key=lambda rid: self.records[rid].created_utc)

    # -- rows ---------------------------------------------------------------------------------

    def _metric(self, key: str) -> tuple[str, Any] | None:
        """A run's first metric (name, last value), or a sweep's objective at its best."""
        if key in self.sweep_cells:
            return self.sweep_cells[key][1]
        return self.first_metric.get(key)

    def _cells(self, run: RunRecord) -> dict[str, Any]:
        run_id = run.run_id
        return row_cells(run, project_name=self.project_name, marked=run_id in self.marked,
                         now=self.clock(), metric=self._metric(run_id),
                         wait=self.waits.get(run_id), used=self.usage.get(run_id),
                         trials=self.sweep_cells[run_id][0] if run_id in self.sweep_cells
                         else None)

    def _id_cell(self, run: RunRecord) -> RunId:
        return id_cell(run, self.project_name, marked=run.run_id in self.marked)

    def _add(self, run: RunRecord) -> None:
        cells = self._cells(run)
        self._shown[run.run_id] = cells
        for key, value in cells.items():
            self._note_width(key, value)
        self.add_row(*(cells[key] for key in self.shown_columns), key=run.run_id)

    def _note_width(self, key: str, value: Any) -> None:
        width = value.cell_len if isinstance(value, Text) else cell_len(str(value))
        if width > self._widest[key]:
            self._widest[key] = width
            if self.is_mounted:
                self._refit_later()

    def _refit_later(self) -> None:
        # Once per batch of changes: a wider value may push a column out (or not fit at all).
        if not getattr(self, "_refit_pending", False):
            self._refit_pending = True

            def refit() -> None:
                self._refit_pending = False
                self.fit()

            self.call_later(refit)

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
        self._note_width(key, value)
        if key in self.shown_columns:
            self.update_cell(run_id, key, value,
                             update_width=key in ("metric", "status", "script"))

    def _remove(self, run_id: str) -> None:
        self._shown.pop(run_id, None)
        self.remove_row(run_id)

    def shown_ids(self) -> Iterable[str]:
        return self._shown.keys()
