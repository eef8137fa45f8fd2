"""The attach form: a new compute target (and its run configuration), checked as you type."""

from __future__ import annotations

import re
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from launchdeck.core.errors import DeckError
from launchdeck.core.project import Project
from launchdeck.tui.screens.dialogs import Dialog, DialogBody
from launchdeck.tui.widgets.toggle import Toggle

TYPES = ("local", "docker", "remotedocker", "remote", "cluster")
# Which fields each type needs (required) and may use. Image builds (docker, remotedocker)
# read both build settings; a cluster's executor environments only the CA bundle.
REQUIRED = {"docker": {"base_image"}, "remotedocker": {"base_image", "address"},
            "remote": {"address"}, "cluster": {"address"}}
USES = {"local": {"python", "max_runs"},
        "docker": {"base_image", "python", "max_runs", "ca_bundle", "offline"},
        "remotedocker": {"base_image", "address", "port", "username", "identity_file",
                         "python", "max_runs", "ca_bundle", "offline"},
        "remote": {"address", "port", "username", "identity_file", "python", "max_runs"},
        "cluster": {"address", "port", "username", "identity_file", "python", "master",
                    "spark_submit", "max_runs", "ca_bundle"}}
FIELDS = (("name", "Name", "gpu1"), ("base_image", "Base Docker image", "IMAGE[:TAG]"),
          ("address", "Address", "host name or IP (or a Host of ~/.ssh/config)"),
          ("port", "SSH port", "22"),
          ("username", "Username", ""), ("identity_file", "Identity file", "~/.ssh/id_ed25519"),
          ("python", "Python (pythonLocation)", "/usr/bin/python3"),
          ("master", "Spark master", "spark://HOST:7077 or yarn"),
          ("spark_submit", "spark-submit", "spark-submit"),
          ("max_runs", "Max concurrent runs", ""),
          ("ca_bundle", "Build CA bundle", "PEM file pip trusts in builds (proxy)"))
OFFLINE_LABEL = "Build offline"


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
MASTERS = ("spark://", "yarn", "local", "k8s://", "mesos://")


def ca_bundle_path(project: Project, text: str) -> Path:
    """Where a buildCaBundle value points (relative to the project, as the builds read it)."""
    path = Path(text).expanduser()
    return path if path.is_absolute() else project.root / path


def check_fields(project: Project, kind: str, values: dict[str, str]) -> dict[str, str]:
    """Field -> what is wrong with it (empty when the form can be written)."""
    errors: dict[str, str] = {}
    name = values.get("name", "")
    if not name:
        errors["name"] = "a name is needed"
    elif not NAME.fullmatch(name):
        errors["name"] = "letters, digits, - and _ only (it becomes a file name)"
    else:
        taken = [p for p in (project.compute_path(name), project.runconfig_path(name))
                 if p.exists()]
        if taken:
            errors["name"] = f"taken: aml_config/{taken[0].name} exists"
    for key in REQUIRED.get(kind, ()):
        if not values.get(key):
            errors[key] = f"a {kind} target needs this"
    for key in ("port", "max_runs"):
        text = values.get(key, "")
        if text and (not text.isdigit() or int(text) < 1 or (key == "port" and int(text) > 65535)):
            errors[key] = "a whole number" + (" from 1 to 65535" if key == "port" else " above 0")
    master = values.get("master", "")
    if master and not master.startswith(MASTERS):
        errors["master"] = "spark://HOST:PORT, yarn, local[N], k8s://… or mesos://…"
    key_file = values.get("identity_file", "")
    if key_file and not Path(key_file).expanduser().is_file():
        errors["identity_file"] = f"no such file on this machine: {key_file}"
    ca_bundle = values.get("ca_bundle", "")
    if ca_bundle and not ca_bundle_path(project, ca_bundle).is_file():
        errors["ca_bundle"] = f"no such file on this machine: {ca_bundle}"
    if any(c.isspace() for c in values.get("address", "")):
        errors["address"] = "a host name or address, without spaces"
    return errors


