"""A Launchdeck project: a folder holding ``aml_config/``, and where deck keeps its own files."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from launchdeck.core.errors import ProjectError

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.config.runconfig import RunConfiguration
    from launchdeck.core.history.store import HistoryStore
    from launchdeck.core.snapshot.store import ContentStore

CONFIG_DIR = "aml_config"
DECK_DIR = ".deck"


class Project:
    """Paths and configs of one project; opening history or the store is lazy."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.name = self.root.name
        self.config_dir = self.root / CONFIG_DIR
        self.deck_dir = self.root / DECK_DIR
        self.runs_dir = self.deck_dir / "runs"

    @classmethod
    def find(cls, start: str | os.PathLike[str] | None = None, *, create: bool = False) -> "Project":
        """The project holding ``start`` (default: the current folder).

        With ``create``, a folder that is not inside any project becomes one (for
        ``deck target attach`` in a new folder).
        """
        origin = Path(start or os.getcwd()).resolve()
        if not origin.is_dir():
            raise ProjectError(f"{origin}: no such folder")
        for folder in (origin, *origin.parents):
            if (folder / CONFIG_DIR).is_dir():
                return cls(folder)
        if create:
            return cls(origin)
        raise ProjectError(
            f"{origin} is not inside a project (no {CONFIG_DIR}/ folder here or above); "
            "cd into one, pass --project DIR, or create one with 'deck target attach local'")

    # -- configs ------------------------------------------------------------------------------

    def compute_path(self, name: str) -> Path:
        return self.config_dir / f"{_safe_name(name, 'target')}.compute"

    def runconfig_path(self, name: str) -> Path:
        return self.config_dir / f"{_safe_name(name, 'run configuration')}.runconfig"

    def compute_names(self) -> list[str]:
        return sorted(p.stem for p in self.config_dir.glob("*.compute"))

    def runconfig_names(self) -> list[str]:
        return sorted(p.stem for p in self.config_dir.glob("*.runconfig"))

    def load_compute(self, name: str) -> "ComputeConfig":
        from launchdeck.core.config.compute import load_compute

        path = self._existing(self.compute_path(name), f"compute target {name!r}",
                              "targets", self.compute_names)
        return load_compute(path)

    def load_runconfig(self, name: str) -> "RunConfiguration":
        from launchdeck.core.config.runconfig import load_runconfig

        path = self._existing(self.runconfig_path(name), f"run configuration {name!r}",
                              "run configurations", self.runconfig_names)
        return load_runconfig(path)

    def _existing(self, path: Path, what: str, kind: str, names) -> Path:
        """``path`` if it is a file; else an error listing the ``names()`` there are."""
        if not path.is_file():
            known = ", ".join(names()) or "none"
            raise ProjectError(f"no {what}: {self._rel(path)} does not exist ({kind}: {known})")
        return path

    def load_all_runconfigs(self) -> list[tuple[str, "RunConfiguration | None", str | None]]:
        """Every run configuration as (name, config, None), or (name, None, error) when it
        cannot be read: one bad file never hides the others from a listing."""
        return [_try(name, self.load_runconfig) for name in self.runconfig_names()]

    def load_all_computes(self) -> list[tuple[str, "ComputeConfig | None", str | None]]:
        """Every compute target as (name, config, None) or (name, None, error)."""
        return [_try(name, self.load_compute) for name in self.compute_names()]

    # -- deck's own files ---------------------------------------------------------------------

    @cached_property
    def history(self) -> "HistoryStore":
        from launchdeck.core.history.store import HistoryStore

        return HistoryStore(self.deck_dir / "history.db")

    @cached_property
    def store(self) -> "ContentStore":
        from launchdeck.core.snapshot.store import ContentStore

        return ContentStore(self.deck_dir / "store")

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / _safe_name(run_id, "run id")

    def inside(self, path: str | os.PathLike[str]) -> Path:
        """``path`` (relative to the current folder) as a path inside the project, or an error."""
        resolved = Path(path).resolve()
        try:
            resolved.relative_to(self.root)
        except ValueError:
            raise ProjectError(f"{path}: outside the project {self.root}; a run can only "
                               "execute files of its own project") from None
        return resolved

    def _rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)


def _try(name: str, load) -> tuple:
    from launchdeck.core.errors import DeckError

    try:
        return name, load(name), None
    except DeckError as exc:
        return name, None, str(exc)


def _safe_name(name: str, what: str) -> str:
    # Names become file names: refuse anything that could point elsewhere.
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ProjectError(f"{name!r} is not a valid {what} name")
    return name
