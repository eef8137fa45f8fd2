"""``conda_dependencies.yml``: a conda environment file, as ``CondaDependencies``."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from launchdeck.core.config._section import Section

if TYPE_CHECKING:
    from launchdeck.core.config.runconfig import RunConfiguration

KNOWN = ("name", "channels", "dependencies")
_PYTHON = re.compile(r"^(?:[^:\s]+::)?python\s*(?:==?|\s)\s*([0-9][^\s=,]*)", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class CondaDependencies:
    """What a conda environment file asks for; ``meaning()`` is what images are tagged by."""

    path: Path
    name: str | None = None
    channels: tuple[str, ...] = ()
    conda_packages: tuple[str, ...] = ()   # every non-pip entry, as written (python included)
    pip_packages: tuple[str, ...] = ()
    python_version: str | None = None      # from "python=3.6" / "python==3.6.2"; None if open
    unknown_keys: tuple[str, ...] = ()
    #: 1-based line of each entry of ``conda_packages`` / ``pip_packages`` (0: not known), so
    #: a build that cannot install one names the line; not part of ``meaning()``.
    conda_lines: tuple[int, ...] = ()
    pip_lines: tuple[int, ...] = ()

    def line_of(self, spec: str, *, pip: bool = False) -> str:
        """``file:line`` of an entry as written (``file`` alone when the line is unknown)."""
        from launchdeck.core.config.yamlio import display_path

        specs, lines = (self.pip_packages, self.pip_lines) if pip else \
            (self.conda_packages, self.conda_lines)
        where = display_path(self.path)
        for entry, line in zip(specs, lines):
            if entry == spec and line:
                return f"{where}:{line}"
        return where

    def meaning(self) -> dict[str, Any]:
        """A canonical JSON-able dict: the same for files that differ only in comments/layout.

        It holds exactly what an environment can be built from (unknown keys are not used, so
        they do not count). Order is kept where it means something: channel priority, and the
        order packages are listed in.
        """
        return {"name": self.name, "channels": list(self.channels),
                "conda": list(self.conda_packages), "pip": list(self.pip_packages)}


def load_conda(path: str | os.PathLike[str]) -> CondaDependencies:
    from launchdeck.core.config.yamlio import describe, load_document  # see config._section

    doc = load_document(path)
    s = Section(doc, doc.data)
    name = s.text("name", expected="the environment name (text)")
    channels = s.text_list("channels", item="a channel name", allow_numbers=False)
    deps = s.get("dependencies")
    if deps is not None and not isinstance(deps, list):
        raise s.wrong("dependencies", "a list of packages")
    conda: list[str] = []
    conda_lines: list[int] = []
    pip: list[str] | None = None
    pip_lines: list[int] = []
    for index, item in enumerate(deps or []):
        label = f"dependencies[{index}]"
        if isinstance(item, dict):
            if list(item) != ["pip"]:
                other = next(k for k in item if k != "pip")
                raise doc.error(f"{label}: the only map allowed in dependencies is pip: [...], "
                                f"got {other!r}", item, other, part="key", field=label)
            if pip is not None:
                raise doc.error(f"{label}: a second pip: list; put all pip packages in one",
                                deps, index, field=label)
            pip = list(Section(doc, item, f"{label}.").text_list(
                "pip", item="a pip requirement", allow_numbers=False))
            pip_lines = [_line(doc, item.get("pip"), i) for i in range(len(pip))]
        elif isinstance(item, str) and item.strip():
            conda.append(item.strip())
            conda_lines.append(_line(doc, deps, index))
        else:
            raw = doc.source_text(deps, index) if not isinstance(item, list) else None
            raise doc.error(f"{label} must be a package spec such as numpy=1.13 or a pip: list, "
                            f"got {describe(item, raw)}", deps, index, field=label)
    return CondaDependencies(
        path=doc.path, name=name, channels=tuple(c.strip() for c in channels),
        conda_packages=tuple(conda), pip_packages=tuple(p.strip() for p in pip or ()),
        python_version=python_version(conda), unknown_keys=s.unknown(KNOWN),
        conda_lines=tuple(conda_lines), pip_lines=tuple(pip_lines))


def _line(doc: Any, node: Any, index: int) -> int:
    where = doc.where(node, index)
    return where[0] if where else 0


def python_version(conda_packages: tuple[str, ...] | list[str]) -> str | None:
    """The Python version a list of conda specs pins (``3.6`` for ``python=3.6.*``), or None."""
    for spec in conda_packages:
        match = _PYTHON.match(spec.strip())
        if match:
            return re.sub(r"\.?\*$", "", match.group(1)) or None
    return None


def conda_for_run(run: "RunConfiguration",
                  project_dir: str | os.PathLike[str] | None = None) -> CondaDependencies | None:
    """The conda file a run uses; None when it uses the default file and that does not exist.

    A file named explicitly in the runconfig must exist: its absence is an error at the field.
    """
    path = run.dependency_file("CondaDependenciesFile", project_dir)
    return load_conda(path) if path is not None else None

