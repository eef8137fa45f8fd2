"""Conda package specs as pip requirements, for a base image (or head node) without conda.

Workbench projects list their packages as conda specs (``scikit-learn``, ``ipykernel=4.6.1``,
``numpy=1.13=py36_0``) and pin the Python of their day (``python=3.5.2``). Where no conda is
there to install them, each is translated into a pip requirement (most conda packages have the
same name on PyPI) and the build log says what became what:

- ``x`` -> ``x``; ``x==1.2`` / ``x>=1.2,<2`` -> the same (conda and pip agree there).
- ``x=1.2`` means "1.2 or any 1.2.x" in conda, so it becomes ``x==1.2.*``; ``x=1.2.3`` (three
  or more parts, a pin in practice) becomes ``x==1.2.3``; ``x=1.2.*`` / ``x 1.2.*`` -> ``x==1.2.*``.
- a build string (``x=1.2=py36_0``, ``x 1.2 py36_0``) is dropped with a note: pip has no builds.
- a channel (``conda-forge::x``) is dropped with a note; a few names that differ on PyPI are
  renamed (``pytorch`` -> ``torch``); conda-only native libraries (``mkl``, ``libgcc``, ...)
  are skipped with a note, since pip's wheels carry their own.
- ``python`` and ``pip`` are never installed: ``python`` is checked against the interpreter
  there (``check_python``), ``pip`` is the one the interpreter has.

Alternatives (``x=1.2|1.3``) have no pip form and are refused naming the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from launchdeck.core.errors import EnvironmentBuildError

if TYPE_CHECKING:
    from launchdeck.core.config.conda import CondaDependencies

#: Bumped whenever a translation rule changes: image tags and executor environment hashes
#: include it, so a changed rule builds a new environment instead of reusing an old one.
TRANSLATION_VERSION = 1

#: Conda names whose PyPI project has another name.
RENAMED = {"pytorch": "torch", "py-xgboost": "xgboost", "pytables": "tables",
           "msgpack-python": "msgpack", "pyqt": "PyQt5", "opencv": "opencv-python",
           "tensorflow-mkl": "tensorflow", "python-graphviz": "graphviz",
           "matplotlib-base": "matplotlib"}
#: Conda packages that are native libraries or conda's own plumbing, not Python packages.
NOT_PYTHON = frozenset({
    "mkl", "mkl-service", "mkl_fft", "mkl_random", "nomkl", "blas", "openblas", "libblas",
    "libcblas", "liblapack", "libgcc", "libgcc-ng", "libgfortran", "libgfortran-ng",
    "libstdcxx-ng", "libgomp", "intel-openmp", "cudatoolkit", "cudnn", "vc", "vs2015_runtime",
    "vs2008_runtime", "python_abi", "ca-certificates", "openssl", "zlib", "sqlite", "tk",
    "xz", "readline", "ncurses", "libffi", "conda", "anaconda", "hdf5", "freetype", "libpng",
    "jpeg", "icu", "qt"})
#: Interpreter entries: checked, never installed.
INTERPRETER = ("python", "pip")

_NAME = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.\-]*)\s*(.*)$")
_PIP_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")
_OPS = ("==", ">=", "<=", "!=", "~=", ">", "<")


@dataclass(frozen=True)
class Requirement:
    """One conda entry as pip installs it."""

    requirement: str   # what pip gets: "ipykernel==4.6.1"
    spec: str          # as written: "ipykernel=4.6.1"
    where: str         # "aml_config/conda_dependencies.yml:6"

    @property
    def name(self) -> str:
        return re.split(r"[=<>!~\s\[]", self.requirement, maxsplit=1)[0]


@dataclass(frozen=True)
class Translation:
    """The conda entries of a file for pip, and the notes the build log shows."""

    requirements: tuple[Requirement, ...] = ()
    notes: tuple[str, ...] = ()
    python: Requirement | None = None   # the ``python`` entry, requirement = its version spec

    @property
    def pip_lines(self) -> list[str]:
        return [r.requirement for r in self.requirements]


@dataclass(frozen=True)
class _Parsed:
    name: str
    channel: str | None
    version: str   # conda's version expression, "" when open
    build: str | None
    fuzzy: bool    # written as "=V": conda reads it as V.*


def translate(conda: "CondaDependencies | None") -> Translation:
    """Every conda entry of ``conda`` as pip would install it; raises on what pip cannot say."""
    if conda is None:
        return Translation()
    requirements: list[Requirement] = []
    notes: list[str] = []
    python = None
    for spec in conda.conda_packages:
        where = conda.line_of(spec)
        parsed = _parse(spec, where)
        name = parsed.name.lower()
        if name == "python":
            python = Requirement(parsed.version, spec, where)
            continue
        if name == "pip":
            continue
        if name in NOT_PYTHON or name.startswith("_"):
            notes.append(f"{where}: {spec}: a conda-only library, not a Python package; "
                         "skipped (pip's wheels carry their own)")
            continue
        pip_name = RENAMED.get(name, parsed.name)
        if not _PIP_NAME.match(pip_name):
            raise EnvironmentBuildError(f"{where}: {spec}: {parsed.name!r} is not a name pip "
                                        "can install; list the PyPI name under pip:")
        requirement = pip_name + _pip_version(parsed, spec, where)
        requirements.append(Requirement(requirement, spec, where))
        dropped = []
        if parsed.channel:
            dropped.append(f"channel {parsed.channel} dropped")
        if parsed.build:
            dropped.append(f"build string {parsed.build} dropped, pip has no builds")
        if pip_name != parsed.name:
            dropped.append(f"named {pip_name} on PyPI")
        notes.append(f"{where}: conda {spec} -> pip {requirement}"
                     + (f" ({'; '.join(dropped)})" if dropped else ""))
    return Translation(tuple(requirements), tuple(notes), python)


def _parse(spec: str, where: str) -> _Parsed:
    text = spec.strip()
    channel = None
    if "::" in text:
        channel, _, text = text.rpartition("::")
    bracket = re.search(r"\[(.*)\]\s*$", text)
    if bracket:  # name[version='>=1.2',build=py36_0]
        keys = dict(re.findall(r"(\w+)\s*=\s*['\"]?([^'\",]*)['\"]?", bracket.group(1)))
        text = text[:bracket.start()].strip() + " " + keys.get("version", "")
        if keys.get("build"):
            text += " " + keys["build"]
    match = _NAME.match(text)
    if not match:
        raise EnvironmentBuildError(f"{where}: {spec!r} is not a conda package spec")
    name, rest = match.group(1), match.group(2).strip()
    version, build, fuzzy = "", None, False
    if rest.startswith("=") and not rest.startswith("=="):
        version, _, build = rest[1:].partition("=")
        version, build = version.strip(), (build.strip() or None)
        fuzzy = build is None  # "x=1.2=build" pins 1.2 exactly; "x=1.2" is 1.2.*
    elif rest:
        parts = rest.split()
        if rest.startswith("==") and "=" in rest[2:]:  # "x==1.2=py36_0"
            version, _, build = rest[2:].partition("=")
            version, build = "==" + version.strip(), build.strip() or None
        elif len(parts) >= 2 and not parts[1].startswith(("<", ">", "=", "!", ",", "|")):
            version, build = parts[0], " ".join(parts[1:])
        else:
            version = "".join(parts)
    return _Parsed(name, channel, version, build, fuzzy)


def _pip_version(parsed: _Parsed, spec: str, where: str) -> str:
    version = parsed.version
    if not version or version == "*":
        return ""
    if "|" in version:
        raise EnvironmentBuildError(
            f"{where}: {spec}: pip cannot express alternatives ('|'); keep one of "
            f"{' or '.join(version.split('|'))}")
    constraints = []
    for part in version.split(","):
        part = part.strip()
        op = next((o for o in _OPS if part.startswith(o)), "")
        value = part[len(op):].strip()
        if value.endswith("*"):
            value = value.rstrip("*").rstrip(".")
            if op in ("", "==", "="):
                constraints.append(f"=={value}.*" if value else "")
            else:
                constraints.append(f"{op}{value}")
            continue
        if op:
            constraints.append(f"{op}{value}")
        elif parsed.fuzzy and value.count(".") < 2:
            constraints.append(f"=={value}.*")
        else:
            constraints.append(f"=={value}")
    return ",".join(c for c in constraints if c)


# -- the pip: list ------------------------------------------------------------------------------

#: Where Workbench's own runtime wheels (azureml.assets, azureml.dataprep, ...) were downloaded
#: from; the service is retired, so such an entry can only fail a build. Deck provides the part
#: scripts use for metrics (``azureml.logging``) itself.
WORKBENCH_WHEEL_HOST = "azuremldownloads.blob.core.windows.net"


def pip_entries(conda: "CondaDependencies | None") -> tuple[list[str], list[str]]:
    """The ``pip:`` list as pip gets it, and notes on the entries left out (with their line)."""
    kept: list[str] = []
    notes: list[str] = []
    if conda is None:
        return kept, notes
    for spec in conda.pip_packages:
        if not spec.strip():
            continue
        if WORKBENCH_WHEEL_HOST in spec:
            wheel = spec.split("?")[0].rsplit("/", 1)[-1]
            notes.append(f"{conda.line_of(spec, pip=True)}: {wheel}: a Workbench runtime wheel "
                         f"from {WORKBENCH_WHEEL_HOST} (retired); skipped (deck provides "
                         "azureml.logging itself)")
            continue
        kept.append(spec)
    return kept, notes


# -- naming the line pip failed on -------------------------------------------------------------

_NOT_FOUND = re.compile(r"No matching distribution found for ([A-Za-z0-9][A-Za-z0-9._-]*)")
_BUILD_FAILED = re.compile(r"Failed (?:building wheel for|to build) ([A-Za-z0-9][A-Za-z0-9._-]*)")
_SUBPROCESS = re.compile(r"metadata-generation-failed|subprocess-exited-with-error")
_COLLECTING = re.compile(r"^\s*Collecting ([A-Za-z0-9][A-Za-z0-9._-]*)")


def normal_name(name: str) -> str:
    """A package name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def sources(conda: "CondaDependencies | None", translation: Translation | None) -> dict[str, str]:
    """Normalized package name -> where the file asks for it, for messages about that package."""
    found: dict[str, str] = {}
    for req in translation.requirements if translation else ():
        found[normal_name(req.name)] = (f"{req.where}: {req.spec} (a conda package, installed "
                                        f"with pip as {req.requirement})")
    if conda is not None:
        for spec in conda.pip_packages:
            name = re.split(r"[\s=<>!~\[;@]", spec.strip(), maxsplit=1)[0]
            if name and not spec.startswith("-"):
                found.setdefault(normal_name(name), f"{conda.line_of(spec, pip=True)}: {spec}")
    return found


