"""HTTP/1.1 on one stream connection to a Docker Engine: what deck's engine client needs, no more.

A request goes out with its body in one piece (bytes) or streamed from an open file (a build
context, a tar of files) with its ``Content-Length``; a response comes back as a status, its
headers and a body read as it arrives: by ``Content-Length``, ``chunked``, or up to the end of
the connection. A connection whose last response was read to its end, and that neither side
asked to close, may carry the next request (``reusable``). Attach and exec take a connection
over for good (``core.docker.attach``): it then carries raw bytes, never HTTP again.

Not here: redirects, compression, proxies, ``Expect: 100-continue``, HTTP/2: the engine uses
none of them with its own clients.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import IO, AsyncIterator

#: How much of a body is read (and a file sent) at a time: bounds what a stream holds.
CHUNK = 1 << 20
#: The engine's socket has no host name; HTTP/1.1 requires the header anyway.
HOST = "docker"


class Connection:
    """One open connection to the engine (a Unix socket, TCP, or TLS over TCP)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        #: Whether the last response was read to its end and the engine keeps the connection.
        self.reusable = False
        #: Whether a response was read on it before (a stale kept connection fails its next
        #: request before any byte of an answer; the client then tries a new one).
        self.used = False

    async def send(self, method: str, target: str, *, headers: dict[str, str] | None = None,
                   body: bytes | IO[bytes] | None = None) -> None:
        """Write a request: its head, then its body (a file is read from its position)."""
        self.reusable = False
        lines = [f"{method} {target} HTTP/1.1", f"Host: {HOST}"]
        sent = dict(headers or {})
        length = _length(body)
        if length is not None:
            sent["Content-Length"] = str(length)
        lines += [f"{name}: {value}" for name, value in sent.items()]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if isinstance(body, bytes):
            self.writer.write(head + body)
        else:
            self.writer.write(head)
            if body is not None:
                while data := body.read(CHUNK):
                    self.writer.write(data)
                    await self.writer.drain()  # a large context is never all in memory
        await self.writer.drain()

    async def response(self, *, method: str = "GET") -> "Response":
        """The head of the response to the request sent; its body is read from ``Response``."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise ConnectionResetError(
                "the engine closed the connection without an answer") from exc
        except asyncio.LimitOverrunError as exc:
            raise ConnectionError("the engine's answer has a head too large to be HTTP") from exc
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise ConnectionError(f"the engine's answer is not HTTP/1.1: {status_line[:80]!r}")
        headers: dict[str, str] = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        self.used = True
        return Response(status=int(parts[1]), headers=headers, connection=self,
                        no_body=method == "HEAD" or int(parts[1]) in (204, 304))

    def close(self) -> None:
        """Close at once (never waits: a closed engine must not hold up a caller)."""
        self.reusable = False
        self.writer.close()


def _length(body: bytes | IO[bytes] | None) -> int | None:
    if body is None:
        return None
    if isinstance(body, bytes):
        return len(body)
    # The rest of an open file, from where it stands (the engine wants a length or chunks;
    # every body deck sends is a file it can measure).
    position = body.tell()
    end = body.seek(0, os.SEEK_END)
    body.seek(position)
    return end - position


@dataclass
class Response:
    """A response's status and headers (names in lower case); its body is read once."""

    status: int
    headers: dict[str, str]
    connection: Connection = field(repr=False)
    no_body: bool = False

    @property
    def keeps_connection(self) -> bool:
        return self.headers.get("connection", "").lower() != "close"

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives, in pieces of at most ``CHUNK`` bytes.

        Read to its end, the connection may carry the next request; left early, it may not.
        """
        reader = self.connection.reader
        try:
            if self.no_body:
                pass
            elif "chunked" in self.headers.get("transfer-encoding", "").lower():
                async for data in _chunked(reader):
                    yield data
            elif "content-length" in self.headers:
                remaining = int(self.headers["content-length"])
                while remaining > 0:
                    data = await reader.read(min(remaining, CHUNK))
                    if not data:
                        raise ConnectionResetError("the engine closed the connection "
                                                   "before the end of its answer")
                    remaining -= len(data)
                    yield data
            else:  # neither: the body ends with the connection
                while data := await reader.read(CHUNK):
                    yield data
                return
        except asyncio.IncompleteReadError as exc:
            raise ConnectionResetError("the engine closed the connection before the end "
                                       "of its answer") from exc
        self.connection.reusable = self.keeps_connection

    async def read(self) -> bytes:
        """The whole body (for answers known to be small: JSON, an error)."""
        return b"".join([data async for data in self.chunks()])


async def _chunked(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """The data of a ``Transfer-Encoding: chunked`` body, chunk by chunk (large ones in parts)."""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ConnectionError(f"the engine sent a bad chunk size: {size_line[:40]!r}") \
                from None
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailer fields: the engine sends none, and deck reads none
            return
        while size > 0:
            data = await reader.read(min(size, CHUNK))
            if not data:
                raise asyncio.IncompleteReadError(b"", size)
            size -= len(data)
            yield data
        await reader.readexactly(2)  # the CRLF after the chunk's data
