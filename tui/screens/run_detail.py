"""One run: its live log, metrics, artifacts, timeline and configuration."""

from __future__ import annotations

import shlex
import subprocess
import time

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane

from launchdeck.core.errors import DeckError
from launchdeck.tui.format import printable
from launchdeck.tui.run_header import run_header
from launchdeck.tui.runs_feed import FeedUpdate
from launchdeck.tui.screens.base import DeckScreen
from launchdeck.tui.widgets.artifact_table import ArtifactTable
from launchdeck.tui.widgets.log_view import LogView
from launchdeck.tui.widgets.metrics_panel import MetricsPanel
from launchdeck.tui.widgets.run_info import RunInfo
from launchdeck.tui.widgets.run_usage import RunUsage
from launchdeck.tui.widgets.scrolling import Scroll
from launchdeck.tui.widgets.search_box import SearchBox
from launchdeck.tui.widgets.topbar import TopBar

RELOAD_EVERY = 1.0  # seconds: a chatty run commits metrics many times a second


class LogSearchBox(SearchBox):
    KEEP_FOCUS_ON_ENTER = True  # enter again finds the next match


class RunDetailScreen(DeckScreen):
    SUMMARY = "one run: log, metrics, artifacts, timeline"
    CSS_PATH = "run_detail.tcss"
    AUTO_FOCUS = "#log-view"

    # The tab labels carry their keys ("1 Log"), so the footer need not.
    BINDINGS = [
        Binding("1", "tab('log')", "Log", show=False, id="detail.log"),
        Binding("2", "tab('metrics')", "Metrics", show=False, id="detail.metrics"),
        Binding("3", "tab('artifacts')", "Artifacts", show=False, id="detail.artifacts"),
        Binding("4", "tab('info')", "Info", show=False, id="detail.info"),
        Binding("/", "search", "Search", id="detail.search", priority=True),
        # In "?" and the palette: at 80 columns the footer has no room left.
        Binding("f", "filter_log", "Filter lines", show=False, id="detail.filter"),
        Binding("S", "save_log", "Save log", show=False, id="detail.save"),
        Binding("o", "open_artifact", "Open", id="detail.open"),
        Binding("y", "copy_path", "Copy path", id="detail.copy"),
        Binding("c", "cancel", "Cancel", id="detail.cancel"),
        Binding("r", "rerun", "Rerun", id="detail.rerun"),
        Binding("s", "shell", "Shell", id="detail.shell"),
    ]
    PALETTE_HINT_MIN_WIDTH = 100

    def __init__(self, run_id: str) -> None:
        super().__init__()
        self.run_id = run_id
        self._loaded_at = 0.0
        self._reload_pending = False
        self._log_loss_said = False
        self._latest = None  # (run, events) last read, for the tab that shows next
        # Built here, not in compose: the tabs mount their panes a moment after the screen.
        self.log_view = LogView(self.deck.project.run_dir(run_id) / "output.log", id="log-view")
        self.metrics_panel = MetricsPanel(id="metrics-panel")
        self.run_info = RunInfo(id="run-info")
        self.artifacts = ArtifactTable(self.deck.project.run_dir(run_id), id="artifact-table")
        # Read only while the Info tab shows, and only for running runs.
        self.run_usage = RunUsage(self.deck.project, lambda: self.deck.runs.get(self.run_id),
                                  shown=lambda: self.query_one(TabbedContent).active == "info",
                                  id="run-usage")
        self._target_kind: str | None = None
        self._asleep = False  # covered by another full screen

    def compose(self) -> ComposeResult:
        yield TopBar("", classes="topbar", id="run-header")
        with TabbedContent(initial="log"):
            with TabPane("1 Log", id="log"):
                yield Static("", classes="hint", id="queue-note")
                yield self.log_view
                yield LogSearchBox(placeholder="search the log (enter: next, n/N in the log, "
                                "esc: close)", id="search")
                yield SearchBox(placeholder="only lines matching a regex; !regex: not matching "
                                "(enter applies, esc clears)", id="log-filter")
            with TabPane("2 Metrics", id="metrics"):
                yield self.metrics_panel
            with TabPane("3 Artifacts", id="artifacts"):
                yield self.artifacts
            with TabPane("4 Info", id="info"):
                with Scroll(id="info-scroll"):
                    yield self.run_usage
                    yield self.run_info
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._subscribe()
        self._show_header()
        self._show_wait()
        # The tabs mount their panes after this screen mounts: wait for one refresh.
        self.call_after_refresh(self._start)
        self._header_timer = self.set_interval(1.0, self._show_header)

    def _subscribe(self) -> None:
        self.deck.runs_changed.unsubscribe(self)  # subscribing adds, never replaces
        self.deck.runs_changed.subscribe(self, self._runs_changed)
        self.deck.waits_changed.unsubscribe(self)
        self.deck.waits_changed.subscribe(self, self._show_wait)

    # Under another run's screen (``:run`` from here), this one reads and draws nothing:
    # Textual repaints the screen on top after each message the one below handles, so a
    # covered run's history, header and log cost as much as the run on show.

    def on_screen_suspend(self) -> None:
        if self.covered:
            self._asleep = True
            self.deck.runs_changed.unsubscribe(self)
            self.deck.waits_changed.unsubscribe(self)
            self._header_timer.pause()
            self.run_usage.pause(True)
            self.log_view.pause(True)

    def on_screen_resume(self) -> None:
        if self._asleep:  # it was covered: what it missed, now
            self._asleep = False
            self._subscribe()
            self._header_timer.resume()
            self.run_usage.pause(False)
            self.log_view.pause(False)
            self._show_wait()
            self._load()

    def _start(self) -> None:
        self._load()
        # A tab key typed ahead may have chosen another tab already: focusing the log would
        # switch back to it.
        if self.query_one(TabbedContent).active == "log":
            self.log_view.focus()

    # -- data ---------------------------------------------------------------------------------

    def _runs_changed(self, update: FeedUpdate) -> None:
        if self.run_id not in update.runs:
            return
        self._show_header()
        self.keys_may_have_changed()
        wait = RELOAD_EVERY - (time.monotonic() - self._loaded_at)
        if wait <= 0:
            self._load()
        elif not self._reload_pending:
            self._reload_pending = True
            self.set_timer(wait, self._load)

    @work(thread=True, exclusive=True, group="run-detail", name="load run")
    def _load(self) -> None:
        self._reload_pending = False
        if self._asleep:
            return  # a reload timer set before another screen covered this one
        self._loaded_at = time.monotonic()
        history = self.deck.stores.history()
        try:
            run = history.get_run(self.run_id, details=True)
            events = history.events(self.run_id)
            artifacts = history.artifacts(self.run_id)
        except DeckError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error")
            return
        if not self._log_loss_said:
            from launchdeck.core.history.runfile import output_log

            try:  # a log or run folder that is gone is said, not shown as an empty log
                output_log(self.deck.project.run_dir(self.run_id), run)
            except DeckError as exc:
                self._log_loss_said = True
                self.app.call_from_thread(self.notify, escape(printable(exc)), severity="error",
                                          timeout=30)
        self.app.call_from_thread(self._loaded, run, events, artifacts)

    def _loaded(self, run, events, artifacts) -> None:
        if self._asleep:
            return  # covered while it read: read again on return
        if run.status.is_terminal:
            self.log_view.run_over.set()
        # Only the tab on show is drawn; the others get the newest data when they show.
        self._latest = (run, events)
        self._show_tab_data()
        if self.artifacts.show(artifacts):
            self.keys_may_have_changed()
        self._show_header(run)

    def _show_header(self, run=None) -> None:
        run = run or self.deck.runs.get(self.run_id)
        header = self.query_one("#run-header", TopBar)
        if run is None:
            header.show(f"run {self.run_id}")
            return
        header.show(run_header(run, project_name=self.deck.project.name, now=self.deck.clock(),
                               width=header.size.width - 2))  # less the bar's padding

    def on_resize(self) -> None:
        self._show_header()

    def _show_wait(self, waits: dict | None = None) -> None:
        """Above the (empty) log of a queued run: why it has not started."""
        wait = (self.deck.queue_waits if waits is None else waits).get(self.run_id)
        note = self.query_one("#queue-note", Static)
        note.update(f"queued: {wait.reason}" if wait is not None else "")
        note.display = wait is not None

    # -- actions ------------------------------------------------------------------------------

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.query_one({"log": "#log-view", "metrics": "#metrics-panel",
                        "artifacts": "#artifact-table", "info": "#info-scroll"}[tab]).focus()

    def can(self) -> dict[str, bool]:
        run = self.deck.runs.get(self.run_id)
        on_artifacts = self.query_one(TabbedContent).active == "artifacts" and \
            bool(self.artifacts.paths)
        return {
            "search": not self.typing(),  # a priority key, but "/" is text inside a field
            "cancel": run is not None and run.status.is_active,
            "shell": run is not None and run.status.is_active and bool(run.external_id)
            and self._in_container(run),
            "open_artifact": on_artifacts,
            "copy_path": on_artifacts,
        }

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self._show_tab_data()
        self.keys_may_have_changed()

    def _show_tab_data(self) -> None:
        if self._latest is None:
            return
        run, events = self._latest
        active = self.query_one(TabbedContent).active
        if active == "metrics":
            self.metrics_panel.show(run.metrics or {})
        elif active == "info":
            self.run_usage.read_now()
            self.run_info.show(run, events)

    def action_search(self) -> None:
        self.query_one(TabbedContent).active = "log"
        self.query_one("#search", SearchBox).open()

    @on(Input.Submitted, "#search")
    def _search(self, event: Input.Submitted) -> None:
        self.log_view.search(event.value)

    def action_filter_log(self) -> None:
        self.query_one(TabbedContent).active = "log"
        self.query_one("#log-filter", SearchBox).open()

    @on(Input.Submitted, "#log-filter")
    def _filter_log(self, event: Input.Submitted) -> None:
        error = self.log_view.set_line_filter(event.value)
        box = self.query_one("#log-filter", SearchBox)
        if error:
            box.border_subtitle = error
            self.notify(error, severity="error", timeout=5)
            return
        box.border_subtitle = self.log_view.filter_summary

    def action_back(self) -> None:
        # Escape clears a line filter first (as on the runs screen), then leaves.
        box = self.query_one("#log-filter", SearchBox)
        if box.display or self.log_view.line_filter:
            box.action_close()
            return
        super().action_back()

    @on(SearchBox.Closed, "#log-filter")
    def _log_filter_closed(self, event: SearchBox.Closed) -> None:
        event.box.value = ""
        event.box.border_subtitle = ""
        self.log_view.set_line_filter("")

    @on(LogView.Filtered)
    def _log_filtered(self) -> None:
        self.query_one("#log-filter", SearchBox).border_subtitle = self.log_view.filter_summary

    def action_save_log(self) -> None:
        from pathlib import Path

        from launchdeck.tui.screens.dialogs import Prompt

        what = f"the {self.log_view.filter_summary} shown" if self.log_view.line_filter \
            else "the whole log"
        default = str(Path.cwd() / f"{self.run_id}.log")

        def problem(text: str) -> str | None:
            path = Path(text).expanduser()
            if not text.strip():
                return "a file name"
            if path.exists():
                return f"{path} exists: choose another name"
            if not path.parent.is_dir():
                return f"no folder {path.parent}"
            return None

        self.app.push_screen(Prompt(f"Save {what} to", value=default, validate=problem),
                             lambda path: path and self._save_log(path))

    @work(thread=True, group="save-log", name="save log")
    def _save_log(self, path: str) -> None:
        from pathlib import Path

        target = Path(path).expanduser()
        try:
            with open(target, "x", encoding="utf-8") as out:
                lines = 0
                for line in self.log_view.shown_lines():
                    out.write(line + "\n")
                    lines += 1
        except OSError as exc:
            self.app.call_from_thread(self.notify, f"not saved: {exc}", severity="error")
            return
        self.app.call_from_thread(self.notify, f"saved {lines} lines to {target}")

    @on(LogView.Searched)
    def _searched(self, event: LogView.Searched) -> None:
        box = self.query_one("#search", SearchBox)
        box.border_subtitle = event.summary
        if event.line is None or not box.display:
            self.notify(event.summary, severity="warning" if event.line is None else
                        "information", timeout=3)


    def action_cancel(self) -> None:
        from launchdeck.tui import actions
        from launchdeck.tui.screens.dialogs import Confirm

        run = self.deck.runs.get(self.run_id)
        if run is None or run.status.is_terminal:
            self.notify("nothing to cancel: the run is over", severity="warning")
            return
        self.app.push_screen(Confirm(f"Cancel {self.run_id}?", yes="Cancel run"),
                             lambda yes: yes and actions.cancel_in_worker(self, [self.run_id]))

    def action_rerun(self) -> None:
        from launchdeck.tui import actions

        run = self.deck.runs.get(self.run_id)
        if run is not None:
            actions.rerun_in_worker(self, [run])

    def _in_container(self, run) -> bool:
        if self._target_kind is None:  # asked on every footer refresh: the file is read once
            try:
                self._target_kind = str(self.deck.project.load_compute(run.target).type)
            except DeckError:
                self._target_kind = ""
        return self._target_kind in ("docker", "remotedocker")

    def action_shell(self) -> None:
        """A shell in the run's container on the whole terminal; back here when it exits."""
        from textual.app import SuspendNotSupported

        from launchdeck.core.runs.shell import shell_command

        run = self.deck.runs.get(self.run_id)
        if run is None:
            return
        try:
            argv = shell_command(self.deck.project, run)
        except DeckError as exc:
            self.notify(str(exc), severity="warning")
            return
        try:
            with self.app.suspend():
                print(f"deck: a shell in run {self.run_id}'s container; exit (or ctrl+d) "
                      "goes back to the dashboard", flush=True)
                subprocess.run(argv, check=False)
        except SuspendNotSupported:
            self.notify("cannot hand the terminal over here; run: " + shlex.join(argv))
        except OSError as exc:
            self.notify(f"{argv[0]}: {exc}", severity="error")

    def ran(self, run_id: str) -> None:
        """A rerun of this run was queued: show the new run in this one's place."""
        if run_id != self.run_id and self.is_current:
            self.app.switch_screen(RunDetailScreen(run_id))

    @on(DataTable.RowSelected, "#artifact-table")
    def action_open_artifact(self) -> None:
        self.artifacts.open_chosen()

    def action_copy_path(self) -> None:
        self.artifacts.copy_chosen()
