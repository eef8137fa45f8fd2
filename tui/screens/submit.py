"""The submit form: a script, a run configuration, extra arguments, and what will run."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from core.errors import DeckError
from core.project import Project
from tui.format import join_args
from tui.screens.dialogs import Dialog

SKIP_DIRS = {".deck", ".git", "__pycache__", "outputs", "node_modules", ".venv", "venv"}
MAX_SCRIPTS = 500


def find_scripts(root: Path) -> list[str]:
    """Python files of the project (relative), skipping deck's own and hidden folders."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        rel = Path(folder).relative_to(root)
        found += [(rel / f).as_posix() for f in sorted(files) if f.endswith(".py")]
        if len(found) >= MAX_SCRIPTS:
            break
    return found


class SubmitDialog(Dialog):
    """Dismisses with (script, runconfig, arguments) or None."""

    DEFAULT_CSS = """
    SubmitDialog #command { margin-top: 1; color: $text-muted; }
    """
    BINDINGS = [Binding("ctrl+s", "submit", "Submit")]

    def __init__(self, project: Project, *, script: str | None = None,
                 runconfig: str | None = None) -> None:
        super().__init__()
        self.project = project
        self.script, self.runconfig = script, runconfig

    def compose(self) -> ComposeResult:
        names = self.project.runconfig_names()
        with Vertical():
            yield Label("Submit a run", classes="question")
            with Horizontal(classes="field"):
                yield Label("Script")
                yield Select([], prompt="looking for scripts…", compact=True, id="script")
            chosen = self.runconfig if self.runconfig in names else \
                ("local" if "local" in names else (names[0] if names else Select.BLANK))
            with Horizontal(classes="field"):
                yield Label("Run config")
                yield Select([(n, n) for n in names], value=chosen, allow_blank=not names,
                             compact=True, id="runconfig")
            with Horizontal(classes="field"):
                yield Label("Arguments")
                yield Input(placeholder="extra, after the runconfig's ArgumentVector: "
                                        "--epochs 10", compact=True, id="args")
            yield Static("", id="command")
            yield Static("", classes="error", id="error")
            with Horizontal(classes="buttons"):
                yield Button("Submit (ctrl+s)", variant="primary", id="go", compact=True)
                yield Button("Cancel (esc)", id="stop", compact=True)

    def on_mount(self) -> None:
        self.query_one("#script", Select).focus()
        self._find_scripts()

    @work(thread=True, name="find scripts")
    def _find_scripts(self) -> None:
        scripts = find_scripts(self.project.root)
        self.app.call_from_thread(self._scripts_found, scripts)

    def _scripts_found(self, scripts: list[str]) -> None:
        select = self.query_one("#script", Select)
        select.set_options([(s, s) for s in scripts])
        if scripts:
            select.value = self.script if self.script in scripts else \
                ("train.py" if "train.py" in scripts else scripts[0])
        select.prompt = "choose a script"
        self._preview()

    @on(Select.Changed)
    @on(Input.Changed)
    def _preview(self) -> None:
        error, command = self._check()
        self.query_one("#error", Static).update(error or "")
        self.query_one("#command", Static).update(f"runs: {command}" if command else "")

    def _check(self) -> tuple[str | None, str | None]:
        script = self.query_one("#script", Select).value
        runconfig = self.query_one("#runconfig", Select).value
        if script is Select.BLANK:
            return "choose a script", None
        if runconfig is Select.BLANK:
            return "choose a run configuration (create one on the configs screen: C)", None
        try:
            extra = tuple(shlex.split(self.query_one("#args", Input).value))
        except ValueError as exc:
            return f"arguments: {exc}", None
        try:
            from core.runs.submit import script_arguments

            config = self.project.load_runconfig(str(runconfig))
            arguments = script_arguments(config.argument_vector, str(script), extra)
        except DeckError as exc:
            return str(exc), None
        return None, join_args([str(script), *arguments]) + f"   on {config.target}"

    def on_input_submitted(self) -> None:
        self.action_submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "go":
            self.action_submit()
        else:
            self.dismiss(None)

    def action_submit(self) -> None:
        error, _ = self._check()
        if error:
            self.query_one("#error", Static).update(error)
            self.app.bell()
            return
        self.dismiss((str(self.query_one("#script", Select).value),
                      str(self.query_one("#runconfig", Select).value),
                      tuple(shlex.split(self.query_one("#args", Input).value))))