class AttachDialog(Dialog):
    """Dismisses with the new target's name, or None."""

    DEFAULT_CSS = """
    AttachDialog .field { height: 1; margin-top: 0; }
    AttachDialog .field Label { width: 26; }
    AttachDialog .field-error { color: $error; padding-left: 26; height: auto; }
    """
    BINDINGS = [Binding("ctrl+s", "write", "Write")]

    def __init__(self, project: Project) -> None:
        super().__init__()
        self.project = project

    def compose(self) -> ComposeResult:
        with DialogBody():
            yield Label("Attach a compute target", classes="question")
            with Horizontal(classes="field"):
                yield Label("Type")
                yield Select([(t, t) for t in TYPES], value="local", allow_blank=False,
                             compact=True, id="type")
            for key, label, hint in FIELDS:
                with Horizontal(classes="field", id=f"row-{key}"):
                    yield Label(label)
                    yield Input(placeholder=hint, compact=True, id=f"f-{key}")
                yield Static("", classes="field-error", id=f"e-{key}")
            with Horizontal(classes="field", id="row-offline"):
                yield Label(OFFLINE_LABEL)
                # [x] or [ ]: on and off read apart without colour, as in the run-config form.
                yield Toggle("wheels gathered here, no network", compact=True, id="f-offline")
            yield Static("", classes="error", id="error")
            with Horizontal(classes="buttons"):
                yield Button("Write (ctrl+s)", variant="primary", id="write", compact=True)
                yield Button("Cancel (esc)", id="stop", compact=True)

    def on_mount(self) -> None:
        self._refresh()
        self.query_one("#f-name", Input).focus()

    def _values(self) -> dict[str, str]:
        return {key: self.query_one(f"#f-{key}", Input).value.strip() for key, _, _ in FIELDS}

    @property
    def kind(self) -> str:
        return str(self.query_one("#type", Select).value)

    @on(Select.Changed)
    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _refresh(self) -> dict[str, str]:
        kind = self.kind
        for key, _, _ in FIELDS:
            self.query_one(f"#row-{key}").display = key == "name" or key in USES[kind]
        self.query_one("#row-offline").display = "offline" in USES[kind]
        errors = check_fields(self.project, kind, self._values())
        for key, _, _ in FIELDS:
            # A field speaks up once it is typed in, or when the form cannot do without it.
            relevant = self.query_one(f"#row-{key}").display and (
                self.query_one(f"#f-{key}", Input).value or key in REQUIRED.get(kind, ())
                or key == "name")
            error = self.query_one(f"#e-{key}", Static)
            error.update(errors.get(key, "") if relevant else "")
            error.display = bool(relevant and key in errors)
        return errors

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "write":
            self.action_write()
        else:
            self.dismiss(None)

    def on_input_submitted(self) -> None:
        self.action_write()

    def action_write(self) -> None:
        from launchdeck.core.config.compute import write_compute
        from launchdeck.core.config.runconfig import create_runconfig

        if self._refresh():
            self.app.bell()
            return
        kind, values = self.kind, self._values()
        fields = {"base_docker_image": values["base_image"], "address": values["address"],
                  "port": int(values["port"]) if values["port"] else None,
                  "username": values["username"], "identity_file": values["identity_file"],
                  "python_location": values["python"], "spark_master": values["master"],
                  "spark_submit_location": values["spark_submit"],
                  "max_concurrent_runs": int(values["max_runs"]) if values["max_runs"] else None,
                  "build_ca_bundle": values["ca_bundle"],
                  "build_offline": self.query_one("#f-offline", Checkbox).value or None}
        uses = {"base_docker_image": "base_image", "python_location": "python",
                "spark_master": "master", "spark_submit_location": "spark_submit",
                "max_concurrent_runs": "max_runs", "build_ca_bundle": "ca_bundle",
                "build_offline": "offline"}
        fields = {k: v for k, v in fields.items() if v and uses.get(k, k) in USES[kind]}
        name = values["name"]
        try:
            self.project.config_dir.mkdir(exist_ok=True)
            write_compute(self.project.compute_path(name), type=kind, **fields)
            create_runconfig(self.project.runconfig_path(name), target=name,
                             framework="PySpark" if kind == "cluster" else "Python",
                             prepare_environment=kind != "local")
        except DeckError as exc:
            self.query_one("#error", Static).update(str(exc))
            return
        self.dismiss(name)
