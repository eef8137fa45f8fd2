"""Requests to one engine's API over ``core.docker.wire``: JSON calls, streams, hijacks.

Requests go to a fixed API version (``API_VERSION``), so no ``/version`` round trip comes
before the first call. An answer of status 400 and above raises ``EngineError`` with the
engine's own message; a connection that fails raises ``OSError`` (``ConnectionError``,
``FileNotFoundError``, ...). ``core.docker.engine.engine_errors`` turns both into deck's error
tree. Nothing has a timeout (a build, a wait, a log stream last as long as they last).
"""

from __future__ import annotations

import contextlib
import json
from typing import IO, Any, AsyncIterator, Mapping
from urllib.parse import quote, urlencode

from launchdeck.core.docker.attach import AttachedStream
from launchdeck.core.docker.dial import Address, Connections
from launchdeck.core.docker.wire import Connection, Response

#: API 1.41 is Docker 20.10's (the oldest engine deck is tested on): it has everything deck
#: asks for (BuildKit builds, one-shot stats, ``LogConfig`` none), and newer engines still
#: answer it (Docker 25+ accept 1.24 and later).
API_VERSION = "1.41"

Params = Mapping[str, str | int | bool | list[str] | dict[str, list[str]] | None]


class EngineError(Exception):
    """The engine answered with an error: its HTTP status and its own message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class EngineSession:
    """Requests to the engine at ``url``; no connection is opened before the first."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._connections = Connections(Address.parse(url))  # ValueError: not an address

    def close(self) -> None:
        """Close the idle connections (streams in use close with their readers)."""
        self._connections.close()

    async def call(self, method: str, path: str, *, params: Params | None = None,
                   json_body: Any = None, body: bytes | IO[bytes] | None = None,
                   headers: dict[str, str] | None = None) -> Any:
        """A request with a small answer: its JSON (None for an empty body)."""
        async with self.stream(method, path, params=params, json_body=json_body, body=body,
                               headers=headers) as response:
            data = await response.read()
        return json.loads(data) if data.strip() else None

    @contextlib.asynccontextmanager
    async def stream(self, method: str, path: str, *, params: Params | None = None,
                     json_body: Any = None, body: bytes | IO[bytes] | None = None,
                     headers: dict[str, str] | None = None) -> AsyncIterator[Response]:
        """A request whose answer is read as it comes (``Response.chunks``).

        Its connection goes back to the idle ones when the body was read to its end.
        """
        connection, response = await self._request(method, path, params=params,
                                                   json_body=json_body, body=body,
                                                   headers=headers)
        try:
            if response.status >= 400:
                raise await _engine_error(response)
            yield response
        finally:
            self._connections.give_back(connection)

    async def json_stream(self, method: str, path: str, *, params: Params | None = None,
                          body: IO[bytes] | None = None,
                          headers: dict[str, str] | None = None) -> AsyncIterator[dict]:
        """The JSON messages of a progress stream (build, pull), one at a time.

        A message that reports an error (``{"error": ...}``: the build or pull failed after
        the engine answered 200) raises ``EngineError`` with it.
        """
        async with self.stream(method, path, params=params, body=body,
                               headers=headers) as response:
            decoder = json.JSONDecoder()
            pending = ""
            async for data in response.chunks():
                pending += data.decode("utf-8", errors="replace")
                while pending := pending.lstrip():
                    try:
                        message, end = decoder.raw_decode(pending)
                    except ValueError:
                        break  # the rest of this message is still to come
                    pending = pending[end:]
                    if not isinstance(message, dict):
                        continue
                    if message.get("error") or message.get("errorDetail"):
                        detail = message.get("errorDetail") or {}
                        raise EngineError(500, str(message.get("error") or
                                                   detail.get("message") or detail))
                    yield message

    async def hijack(self, path: str, *, params: Params | None = None,
                     json_body: Any = None) -> AttachedStream:
        """``POST`` to attach or exec start, the connection taken over for the stream."""
        headers = {"Connection": "Upgrade", "Upgrade": "tcp"}
        connection, response = await self._request("POST", path, params=params,
                                                   json_body=json_body, headers=headers,
                                                   fresh=True)
        if response.status >= 400:
            try:
                raise await _engine_error(response)
            finally:
                connection.close()
        return AttachedStream(connection)

    async def _request(self, method: str, path: str, *, params: Params | None = None,
                       json_body: Any = None, body: bytes | IO[bytes] | None = None,
                       headers: dict[str, str] | None = None,
                       fresh: bool = False) -> tuple[Connection, Response]:
        sent = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        target = f"/v{API_VERSION}{path}"
        if params:
            target += "?" + _query(params)
        start = body.tell() if body is not None and not isinstance(body, bytes) else 0
        while True:
            # A hijacked connection is the stream's for good: never one kept for others.
            connection = await (self._connections.address.open() if fresh
                                else self._connections.take())
            try:
                await connection.send(method, target, headers=sent, body=body)
                return connection, await connection.response(method=method)
            except (ConnectionError, OSError):
                connection.close()
                if not connection.used:
                    raise
                # A kept connection the engine (or an SSH forward) closed while it was idle:
                # nothing of this request was answered; send it again on a new connection.
                if body is not None and not isinstance(body, bytes):
                    body.seek(start)
            except BaseException:
                connection.close()
                raise


def path_of(*parts: str) -> str:
    """An API path from parts (names and ids escaped: an image reference has slashes)."""
    return "/" + "/".join(quote(part, safe="") for part in parts)


def _query(params: Params) -> str:
    pairs = []
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "1" if value else "0"
        elif isinstance(value, (dict, list)):
            value = json.dumps(value)
        pairs.append((name, str(value)))
    return urlencode(pairs)


async def _engine_error(response: Response) -> EngineError:
    """The engine's error answer (``{"message": ...}``) as an ``EngineError``."""
    data = await response.read()
    try:
        message = json.loads(data)["message"]
    except (ValueError, KeyError, TypeError):
        message = data.decode("utf-8", errors="replace").strip() or f"HTTP {response.status}"
    return EngineError(response.status, str(message))
