"""``RemoteHost``: what targets use to run commands, move files and reach sockets on a host.

Every method goes through the pool's one shared connection to the host. Commands are argument
lists: each argument is quoted with ``shlex.quote`` so it reaches the remote program byte for
byte through the login shell (which must be a POSIX shell: sh, bash, dash, zsh).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, AsyncIterator

import launchdeck.core.remote._asyncssh  # noqa: F401  (first: asyncssh imported quickly)
import asyncssh

from launchdeck.core.errors import TargetError
from launchdeck.core.remote.commands import (CommandResult, quote_command, run_command,
                                             translate_errors)
from launchdeck.core.remote.forward import UnixSocketForward
from launchdeck.core.remote.sshconfig import SSHEndpoint

if TYPE_CHECKING:  # the pool makes RemoteHosts: at run time this module needs only its methods
    from launchdeck.core.remote.connection import SSHPool


#: How long to keep retrying a session the server refused for want of a free slot, and the
#: first and longest wait between tries. A refused session ran nothing, so retrying is safe; a
#: loaded host can take seconds to free the slots of channels that already closed.
_REFUSED_PATIENCE = 30.0
_REFUSED_FIRST_WAIT, _REFUSED_LONGEST_WAIT = 0.02, 0.5
#: How servers say "no free session": OpenSSH sends OPEN_CONNECT_FAILED ("open failed") when
#: MaxSessions is reached, others administratively-prohibited or resource-shortage.
_REFUSED_CODES = frozenset({asyncssh.OPEN_CONNECT_FAILED,
                            asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED,
                            asyncssh.OPEN_RESOURCE_SHORTAGE})


class RemoteHost:
    """One SSH destination seen through a shared ``SSHPool``."""

    def __init__(self, pool: SSHPool, endpoint: SSHEndpoint) -> None:
        self.pool = pool
        self.endpoint = endpoint

    def __repr__(self) -> str:
        return f"RemoteHost({self.endpoint})"

    async def connection(self) -> asyncssh.SSHClientConnection:
        """The shared asyncssh connection (opened or reopened as needed)."""
        return await self.pool.connection(self.endpoint)

    async def accept_host_key(self, fingerprint: str) -> None:
        """Connect, adding the host key to known_hosts if it has exactly this fingerprint.

        A key that is already known passes as usual; a changed key is still refused.
        """
        await self.pool.connection(self.endpoint, accept_fingerprint=fingerprint)

    @contextlib.asynccontextmanager
    async def process(self, cmd: list[str]) -> AsyncIterator[asyncssh.SSHClientProcess]:
        """A running remote command with binary stdin/stdout/stderr, holding one channel."""
        line = quote_command(cmd)
        reopened = False
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + _REFUSED_PATIENCE
        delay = _REFUSED_FIRST_WAIT
        while True:
            conn = await self.connection()
            channels = self.pool.entry(self.endpoint).channels
            assert channels is not None
            async with channels:
                try:
                    proc = await conn.create_process(line, encoding=None)
                except (asyncssh.ChannelOpenError, asyncssh.DisconnectError,
                        ConnectionError) as exc:
                    # The channel never opened, so nothing ran: safe to try again.
                    if conn.is_closed() and not reopened:  # dead link: once, on a new one
                        self.pool._forget(self.endpoint.key, conn)
                        reopened = True
                        continue
                    refused = getattr(exc, "code", None) in _REFUSED_CODES
                    if refused and loop.time() + delay < give_up_at:
                        # sshd frees a session slot (MaxSessions) only after it has reaped the
                        # closed channel's command, so a burst of short commands can find none
                        # free for a while, longer the busier the host.
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, _REFUSED_LONGEST_WAIT)
                        continue
                    if refused:
                        raise TargetError(
                            f"{self.endpoint}: the server refused to start `{cmd[0]}` for "
                            f"{_REFUSED_PATIENCE:g} s "
                            f"({getattr(exc, 'reason', '') or 'open failed'}); its "
                            f"sshd_config may allow too few sessions (MaxSessions)") from exc
                    with translate_errors(self.endpoint, f"starting `{cmd[0]}` on"):
                        raise exc
                try:
                    with translate_errors(self.endpoint, f"running `{cmd[0]}` on"):
                        yield proc
                finally:
                    proc.close()
                    # Hold the slot until the server has closed its side too.
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(proc.wait_closed(), 5)
                return

    async def run(self, cmd: list[str], *, input: bytes | None = None,
                  timeout: float | None = None, check: bool = False) -> CommandResult:
        """Run ``cmd`` to the end; stdin gets ``input`` then EOF. Output is bytes."""
        return await run_command(self, cmd, input=input, timeout=timeout, check=check)

    async def host_key_fingerprint(self) -> str:
        """The SHA256 fingerprint of the key the host showed on the current connection."""
        from launchdeck.core.remote.hostkeys import fingerprint

        key = (await self.connection()).get_server_host_key()
        return fingerprint(key) if key is not None else "unknown"

    async def is_connected(self) -> bool:
        """Whether the shared connection is open now (nothing is opened to find out)."""
        conn = self.pool.entry(self.endpoint).conn
        return conn is not None and not conn.is_closed()

    async def sftp(self) -> asyncssh.SFTPClient:
        """The connection's SFTP session (one per connection, shared).

        Wrap calls on it in ``translate_errors(host.endpoint)``.
        """
        conn = await self.connection()
        entry = self.pool.entry(self.endpoint)
        async with entry.lock:
            if entry.sftp is None or entry.conn is not conn:
                with translate_errors(self.endpoint, "starting SFTP on"):
                    entry.sftp = await conn.start_sftp_client()
            return entry.sftp

    async def forward_unix_socket(self, remote_path: str) -> str:
        """Path of a private local unix socket that reaches ``remote_path`` on the host.

        The local socket lives in a fresh 0700 directory and stays valid across reconnects:
        each local client gets a new channel on whatever connection is current.
        """
        forward = UnixSocketForward(self, remote_path)
        await forward.start()
        self.pool._forwards.append(forward)
        return forward.path

    async def open_forward(self, remote_path: str) -> UnixSocketForward:
        """A started forward to ``remote_path`` (``.path``), closed by its owner."""
        forward = UnixSocketForward(self, remote_path)
        await forward.start()
        return forward

    async def forward_docker_socket(self, remote: str = "/var/run/docker.sock") -> str:
        """``forward_unix_socket`` for the Docker Engine: use ``unix://`` + the result."""
        return await self.forward_unix_socket(remote)
