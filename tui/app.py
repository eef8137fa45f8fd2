"""``DeckApp``: the dashboard. It owns the project, one history watcher, and the screen stack.

The watcher is one thread that asks history ``data_version()`` a few times a second and reads
only when something was committed (``tui.runs_feed``); screens subscribe to ``runs_changed``.
Nothing here owns a run: runs belong to their keeper processes, so closing, crashing or killing
the dashboard never touches them.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.signal import Signal
from textual.worker import get_current_worker

from launchdeck.core.errors import DeckError
from launchdeck.core.history.records import RunRecord
from launchdeck.core.project import Project
from launchdeck.core.runs.state import RunState
from launchdeck.tui.commands import (ActionCommands, QuietSystemCommands, RunCommands,
                                     ScreenCommands)
from launchdeck.tui.keys import keymap_path, load_keymap
from launchdeck.tui.runs_feed import FeedUpdate, RunsFeed
from launchdeck.tui.stores import ThreadStores
from launchdeck.tui.views import HOME

REVIVE_EVERY_SECONDS = 5.0
WAITS_EVERY_SECONDS = 1.0  # how often queued runs' places and their targets' slots are read


class DeckApp(App):
    """The Launchdeck dashboard on one project."""

    TITLE = "deck"
    CSS_PATH = "app.tcss"
    COMMANDS = {QuietSystemCommands, ScreenCommands, ActionCommands, RunCommands}
    BINDINGS = [
        Binding(":", "command_line", "Go to", id="app.goto", priority=True),
        Binding("?", "help", "Keys", id="app.help"),
        Binding("R", "goto('runs')", "Runs", show=False, id="app.runs"),
        Binding("T", "goto('targets')", "Targets", show=False, id="app.targets"),
        Binding("C", "goto('configs')", "Configs", show=False, id="app.configs"),
        Binding("E", "goto('env')", "Env vars", show=False, id="app.env"),
    ]

    def __init__(self, project: Project, *, clock: Callable[[], float] = time.time,
                 poll_seconds: float | None = None, keys_file=None, check_targets: bool = True,
                 revive_runs: bool = True) -> None:
        super().__init__()
        self.project = project
        self.stores = ThreadStores(project)
        self.clock = clock
        self.over_ssh = bool(os.environ.get("SSH_CONNECTION"))
        # Over a slow link every repaint costs: no animations, fewer looks at history.
        self.poll_seconds = poll_seconds or (0.5 if self.over_ssh else 0.3)
        if self.over_ssh:
            self.animation_level = "none"
        self.keys_file = keys_file if keys_file is not None else keymap_path()
        self.check_targets = check_targets
        self.revive_runs = revive_runs
        self.runs: dict[str, RunRecord] = {}
        self.first_metric: dict[str, tuple[str, Any]] = {}
        self.runs_loaded = False
        self.runs_changed: Signal[FeedUpdate] = Signal(self, "runs-changed")
        self.command_history: list[str] = []  # what the ":" prompt's up and down recall
        #: Why each queued run waits (``core.runs.waiting``), read by the history watcher.
        self.queue_waits: dict[str, Any] = {}
        self.waits_changed: Signal[dict] = Signal(self, "waits-changed")
        #: Sweep id -> its ``core.sweeps.trials.SweepProgress``, read by the history watcher.
        self.sweeps: dict[str, Any] = {}
        self.sweeps_changed: Signal[dict] = Signal(self, "sweeps-changed")
        self._stop = threading.Event()
        self.sub_title = str(project.root)

    def on_mount(self) -> None:
        from launchdeck.tui.screens.runs import RunsScreen

        # Pushed rather than returned by get_default_screen: only pushed screens get their
        # CSS_PATH loaded. The runs screen is therefore screen_stack[HOME].
        self.push_screen(RunsScreen())
        keymap, problems = load_keymap(self.keys_file, binding_ids())
        if keymap:
            self.set_keymap(keymap)
        for problem in problems:
            self.notify(problem, severity="warning", timeout=10)
        # Paint first: reading thousands of runs can wait a frame, the first look cannot.
        self.call_after_refresh(self.watch_history)

    def on_unmount(self) -> None:
        self._stop.set()

    # -- history ------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="history-watch", name="history watch")
    def watch_history(self) -> None:
        worker = get_current_worker()
        from launchdeck.tui.sweeps_feed import SweepsFeed

        feed = RunsFeed(self.stores.history())
        sweeps = SweepsFeed(self.project, self.stores.history())
        last_revive = last_waits = 0.0
        waits: dict = {}
        while not worker.is_cancelled and not self._stop.is_set():
            try:
                update = feed.poll()
                if update:
                    self.call_from_thread(self._publish, update)
                now = time.monotonic()
                if update or now - last_waits > WAITS_EVERY_SECONDS:
                    last_waits = now
                    from launchdeck.core.runs.waiting import queue_waits

                    queued = [r for r in feed.runs.values() if r.status is RunState.QUEUED]
                    fresh = queue_waits(self.project, queued) if queued else {}
                    if fresh != waits:
                        waits = fresh
                        self.call_from_thread(self._publish_waits, fresh)
                    # A sweep's state changes without its trials changing (it ends, is
                    # canceled): looked at as often as the queue.
                    touched = {sweep_id for rid in (*update.runs, *update.first_metric)
                               if (sweep_id := getattr(feed.runs.get(rid), "sweep_id", None))}
                    changed = sweeps.poll(touched)
                    if changed:
                        self.call_from_thread(self._publish_sweeps, changed)
                if self.revive_runs and now - last_revive > REVIVE_EVERY_SECONDS:
                    last_revive = now
                    from launchdeck.core.runs.launcher import revive

                    revive(self.project, [r for r in feed.runs.values() if r.status.is_active])
                    sweeps.revive()
            except DeckError as exc:
                self.call_from_thread(self.notify, f"history: {exc}", severity="error")
                self._stop.wait(5)
            except RuntimeError:
                return  # the app is shutting down: call_from_thread has nobody to call
            self._stop.wait(self.poll_seconds)

    def _publish(self, update: FeedUpdate) -> None:
        for run_id in update.removed:
            self.runs.pop(run_id, None)
            self.first_metric.pop(run_id, None)
        self.runs.update(update.runs)
        self.first_metric.update(update.first_metric)
        self.runs_loaded = True
        self.runs_changed.publish(update)

    def _publish_waits(self, waits: dict) -> None:
        self.queue_waits = waits
        self.waits_changed.publish(waits)

    def _publish_sweeps(self, changed: dict) -> None:
        self.sweeps.update(changed)
        self.sweeps_changed.publish(changed)

    def find_run(self, text: str) -> RunRecord | None:
        """A known run named by the rule of ``core.history.runref``, or None."""
        from launchdeck.core.errors import RunNotFound
        from launchdeck.core.history.runref import resolve_run_ref

        try:
            return resolve_run_ref(text, self.runs.values())
        except RunNotFound:
            return None

    # -- navigation ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "command_line":
            # A priority key (so what follows it lands in the prompt): but in a text field,
            # or over a dialog, ":" is just a character.
            from launchdeck.tui.screens.base import DeckScreen

            return isinstance(self.screen, DeckScreen) and not self.screen.typing()
        if action in ("focus_next", "focus_previous"):
            # Tab in the ":" prompt completes the name there; it never moves focus out.
            from launchdeck.tui.widgets.command_line import CommandLine

            return not isinstance(self.focused, CommandLine)
        return True

    def action_command_line(self) -> None:
        self.screen.open_command_line()

    def goto_command(self, command: str | None) -> None:
        if not command:
            return
        name, _, arg = command.strip().lstrip(":").partition(" ")
        self.action_goto(name, arg.strip())

    def action_goto(self, name: str, arg: str = "") -> None:
        from launchdeck.tui.navigation import open_screen

        open_screen(self, name, arg)

    async def action_quit(self) -> None:
        from launchdeck.tui.navigation import leave_screens

        leave_screens(self, self.exit, down_to=HOME)

    def action_help(self) -> None:
        from launchdeck.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))


def binding_ids() -> set[str]:
    """Every binding id a keys file may remap."""
    ids = set()
    for owner in binding_owners():
        for binding in owner.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids


def binding_owners() -> list[type]:
    """Every class whose BINDINGS a keys file may remap."""
    from launchdeck.tui.screens.base import DeckScreen
    from launchdeck.tui.screens.compare import CompareScreen
    from launchdeck.tui.screens.envvars import EnvVarsScreen
    from launchdeck.tui.screens.run_detail import RunDetailScreen
    from launchdeck.tui.screens.runconfigs import RunConfigsScreen
    from launchdeck.tui.screens.runs import RunsScreen
    from launchdeck.tui.screens.sweep import SweepScreen
    from launchdeck.tui.screens.targets import TargetsScreen
    from launchdeck.tui.widgets.log_view import LogView
    from launchdeck.tui.widgets.runs_table import RunsTable

    return [DeckApp, DeckScreen, RunsScreen, RunDetailScreen, TargetsScreen, RunConfigsScreen,
            EnvVarsScreen, CompareScreen, SweepScreen, LogView, RunsTable]
