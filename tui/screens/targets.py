"""Compute targets: what each is, whether it answers, its versions and environment images."""

from __future__ import annotations

import time

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, RichLog, Static

from launchdeck.core.errors import DeckError
from launchdeck.tui.screens.base import DeckScreen
from launchdeck.tui.target_checks import TargetFacts, check_target, prepare_target, read_targets
from launchdeck.tui.widgets.table import Table
from launchdeck.tui.widgets.scrolling import Scroll

COLUMNS = (("name", "name"), ("type", "type"), ("address", "address"), ("reachable", "state"),
           ("versions", "versions"), ("environment", "environment"))


class TargetsScreen(DeckScreen):
    SCREEN_NAME = "targets"
    SUMMARY = "compute targets: reachability, versions, images"
    CSS_PATH = "targets.tcss"
    AUTO_FOCUS = "#targets"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [
        Binding("c,enter", "check", "Check", id="targets.check"),
        Binding("a", "attach", "Attach", id="targets.attach"),
        Binding("p", "prepare", "Prepare", id="targets.prepare"),
        # `deck prepare --rebuild`: a build that was cached hides what it would print today.
        Binding("P", "prepare(True)", "Rebuild", id="targets.rebuild"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.facts: dict[str, TargetFacts] = {}
        self.checking: set[str] = set()
        self.preparing: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("compute targets (aml_config/*.compute)", classes="topbar")
        with Horizontal(id="targets-body"):
            table = Table(id="targets", cursor_type="row")
            for label, key in COLUMNS:
                table.add_column(label, key=key)
            yield table
            with Vertical(id="target-side"):
                with Scroll(id="target-facts-box"):
                    yield Static("", id="target-facts")
                # Wrapped: a build's last line is usually the one that says what went wrong.
                yield RichLog(id="target-log", max_lines=2000, wrap=True, markup=False,
                              highlight=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()

    @work(thread=True, exclusive=True, group="targets-read", name="read targets")
    def reload(self) -> None:
        facts = read_targets(self.deck.project)
        self.app.call_from_thread(self._show, facts)

    def _show(self, facts: list[TargetFacts]) -> None:
        table = self.query_one("#targets", DataTable)
        for item in facts:
            known = self.facts.get(item.name)
            if known is not None and known.error is None and item.error is None:
                continue  # a re-read after attach: keep what checks found
            self.facts[item.name] = item
            self._row(item)
        if not facts:
            self.query_one("#target-facts", Static).update(
                "no compute targets yet: press a to attach one")
        table.focus()
        if self.deck.check_targets:
            for item in facts:
                if item.error is None:
                    self._check(item.name, by_user=False)

    def _row(self, item: TargetFacts) -> None:
        table = self.query_one("#targets", DataTable)
        cells = item.cells(checking=item.name in self.checking)
        if item.name in table.rows:
            for key, value in cells.items():
                table.update_cell(item.name, key, value, update_width=True)
        else:
            table.add_row(*cells.values(), key=item.name)
        if self.selected == item.name:
            self._side(item)

    @property
    def selected(self) -> str | None:
        table = self.query_one("#targets", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @on(DataTable.RowHighlighted, "#targets")
    def _highlighted(self) -> None:
        name = self.selected
        if name in self.facts:
            self._side(self.facts[name])
        self.keys_may_have_changed()

    def can(self) -> dict[str, bool]:
        item = self.facts.get(self.selected or "")
        usable = item is not None and item.error is None
        return {"check": usable and item.name not in self.checking,
                "prepare": usable and self.preparing is None}  # p and P

    @on(DataTable.RowSelected, "#targets")
    def _row_selected(self) -> None:
        self.action_check()  # the table takes enter for itself: this is what enter means here

    def _side(self, item: TargetFacts) -> None:
        self.query_one("#target-facts", Static).update(item.describe())

    # -- check --------------------------------------------------------------------------------

    def action_check(self) -> None:
        if self.can()["check"]:
            self._check(self.selected)

    def _check(self, name: str, accept: str | None = None, *, by_user: bool = True) -> None:
        if name in self.checking:
            return  # the running check will answer
        self.checking.add(name)
        self._row(self.facts[name])
        self.keys_may_have_changed()
        self.run_worker(lambda: self._check_worker(name, accept, by_user), thread=True,
                        group=f"check-{name}", name=f"check {name}")

    def _check_worker(self, name: str, accept: str | None, by_user: bool) -> None:
        checked = check_target(self.deck.project, self.facts[name], accept_host_key=accept)
        self.app.call_from_thread(self._checked, checked, accept, by_user)

    def _checked(self, item: TargetFacts, accepted: str | None, by_user: bool) -> None:
        self.checking.discard(item.name)
        self.facts[item.name] = item
        self._row(item)
        self.keys_may_have_changed()
        if item.host_key is None:
            if accepted:
                self.notify(f"trusted {item.name}'s host key {accepted} (added to known_hosts)")
            return
        if not by_user:
            return  # checks on opening the screen never pop questions; the row says "? host key"
        if item.host_key.changed or not item.host_key.fingerprint or accepted:
            # A changed key is never accepted from here: that is what an attack looks like.
            self.notify(str(item.host_key), title="Host key", severity="error", timeout=20)
            return
        self._ask_host_key(item)

    def _ask_host_key(self, item: TargetFacts) -> None:
        from launchdeck.tui.screens.dialogs import Confirm

        exc = item.host_key
        question = (f"{exc.host} is not in known_hosts. Its host key fingerprint is\n\n"
                    f"    {exc.fingerprint}\n\nCompare it with the one the host's administrator "
                    "gave you. Trust this host and remember its key?")
        self.app.push_screen(Confirm(question, yes="Trust", danger=False),
                             lambda yes: yes and self._check(item.name, accept=exc.fingerprint))

    # -- attach -------------------------------------------------------------------------------

    def action_attach(self) -> None:
        from launchdeck.tui.screens.attach import AttachDialog

        self.app.push_screen(AttachDialog(self.deck.project), self._attached)

    def _attached(self, name: str | None) -> None:
        if name:
            self.notify(f"attached {name}: wrote aml_config/{name}.compute and {name}.runconfig;"
                        " press c to check it")
            self.reload()

    # -- prepare ------------------------------------------------------------------------------

    def action_prepare(self, rebuild: bool = False) -> None:
        name = self.selected
        if not name:
            return
        if self.preparing:
            self.notify(f"still preparing {self.preparing}; its progress is below",
                        severity="warning")
            return
        self.preparing = name
        self.keys_may_have_changed()
        log = self.query_one("#target-log", RichLog)
        log.clear()
        log.border_title = f"prepare {name}: running"
        log.display = True
        # The output gets the room: the facts above shrink to a few lines while it shows.
        self.add_class("-prepare-shown")
        log.write(f"{'rebuilding' if rebuild else 'preparing'} the environments of {name}…")
        self.run_worker(lambda: self._prepare_worker(name, rebuild), thread=True, group="prepare",
                        name=f"prepare {name}")

    def _prepare_worker(self, name: str, rebuild: bool) -> None:
        log = self.query_one("#target-log", RichLog)
        started = time.monotonic()

        def progress(line: str) -> None:
            # Live, line by line, as `deck prepare` prints it.
            self.app.call_from_thread(log.write, line.rstrip("\n"))

        try:
            done = prepare_target(self.deck.project, name, progress=progress,
                                  rebuild=rebuild)
        except DeckError as exc:
            progress(f"failed: {exc}")
            outcome = "failed"
            self.app.call_from_thread(self.notify, str(exc), title=f"Prepare {name}",
                                      severity="error", timeout=10)
        else:
            for line in done:
                progress(f"ready: {line}")
            outcome = f"ready in {time.monotonic() - started:.0f} s"
        self.app.call_from_thread(self._prepared, name, outcome)

    def _prepared(self, name: str, outcome: str) -> None:
        self.preparing = None
        self.query_one("#target-log", RichLog).border_title = f"prepare {name}: {outcome}"
        self.keys_may_have_changed()
        self._check(name, by_user=False)  # show the environments as they are now
