"""SSH foundation for remote targets: shared connections, host keys, ~/.ssh/config, sync.

Remote Docker and Spark targets use ``shared_pool().host(address, ...)`` to get a
``RemoteHost`` and never import asyncssh themselves for anything but types.
"""

from core.remote.connection import CommandResult, SSHPool, shared_pool, translate_errors
from core.remote.hostkeys import KnownHosts, accept_host_key, fingerprint, host_pattern
from core.remote.remotehost import RemoteHost
from core.remote.sshconfig import SSHEndpoint, resolve

__all__ = ["CommandResult", "KnownHosts", "RemoteHost", "SSHEndpoint", "SSHPool",
           "accept_host_key", "fingerprint", "host_pattern", "resolve", "shared_pool",
           "translate_errors"]