def not_found(lines: list[str], asked: dict[str, str]) -> str:
    """What pip failed on, traced to the file's line: "pip cannot find X (file:line: spec)"
    for its "No matching distribution" lines, "pip cannot build X (...)" when building a
    package from source failed (an old pin with no wheel for this Python), or ""."""
    def traced(names: list[str]) -> str:
        return "; ".join(dict.fromkeys(asked.get(normal_name(n), n) for n in names))

    missing = [m.group(1) for line in lines for m in [_NOT_FOUND.search(line)] if m]
    if missing:
        return "pip cannot find " + traced(missing)
    failed = [m.group(1) for line in lines for m in [_BUILD_FAILED.search(line)] if m]
    if not failed and any(_SUBPROCESS.search(line) for line in lines):
        # metadata generation failed: pip names the package only in its "Collecting" line
        collecting = [m.group(1) for line in lines for m in [_COLLECTING.match(line)] if m]
        failed = collecting[-1:]
    if failed:
        return ("pip cannot build " + traced(failed) + " (no wheel of that version for this "
                "Python, and building it from source failed; a newer version may have one)")
    return ""


# -- the python entry -------------------------------------------------------------------------

def check_python(python: Requirement | None, have: str | None, *, where_python: str) -> str:
    """A note on the ``python`` entry against the Python there (``have``, "3.11.2").

    A different minor version is a warning, not an error: nearly every Workbench file pins the
    Python of its day (3.5.2) and its scripts run on today's. A different major version (a
    Python 2 project on Python 3) is an error, since its scripts would fail in confusing ways.
    ``where_python`` names the interpreter for messages ("base image X").
    """
    if python is None or not python.requirement or python.requirement == "*":
        return ""
    if have is None:
        return (f"warning: {python.where}: {python.spec}: the Python version of "
                f"{where_python} is unknown; the run uses it as it is")
    if "|" in python.requirement:
        alternatives = python.requirement.split("|")
    else:
        alternatives = [python.requirement]
    if any(_satisfies(have, alt) for alt in alternatives):
        return f"{python.where}: {python.spec}: {where_python} has Python {have}, which matches"
    wanted_majors = {v.split(".")[0] for v in re.findall(r"\d+(?:\.\d+)*", python.requirement)}
    if wanted_majors and have.split(".")[0] not in wanted_majors:
        raise EnvironmentBuildError(
            f"{python.where}: {python.spec} asks for Python {python.requirement.lstrip('=')}, "
            f"but {where_python} has Python {have} and no conda to install another; scripts "
            f"for Python {'/'.join(sorted(wanted_majors))} would not run there. Use a base "
            "with that Python (or with conda), or change the entry to "
            f"python={'.'.join(have.split('.')[:2])}")
    return (f"warning: {python.where}: {python.spec} asks for Python "
            f"{python.requirement.lstrip('=')}, but {where_python} has Python {have} and no "
            f"conda to install another: the run uses Python {have}. Use a base with that "
            "Python (or with conda) to get it, or change the entry to "
            f"python={'.'.join(have.split('.')[:2])} to silence this")


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version))


def _satisfies(have: str, expression: str) -> bool:
    """Whether version ``have`` meets a conda version expression ("3.5", ">=3.6,<4", "3.6.*").

    A bare or ``==`` version matches as a prefix (``3.5`` accepts 3.5.2), as conda reads a
    Python pin.
    """
    mine = _numbers(have)
    for part in expression.split(","):
        part = part.strip()
        op = next((o for o in _OPS if part.startswith(o)), "")
        wanted = _numbers(part[len(op):])
        if not wanted:
            continue
        width = max(len(mine), len(wanted))
        a, b = mine + (0,) * (width - len(mine)), wanted + (0,) * (width - len(wanted))
        ok = {"": mine[:len(wanted)] == wanted, "==": mine[:len(wanted)] == wanted,
              "!=": mine[:len(wanted)] != wanted, ">=": a >= b, ">": a > b, "<=": a <= b,
              "<": a < b, "~=": a >= b and mine[:len(wanted) - 1] == wanted[:-1]}[op]
        if not ok:
            return False
    return True
