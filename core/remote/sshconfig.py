"""Where an SSH target really is, after ``~/.ssh/config``.

The parsing is asyncssh's own (``SSHClientConfig``: Host/Match blocks, ``%`` tokens, first value
wins, as in OpenSSH); this module only asks it the handful of questions Launchdeck needs before
connecting: the real host, port and user (the pool's key), identity files, ProxyJump,
HostKeyAlias and UserKnownHostsFile. Values from a ``.compute`` file win over the config file,
as ``ssh -p`` wins over ``Port``.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from launchdeck.core.errors import ConfigError

DEFAULT_CONFIG = Path("~/.ssh/config")


@dataclass(frozen=True, kw_only=True)
class SSHEndpoint:
    """One SSH destination, fully resolved."""

    alias: str                      #: what the user wrote (a ``Host`` alias or a real name)
    host: str                       #: the name or address to connect to (``HostName``)
    port: int
    user: str
    identity_files: tuple[str, ...] = ()
    proxy_jump: str | None = None   #: OpenSSH syntax: ``[user@]host[:port][,...]``
    host_key_alias: str | None = None
    known_hosts_files: tuple[str, ...] = ()  #: from UserKnownHostsFile; empty = the default
    config_paths: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, int, str, str]:
        """What identifies one shared connection (through a jump host it is another one)."""
        return (self.host, self.port, self.user, self.proxy_jump or "")

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


def resolve(address: str, *, port: int | None = None, user: str | None = None,
            identity_file: str | None = None,
            config_paths: list[Path] | tuple[Path, ...] | None = None) -> SSHEndpoint:
    """Apply ``~/.ssh/config`` (or ``config_paths``) to an address from a ``.compute`` file.

    Pass ``port``/``user``/``identity_file`` only when the ``.compute`` file sets them.
    """
    if not address:
        raise ConfigError("no address: a remote target needs `address` (a host name, an "
                          "address or a ~/.ssh/config Host alias)", field="address")
    if config_paths is None:
        default = DEFAULT_CONFIG.expanduser()
        config_paths = [default] if default.is_file() else []
    # Here, not at the top: the link's clients never parse configs (nor import asyncssh).
    import launchdeck.core.remote._asyncssh  # noqa: F401
    from asyncssh.config import SSHClientConfig

    paths = tuple(str(Path(p).expanduser()) for p in config_paths)
    try:
        local_user = getpass.getuser()
    except (KeyError, OSError):
        local_user = "root"
    try:
        config = SSHClientConfig.load(None, list(paths), False, False, False, local_user,
                                      user if user else (), address, port if port else ())
    except (OSError, ValueError) as exc:  # asyncssh raises ConfigParseError(ValueError)
        raise ConfigError(f"cannot read SSH config: {exc}", file=paths[0] if paths else None)
    # asyncssh's values by option: lists of str for files, int for Port, str for the rest.
    identity = (identity_file,) if identity_file else \
        tuple(cast("list[str]", config.get("IdentityFile") or ()))
    jump = config.get("ProxyJump")
    known = cast("list[str]", config.get("UserKnownHostsFile") or ())
    return SSHEndpoint(
        alias=address,
        host=str(config.get("Hostname") or address),
        port=int(cast(int, config.get("Port")) or 22),
        user=str(config.get("User") or local_user),
        identity_files=tuple(str(Path(f).expanduser()) for f in identity),
        proxy_jump=None if jump in (None, "none") else str(jump),
        host_key_alias=cast("str | None", config.get("HostKeyAlias")),
        known_hosts_files=tuple(str(Path(f).expanduser()) for f in known if f != "none"),
        config_paths=paths,
    )


def parse_jump(spec: str) -> list[tuple[str, int | None, str | None]]:
    """``user@a:22,b`` -> ``[("a", 22, "user"), ("b", None, None)]`` (first hop first)."""
    hops = []
    for hop in spec.split(","):
        user = None
        if "@" in hop:
            user, hop = hop.rsplit("@", 1)
        port = None
        if hop.startswith("["):  # [v6addr]:port
            host, _, rest = hop[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else None
        elif hop.count(":") == 1:
            host, port_text = hop.split(":")
            port = int(port_text)
        else:
            host = hop
        hops.append((host, port, user))
    return hops
