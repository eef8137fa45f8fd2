"""Environment variables of one run configuration, as an editable table.

Values that are ``keyring:SERVICE/USER`` references are shown masked; adding a secret stores it
in the system keyring and writes only the reference into the file.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Select, Static

from launchdeck.core.config.runconfig import set_env, unset_env
from launchdeck.core.config.secrets import KEYRING_PREFIX, keyring_problem, parse_keyring_ref
from launchdeck.core.errors import DeckError
from launchdeck.tui.runconfig_edit import env_problem, rename_env
from launchdeck.tui.screens.base import DeckScreen
from launchdeck.tui.screens.dialogs import Choose, Confirm, Prompt
from launchdeck.tui.widgets.table import Table

KEYRING_SERVICE = "launchdeck"


def shown_value(value: str) -> Text:
    if value.startswith(KEYRING_PREFIX):
        return Text.assemble(("••••••••", "bold"), (f"  {value}", "dim"))
    return Text(value)


class EnvVarsScreen(DeckScreen):
    SCREEN_NAME = "env"
    SUMMARY = "environment variables of a run configuration"
    CSS_PATH = "envvars.tcss"
    AUTO_FOCUS = "#env"
    BINDINGS = [
        Binding("a", "add", "Add", id="env.add"),
        Binding("e,enter", "edit", "Edit", id="env.edit"),
        Binding("n", "rename", "Rename", id="env.rename"),
        Binding("d,delete", "delete", "Del", id="env.delete"),
        Binding("y", "copy_from", "Copy", id="env.copy"),
        # Not k: j and k move in every table.
        Binding("s", "secret", "Secret", id="env.secret"),
    ]

    def __init__(self, runconfig: str | None = None) -> None:
        super().__init__()
        self.runconfig = runconfig
        self.values: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        names = self.deck.project.runconfig_names()
        if self.runconfig not in names:
            self.runconfig = names[0] if names else None
        yield Static("environment variables", classes="topbar", id="env-title")
        yield Select([(n, n) for n in names], value=self.runconfig or Select.BLANK,
                     allow_blank=not names, compact=True, id="env-runconfig")
        table = Table(id="env", cursor_type="row")
        table.add_column("name", key="name")
        table.add_column("value", key="value")
        yield table
        yield Static("", classes="error", id="env-error")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()
        self.query_one("#env", DataTable).focus()

    def current_runconfig(self) -> str | None:
        return self.runconfig

    @on(DataTable.RowSelected, "#env")
    def _row_selected(self) -> None:
        self.action_edit()  # the table takes enter for itself: this is what enter means here

    @on(Select.Changed, "#env-runconfig")
    def _runconfig_changed(self, event: Select.Changed) -> None:
        if event.value is not Select.BLANK and event.value != self.runconfig:
            self.runconfig = str(event.value)
            self.reload()

    def reload(self, select: str | None = None) -> None:
        table = self.query_one("#env", DataTable)
        problem = None
        if self.runconfig is None:
            problem = "no run configurations in aml_config/"
        else:
            try:
                config = self.deck.project.load_runconfig(self.runconfig)
            except DeckError as exc:
                problem = str(exc)
        error = self.query_one("#env-error", Static)
        error.update(problem or "")
        error.display = problem is not None
        if self.runconfig is not None:
            self.query_one("#env-title", Static).update(
                f"environment variables of {self.runconfig} "
                f"(aml_config/{self.runconfig}.runconfig)")
        if problem is not None:
            # Never leave another runconfig's variables on show under this one's name.
            self.values = {}
            table.clear()
            self.keys_may_have_changed()
            return
        cursor = select or self.selected
        self.values = dict(config.environment_variables)
        table.clear()
        for name, value in self.values.items():
            table.add_row(name, shown_value(value), key=name)
        if cursor in self.values:
            table.move_cursor(row=table.get_row_index(cursor))
        self.keys_may_have_changed()

    def can(self) -> dict[str, bool]:
        rows = bool(self.values)
        loaded = self.runconfig is not None and not self.query_one("#env-error").display
        others = len(self.deck.project.runconfig_names()) > 1
        return {"add": loaded, "secret": loaded, "copy_from": loaded and others,
                "edit": rows, "rename": rows, "delete": rows}

    @property
    def selected(self) -> str | None:
        table = self.query_one("#env", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @property
    def path(self):
        return self.deck.project.runconfig_path(self.runconfig)

    def _write(self, change, done: str, select: str | None = None) -> None:
        try:
            change()
        except DeckError as exc:
            self.notify(str(exc), severity="error", timeout=10)
        else:
            self.notify(done)
        self.reload(select)

    # -- actions ------------------------------------------------------------------------------

    def action_add(self) -> None:
        if self.runconfig is None:
            return

        def named(name: str | None) -> None:
            if name:
                self.app.push_screen(Prompt(f"Value of {name}"), lambda value: value is not None
                                     and self._write(lambda: set_env(self.path, {name: value}),
                                                     f"set {name}", name))

        self.app.push_screen(Prompt("New variable name", placeholder="NAME",
                                    validate=lambda n: env_problem(n, set(self.values))), named)

    def action_edit(self) -> None:
        name = self.selected
        if name is None:
            return self.action_add()
        if self.values[name].startswith(KEYRING_PREFIX):
            return self._secret_value(name)
        self.app.push_screen(Prompt(f"Value of {name}", value=self.values[name]),
                             lambda value: value is not None and self._write(
                                 lambda: set_env(self.path, {name: value}), f"set {name}", name))

    def action_rename(self) -> None:
        old = self.selected
        if old is None:
            return
        self.app.push_screen(
            Prompt(f"Rename {old} to", value=old,
                   validate=lambda n: env_problem(n, set(self.values), old=old)),
            lambda new: new and new != old and self._write(
                lambda: rename_env(self.path, old, new), f"renamed {old} to {new}", new))

    def action_delete(self) -> None:
        name = self.selected
        if name is None:
            return
        question = f"Delete {name} from {self.runconfig}?"
        value = self.values.get(name, "")
        if value.startswith(KEYRING_PREFIX):
            # Other run configurations may refer to the same secret: it is not deleted here.
            service, user = parse_keyring_ref(value)
            question += (f"\n\nIts secret stays in the system keyring ({value}); remove it "
                         f"there with: keyring del {service} {user}")
        self.app.push_screen(
            Confirm(question, yes="Delete"),
            lambda yes: yes and self._write(lambda: unset_env(self.path, [name]),
                                            f"deleted {name}"))

    def action_copy_from(self) -> None:
        others = [n for n in self.deck.project.runconfig_names() if n != self.runconfig]
        if not others:
            self.notify("no other run configuration to copy from", severity="warning")
            return
        self.app.push_screen(Choose("Copy variables from", others), self._copy_from)

    def _copy_from(self, source: str | None) -> None:
        if not source:
            return
        try:
            theirs = self.deck.project.load_runconfig(source).environment_variables
        except DeckError as exc:
            self.notify(str(exc), severity="error")
            return
        if not theirs:
            self.notify(f"{source} has no environment variables", severity="warning")
            return
        replaced = [n for n in theirs if n in self.values and self.values[n] != theirs[n]]
        question = f"Copy {len(theirs)} variables from {source}: {', '.join(theirs)}?"
        if replaced:
            question += f"\n\nThis replaces the values of {', '.join(replaced)}."
        self.app.push_screen(Confirm(question, yes="Copy", danger=bool(replaced)),
                             lambda yes: yes and self._write(
                                 lambda: set_env(self.path, dict(theirs)),
                                 f"copied {len(theirs)} variables from {source}"))

    def _keyring_missing(self) -> bool:
        """Say so (before any value is typed) when secrets cannot go to the keyring here."""
        problem = keyring_problem()
        if problem:
            self.notify(f"{problem}; nothing was written", severity="error", timeout=10)
        return problem is not None

    def action_secret(self) -> None:
        if self.runconfig is None or self._keyring_missing():
            return
        # The selected variable is offered: turning a plain value into a secret is the usual
        # reason to press s. A new name works the same way.
        self.app.push_screen(
            Prompt("Keep which variable in the system keyring?", value=self.selected or "",
                   placeholder="API_TOKEN", validate=lambda n: env_problem(n, set())),
            lambda name: name and self._secret_value(name))

    def _secret_value(self, name: str) -> None:
        if self._keyring_missing():
            return
        replaces = " It replaces the current value." if name in self.values else ""
        self.app.push_screen(Prompt(f"Secret value of {name}. It goes to the system keyring; "
                                    f"the file gets only a reference.{replaces}", password=True),
                             lambda value: value and self._store_secret(name, value))

    @work(thread=True, group="keyring", name="store secret")
    def _store_secret(self, name: str, value: str) -> None:
        # keyring backends talk to D-Bus or a daemon: never on the UI thread.
        user = f"{self.deck.project.name}.{self.runconfig}.{name}"
        try:
            import keyring

            keyring.set_password(KEYRING_SERVICE, user, value)
        except ImportError:
            self.app.call_from_thread(
                self.notify, "the Python package 'keyring' is not installed (pip install "
                "keyring); nothing was written", severity="error", timeout=10)
            return
        except Exception as exc:  # backends raise their own types (locked, no backend)
            self.app.call_from_thread(self.notify, f"the system keyring refused: {exc}",
                                      severity="error", timeout=10)
            return
        ref = f"{KEYRING_PREFIX}{KEYRING_SERVICE}/{user}"
        self.app.call_from_thread(self._write, lambda: set_env(self.path, {name: ref}),
                                  f"{name} now refers to the keyring", name)
