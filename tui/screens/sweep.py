"""One sweep: its trials by objective, the best so far, plots; cancel it, a trial, rerun the best.

What it shows is the ``SweepProgress`` the app's history watcher reads (``tui.sweeps_feed``);
what its keys do goes through the same core functions as ``deck sweep cancel``, ``deck cancel``
and ``deck rerun``.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.widgets import DataTable, Footer, Static

from launchdeck.core.sweeps.trials import SweepProgress, Trial, ranked
from launchdeck.tui.format import format_duration, duration_s, format_value, printable, status_text
from launchdeck.tui.screens.base import DeckScreen
from launchdeck.tui.widgets.plot import LinePlot, ScatterPlot
from launchdeck.tui.widgets.scrolling import Scroll
from launchdeck.tui.widgets.table import Table, columns_fitting

#: What gives way, first to last, when the columns do not fit: the stopped reason (the line
#: under the table says it for the trial under the cursor), the target, the run number, the
#: time taken, then the parameters from the last to the first. Trial, status and the objective
#: always show.
DROP_FIRST = ("stopped", "target", "number", "took")
VALUE_WIDTH = 10  # cells for a parameter's or the objective's value ("1.235e+04" fits)


class SweepScreen(DeckScreen):
    SUMMARY = "a sweep's trials by objective, its best, plots"
    CSS_PATH = "sweep.tcss"
    AUTO_FOCUS = "#trials"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (140, "-wide")]
    BINDINGS = [
        Binding("c", "cancel_trial", "Cancel trial", id="sweep.cancel_trial",
                tooltip="Cancel the trial under the cursor (asks first)"),
        Binding("X", "cancel_sweep", "Cancel sweep", id="sweep.cancel",
                tooltip="Cancel the sweep: its running trials stop, no new one starts"),
        Binding("r", "rerun_best", "Rerun best", id="sweep.rerun_best",
                tooltip="Run the best trial again (same snapshot, configuration, parameters)"),
    ]
    PALETTE_HINT_MIN_WIDTH = 100

    def __init__(self, sweep_id: str) -> None:
        super().__init__()
        self.sweep_id = sweep_id
        self.progress: SweepProgress | None = None
        self.rows: list[Trial] = []  # the table's trials, in its order
        self.shown_columns: tuple[str, ...] = ()
        self._shown: dict[str, dict[str, Any]] = {}  # run id -> the cells of its row now

    def compose(self) -> ComposeResult:
        yield Static(self.sweep_id, classes="topbar", id="sweep-summary")
        yield Static("", id="best")
        with Scroll(id="sweep-body"):
            yield Table(id="trials", cursor_type="row", zebra_stripes=False)
            yield Grid(id="sweep-plots")
        # Outside the scrolling part: at 80 columns the stopped column gives way, and this line
        # says the reason for the trial under the cursor.
        yield Static("", id="trial-detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # Called at once rather than posted: a screen covered by a run's detail handles no
        # message (each would repaint the screen on top); the latest waits for the return.
        self.deck.sweeps_changed.subscribe(self, self._sweeps_changed, immediate=True)
        self._latest = self.deck.sweeps.get(self.sweep_id)
        self._tick_timer = self.set_interval(1.0, self._tick)  # "took" of running trials
        if self._latest is not None:
            self.show(self._latest)

    def _sweeps_changed(self, changed: dict) -> None:
        if self.sweep_id in changed:
            self._latest = changed[self.sweep_id]
            if self.app.screen is self:
                self.show(self._latest)

    def _tick(self) -> None:
        if self.progress is not None and any(t.run.status.is_active
                                             for t in self.progress.trials):
            with self.app.batch_update():
                self._fill_table()

    def on_screen_suspend(self) -> None:
        self._tick_timer.pause()

    def on_screen_resume(self) -> None:
        self._tick_timer.resume()
        if self._latest is not None and self._latest is not self.progress:
            self.show(self._latest)

    @property
    def table(self) -> Table:
        return self.query_one("#trials", Table)

    # -- drawing ------------------------------------------------------------------------------

    def show(self, progress: SweepProgress) -> None:
        self.progress = progress
        d = progress.sweep.definition
        self.rows = ranked(progress.trials, d.maximize)
        with self.app.batch_update():
            self._summary(progress)
            self._fill_table()
            self._detail()
            self._plots(progress)
        self.keys_may_have_changed()

    def _summary(self, p: SweepProgress) -> None:
        d = p.sweep.definition
        why = f" ({p.status.reason})" if p.status.reason else ""
        goal = f"{'maximize' if d.maximize else 'minimize'} {printable(d.metric)}" \
            if d.metric else "no objective"
        self.query_one("#sweep-summary", Static).update(
            f"{p.sweep.sweep_id} · {p.status.state}{why} · {d.search} · {goal} · "
            f"{len(p.trials)} of {d.trials} trials · stop: {d.stop or 'none'}")
        best = p.best
        if best is None:
            text = Text("best: none yet (no trial has completed with a value)", style="dim")
        else:
            params = "  ".join(f"{printable(k)}={param_text(v)}" for k, v in best.params.items())
            text = Text.assemble(("best: ", "bold"), f"trial {best.index} · run "
                                 f"#{best.run.run_number} · ",
                                 (f"{printable(d.metric)}={format_value(best.value)}", "bold"),
                                 f" · {params}")
        self.query_one("#best", Static).update(text)

    def _cells(self, trial: Trial) -> dict[str, Any]:
        cells: dict[str, Any] = {
            "trial": Text(str(trial.index), justify="right"),
            "number": Text(str(trial.run.run_number or ""), justify="right"),
            "status": status_text(trial.run.status),
            "target": Text(printable(trial.run.target)),
            "took": format_duration(duration_s(trial.run, self.deck.clock())),
        }
        for name in self._param_names():
            value = trial.params.get(name)
            cells[f"param:{name}"] = Text(param_text(value), justify="right")
        cells["value"] = Text("" if trial.value is None else
                              format_value(trial.value, VALUE_WIDTH), justify="right")
        cells["stopped"] = Text(printable(trial.stopped or ""))
        return cells

    def _param_names(self) -> list[str]:
        return [p.name for p in self.progress.sweep.definition.parameters] \
            if self.progress else []

    def _labels(self) -> dict[str, str]:
        metric = self.progress.sweep.definition.metric if self.progress else None
        return {"trial": "trial", "number": "#", "status": "status", "target": "target",
                "took": "took", **{f"param:{n}": printable(n) for n in self._param_names()},
                "value": printable(metric or "value"), "stopped": "stopped"}

    def _fill_table(self) -> None:
        table = self.table
        labels = self._labels()
        cells = [self._cells(t) for t in self.rows]
        widest = {key: max([len(label), *(_width(c[key]) for c in cells)])
                  for key, label in labels.items()}
        params = [k for k in labels if k.startswith("param:")]
        # The vertical scrollbar's room is kept, shown or not (as the runs table does).
        width = (self.size.width or 80) - 2
        columns = columns_fitting(list(labels), widest, (*DROP_FIRST, *reversed(params)), width)
        order = [t.run.run_id for t in self.rows]
        if columns == self.shown_columns and order == list(self._shown):
            # The same rows in the same order (a running trial logged a value): only the
            # cells that changed, as adding a thousand rows again would cost a third of a second.
            for run_id, row in zip(order, cells):
                for key in columns:
                    if row[key] != self._shown[run_id][key]:
                        table.update_cell(run_id, key, row[key], update_width=True)
                self._shown[run_id] = row
            return
        cursor = self._cursor_trial()
        if columns != self.shown_columns:
            self.shown_columns = columns
            table.clear(columns=True)
            for key in columns:
                table.add_column(labels[key], key=key)
        else:
            table.clear()
        self._shown = dict(zip(order, cells))
        for run_id, row in zip(order, cells):
            table.add_row(*(row[key] for key in columns), key=run_id)
        if cursor is not None and cursor.run.run_id in self._shown:
            table.move_cursor(row=order.index(cursor.run.run_id), animate=False)

    def on_resize(self) -> None:
        if self.progress is not None:
            self._fill_table()

    def _detail(self) -> None:
        trial = self._cursor_trial()
        text = Text()
        if trial is not None:
            text.append(f"trial {trial.index} · run {trial.run.run_id} · ")
            text.append_text(status_text(trial.run.status))
            if trial.stopped:
                text.append(f" · stopped: {printable(trial.stopped)}", style="bold")
            elif trial.run.error and trial.run.status.is_terminal:
                text.append(f" · {printable(trial.run.error)}")
        self.query_one("#trial-detail", Static).update(text)

    def _plots(self, p: SweepProgress) -> None:
        grid = self.query_one("#sweep-plots", Grid)
        d = p.sweep.definition
        metric = printable(d.metric or "objective")
        scored = [t for t in p.trials if t.value is not None]  # in trial order
        if not grid.children:
            grid.mount(LinePlot(f"{metric} per trial", id="plot-objective"))
            for index, name in enumerate(self._param_names()):
                grid.mount(ScatterPlot(f"{metric} by {printable(name)}", id=f"plot-p{index}"))
            # Mounted later in this frame: filled when they are there.
            self.call_after_refresh(self._plots, p)
            return
        pick = max if d.maximize else min
        best_so_far: list[float] = []
        for t in scored:
            value = float(t.value)  # type: ignore[arg-type]
            best_so_far.append(pick(best_so_far[-1], value) if best_so_far else value)
        line = self.query_one("#plot-objective", LinePlot)
        line.set_series([("value", [float(t.value) for t in scored]),  # type: ignore[arg-type]
                         ("best so far", best_so_far)])
        line.border_subtitle = "[cyan]each trial[/]  [magenta]best so far[/]"
        for index, name in enumerate(self._param_names()):
            plot = self.query_one(f"#plot-p{index}", ScatterPlot)
            plot.set_points([(t.params[name], t.value) for t in scored if name in t.params])

    # -- cursor and keys ----------------------------------------------------------------------

    def _cursor_trial(self) -> Trial | None:
        table = self.table
        if not table.row_count or not 0 <= table.cursor_row < len(self.rows):
            return None
        return self.rows[table.cursor_row]

    @on(DataTable.RowHighlighted, "#trials")
    def _cursor_moved(self) -> None:
        self._detail()
        self.keys_may_have_changed()

    @on(DataTable.RowSelected, "#trials")
    def _row_selected(self) -> None:
        self.action_open()

    def can(self) -> dict[str, bool]:
        trial = self._cursor_trial()
        p = self.progress
        return {
            "cancel_trial": trial is not None and trial.run.status.is_active,
            "cancel_sweep": p is not None and p.status.state == "Running",
            "rerun_best": p is not None and p.best is not None,
        }

    def action_open(self) -> None:
        trial = self._cursor_trial()
        if trial is not None:
            self.deck.action_goto("run", trial.run.run_id)

    def action_cancel_trial(self) -> None:
        from launchdeck.tui import actions
        from launchdeck.tui.screens.dialogs import Confirm

        trial = self._cursor_trial()
        if trial is None or not trial.run.status.is_active:
            self.notify("nothing to cancel: the trial is over", severity="warning")
            return
        run_id = trial.run.run_id
        self.app.push_screen(
            Confirm(f"Cancel trial {trial.index} ({run_id})? Its process is stopped; the "
                    "sweep goes on with its other trials.", yes="Cancel trial"),
            lambda yes: yes and actions.cancel_in_worker(self, [run_id]))

    def action_cancel_sweep(self) -> None:
        from launchdeck.tui import actions

        if self.progress is not None and self.progress.status.state == "Running":
            actions.confirm_cancel_sweep(self, self.sweep_id)

    def action_rerun_best(self) -> None:
        from launchdeck.tui import actions

        if self.progress is not None and self.progress.best is not None:
            actions.rerun_in_worker(self, [self.progress.best.run])


def param_text(value: Any) -> str:
    """A parameter's value: a number in at most VALUE_WIDTH cells (fewer digits), a word
    whole (a column gives way rather than cut it)."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_value(value, VALUE_WIDTH)
    return printable(str(value))


def _width(value: Any) -> int:
    from rich.cells import cell_len

    return value.cell_len if isinstance(value, Text) else cell_len(str(value))
