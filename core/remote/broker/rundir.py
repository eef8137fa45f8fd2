"""Where link processes keep their sockets: a private folder, checked before every use.

``$XDG_RUNTIME_DIR/launchdeck/`` when the session has a runtime folder, else
``/tmp/launchdeck-<uid>/``. Whoever can open a link's socket can run commands on the host as
the SSH user, so the folder must be this user's and closed to everyone else (mode 0700, not
a symlink); deck makes it so when it creates it, and refuses a folder that is not.

One link per destination and per environment that decides how it is reached: the
``.compute`` values (address, port, user, identity file) and ``HOME`` (``~/.ssh/config``,
known_hosts, default keys) and the SSH agent. Its files share a name made of a hash of these:
``<name>.sock`` (sessions), ``<name>.json`` (what ``deck link status`` shows), ``<name>.lock``
(held while one is started, so two processes racing start one link), and forwards
``<name>-f<n>.sock``.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

from launchdeck.core.errors import ConfigError

#: Seconds a link stays without a client before it leaves (tests shorten it).
IDLE_ENV = "DECK_LINK_IDLE_SECONDS"
DEFAULT_IDLE = 60.0
#: Set to 0 to have each deck process open its own SSH connections (no link process).
USE_ENV = "DECK_SSH_LINK"


@dataclass(frozen=True)
class LinkSpec:
    """What one link connects to, as the ``.compute`` file says it (resolved by the link)."""

    address: str
    port: int | None = None
    user: str | None = None
    identity_file: str | None = None
    home: str = ""
    agent: str = ""

    @classmethod
    def of(cls, address: str, port: int | None, user: str | None,
           identity_file: str | None) -> "LinkSpec":
        return cls(address, port, user, identity_file, os.environ.get("HOME", ""),
                   os.environ.get("SSH_AUTH_SOCK", ""))

    @property
    def name(self) -> str:
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, value: dict) -> "LinkSpec":
        return cls(str(value["address"]), value.get("port"), value.get("user"),
                   value.get("identity_file"), value.get("home") or "",
                   value.get("agent") or "")


def idle_seconds() -> float:
    raw = os.environ.get(IDLE_ENV, "")
    try:
        return max(0.1, float(raw)) if raw else DEFAULT_IDLE
    except ValueError:
        raise ConfigError(f"{IDLE_ENV}={raw!r} is not a number of seconds",
                          field=IDLE_ENV) from None


def links_enabled() -> bool:
    return os.environ.get(USE_ENV, "1").strip().lower() not in ("0", "no", "off", "false")


def runtime_dir(*, create: bool = True) -> Path:
    """The private folder of this user's links, made if absent; a clear error if unsafe."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    folder = Path(xdg) / "launchdeck" if xdg else Path(f"/tmp/launchdeck-{os.getuid()}")
    if create:
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
        except FileNotFoundError:  # an XDG_RUNTIME_DIR that does not exist (any more)
            raise ConfigError(f"cannot make {folder} for deck's SSH link sockets: "
                              f"{folder.parent} does not exist (check XDG_RUNTIME_DIR)",
                              field="XDG_RUNTIME_DIR") from None
    check_private(folder)
    return folder


def check_private(folder: Path) -> None:
    """Refuse a folder that is a symlink, not ours, or open to group or others."""
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        return
    why = None
    if stat.S_ISLNK(st.st_mode):
        why = "is a symbolic link"
    elif not stat.S_ISDIR(st.st_mode):
        why = "is not a folder"
    elif st.st_uid != os.getuid():
        why = f"belongs to uid {st.st_uid}, not to you (uid {os.getuid()})"
    elif st.st_mode & 0o077:
        why = f"has mode {stat.S_IMODE(st.st_mode):04o}; it must be 0700"
    if why:
        raise ConfigError(
            f"refusing to use {folder} for deck's SSH link sockets: it {why}. Anyone who "
            f"can open a socket there can run commands on your hosts. Remove it (or "
            f"`chmod 700 {folder}` if it is yours) and try again.", file=str(folder))


def socket_path(folder: Path, spec: LinkSpec) -> Path:
    return folder / f"{spec.name}.sock"


def lock_path(folder: Path, spec: LinkSpec) -> Path:
    return folder / f"{spec.name}.lock"


def info_path(folder: Path, spec: LinkSpec) -> Path:
    return folder / f"{spec.name}.json"


def forward_path(folder: Path, spec: LinkSpec, n: int) -> Path:
    return folder / f"{spec.name}-f{n}.sock"
