"""Offline builds: gather wheels on this machine for the image's Python and platform.

``pip download --only-binary=:all:`` runs here, where an index (or a proxy, or a local mirror
configured in pip.conf) is reachable, for the engine's platform and the base image's Python, so
the build inside the engine installs with ``--no-index`` and needs no network. Downloads are
cached by what was asked for, so a rebuild does not download again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from launchdeck.core.errors import EnvironmentBuildError
from launchdeck.core.targets.base import Progress

_PLATFORMS = {"x86_64": "manylinux2014_x86_64", "amd64": "manylinux2014_x86_64",
              "aarch64": "manylinux2014_aarch64", "arm64": "manylinux2014_aarch64"}


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "launchdeck" / "wheels"


def platform_tag(engine_arch: str) -> str:
    try:
        return _PLATFORMS[engine_arch.lower()]
    except KeyError:
        raise EnvironmentBuildError(f"offline builds: no wheel platform known for engine "
                                    f"architecture {engine_arch!r}") from None


async def gather(requirements: list[str], *, python_version: str, platform: str,
                 ca_bundle: Path | None, progress: Progress) -> Path:
    """A folder of wheels satisfying ``requirements`` for that Python and platform."""
    key = hashlib.sha256(json.dumps([requirements, python_version, platform]).encode())
    folder = cache_root() / key.hexdigest()[:20]
    if (folder / ".complete").exists():
        progress(f"offline: using {len(list(folder.glob('*.whl')))} cached wheels from {folder}")
        return folder
    partial = folder.with_name(folder.name + f".part{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    req_file = partial / "requirements.txt"
    req_file.write_text("\n".join(requirements) + "\n")
    args = [sys.executable, "-m", "pip", "download", "--only-binary=:all:",
            "--platform", platform, "--python-version", python_version,
            "--disable-pip-version-check", "--progress-bar", "off",
            "--dest", str(partial), "--requirement", str(req_file)]
    if ca_bundle is not None:
        args += ["--cert", str(ca_bundle)]
    progress(f"offline: downloading wheels for Python {python_version} on {platform}")
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    assert proc.stdout is not None
    tail: list[str] = []
    async for raw in proc.stdout:
        line = raw.decode(errors="replace").rstrip()
        tail = (tail + [line])[-30:]
        progress(line)
    if await proc.wait() != 0:
        shutil.rmtree(partial, ignore_errors=True)
        errors = [line for line in tail if line.startswith("ERROR")] or tail[-10:]
        raise EnvironmentBuildError("offline build: pip download on this machine failed:\n  "
                                    + "\n  ".join(errors))
    req_file.unlink()
    (partial / ".complete").touch()
    try:
        partial.rename(folder)
    except OSError:  # another build finished the same download first
        shutil.rmtree(partial, ignore_errors=True)
    return folder
