"""Run configurations: the list, and a form that checks each field as it is typed and shows
the file's diff before writing it."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Checkbox, DataTable, Footer, Input, Label, Select, Static

from launchdeck.core.errors import DeckError
from launchdeck.tui.runconfig_edit import FORM_KEYS, Problem, draft, field_problems, form_values
from launchdeck.tui.screens.base import DeckScreen
from launchdeck.tui.screens.dialogs import Confirm, Prompt, ReviewDiff
from launchdeck.tui.widgets.scrolling import Scroll
from launchdeck.tui.widgets.table import Table
from launchdeck.tui.widgets.toggle import Toggle

LABELS = {"Target": "Target", "Framework": "Framework", "ArgumentVector": "Arguments",
          "CondaDependenciesFile": "Conda file", "SparkDependenciesFile": "Spark file",
          "PrepareEnvironment": "Prepare env", "TrackedRun": "Tracked run"}


CHECKBOX_LABELS = {"PrepareEnvironment": "build the environment in each run",
                   "TrackedRun": "record runs in history"}
PLACEHOLDERS = {"ArgumentVector": "$file --epochs 5  (quote like a shell)",
                "CondaDependenciesFile": "empty: aml_config/conda_dependencies.yml",
                "SparkDependenciesFile": "empty: aml_config/spark_dependencies.yml"}


class RunConfigsScreen(DeckScreen):
    SCREEN_NAME = "configs"
    SUMMARY = "run configurations: list and edit"
    CSS_PATH = "runconfigs.tcss"
    AUTO_FOCUS = "#rc-list"
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="configs.save"),
        Binding("ctrl+r", "revert", "Revert", id="configs.revert"),
        Binding("n", "new", "New", id="configs.new"),
        Binding("e", "env", "Env vars", id="configs.env"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.name_shown: str | None = None
        self.loaded: dict | None = None

    def compose(self) -> ComposeResult:
        yield Static("run configurations (aml_config/*.runconfig)", classes="topbar")
        with Horizontal(id="rc-body"):
            table = Table(id="rc-list", cursor_type="row")
            table.add_column("name", key="name")
            table.add_column("target", key="target")
            yield table
            with Scroll(id="rc-form"):
                yield Static("", id="rc-file")
                for key in FORM_KEYS:
                    with Horizontal(classes="rc-field"):
                        yield Label(LABELS[key])
                        if key == "Target":
                            yield Select([], compact=True, id=f"f-{key}")
                        elif key == "Framework":
                            yield Select([("Python", "Python"), ("PySpark", "PySpark")],
                                         compact=True, allow_blank=False, id=f"f-{key}")
                        elif key in ("PrepareEnvironment", "TrackedRun"):
                            yield Toggle(CHECKBOX_LABELS[key], compact=True, id=f"f-{key}")
                        else:
                            yield Input(compact=True, id=f"f-{key}",
                                        placeholder=PLACEHOLDERS.get(key, ""))
                    yield Static("", classes="rc-problem", id=f"p-{key}")
                yield Static("", id="rc-env")
                yield Static("", id="rc-warnings")
                yield Static("", classes="error", id="rc-error")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.reload()
        self.query_one("#rc-list", DataTable).focus()

    def reload(self, select: str | None = None) -> None:
        table = self.query_one("#rc-list", DataTable)
        table.clear()
        project = self.deck.project
        for name in project.runconfig_names():
            try:
                target = project.load_runconfig(name).target
            except DeckError:
                target = "✗ bad file"
            table.add_row(name, target, key=name)
        targets = project.compute_names()
        self.query_one("#f-Target", Select).set_options([(t, t) for t in targets])
        wanted = select or self.name_shown
        if wanted in table.rows:
            table.move_cursor(row=table.get_row_index(wanted))
        self._show(self.current_runconfig())

    def current_runconfig(self) -> str | None:
        table = self.query_one("#rc-list", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @property
    def dirty(self) -> bool:
        """Whether the form holds edits that are not in the file."""
        return self.loaded is not None and self.values() != self.loaded

    def _after_discarding(self, then, otherwise=lambda: None) -> None:
        """``then()`` now, or once the user agrees to drop the form's unsaved edits."""
        if not self.dirty:
            then()
            return
        self.app.push_screen(Confirm(f"Discard your changes to {self.name_shown}?",
                                     yes="Discard"),
                             lambda discard: then() if discard else otherwise())

    @on(DataTable.RowHighlighted, "#rc-list")
    def _highlighted(self) -> None:
        name = self.current_runconfig()
        if name == self.name_shown:
            return
        table = self.query_one("#rc-list", DataTable)

        def stay() -> None:
            if self.name_shown in table.rows:
                table.move_cursor(row=table.get_row_index(self.name_shown))

        self._after_discarding(lambda: self._show(name), stay)

    def leave(self, then) -> None:
        self._after_discarding(then)

    @on(DataTable.RowSelected, "#rc-list")
    def _selected(self) -> None:
        self.query_one("#f-Target", Select).focus()

    def _show(self, name: str | None) -> None:
        self.name_shown = name
        error = self.query_one("#rc-error", Static)
        error.update("")
        self.query_one("#rc-warnings", Static).display = False
        self.loaded = None
        if name is None:
            self.query_one("#rc-file", Static).update("no run configurations: press n")
            self.keys_may_have_changed()
            return
        try:
            config = self.deck.project.load_runconfig(name)
        except DeckError as exc:
            error.update(str(exc))
            self.keys_may_have_changed()
            return
        self.query_one("#rc-file", Static).update(f"aml_config/{name}.runconfig")
        self.loaded = form_values(config)
        with self.prevent(Select.Changed, Input.Changed, Checkbox.Changed):
            for key, value in self.loaded.items():
                widget = self.query_one(f"#f-{key}")
                if isinstance(widget, Select) and key == "Target" and value not in \
                        self.deck.project.compute_names():
                    widget.set_options([*((t, t) for t in self.deck.project.compute_names()),
                                        (f"{value} (missing)", value)])
                widget.value = value
        self._show_warnings(config)
        env = config.environment_variables
        self.query_one("#rc-env", Static).update(
            f"{len(env)} environment variables: {', '.join(env) or 'none'} (e: edit them)")
        self._check()

    def _show_warnings(self, config) -> None:
        """What the file (and its target's) holds that deck does not use: unknown keys..."""
        from rich.text import Text

        from launchdeck.core.config.report import format_warnings, warnings_for

        project = self.deck.project
        compute = None
        try:
            compute = project.load_compute(config.target)
        except DeckError:
            pass  # a missing or broken target is shown at the Target field
        lines = format_warnings(warnings_for(config, compute))
        shown = self.query_one("#rc-warnings", Static)
        shown.update(Text("\n".join(lines)))  # plain text: "packages[0]" is not markup
        shown.display = bool(lines)

    def values(self) -> dict:
        out = {}
        for key in FORM_KEYS:
            widget = self.query_one(f"#f-{key}")
            blank = isinstance(widget, Select) and widget.is_blank()
            out[key] = "" if blank else widget.value
        return out

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _check(self) -> dict[str, Problem]:
        problems = field_problems(self.deck.project, self.values())
        for key in FORM_KEYS:
            shown = self.query_one(f"#p-{key}", Static)
            shown.update(str(problems.get(key, "")))
            shown.display = key in problems
            shown.set_class(key in problems and not problems[key].blocks, "-warning")
        self.query_one("#rc-file", Static).update(
            f"aml_config/{self.name_shown}.runconfig" + ("  (changed: ctrl+s saves)"
                                                          if self.dirty else ""))
        self.keys_may_have_changed()
        return problems

    def can(self) -> dict[str, bool]:
        dirty = self.dirty
        return {"save": dirty, "revert": dirty, "env": self.name_shown is not None}

    # -- actions ------------------------------------------------------------------------------

    def action_save(self) -> None:
        if self.name_shown is None or self.loaded is None:
            return
        problems = {k: v for k, v in self._check().items() if v.blocks}
        if problems:
            self.app.bell()
            self.notify("; ".join(f"{LABELS[k]}: {v.text}" for k, v in problems.items()),
                        title="Not saved", severity="error")
            return
        path = self.deck.project.runconfig_path(self.name_shown)
        try:
            doc, diff = draft(path, self.values(), loaded=self.loaded)
        except DeckError as exc:
            self.query_one("#rc-error", Static).update(str(exc))
            return
        if not diff:
            self.notify("nothing changed")
            return

        def write(yes: bool | None) -> None:
            if not yes:
                return
            try:
                doc.save()
            except DeckError as exc:
                self.query_one("#rc-error", Static).update(str(exc))
                return
            self.notify(f"wrote aml_config/{path.name}")
            self.reload(self.name_shown)

        self.app.push_screen(ReviewDiff(f"Write aml_config/{path.name}?", diff), write)

    def action_revert(self) -> None:
        self._show(self.name_shown)

    def action_env(self) -> None:
        self._after_discarding(lambda: self.deck.action_goto("env", self.name_shown or ""))

    def action_new(self) -> None:
        project = self.deck.project
        targets = project.compute_names()

        def valid(name: str) -> str | None:
            if not name or any(c in name for c in "/\\\0 ") or name in (".", ".."):
                return "a name without spaces or slashes"
            if project.runconfig_path(name).exists():
                return f"aml_config/{name}.runconfig already exists"
            return None

        def create(name: str | None) -> None:
            if not name:
                return
            from launchdeck.core.config.runconfig import create_runconfig

            target = self.values().get("Target") or (targets[0] if targets else "local")
            try:
                create_runconfig(project.runconfig_path(name), target=target)
            except DeckError as exc:
                self.notify(str(exc), severity="error")
                return
            self.notify(f"wrote aml_config/{name}.runconfig (target {target})")
            self.reload(name)

        self._after_discarding(lambda: self.app.push_screen(
            Prompt("New run configuration name", validate=valid), create))
