"""A local unix socket that reaches a unix socket on a remote host (e.g. the Docker Engine's).

Unlike asyncssh's ``forward_local_path``, which dies with its connection, this listener asks the
pool for the current connection for every new client, so a path handed to the Docker client keeps
working after the SSH link dropped and came back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
from typing import TYPE_CHECKING

import launchdeck.core.remote._asyncssh  # noqa: F401  (first: asyncssh imported quickly)
import asyncssh

from launchdeck.core.errors import DeckError

if TYPE_CHECKING:
    from launchdeck.core.remote.remotehost import RemoteHost

_CHUNK = 256 * 1024


class UnixSocketForward:
    """Listens on ``path`` (in a private 0700 temp dir); each client gets one SSH channel."""

    def __init__(self, host: "RemoteHost", remote_path: str, *, path: str | None = None) -> None:
        self.host = host
        self.remote_path = remote_path
        # mkdtemp makes the directory 0700: only this user can reach the remote engine through it.
        # A link process passes ``path`` in its own private folder instead.
        self._dir = None if path else tempfile.mkdtemp(prefix="deck-fwd-")
        self.path = path or os.path.join(self._dir or "", os.path.basename(remote_path)
                                         or "socket")
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, path=self.path)
        if self._dir:
            os.chmod(self._dir, 0o700)

    @property
    def clients(self) -> int:
        """Local clients connected now (a link process stays while there are any)."""
        return len(self._tasks)

    async def _serve(self, local_r: asyncio.StreamReader, local_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task:
            self._tasks.add(task)
        try:
            conn = await self.host.connection()
            remote_r, remote_w = await conn.open_unix_connection(self.remote_path)
        except (DeckError, asyncssh.Error, OSError):
            # The local client sees its connection closed, as with a dead socket; the error
            # itself surfaces through the caller's next direct use of the host.
            local_w.close()
            self._tasks.discard(task)
            return
        try:
            await asyncio.gather(_pump(local_r, remote_w), _pump(remote_r, local_w))
        except asyncio.CancelledError:
            pass  # close(): asyncio's stream callback would log a cancelled handler as an error
        finally:
            remote_w.close()
            local_w.close()
            self._tasks.discard(task)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        if self._dir:
            shutil.rmtree(self._dir, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(self.path)


async def _pump(reader, writer) -> None:
    """Copy until EOF, then half-close, so HTTP hijacked streams (docker attach) behave."""
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (OSError, asyncssh.Error, asyncio.IncompleteReadError):
        writer.close()
