"""The home screen: run queue and history in one table, live; submit, cancel, rerun, compare."""

from __future__ import annotations

import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input

from launchdeck.core.runs.state import RunState
from launchdeck.tui.format import format_value
from launchdeck.tui.runs_feed import ACTIVE, FeedUpdate
from launchdeck.tui.screens.base import DeckScreen
from launchdeck.tui.screens.runs_actions import RunActions
from launchdeck.tui.widgets.run_preview import RunPreview
from launchdeck.tui.widgets.search_box import SearchBox
from launchdeck.tui.widgets.runs_table import COLUMNS, USAGE_COLUMNS, RunsTable
from launchdeck.tui.widgets.topbar import TopBar


# Once a second, with the duration column's tick: with fifty busy runs at 0.5 s, the table's
# two repaints a second took a third more of the dashboard's CPU, and a key pressed during
# one waited for it (bench_tui --only chatty: median key 0.24-0.30 s, at 1 s 0.14-0.16 s).
LIVE_INTERVAL = 1.0
USAGE_EVERY = 3.0  # seconds between reads of the CPU and memory of the running runs in view
USAGE_AFTER_MOVE = 1.0  # no read within this long after the cursor moved


class RunsScreen(RunActions, DeckScreen):
    SCREEN_NAME = "runs"
    SUMMARY = "run queue and history"
    CSS_PATH = "runs.tcss"
    AUTO_FOCUS = "#runs"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]

    BINDINGS = [
        Binding("/", "filter", "Filter", id="runs.filter", priority=True),
        Binding("s", "submit", "Submit", id="runs.submit"),
        Binding("c", "cancel", "Cancel", id="runs.cancel"),
        Binding("r", "rerun", "Rerun", id="runs.rerun"),
        Binding("=", "compare", "Compare", id="runs.compare"),
        # Shown only on a queued run, where they act; short words for the footer's 80 columns,
        # the tooltip is what "?" says.
        Binding("K", "move('up')", "Up", id="runs.move_up",
                tooltip="Move up the queue (starts sooner)"),
        Binding("J", "move('down')", "Down", id="runs.move_down",
                tooltip="Move down the queue (starts later)"),
        Binding("F", "move('front')", "Front", id="runs.move_front",
                tooltip="Move to the queue's front (starts next)"),
        Binding("ctrl+d", "delete", "Delete", show=False, id="runs.delete",
                tooltip="Delete from history (asks first)"),
        # Left out of the footer, so that at 80 columns it keeps room for "? Keys": the
        # summary bar names the sort key; q, x and esc are in "?".
        Binding("o", "sort", "Sort", show=False, id="runs.sort"),
        Binding("O", "sort_reverse", "Reverse", show=False, id="runs.sort_reverse"),
        Binding("x", "clear_marks", "Unmark", show=False, id="runs.unmark"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="runs.clear_filter"),
        Binding("q", "app.quit", "Quit", show=False, id="app.quit"),
    ]
    PALETTE_HINT_MIN_WIDTH = 100

    def compose(self) -> ComposeResult:
        yield TopBar("", classes="topbar", id="summary")
        # Short enough for 80 columns, less the box's border and padding.
        yield SearchBox(placeholder="words status:failed target:NAME config:NAME · enter keeps "
                                "· esc clears", id="filter")
        with Horizontal(id="body"):
            yield RunsTable(self.deck.project.name, clock=self.deck.clock, id="runs")
            yield RunPreview(self.deck.project.name, run_dir=self.deck.project.run_dir,
                             clock=self.deck.clock, id="preview")
        yield Footer(compact=True)

    def __init__(self) -> None:
        super().__init__()
        self._pending = FeedUpdate()
        self._pending_sweeps: dict = {}  # sweep id -> SweepProgress, drawn with the next flush
        self._flush_timer = None
        self._last_flush = 0.0
        self._tick_due = False
        self._select_when_shown: str | None = None
        self._pending_usage: dict = {}  # run id -> Usage read, drawn with the next flush
        self._last_move = 0.0  # time.monotonic() of the last cursor move

    def on_mount(self) -> None:
        from launchdeck.tui.state import load_state

        self.table.restore_sort(load_state().get("sort"))
        self.deck.runs_changed.subscribe(self, self.on_runs_changed)
        self.deck.waits_changed.subscribe(self, self._waits_changed)
        # Called at once, covered or not (a covered screen must handle no message): the
        # sweeps wait in _pending_sweeps for the next flush.
        self.deck.sweeps_changed.subscribe(self, self._sweeps_changed, immediate=True)
        self._pending_sweeps.update(self.deck.sweeps)
        self.table.set_waits(self.deck.queue_waits)
        if self.deck.runs:
            self.on_runs_changed(FeedUpdate(runs=dict(self.deck.runs),
                                            first_metric=dict(self.deck.first_metric)))
        self._tick_timer = self.set_interval(1.0, self._tick)
        self._usage_board = None  # core.runs.usage.UsageBoard, once a running run shows
        self._usage_timer = self.set_interval(USAGE_EVERY, self._read_usage)
        self._show_summary()
        self.table.focus()

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    # Any cell change makes DataTable render every visible cell again, so live changes are
    # gathered and applied together, with the second's duration tick, at most every
    # LIVE_INTERVAL: with fifty busy runs on two cores, CPU the table does not take is CPU the
    # next key press gets.

    def on_runs_changed(self, update: FeedUpdate) -> None:
        self._pending.merge(update)
        if update.full or not self.table.records:
            self._flush()
        else:
            self._schedule_flush()

    def _sweeps_changed(self, changed: dict) -> None:
        self._pending_sweeps.update(changed)
        if not self.covered:
            self._schedule_flush()

    def _waits_changed(self, waits: dict) -> None:
        with self.app.batch_update():
            self.table.set_waits(waits)
        self._preview()

    def _tick(self) -> None:
        if any(self.table.status_counts[state] for state in ACTIVE):
            self._tick_due = True
            self._schedule_flush()

    @property
    def settled(self) -> bool:
        """Whether every change history reported is in the table."""
        return self._flush_timer is None and not self.table.filling

    def _schedule_flush(self) -> None:
        if self._flush_timer is None:
            wait = max(0.01, self._last_flush + LIVE_INTERVAL - time.monotonic())
            self._flush_timer = self.set_timer(wait, self._flush)

    def _flush(self) -> None:
        self._flush_timer = None
        if self.covered:
            # Under a run's detail or another view: the changes wait, gathered, until this
            # screen shows again (drawing them here repainted the screen on top each second).
            self._tick_due = True
            return
        self._last_flush = time.monotonic()
        pending, self._pending = self._pending, FeedUpdate()
        tick, self._tick_due = self._tick_due, False
        table = self.table
        with self.app.batch_update():
            if pending.removed:
                table.forget(pending.removed)
            table.apply(pending.runs, pending.first_metric)
            if self._pending_sweeps:
                sweeps, self._pending_sweeps = self._pending_sweeps, {}
                table.set_sweeps(sweeps)
            if self._pending_usage:
                usage, self._pending_usage = self._pending_usage, {}
                table.set_usage(usage)
            if tick:
                table.tick()
            if self._select_when_shown in table.shown_ids():
                table.select(self._select_when_shown)
                self._select_when_shown = None
        self._show_summary()
        self._preview()

    # -- CPU and memory of running runs: read only for the rows in view, only while the cpu or
    # mem column shows (wide terminals), every USAGE_EVERY seconds.

    def _read_usage(self) -> None:
        table = self.table
        if self.covered or not table.showing_usage:
            return
        if time.monotonic() - self._last_move < USAGE_AFTER_MOVE:
            return  # the user is moving through the table: keys first, the next read later
        ids = table.visible_running()
        if not ids and self._usage_board is None:
            return
        if self._usage_board is None:
            from launchdeck.core.runs.usage import UsageBoard

            self._usage_board = UsageBoard(self.deck.project)
        self._usage_worker([self.deck.runs[rid] for rid in ids if rid in self.deck.runs])

    @work(exclusive=True, group="runs-usage", name="runs usage")
    async def _usage_worker(self, runs: list) -> None:
        read = await self._usage_board.read(runs)
        gone = {rid: None for rid in self.table.usage if rid not in read}
        # Drawn with the next flush of history changes, not on its own: each cell change
        # renders every visible cell again.
        self._pending_usage.update({**gone, **read})
        self._schedule_flush()

    async def on_unmount(self) -> None:
        if self._usage_board is not None:
            await self._usage_board.close()

    # While covered, this screen handles no message at all: Textual repaints the whole screen
    # on top after every message the screen below it handles (it counts as shown there).
    # History changes are gathered from the app's own loop and drawn on return.

    def on_screen_suspend(self) -> None:
        if self.covered:
            self.deck.runs_changed.unsubscribe(self)  # subscribing adds, never replaces
            self.deck.runs_changed.subscribe(self, self._gather, immediate=True)
            self._tick_timer.pause()
            self._usage_timer.pause()
            self.query_one(RunPreview).log_tail.pause(True)

    def on_screen_resume(self) -> None:
        self.deck.runs_changed.unsubscribe(self)
        self.deck.runs_changed.subscribe(self, self.on_runs_changed)
        self._tick_timer.resume()
        self._usage_timer.resume()
        self.query_one(RunPreview).log_tail.pause(False)
        if self._pending or self._tick_due or self._pending_sweeps:
            self._flush()

    def _gather(self, update: FeedUpdate) -> None:
        self._pending.merge(update)
        self._tick_due = True

    def _show_summary(self) -> None:
        table = self.table
        counts = table.status_counts
        parts = [f"{self.deck.project.name}"]
        if not self.deck.runs_loaded:
            parts.append("reading history…")
        for state in (RunState.RUNNING, RunState.PREPARING, RunState.QUEUED):
            if counts[state]:
                parts.append(f"{counts[state]} {state.value.lower()}")
        parts.append(f"{len(table.records)} runs")
        if table.filter:
            parts.append(f"{table.row_count} shown by /{table.filter.text}")
        if table.marked:
            parts.append(f"{len(table.marked)} marked")
        label = dict((key, label) for label, key in COLUMNS).get(table.sort_column)
        parts.append(f"sort {label} {'▼' if table.sort_reverse else '▲'} (o)")
        self.query_one("#summary", TopBar).show(" · ".join(parts))

    # -- selection ----------------------------------------------------------------------------

    def marked_runs(self) -> list[str]:
        return self.table.marked_in_order()

    @on(DataTable.RowHighlighted)
    def _cursor_moved(self) -> None:
        self._last_move = time.monotonic()
        self._preview()

    def _preview(self) -> None:
        # Kept current even while hidden: the terminal may grow wide enough to show it.
        run_id = self.table.cursor_run_id
        if run_id in self.table.sweep_rows:
            trials, best = self.table.sweep_cells[run_id]
            self.query_one(RunPreview).show_text(Text(
                f"{run_id}: a sweep, {trials} trials begun"
                f"{f'; best {best[0]}={format_value(best[1], 30)}' if best else ''}. "
                "enter opens its trials, c cancels it."))
            self.keys_may_have_changed()
            return
        self.query_one(RunPreview).show(self.deck.runs.get(run_id) if run_id else None,
                                        self.deck.first_metric.get(run_id) if run_id else None,
                                        self.deck.queue_waits.get(run_id) if run_id else None)
        self.keys_may_have_changed()

    @on(RunsTable.MarksChanged)
    def _marks_changed(self) -> None:
        self._show_summary()
        self.keys_may_have_changed()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    @on(DataTable.HeaderSelected)
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        self.table.sort_by(event.column_key.value)
        self._show_summary()

    # -- actions ------------------------------------------------------------------------------

    def action_open(self) -> None:
        run_id = self.table.cursor_run_id
        if run_id in self.table.sweep_rows:
            self.deck.action_goto("sweep", run_id)
        elif run_id:
            self.deck.action_goto("run", run_id)

    def can(self) -> dict[str, bool]:
        table = self.table
        targets = self._targets()
        box = self.query_one("#filter", SearchBox)
        return {
            "filter": not self.typing(),  # a priority key, but "/" is text inside a field
            "rerun": bool(targets),
            "cancel": any(self.deck.runs[rid].status.is_active for rid in targets
                          if rid in self.deck.runs) or self._sweep_going(),
            "compare": len(table.marked) >= 2,
            "delete": bool(targets),
            "move": self._cursor_queued(),
            "clear_marks": bool(table.marked),
            # Not an action here: the table's space (mark) does not act on a sweep's row, and
            # the footer is rebuilt only when something in this dict changes.
            "on_sweep_row": self._cursor_sweep() is not None,
            "clear_filter": bool(box.value or box.display or table.marked),
        }

    def action_filter(self) -> None:
        self.query_one("#filter", SearchBox).open()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        with self.app.batch_update():
            self.table.set_filter(event.value)
        # Said on the box's edge, as it is typed: a filter that can match nothing says why.
        event.input.border_subtitle = "; ".join(self.table.filter.problems())
        self._show_summary()
        self.keys_may_have_changed()

    @on(SearchBox.Closed, "#filter")
    def _filter_closed(self, event: SearchBox.Closed) -> None:
        event.box.value = ""
        self.keys_may_have_changed()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", SearchBox)
        if box.value or box.display:
            box.value = ""
            box.display = False
            self.set_focus(self.table)
            self.keys_may_have_changed()
        elif self.table.marked:
            self.action_clear_marks()

    def action_clear_marks(self) -> None:
        self.table.unmark_all()
        self._show_summary()

    def action_sort(self) -> None:
        # Not through cpu and mem: they are not history and change every few seconds.
        keys = [key for _, key in COLUMNS if key not in USAGE_COLUMNS]
        table = self.table
        current = keys.index(table.sort_column) if table.sort_column in keys else -1
        table.sort_by(keys[(current + 1) % len(keys)])
        self._show_summary()

    def action_sort_reverse(self) -> None:
        self.table.sort_by(self.table.sort_column)
        self._show_summary()

    def action_compare(self) -> None:
        self.deck.action_goto("compare")

    def action_submit(self) -> None:
        from launchdeck.tui.screens.submit import SubmitDialog

        self.app.push_screen(SubmitDialog(self.deck.project), self._submit)

    def _submit(self, choice) -> None:
        if choice:
            from launchdeck.tui import actions

            actions.submit_in_worker(self, *choice)

    def ran(self, run_id: str) -> None:
        """A run this screen submitted: show it when it arrives (now, or with a later flush:
        on a busy machine it may reach the table after this is called)."""
        if run_id in self.table.shown_ids():
            self.table.select(run_id)
        else:
            self._select_when_shown = run_id
