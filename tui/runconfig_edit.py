"""Editing a run configuration from the dashboard: check each field as it is typed, show the
diff of the file, then write it with core's round-trip editor (comments and layout stay).
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from launchdeck.core.config.runconfig import (ENV, RunConfiguration, env_name_problem,
                                              project_path_problem, runconfig_from_document)
from launchdeck.core.config.yamlio import YamlDocument, editing, load_document
from launchdeck.core.errors import ConfigError
from launchdeck.core.project import Project
from launchdeck.tui.format import join_args

#: The fields the form edits, in the order Workbench writes them.
FORM_KEYS = ("Target", "Framework", "ArgumentVector", "CondaDependenciesFile",
             "SparkDependenciesFile", "PrepareEnvironment", "TrackedRun")


def form_values(config: RunConfiguration) -> dict[str, Any]:
    """The form's values for a loaded runconfig (text fields as typed, switches as bools)."""
    return {"Target": config.target, "Framework": str(config.framework),
            "ArgumentVector": join_args(config.argument_vector),
            "CondaDependenciesFile": config.conda_dependencies_file or "",
            "SparkDependenciesFile": config.spark_dependencies_file or "",
            "PrepareEnvironment": config.prepare_environment,
            "TrackedRun": config.tracked_run}


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field as typed; ``blocks`` problems keep the form from saving."""

    text: str
    blocks: bool = True

    def __str__(self) -> str:
        return ("✗ " if self.blocks else "! ") + self.text


def field_problems(project: Project, values: dict[str, Any]) -> dict[str, Problem]:
    """Field -> what is wrong with its value as typed (none blocking: the form can be saved)."""
    problems: dict[str, Problem] = {}
    target = values["Target"]
    if not target:
        problems["Target"] = Problem("choose a compute target")
    elif target not in project.compute_names():
        problems["Target"] = Problem(f"no aml_config/{target}.compute: choose another target, "
                                     "or attach this one on the targets screen")
    try:
        argv = shlex.split(values["ArgumentVector"])
        if not argv:
            problems["ArgumentVector"] = Problem("empty: use $file for the script")
    except ValueError as exc:
        problems["ArgumentVector"] = Problem(f"cannot split into arguments: {exc}; quote with "
                                             "'...' or \"...\"")
    for key in ("CondaDependenciesFile", "SparkDependenciesFile"):
        value = values[key].strip()
        if not value:
            continue
        problem = project_path_problem(value)
        if problem:
            problems[key] = Problem(f"must be a path inside the project: {problem}")
        elif not (project.root / value).is_file():
            # Saving is fine (the file may come next); submitting would fail until it exists.
            problems[key] = Problem(f"{value} does not exist yet: runs fail until it does",
                                    blocks=False)
    return problems


def to_file_values(values: dict[str, Any]) -> dict[str, Any]:
    """Form values as they go into the file."""
    out = dict(values)
    out["ArgumentVector"] = shlex.split(values["ArgumentVector"])
    for key in ("CondaDependenciesFile", "SparkDependenciesFile"):
        out[key] = values[key].strip() or None
    return out


def draft(path: Path, values: dict[str, Any], *, loaded: dict[str, Any]) -> tuple[
        YamlDocument, str]:
    """The edited document (not written) and a unified diff; ConfigError if invalid.

    Only the fields changed since the form was ``loaded`` are set, so a change made to the
    file meanwhile (by ``deck runconfig`` or an editor) to another field is kept.
    """
    doc = load_document(path)
    before = doc.text
    wanted, was = to_file_values(values), to_file_values(loaded)
    for key in FORM_KEYS:
        if wanted[key] != was[key]:
            doc.set(key, wanted[key])
    runconfig_from_document(doc)  # the whole edited file must load, or nothing is written
    return doc, unified_diff(path, before, doc.text)


def unified_diff(path: Path, before: str, after: str) -> str:
    name = f"aml_config/{path.name}"
    return "".join(difflib.unified_diff(before.splitlines(keepends=True),
                                        after.splitlines(keepends=True),
                                        fromfile=f"a/{name}", tofile=f"b/{name}"))


# -- environment variables ------------------------------------------------------------------------

def env_problem(name: str, existing: set[str], *, old: str | None = None) -> str | None:
    """Why ``name`` cannot be (re)named to, or None; core's rule plus "not taken"."""
    problem = env_name_problem(name)
    if problem:
        return f"not a valid name: {problem}"
    if name != old and name in existing:
        return f"{name} is already set"
    return None


def rename_env(path: Path, old: str, new: str) -> RunConfiguration:
    """Rename one variable in a single write (its value and the rest of the file unchanged)."""
    with editing(path) as doc:  # under the file's lock: a concurrent edit is not lost
        env = doc.get(ENV) or {}
        if old not in env:
            raise ConfigError(f"no environment variable {old!r} here", file=doc.display,
                              field=ENV)
        value = env[old]
        doc.delete((ENV, old))
        doc.set((ENV, new), value)
        config = runconfig_from_document(doc)
        doc.save()
        return config
