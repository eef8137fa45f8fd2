"""Checked configs kept between commands, so an unchanged runconfig is not parsed again.

Parsing a runconfig, its compute target and dependency files with positions (ruamel.yaml,
pure Python) is most of what ``deck submit`` does before the run is handed to its keeper. The
result is a function of those files' bytes alone, so it is kept under ``.deck/cache/configs/``
with the sha256 of every file it was read from (and of the default dependency files that were
absent), and used again only when every one of them still has those bytes: a changed, added or
removed file is parsed and checked as ever. Only configs that loaded are kept; a config error
is always found by parsing.

An entry also records what made it: deck's version and the size and time of the modules that
parse configs, so an upgraded or edited deck never reads an entry an older one wrote; and the
folder it was written from, since warnings name files relative to it. Entries are loaded with
an unpickler that builds only deck's config classes and paths, nothing else a file could name.
Any problem reading or writing the cache is a miss, never an error. A compute file that holds
a password itself (not a keyring reference) is never kept: the secret is not copied.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from launchdeck.core.project import Project
    from launchdeck.core.runs.runspec import RunConfigs

FORMAT = 1
CONDA_DEFAULT = "aml_config/conda_dependencies.yml"
SPARK_DEFAULT = "aml_config/spark_dependencies.yml"
#: The modules whose code decides what a config file parses to (or warns about).
_CODE = ("config", "runs/runspec.py", "runs/configcache.py", "targets/base.py",
         "images/settings.py")


def load(project: "Project", runconfig_name: str) -> "tuple[RunConfigs, list[str]] | None":
    """The configs and warning lines kept for ``runconfig_name``, if its files are unchanged."""
    try:
        with open(_entry_path(project, runconfig_name), "rb") as f:
            entry = _SafeUnpickler(io.BytesIO(f.read())).load()
        if not isinstance(entry, dict) or entry.get("stamp") != _stamp(project):
            return None
        inputs = entry["inputs"]
        if any(_digest(Path(path)) != digest for path, digest in inputs.items()):
            return None
        return entry["configs"], list(entry["warnings"])
    except Exception:  # noqa: BLE001 - a cache that cannot be read is a miss
        return None


def store(project: "Project", runconfig_name: str, configs: "RunConfigs",
          warnings: list[str]) -> None:
    """Keep ``configs`` (loaded from the live project) and their warning lines."""
    if _holds_a_password(configs):
        return  # a password written in the .compute file is not copied anywhere else
    rc = configs.runconfig
    inputs = {str(path): _digest(path) for path in (
        rc.path, configs.compute.path,
        project.root / (rc.conda_dependencies_file or CONDA_DEFAULT),
        project.root / (rc.spark_dependencies_file or SPARK_DEFAULT))}
    # The files must still hold what was parsed: sources are the digests of the parsed bytes.
    parsed = {str(project.root / rel): digest for rel, digest in configs.sources.items()}
    if any(inputs.get(path, digest) != digest for path, digest in parsed.items()):
        return  # a file changed while it was read; keep nothing
    entry = {"stamp": _stamp(project), "inputs": inputs, "configs": configs,
             "warnings": list(warnings)}
    path = _entry_path(project, runconfig_name)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)
    except Exception:  # noqa: BLE001 - a full disk or a read-only project: just no cache
        tmp.unlink(missing_ok=True)


def _holds_a_password(configs: "RunConfigs") -> bool:
    from launchdeck.core.config import secrets

    password = getattr(configs.compute, "password", None)
    return bool(password) and secrets.password_source(password) is not (
        secrets.PasswordSource.KEYRING)


def _entry_path(project: "Project", runconfig_name: str) -> Path:
    key = hashlib.sha256(f"{runconfig_name}\0{os.getcwd()}".encode()).hexdigest()[:32]
    return project.deck_dir / "cache" / "configs" / f"{key}.pickle"


def _digest(path: Path) -> str | None:
    """sha256 of the file's bytes; None when there is no such file (as the loader sees it)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _stamp(project: "Project") -> str:
    """This deck and project: what an entry is valid for."""
    from launchdeck.core.version import installed_version

    core = Path(__file__).resolve().parent.parent
    parts = [str(FORMAT), installed_version() or "", str(project.root), os.getcwd()]
    for rel in _CODE:
        where = core / rel
        files = sorted(where.glob("*.py")) if where.is_dir() else [where]
        for file in files:
            st = file.stat()
            parts.append(f"{file.name}:{st.st_mtime_ns}:{st.st_size}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class _SafeUnpickler(pickle.Unpickler):
    """Builds deck's own config classes and paths; refuses every other global."""

    def find_class(self, module: str, name: str):
        if module.startswith("launchdeck.core.") or (module == "pathlib" and name in (
                "PosixPath", "PurePosixPath", "Path", "WindowsPath", "PureWindowsPath")):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a config cache")
