"""The link process's local wire format: frames over one Unix connection per session.

A frame is a 4-byte big-endian length, one byte saying what it is, then the payload. The first
frame from a client is a JSON request (``REQUEST``); the link answers with one JSON ``REPLY``
(``{"ok": true, ...}`` or ``{"error": {...}}``). For a command session the frames then carry
the streams: stdin data and its end from the client; stdout and stderr data (an empty payload
ends the stream) and finally the ``EXIT`` status from the link. A socket forward answers with
the path of a local socket that reaches the remote one, raw bytes and no frames.
"""

from __future__ import annotations

import asyncio
import json
import struct

REQUEST, REPLY = b"?", b"!"
STDIN, STDIN_EOF = b"i", b"e"
STDOUT, STDERR, EXIT = b"o", b"r", b"x"

_HEAD = struct.Struct(">IB")
#: Larger frames are a protocol error (a chunk of a stream is at most 256 KiB).
MAX_FRAME = 1 << 20


class WireError(Exception):
    """The other side sent something that is not a frame of this protocol."""


def frame(kind: bytes, payload: bytes = b"") -> bytes:
    return _HEAD.pack(len(payload), kind[0]) + payload


def json_frame(kind: bytes, value: dict) -> bytes:
    return frame(kind, json.dumps(value).encode())


async def read_frame(reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    """(kind, payload), or None at a clean end of the connection between frames."""
    try:
        head = await reader.readexactly(_HEAD.size)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise WireError("connection ended inside a frame header") from None
    size, kind = _HEAD.unpack(head)
    if size > MAX_FRAME:
        raise WireError(f"frame of {size} bytes is larger than {MAX_FRAME}")
    try:
        payload = await reader.readexactly(size)
    except asyncio.IncompleteReadError:
        raise WireError("connection ended inside a frame") from None
    return bytes([kind]), payload


def parse_json(payload: bytes) -> dict:
    try:
        value = json.loads(payload)
    except ValueError as exc:
        raise WireError(f"a JSON frame that is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise WireError("a JSON frame that is not an object")
    return value
