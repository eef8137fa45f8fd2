"""Build settings of a compute target: the extra CA bundle and offline (host wheels) mode.

Two compute keys, new in Launchdeck (Workbench ignores unknown keys, and so do older decks):

``buildCaBundle: /etc/ssl/certs/ca-certificates.crt``
    A PEM bundle pip (and conda) trust during image builds, for TLS-inspecting proxies. A
    relative path is relative to the project. ``DECK_BUILD_CA_BUNDLE`` sets it for every target
    of this machine and wins over the file: the proxy belongs to the machine, the file to the
    project. It is a transport setting: it changes how packages are fetched, not which, so it is
    not part of the image tag (a team inside and outside a proxy share images).
``buildOffline: true``
    Gather wheels on this machine (``pip download --only-binary=:all:`` for the image's Python
    and platform) and install them in the build with ``--no-index``, for engines with no
    network. ``DECK_BUILD_OFFLINE=1`` turns it on for every target. It is part of the tag: pip
    may resolve differently from wheels than from an index.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from launchdeck.core.errors import ConfigError

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig

CA_BUNDLE_KEY = "buildCaBundle"
OFFLINE_KEY = "buildOffline"
CA_BUNDLE_ENV = "DECK_BUILD_CA_BUNDLE"
OFFLINE_ENV = "DECK_BUILD_OFFLINE"


@dataclass(frozen=True, kw_only=True)
class BuildSettings:
    """How an environment image is built (not what goes into it)."""

    ca_bundle: Path | None = None
    offline: bool = False

    def tag_inputs(self) -> dict[str, Any]:
        """The settings that change the image's content, for its tag."""
        return {"offline": self.offline}

    @classmethod
    def from_compute(cls, compute: "ComputeConfig", project_dir: Path,
                     environ: Mapping[str, str] | None = None) -> "BuildSettings":
        environ = os.environ if environ is None else environ
        raw = _extra_keys(compute)
        ca = environ.get(CA_BUNDLE_ENV) or getattr(compute, "build_ca_bundle", None) \
            or raw.get(CA_BUNDLE_KEY)
        offline = getattr(compute, "build_offline", None)
        if offline is None:
            offline = raw.get(OFFLINE_KEY, False)
        if environ.get(OFFLINE_ENV):
            offline = environ[OFFLINE_ENV].lower() not in ("0", "false", "no")
        if not isinstance(offline, bool):
            raise ConfigError(f"{OFFLINE_KEY} must be true or false, not {offline!r}",
                              file=str(compute.path), field=OFFLINE_KEY)
        ca_path = None
        if ca:
            if not isinstance(ca, str):
                raise ConfigError(f"{CA_BUNDLE_KEY} must be a file path, not {ca!r}",
                                  file=str(compute.path), field=CA_BUNDLE_KEY)
            ca_path = Path(os.path.expanduser(ca))
            if not ca_path.is_absolute():
                ca_path = project_dir / ca_path
            if not ca_path.is_file():
                source = CA_BUNDLE_ENV if environ.get(CA_BUNDLE_ENV) else CA_BUNDLE_KEY
                raise ConfigError(f"{source}: {ca_path} is not a file (a PEM CA bundle is "
                                  "expected, e.g. /etc/ssl/certs/ca-certificates.crt)",
                                  file=None if source == CA_BUNDLE_ENV else str(compute.path),
                                  field=source)
        return cls(ca_bundle=ca_path, offline=offline)

    @classmethod
    def for_tag(cls, compute: "ComputeConfig", project_dir: Path,
                environ: Mapping[str, str] | None = None) -> "BuildSettings":
        """What the tag needs (``offline``) without reading the file again unless only the
        file can tell: finding an image (every Docker launch) parses no YAML for a setting
        that counts only when building (``buildCaBundle``, checked when a build needs it)."""
        offline = known_offline(compute, environ)
        if offline is None:
            return cls.from_compute(compute, project_dir, environ)
        return cls(offline=offline)


def known_offline(compute: "ComputeConfig",
                  environ: Mapping[str, str] | None = None) -> bool | None:
    """Whether the build is offline, when that is known without reading the ``.compute`` file
    again (None: the file keeps ``buildOffline`` only as an unknown key name)."""
    environ = os.environ if environ is None else environ
    if environ.get(OFFLINE_ENV):
        return environ[OFFLINE_ENV].lower() not in ("0", "false", "no")
    value = getattr(compute, "build_offline", None)
    if isinstance(value, bool):
        return value
    if OFFLINE_KEY in (getattr(compute, "unknown_keys", ()) or ()):
        return None
    return False


def _extra_keys(compute: "ComputeConfig") -> dict[str, Any]:
    """Values of our keys when ComputeConfig keeps them only as unknown key names."""
    wanted = {CA_BUNDLE_KEY, OFFLINE_KEY} & set(getattr(compute, "unknown_keys", ()) or ())
    path = getattr(compute, "path", None)
    if not wanted or not path:
        return {}
    from launchdeck.core.config.yamlio import load_document

    # The same loader as the .compute file itself: tabs, size and link checks all apply.
    data = load_document(path).data
    if not isinstance(data, dict):
        return {}
    return {k: data[k] for k in wanted if k in data}
