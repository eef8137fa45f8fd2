"""Ask a base image what it has: which Python, whether pip works, whether conda is there.

The answer decides the recipe (pip only, or conda then pip) and the interpreter a run uses. It
is a function of the image id, which the tag already contains, so it is asked only when an image
has to be built, by running one short-lived container; and since an image id is the hash of the
image's content, the answer is kept on this machine (``~/.cache/launchdeck/probes/<id>.json``)
and a later build on the same base, by any deck process, starts no container for it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from launchdeck.core.docker.client import EngineClient
from launchdeck.core.docker.engine import engine_errors
from launchdeck.core.docker.session import EngineError
from launchdeck.core.errors import EnvironmentBuildError

# POSIX sh only: the probe must run in any image that can run a Dockerfile RUN step.
_SCRIPT = r"""
for c in python3 python conda mamba micromamba; do
  p=$(command -v "$c" 2>/dev/null) && echo "$c=$p"
done
for py in python3 python; do
  if command -v "$py" >/dev/null 2>&1; then
    "$py" -c 'import sys; print("version=%d.%d.%d" % tuple(sys.version_info[:3]))'
    "$py" -m pip --version >/dev/null 2>&1 && echo "pip=yes"
    break
  fi
done
"""


@dataclass(frozen=True, kw_only=True)
class BaseFacts:
    """What a base image offers to an environment recipe."""

    image_id: str
    python: str | None           # the command a run uses: "python3" or "python"
    python_version: str | None   # "3.11.2"
    has_pip: bool
    conda: str | None            # "mamba", "micromamba" or "conda" (the fastest there is)

    @property
    def python_minor(self) -> str | None:
        return ".".join(self.python_version.split(".")[:2]) if self.python_version else None

    def to_label(self) -> str:
        return json.dumps({"python": self.python, "python_version": self.python_version,
                           "pip": self.has_pip, "conda": self.conda}, sort_keys=True)


def parse_probe(image_id: str, output: str) -> BaseFacts:
    found = dict(line.split("=", 1) for line in output.splitlines() if "=" in line)
    python = "python3" if "python3" in found else ("python" if "python" in found else None)
    conda = next((c for c in ("mamba", "micromamba", "conda") if c in found), None)
    return BaseFacts(image_id=image_id, python=python, python_version=found.get("version"),
                     has_pip=found.get("pip") == "yes", conda=conda)


_cache: dict[str, BaseFacts] = {}


async def probe(docker: EngineClient, image_id: str, *, url: str) -> BaseFacts:
    """Run the probe in a throwaway container of ``image_id`` (cached per id in this process)."""
    if image_id in _cache:
        return _cache[image_id]
    kept = _load(image_id)
    if kept is not None:
        _cache[image_id] = kept
        return kept
    async with engine_errors(f"probing base image {image_id[:19]}", url):
        container = await docker.containers.create(config={
            "Image": image_id, "Entrypoint": [], "Cmd": ["/bin/sh", "-c", _SCRIPT],
            "Labels": {"launchdeck.probe": "1"}, "NetworkDisabled": True,
        })
        try:
            try:
                await container.start()
            except EngineError as exc:
                raise EnvironmentBuildError(
                    f"base image {image_id[:19]} cannot run /bin/sh ({exc.message}); an "
                    "environment layer needs a shell and Python in the base image") from None
            status = await container.wait()
            text = await container.logs(stdout=True, stderr=True)
        finally:
            await container.delete(force=True)
    facts = parse_probe(image_id, text)
    if status.get("StatusCode", 0) != 0 and facts.python is None:
        raise EnvironmentBuildError(f"base image {image_id[:19]}: probe failed: "
                                    f"{text[-500:]}")
    _cache[image_id] = facts
    _keep(facts)
    return facts


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "launchdeck" / "probes"


def _file(image_id: str) -> Path | None:
    digest = image_id.removeprefix("sha256:")
    if not digest.isalnum():  # an id names a file here: nothing but hex digits may do that
        return None
    return cache_dir() / f"{digest}.json"


def _load(image_id: str) -> BaseFacts | None:
    path = _file(image_id)
    try:
        data = json.loads(path.read_text()) if path is not None else None
        if not isinstance(data, dict):
            return None
        return BaseFacts(image_id=image_id, python=data["python"],
                         python_version=data["python_version"], has_pip=bool(data["pip"]),
                         conda=data["conda"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not there, or unreadable: probe again


def _keep(facts: BaseFacts) -> None:
    path = _file(facts.image_id)
    if path is None:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(facts.to_label())
        os.replace(tmp, path)
    except OSError:  # a full or read-only cache folder only costs a probe next time
        tmp.unlink(missing_ok=True)
