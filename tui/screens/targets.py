"""Compute targets: what each is, whether it answers, its versions and environment images."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Log, Static

from core.errors import DeckError, HostKeyError
from tui.screens.base import DeckScreen
from tui.target_checks import TargetFacts, check_target, prepare_target, read_targets

PENDING, OK, DOWN, UNKNOWN = "… checking", "✓ reachable", "✗ unreachable", "? not checked"


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
    ]

    def __init__(self) -> None:
        super().__init__()
        self.facts: dict[str, TargetFacts] = {}

    def compose(self) -> ComposeResult:
        yield Static("compute targets (aml_config/*.compute)", classes="topbar")
        with Horizontal(id="targets-body"):
            table = DataTable(id="targets", cursor_type="row")
            for label, key in (("name", "name"), ("type", "type"), ("address", "address"),
                               ("reachable", "state"), ("versions", "versions"),
                               ("images", "images")):
                table.add_column(label, key=key)
            yield table
            with Vertical(id="target-side"):
                yield Static("", id="target-facts")
                yield Log(id="target-log", max_lines=2000)
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
            self.facts[item.name] = item
            self._row(item)
        if not facts:
            self.query_one("#target-facts", Static).update(
                "no compute targets yet: press a to attach one")
        table.focus()
        if self.deck.check_targets:
            for item in facts:
                if item.error is None:
                    self._check(item.name)

    def _row(self, item: TargetFacts) -> None:
        table = self.query_one("#targets", DataTable)
        cells = item.cells(PENDING if item.checking else OK if item.reachable else
                           DOWN if item.reachable is False else UNKNOWN)
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

    def _side(self, item: TargetFacts) -> None:
        self.query_one("#target-facts", Static).update(item.describe())

    # -- actions ------------------------------------------------------------------------------

    def action_check(self) -> None:
        if self.selected:
            self._check(self.selected)

    def _check(self, name: str, accept: str | None = None) -> None:
        item = self.facts[name]
        item.checking = True
        self._row(item)
        self.run_worker(lambda: self._check_worker(name, accept), thread=True,
                        group=f"check-{name}", exclusive=True, name=f"check {name}")

    def _check_worker(self, name: str, accept: str | None) -> None:
        item = self.facts[name]
        try:
            check_target(self.deck.project, item, accept_host_key=accept)
        except HostKeyError as exc:
            self.app.call_from_thread(self._ask_host_key, name, exc)
        self.app.call_from_thread(self._row, item)

    def _ask_host_key(self, name: str, exc: HostKeyError) -> None:
        from tui.screens.dialogs import Confirm

        if exc.changed or not exc.fingerprint:
            self.notify(str(exc), title="Host key", severity="error", timeout=15)
            return
        question = (f"{exc.host} is not in known_hosts. Its host key fingerprint is\n\n"
                    f"    {exc.fingerprint}\n\nCompare it with the one the host's administrator "
                    "gave you. Trust this host and remember its key?")
        self.app.push_screen(Confirm(question, yes="Trust", danger=False),
                             lambda yes: yes and self._check(name, accept=exc.fingerprint))

    def action_attach(self) -> None:
        from tui.screens.attach import AttachDialog

        self.app.push_screen(AttachDialog(self.deck.project), self._attached)

    def _attached(self, name: str | None) -> None:
        if name:
            self.notify(f"attached {name}: wrote aml_config/{name}.compute and {name}.runconfig")
            self.reload()

    def action_prepare(self) -> None:
        name = self.selected
        if not name:
            return
        log = self.query_one("#target-log", Log)
        log.clear()
        log.write_line(f"preparing the environment of {name}…")
        self.run_worker(lambda: self._prepare_worker(name), thread=True, exclusive=True,
                        group="prepare", name=f"prepare {name}")

    def _prepare_worker(self, name: str) -> None:
        log = self.query_one("#target-log", Log)

        def progress(line: str) -> None:
            self.app.call_from_thread(log.write_line, line.rstrip("\n"))

        try:
            env_id = prepare_target(self.deck.project, name, progress=progress)
        except DeckError as exc:
            progress(f"failed: {exc}")
            self.app.call_from_thread(self.notify, str(exc), title=f"Prepare {name}",
                                      severity="error", timeout=10)
            return
        progress(f"ready: {env_id or 'nothing to build on this target'}")
