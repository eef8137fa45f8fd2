"""``deck --version``: the installed distribution's version, read from its metadata.

``importlib.metadata`` would import email parsing, zip and CSV support first (about as long as
the interpreter takes to start), so the one field is read from the metadata file directly, on
the import path in the same order importlib.metadata searches it; importlib.metadata remains
the fallback for anything this lookup does not recognize (an egg, a zip).
"""

from __future__ import annotations

import os
import sys

DISTRIBUTION = "launchdeck"


def installed_version(distribution: str = DISTRIBUTION) -> str | None:
    """The version of ``distribution`` as installed, or None when it is not installed."""
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for name in names:
            meta = _metadata_file(folder or ".", name, distribution)
            if meta is not None:
                version = _version_field(meta)
                if version:
                    return version
    return _from_importlib(distribution)


def _metadata_file(folder: str, name: str, distribution: str) -> str | None:
    """The metadata file of ``name`` if it is ``distribution``'s .dist-info or .egg-info."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or suffix not in ("dist-info", "egg-info"):
        return None
    project = stem.split("-", 1)[0]
    if _normalized(project) != _normalized(distribution):
        return None
    return os.path.join(folder, name, "METADATA" if suffix == "dist-info" else "PKG-INFO")


def _normalized(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


def _version_field(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as meta:
            for line in meta:
                if line.startswith("Version:"):
                    return line.split(":", 1)[1].strip()
                if not line.strip():
                    return None  # the headers ended (the long description follows)
    except OSError:
        return None
    return None


def _from_importlib(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
