"""Remove a run configuration or a compute target from a project's ``aml_config/``.

Runs already made keep their own copies in their snapshots, so history is never touched.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from launchdeck.core.errors import ConfigError, DeckError

if TYPE_CHECKING:
    from launchdeck.core.project import Project


def runconfig_file(project: "Project", name: str) -> Path:
    """The runconfig's file (it must exist)."""
    return project.load_runconfig(name).path


def delete_runconfig(project: "Project", name: str) -> Path:
    path = project.runconfig_path(name)
    if not path.is_file():
        project.load_runconfig(name)  # the clear "no run configuration" error
    path.unlink()
    return path


def target_users(project: "Project", target: str) -> tuple[list[str], list[str]]:
    """(runconfigs whose Target is ``target``, runconfigs that cannot be read)."""
    users, unreadable = [], []
    for name in project.runconfig_names():
        try:
            config = project.load_runconfig(name)
        except DeckError:
            unreadable.append(name)
            continue
        if config.target == target:
            users.append(name)
    return users, unreadable


def detach_plan(project: "Project", target: str, *, force: bool) -> list[Path]:
    """The files ``deck target detach`` removes: ``NAME.compute``, and ``NAME.runconfig`` when
    it is the pair ``target attach`` wrote (its Target is NAME). Any other runconfig using the
    target refuses the detach, unless ``force``."""
    compute = project.compute_path(target)
    if not compute.is_file():
        project.load_compute(target)  # the clear "no compute target" error
    users, _ = target_users(project, target)
    others = [u for u in users if u != target]
    if others and not force:
        raise ConfigError(
            f"target {target!r} is used by {', '.join(f'{u}.runconfig' for u in others)}; "
            "change their Target or delete them first, or pass --force (they will then name a "
            "target that does not exist)", field="NAME")
    files = [compute]
    if target in users:
        files.append(project.runconfig_path(target))
    return files


def remove_files(files: list[Path]) -> None:
    for path in files:
        path.unlink(missing_ok=True)
