"""SSH foundation for remote targets: shared connections, host keys, ~/.ssh/config, sync.

Remote Docker, remote and Spark targets use ``shared_pool().host(address, ...)`` to get a
``RemoteHost`` and never import asyncssh themselves for anything but types.
"""

from launchdeck.core.remote._quickimport import without_liboqs_search

with without_liboqs_search():
    import asyncssh  # noqa: F401  (first import here, before the modules below use it)

from launchdeck.core.remote.commands import CommandResult, translate_errors
from launchdeck.core.remote.connection import SSHPool, shared_pool
from launchdeck.core.remote.hostkeys import KnownHosts, accept_host_key, fingerprint, host_pattern
from launchdeck.core.remote.materialize import materialize_remote
from launchdeck.core.remote.remotehost import RemoteHost
from launchdeck.core.remote.sshconfig import SSHEndpoint, resolve
from launchdeck.core.remote.sync import REMOTE_STORE, SyncReport, sync_snapshot

__all__ = ["REMOTE_STORE", "CommandResult", "KnownHosts", "RemoteHost", "SSHEndpoint", "SSHPool",
           "SyncReport", "accept_host_key", "fingerprint", "host_pattern", "materialize_remote",
           "resolve", "shared_pool", "sync_snapshot", "translate_errors"]
