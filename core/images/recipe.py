"""``ImageRecipe``: the Dockerfile of an environment layer and the content-hash tag it gets.

The tag is a hash of everything that decides what the image holds: the base image's *id* (a
re-tagged base is a different base), the conda file's parsed meaning (comments, order of keys
and whitespace do not count), ``RECIPE_VERSION`` (bumped whenever the Dockerfile this module
writes changes), and the build settings that change content (``BuildSettings.tag_inputs``). So
an unchanged environment is found by its tag on any engine and never rebuilt, and a code change
never touches the image: code arrives per run.

Layers, in order of how rarely they change: conda packages, then pip packages. A changed pip
entry rebuilds only the pip layer; the engine's build cache keeps the rest.

A base image with conda (or mamba, micromamba) installs the conda packages with it. A base
without conda installs them with pip, translated by ``core.images.condapip`` (``x=1.2.3`` ->
``x==1.2.3``; the build log lists every translation): the ``pip`` entry is the base's own pip,
and a ``python=X.Y`` entry is checked against the base's Python (another minor version is a
warning in the build log, another major version an error; see ``condapip.check_python``).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from launchdeck.core.errors import EnvironmentBuildError
from launchdeck.core.images import condapip

if TYPE_CHECKING:
    from launchdeck.core.config.conda import CondaDependencies
    from launchdeck.core.images.probe import BaseFacts
    from launchdeck.core.images.settings import BuildSettings

#: 2: conda packages on a base without conda are installed with pip (core.images.condapip).
#: 3: one COPY per install step (the CA bundle rides with the first); BuildKit bind mounts.
RECIPE_VERSION = 3
REPOSITORY = "deck-env"
BUILD_DIR = "/tmp/deck-build"
#: pip's download cache in BuildKit builds: a cache mount, shared by every build on the engine.
PIP_CACHE = "/tmp/deck-pip-cache"
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
    dockerfile: str                 # for the classic builder
    buildkit_dockerfile: str = ""   # the same layers for BuildKit (bind and cache mounts)
    files: dict[str, bytes] = field(default_factory=dict)  # build context, besides Dockerfile
    wheel_dir: Path | None = None   # offline mode: host folder sent as ``wheels/``
    labels: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()     # decisions worth telling the user (shown as progress)
    #: normalized package name -> where it was asked for ("file:line: spec ..."), so a build
    #: that cannot find a package names the line that asked for it.
    sources: dict[str, str] = field(default_factory=dict)
    #: what to do when pip cannot verify the index's certificate (the buildCaBundle fix).
    ca_advice: str = ""

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
        "translation": condapip.TRANSLATION_VERSION,
    }
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


def package_name(spec: str) -> str:
    """``numpy=1.2`` / ``scikit-learn>=1`` / ``conda-forge::six`` -> the bare package name."""
    spec = spec.split("::")[-1].strip()
    return re.split(r"[\s=<>!~\[]", spec, maxsplit=1)[0].lower()


def pip_pending(conda: "CondaDependencies | None") -> list[str]:
    """The ``pip:`` list of ``conda``, as pip gets it (see ``condapip.pip_entries``)."""
    return condapip.pip_entries(conda)[0]


def pip_requirements(conda: "CondaDependencies | None", facts: "BaseFacts") -> list[str]:
    """Everything pip installs in the build: translated conda packages (no conda in the base),
    then the ``pip:`` list; what offline builds gather wheels for."""
    translated = condapip.translate(conda).pip_lines if facts.conda is None else []
    return translated + pip_pending(conda)


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
         wheel_dir: Path | None = None, compute_file: str = "the target's .compute file"
         ) -> ImageRecipe:
    """The recipe for ``conda`` on a base image with ``facts``; raises when it cannot work."""
    if facts.python is None:
        raise EnvironmentBuildError(
            f"base image {base_name} has no python3 or python on its PATH; deck runs scripts "
            "with the image's Python, so choose a baseDockerImage that has one")
    python_entry, lists_pip, others = split_conda(conda)
    pip_packages, skipped = condapip.pip_entries(conda)
    notes: list[str] = []
    files: dict[str, bytes] = {}
    layers: list[tuple[str, str]] = []  # (the file the step installs from, its command)
    if settings.ca_bundle is not None:
        files["ca.pem"] = settings.ca_bundle.read_bytes()
    ca_env = f"{BUILD_DIR}/ca.pem" if settings.ca_bundle is not None else None
    pip_env = _PIP_ENV + (f" PIP_CERT={ca_env}" if ca_env else "")
    source = f" --no-index --find-links {BUILD_DIR}/wheels" if settings.offline else ""
    translated: list[str] = []
    translation = None

    if facts.conda is not None:
        conda_specs = ([python_entry] if python_entry else []) + others
        if pip_packages and not facts.has_pip and not lists_pip:
            conda_specs.append("pip")  # conda brings pip, so the pip layer can run
        elif lists_pip:
            conda_specs.append("pip")
        if conda_specs:
            # said as plainly as the pip translation is, so a log shows which way it went
            notes.append(f"base image {base_name} has {facts.conda}: the conda packages of "
                         f"{conda_file} are installed with {facts.conda}")
            files["conda.txt"] = ("\n".join(conda_specs) + "\n").encode()
            channels = "".join(f" -c {_shell_word(c)}" for c in (conda.channels if conda else ()))
            override = " --override-channels" if channels else ""
            env = f"CONDA_SSL_VERIFY={ca_env} " if ca_env else ""
            name = " --name base" if facts.conda == "micromamba" else ""
            layers.append(("conda.txt", f"{env}{facts.conda} install --yes{name}{override}"
                           f"{channels} --file {BUILD_DIR}/conda.txt && {facts.conda} clean "
                           "--all --yes"))
    else:
        # No conda in the base: its conda packages are installed with pip (core.images.condapip),
        # in a layer of their own before the pip: list, as conda would install them first.
        translation = condapip.translate(conda)
        translated = translation.pip_lines
        if translation.notes:
            notes.append(f"base image {base_name} has no conda: the conda packages of "
                         f"{conda_file} are installed with pip")
            notes += [f"  {note}" for note in translation.notes]
        notes.append(condapip.check_python(translation.python, facts.python_version,
                                           where_python=f"base image {base_name}"))
        if (pip_packages or translated) and not facts.has_pip:
            raise EnvironmentBuildError(
                f"{conda_file} lists packages to install but base image {base_name} has Python "
                f"{facts.python_version} without pip (and no conda); add pip to the base image "
                "(Debian: python3-pip) or use one that has it")
    wheels = settings.offline and bool(translated or pip_packages)
    if translated:
        files["conda-pip.txt"] = ("\n".join(translated) + "\n").encode()
        layers.append(("conda-pip.txt", f"{pip_env} {facts.python} -m pip install{source} "
                                        f"--requirement {BUILD_DIR}/conda-pip.txt"))
    if pip_packages:
        files["requirements.txt"] = ("\n".join(pip_packages) + "\n").encode()
        layers.append(("requirements.txt", f"{pip_env} {facts.python} -m pip install{source} "
                                           f"--requirement {BUILD_DIR}/requirements.txt"))
    notes += skipped
    labels = {LABEL_RECIPE: str(RECIPE_VERSION), LABEL_PROJECT: str(project_dir),
              LABEL_BASE: base_name, LABEL_PYTHON: facts.python}
    # One LABEL line, last: labels never invalidate the cached package layers, and one line
    # is one step (the API's labels parameter adds a step per label).
    label = "LABEL " + " ".join(f"{json.dumps(k)}={json.dumps(v)}"
                                for k, v in sorted(labels.items()))
    head = [f"# deck environment layer (recipe {RECIPE_VERSION}) on {base_name}",
            f"FROM {facts.image_id}"]
    ca = settings.ca_bundle is not None and bool(layers)
    ca_advice = (f"buildCaBundle ({settings.ca_bundle}) is set but does not verify it: point "
                 "it at a PEM bundle that holds your proxy's CA (on Debian "
                 "/etc/ssl/certs/ca-certificates.crt)" if settings.ca_bundle is not None else
                 f"set buildCaBundle: /etc/ssl/certs/ca-certificates.crt (a PEM bundle that "
                 f"holds your proxy's CA) in {compute_file}, or DECK_BUILD_CA_BUNDLE, and "
                 "build again")
    return ImageRecipe(tag=tag, dockerfile=_classic(head, layers, ca, wheels, label),
                       buildkit_dockerfile=_buildkit([head[0], f"FROM {base_name}"], layers,
                                                     ca, wheels, label),
                       files=files,
                       wheel_dir=wheel_dir if settings.offline and (translated or pip_packages)
                       else None, labels=labels, notes=tuple(n for n in notes if n),
                       sources=condapip.sources(conda, translation), ca_advice=ca_advice)


def _classic(head: list[str], layers: list[tuple[str, str]], ca: bool, wheels: bool,
             label: str) -> str:
    """The Dockerfile for the classic builder: each install step after a COPY of its file.

    Every step of the classic builder is a container and a commit, so files share a COPY where
    they can: the CA bundle goes with the first install file (it only matters to installs).
    """
    lines = list(head)
    for index, (name, command) in enumerate(layers):
        sources = (["ca.pem"] if ca and index == 0 else []) + [name]
        if wheels and index == _first_pip(layers):
            lines.append(f"COPY wheels/ {BUILD_DIR}/wheels/")
        lines += [f"COPY {' '.join(sources)} {BUILD_DIR}/", f"RUN {command}"]
    lines.append(label)
    return "\n".join(lines) + "\n"


def _buildkit(head: list[str], layers: list[tuple[str, str]], ca: bool, wheels: bool,
              label: str) -> str:
    """The Dockerfile for BuildKit: one RUN per install, its files bind-mounted, not copied.

    Nothing of the build stays in the image, a changed file reruns only its own step, and pip
    keeps its downloads in a cache mount, so a rebuild of a changed list fetches only what is
    new. (``PIP_NO_CACHE_DIR`` is dropped there: the cache lives outside the image.) BuildKit
    reads ``FROM`` as an image name, not an id, so ``head`` names the base image as the
    target's file does (its id, in the tag, was read a moment before).
    """
    lines = list(head)
    for name, command in layers:
        mounts = [_bind(name)]
        if ca:
            mounts.append(_bind("ca.pem"))
        if wheels and " -m pip install" in command:
            mounts.append(_bind("wheels"))
        if " -m pip install" in command:
            mounts.append(f"--mount=type=cache,target={PIP_CACHE},mode=0777")
            command = command.replace("PIP_NO_CACHE_DIR=1", f"PIP_CACHE_DIR={PIP_CACHE}")
        lines.append(f"RUN {' '.join(mounts)} {command}")
    lines.append(label)
    return "\n".join(lines) + "\n"


def _bind(name: str) -> str:
    return f"--mount=type=bind,source={name},target={BUILD_DIR}/{name}"


def _first_pip(layers: list[tuple[str, str]]) -> int:
    """The index of the first pip step (the wheels are copied just before it), or -1."""
    return next((i for i, (_, command) in enumerate(layers) if " -m pip install" in command), -1)


def _shell_word(text: str) -> str:
    import shlex

    return shlex.quote(text)
