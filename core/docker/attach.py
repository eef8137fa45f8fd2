"""A connection the engine took over for attach or exec: stdin in, stdout and stderr out.

After the engine's answer (``101 UPGRADED``, or ``200`` from engines that ignore the upgrade
headers) the connection carries raw bytes both ways. What the process writes comes in frames,
for a container or exec without a TTY (deck's have none): an 8-byte header (the stream, 1
stdout or 2 stderr, three zero bytes, the payload's length as a big-endian 32-bit number) and
the payload. What is written to it is the process's stdin, as it is. Such a connection is the
stream's alone: it never goes back to the idle connections.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Iterator, NamedTuple

from launchdeck.core.docker.wire import Connection

_HEADER = struct.Struct(">BxxxL")
STDOUT = 1
STDERR = 2


class Frame(NamedTuple):
    """One piece of a process's output: ``stream`` 1 is stdout, 2 stderr."""

    stream: int
    data: bytes


def split_frames(body: bytes) -> Iterator[Frame]:
    """The frames of a whole multiplexed body (container logs read at once)."""
    at = 0
    while at + _HEADER.size <= len(body):
        stream, size = _HEADER.unpack_from(body, at)
        at += _HEADER.size
        yield Frame(stream, body[at:at + size])
        at += size


class AttachedStream:
    """The process's stdin, stdout and stderr over one taken-over connection."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._closed = False

    async def read_out(self) -> Frame | None:
        """The next frame of output; None once the process ended (or the stream closed)."""
        if self._closed:
            return None
        reader = self._connection.reader
        try:
            header = await reader.readexactly(_HEADER.size)
            stream, size = _HEADER.unpack(header)
            return Frame(stream, await reader.readexactly(size) if size else b"")
        except asyncio.IncompleteReadError:
            return None

    async def write_in(self, data: bytes) -> None:
        """Write to the process's stdin."""
        self._connection.writer.write(data)
        await self._connection.writer.drain()

    async def write_eof(self) -> None:
        """Close the process's stdin (a half-close: its output still comes in).

        TLS cannot half-close a connection (asyncio refuses): there, use ``close``.
        """
        writer = self._connection.writer
        await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        else:
            raise OSError("this connection to the engine cannot close stdin alone (TLS)")

    async def close(self) -> None:
        """Close the connection: stdin and output both (again: nothing)."""
        if not self._closed:
            self._closed = True
            self._connection.close()

    async def __aenter__(self) -> "AttachedStream":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
