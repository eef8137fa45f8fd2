"""The submit form: a script, a run configuration, extra arguments, and what will run."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Input, Label, Select, Static

from launchdeck.core.config.runconfig import RunConfiguration
from launchdeck.core.errors import DeckError
from launchdeck.core.project import Project
from launchdeck.tui.format import join_args
from launchdeck.tui.screens.dialogs import Dialog, DialogBody

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
        #: Run configuration name -> the parsed file, or what is wrong with it (read once,
        #: off the UI thread; the preview then costs nothing per key).
        self.configs: dict[str, RunConfiguration | str] = {}

    def compose(self) -> ComposeResult:
        with DialogBody():
            yield Label("Submit a run", classes="question")
            with Horizontal(classes="field"):
                yield Label("Script")
                yield Select([], prompt="looking for scripts…", compact=True, id="script")
            with Horizontal(classes="field"):
                yield Label("Run config")
                yield Select([], prompt="reading run configurations…", compact=True,
                             id="runconfig")
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
        self._read_project()

    @work(thread=True, name="read scripts and run configurations")
    def _read_project(self) -> None:
        scripts = find_scripts(self.project.root)
        configs: dict[str, RunConfiguration | str] = {}
        for name in self.project.runconfig_names():
            try:
                configs[name] = self.project.load_runconfig(name)
            except DeckError as exc:
                configs[name] = str(exc)
        self.app.call_from_thread(self._project_read, scripts, configs)

    def _project_read(self, scripts: list[str], configs: dict[str, "RunConfiguration | str"]) \
            -> None:
        self.configs = configs
        _fill(self.query_one("#script", Select), scripts, "choose a script",
              self.script, "train.py")
        _fill(self.query_one("#runconfig", Select), list(configs),
              "choose a run configuration" if configs else
              "none yet: create one on the configs screen (C)", self.runconfig, "local")
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
        config = self.configs.get(str(runconfig))
        if not isinstance(config, RunConfiguration):
            return config or f"no run configuration {runconfig!r}", None
        from launchdeck.core.runs.submit import script_arguments

        arguments = script_arguments(config.argument_vector, str(script), extra)
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


def _fill(select: Select, values: list[str], prompt: str, wanted: str | None,
          usual: str) -> None:
    """Offer ``values``; choose ``wanted``, else ``usual``, else the first; ``prompt`` when
    none is chosen."""
    select.set_options([(v, v) for v in values])
    select.prompt = prompt
    if values:
        select.value = wanted if wanted in values else (usual if usual in values else values[0])
