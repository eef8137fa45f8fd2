"""``ImageRecipe``: the Dockerfile of an environment layer and the content-hash tag it gets.

The tag is a hash of everything that decides what the image holds: the base image's *id* (a
re-tagged base is a different base), the conda file's parsed meaning (comments, order of keys
and whitespace do not count), ``RECIPE_VERSION`` (bumped whenever the Dockerfile this module
writes changes), and the build settings that change content (``BuildSettings.tag_inputs``). So
an unchanged environment is found by its tag on any engine and never rebuilt, and a code change
never touches the image: code arrives per run.

Layers, in order of how rarely they change: conda packages, then pip packages. A changed pip
entry rebuilds only the pip layer; the engine's build cache keeps the rest.

Python packages a conda file lists that a Python base image already has: the ``pip`` entry is
satisfied by the base's pip; a ``python=X.Y`` entry, with no conda to install another Python,
is checked against the base's Python and a mismatch is reported as a note, not an error (nearly
every Workbench file pins the Python of its day). Any other conda package needs conda or mamba
in the base image; without one the build stops with an error naming the packages.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import EnvironmentBuildError

if TYPE_CHECKING:
    from core.config.conda import CondaDependencies
    from core.images.probe import BaseFacts
    from core.images.settings import BuildSettings

RECIPE_VERSION = 1
REPOSITORY = "deck-env"
BUILD_DIR = "/tmp/deck-build"
LABEL_RECIPE = "launchdeck.recipe"
LABEL_PROJECT = "launchdeck.project"
LABEL_BASE = "launchdeck.base"
LABEL_PYTHON = "launchdeck.python"

_PIP_ENV = ("PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore "
            "PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_PROGRESS_BAR=off")


@dataclass(frozen=True, kw_only=True)
class ImageRecipe:
    """What to send to an engine to build one environment image."""

    tag: str
    dockerfile: str
    files: dict[str, bytes] = field(default_factory=dict)  # build context, besides Dockerfile
    wheel_dir: Path | None = None   # offline mode: host folder sent as ``wheels/``
    labels: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()     # decisions worth telling the user (shown as progress)

    @property
    def ref(self) -> str:
        return f"{REPOSITORY}:{self.tag}"


def environment_tag(*, base_id: str, conda: "CondaDependencies | None",
                    settings: "BuildSettings") -> str:
    """The tag of the environment image for these inputs (20 hex digits of a sha256)."""
    inputs: dict[str, Any] = {
        "recipe": RECIPE_VERSION,
        "base": base_id,
        # The environment's name does not change what is installed (deck installs into the
        # image's own environment), so two projects with the same packages share an image.
        "conda": ({k: v for k, v in conda.meaning().items() if k != "name"}
                  if conda is not None else None),
        "settings": settings.tag_inputs(),
    }
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


def package_name(spec: str) -> str:
    """``numpy=1.2`` / ``scikit-learn>=1`` / ``conda-forge::six`` -> the bare package name."""
    spec = spec.split("::")[-1].strip()
    return re.split(r"[\s=<>!~\[]", spec, maxsplit=1)[0].lower()


def pip_pending(conda: "CondaDependencies | None") -> list[str]:
    return [p for p in (conda.pip_packages if conda else ()) if p.strip()]


def split_conda(conda: "CondaDependencies | None") -> tuple[str | None, bool, list[str]]:
    """(the python entry, whether ``pip`` is listed, every other conda package)."""
    python_entry, has_pip, others = None, False, []
    for spec in (conda.conda_packages if conda else ()):
        name = package_name(spec)
        if name == "python":
            python_entry = spec
        elif name == "pip":
            has_pip = True
        elif name:
            others.append(spec)
    return python_entry, has_pip, others


def plan(*, tag: str, base_name: str, facts: "BaseFacts", conda: "CondaDependencies | None",
         settings: "BuildSettings", project_dir: Path, conda_file: str = "the conda file",
         wheel_dir: Path | None = None) -> ImageRecipe:
    """The recipe for ``conda`` on a base image with ``facts``; raises when it cannot work."""
    if facts.python is None:
        raise EnvironmentBuildError(
            f"base image {base_name} has no python3 or python on its PATH; deck runs scripts "
            "with the image's Python, so choose a baseDockerImage that has one")
    python_entry, lists_pip, others = split_conda(conda)
    pip_packages = pip_pending(conda)
    notes: list[str] = []
    files: dict[str, bytes] = {}
    lines = [f"# deck environment layer (recipe {RECIPE_VERSION}) on {base_name}",
             f"FROM {facts.image_id}"]
    if settings.ca_bundle is not None:
        files["ca.pem"] = settings.ca_bundle.read_bytes()
        lines.append(f"COPY ca.pem {BUILD_DIR}/ca.pem")
    ca_env = f"{BUILD_DIR}/ca.pem" if settings.ca_bundle is not None else None

    if facts.conda is not None:
        conda_specs = ([python_entry] if python_entry else []) + others
        if pip_packages and not facts.has_pip and not lists_pip:
            conda_specs.append("pip")  # conda brings pip, so the pip layer can run
        elif lists_pip:
            conda_specs.append("pip")
        if conda_specs:
            files["conda.txt"] = ("\n".join(conda_specs) + "\n").encode()
            channels = "".join(f" -c {_shell_word(c)}" for c in (conda.channels if conda else ()))
            override = " --override-channels" if channels else ""
            env = f"CONDA_SSL_VERIFY={ca_env} " if ca_env else ""
            name = " --name base" if facts.conda == "micromamba" else ""
            lines += [f"COPY conda.txt {BUILD_DIR}/conda.txt",
                      f"RUN {env}{facts.conda} install --yes{name}{override}{channels} "
                      f"--file {BUILD_DIR}/conda.txt && {facts.conda} clean --all --yes"]
    else:
        if others:
            names = ", ".join(others)
            raise EnvironmentBuildError(
                f"{conda_file} lists conda packages ({names}) but base image {base_name} has "
                "no conda or mamba to install them (and no conda channel may be reachable). "
                f"Move them to the pip: list of {conda_file} (most have the same name on "
                "PyPI), or set baseDockerImage to an image that has conda")
        if python_entry:
            notes.append(_python_note(python_entry, base_name, facts))
        if pip_packages and not facts.has_pip:
            raise EnvironmentBuildError(
                f"{conda_file} lists pip packages but base image {base_name} has Python "
                f"{facts.python_version} without pip; add pip to the base image (Debian: "
                "python3-pip) or use one that has it")
    if pip_packages:
        files["requirements.txt"] = ("\n".join(pip_packages) + "\n").encode()
        env = _PIP_ENV + (f" PIP_CERT={ca_env}" if ca_env else "")
        source = ""
        if settings.offline:
            lines.append(f"COPY wheels/ {BUILD_DIR}/wheels/")
            source = f" --no-index --find-links {BUILD_DIR}/wheels"
        lines += [f"COPY requirements.txt {BUILD_DIR}/requirements.txt",
                  f"RUN {env} {facts.python} -m pip install{source} "
                  f"--requirement {BUILD_DIR}/requirements.txt"]
    labels = {LABEL_RECIPE: str(RECIPE_VERSION), LABEL_PROJECT: str(project_dir),
              LABEL_BASE: base_name, LABEL_PYTHON: facts.python}
    # One LABEL line, last: labels never invalidate the cached package layers, and one line
    # is one step (the API's labels parameter adds a step per label).
    lines.append("LABEL " + " ".join(f"{json.dumps(k)}={json.dumps(v)}"
                                     for k, v in sorted(labels.items())))
    return ImageRecipe(tag=tag, dockerfile="\n".join(lines) + "\n", files=files,
                       wheel_dir=wheel_dir if settings.offline and pip_packages else None,
                       labels=labels, notes=tuple(n for n in notes if n))


def _python_note(entry: str, base_name: str, facts: "BaseFacts") -> str:
    wanted = re.sub(r"^[^0-9]*", "", entry.split("::")[-1][len("python"):]).strip()
    have = facts.python_version or "unknown"
    if any(op in entry for op in "<>!") or not wanted or have == wanted or have.startswith(wanted + ".") or \
            have.startswith(wanted.rstrip(".*") + "."):
        return ""
    return (f"note: the conda file asks for {entry}; base image {base_name} has Python {have} "
            "and no conda to install another, so runs use Python " + have)


def _shell_word(text: str) -> str:
    import shlex

    return shlex.quote(text)
