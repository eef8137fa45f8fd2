"""SSH foundation for remote targets: shared connections, host keys, ~/.ssh/config, sync.

Targets get a host from ``core.remote.targethost.host_of``: through the link process of this
machine (``core.remote.broker``), or this process's own ``SSHPool``. Names below are loaded on
first use, so that a deck process talking to a live link never imports asyncssh.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "CommandResult": "commands", "translate_errors": "commands",
    "SSHPool": "connection", "shared_pool": "connection",
    "KnownHosts": "hostkeys", "accept_host_key": "hostkeys", "fingerprint": "hostkeys",
    "host_pattern": "hostkeys", "materialize_remote": "materialize",
    "RemoteHost": "remotehost", "SSHEndpoint": "sshconfig", "resolve": "sshconfig",
    "REMOTE_STORE": "sync", "SyncReport": "sync", "sync_snapshot": "sync",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = _WHERE[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)

