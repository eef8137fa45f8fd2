"""``RemoteHost``: what targets use to run commands, move files and reach sockets on a host.

Every method goes through the pool's one shared connection to the host. Commands are argument
lists: each argument is quoted with ``shlex.quote`` so it reaches the remote program byte for
byte through the login shell (which must be a POSIX shell: sh, bash, dash, zsh).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

import asyncssh

from core.errors import TargetError, TargetUnreachable
from core.remote.connection import (CommandResult, SSHPool, quote_command,
                                    translate_errors)
from core.remote.forward import UnixSocketForward
from core.remote.sshconfig import SSHEndpoint


#: Waits before retrying a session the server refused; None: give up.
_REFUSED_BACKOFF = (0.02, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, None)


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
        for delay in _REFUSED_BACKOFF:
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
                    if getattr(exc, "code", None) == asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED \
                            and delay is not None:
                        # sshd frees a session slot (MaxSessions) a moment after the channel
                        # closed, so a burst of short commands can briefly find none free.
                        await asyncio.sleep(delay)
                        continue
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
        async with self.process(cmd) as proc:
            try:
                result = await asyncio.wait_for(proc.communicate(input or b""), timeout)
            except asyncio.TimeoutError:
                raise TargetError(f"{self.endpoint}: `{cmd[0]}` did not finish within "
                                  f"{timeout:g} s") from None
            stdout, stderr = result
            status = proc.exit_status
            if status is None and proc.exit_signal:
                raise TargetError(f"{self.endpoint}: `{cmd[0]}` was killed by signal "
                                  f"{proc.exit_signal[0]}")
            if status is None:  # the channel closed with no exit status: the link went
                raise TargetUnreachable(f"{self.endpoint.host}:{self.endpoint.port}: "
                                        f"connection lost while `{cmd[0]}` was running")
        done = CommandResult(status, stdout or b"", stderr or b"")
        if check and status != 0:
            tail = done.stderr.decode(errors="replace").strip()[-2000:]
            raise TargetError(f"{self.endpoint}: `{' '.join(cmd[:3])}` exited with {status}"
                              + (f": {tail}" if tail else ""))
        return done

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

    async def forward_docker_socket(self, remote: str = "/var/run/docker.sock") -> str:
        """``forward_unix_socket`` for the Docker Engine: use ``unix://`` + the result."""
        return await self.forward_unix_socket(remote)
