"""Where an engine listens, and its connections: opened on demand, an idle one reused.

``unix://PATH`` is the local socket, and the sockets deck's SSH link forwards for a remote
host (``core.remote.forward``). ``tcp://HOST:PORT`` (or ``http://``) is plain TCP; it is TLS
when ``DOCKER_TLS_VERIFY`` is set, as for the docker CLI and aiodocker before: the CA, client
certificate and key are ``ca.pem``, ``cert.pem``, ``key.pem`` in ``DOCKER_CERT_PATH`` (default
``~/.docker``). ``https://HOST:PORT`` is TLS verified against the system's CAs (and the
client certificate of ``DOCKER_CERT_PATH``, if one is there).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from launchdeck.core.docker.wire import Connection

if TYPE_CHECKING:
    import ssl

#: Only for opening a connection: an engine that does not accept one in this time is down
#: (the OS would wait minutes for a TCP host that dropped off). Requests have no timeout.
CONNECT_SECONDS = 30.0
#: Idle connections kept for the next requests; more only while calls overlap.
KEEP_IDLE = 4
#: A stream's buffer: large enough for any response head and chunk-size line.
BUFFER = 1 << 20


@dataclass(frozen=True)
class Address:
    """An engine's address: a socket path, or a host and port (with TLS or not)."""

    url: str
    path: str | None = None
    host: str | None = None
    port: int | None = None
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> "Address":
        """``unix://PATH``, ``tcp://HOST:PORT``, ``http://...``, ``https://...``; else ValueError."""
        scheme, _, rest = url.partition("://")
        if scheme == "unix" and rest:
            return cls(url, path=rest)
        if scheme in ("tcp", "http", "https") and rest:
            parts = urlsplit(f"//{rest}")
            if not parts.hostname:
                raise ValueError(f"no host in {url}")
            tls = scheme == "https" or os.environ.get("DOCKER_TLS_VERIFY", "") not in ("", "0")
            return cls(url, host=parts.hostname, port=parts.port or (2376 if tls else 2375),
                       tls=tls)
        if scheme == "ssh":
            raise ValueError(f"{url} is reached over SSH: a docker target with it as DOCKER_HOST, "
                             "or a remotedocker target, forwards its socket")
        if scheme == "npipe":
            raise ValueError(f"{url} is a Windows named pipe, which deck cannot open")
        raise ValueError(f"{url} is not an address deck can open (unix://PATH, "
                         "tcp://HOST:PORT or https://HOST:PORT)")

    async def open(self) -> Connection:
        """A new connection (OSError, or TimeoutError, if the engine does not take it)."""
        async with asyncio.timeout(CONNECT_SECONDS):
            if self.path is not None:
                reader, writer = await asyncio.open_unix_connection(self.path, limit=BUFFER)
            else:
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, limit=BUFFER,
                    ssl=_tls_context(self.url) if self.tls else None)
        return Connection(reader, writer)


def _tls_context(url: str) -> "ssl.SSLContext":
    """The docker CLI's TLS: its CA when ``DOCKER_CERT_PATH`` has one, a client certificate
    when it has one. Built only for a TLS engine: ``ssl``'s import and the system's CAs cost
    a keeper on a local socket nothing."""
    import ssl

    folder = os.environ.get("DOCKER_CERT_PATH") or os.path.expanduser("~/.docker")
    ca, cert, key = (os.path.join(folder, name) for name in ("ca.pem", "cert.pem", "key.pem"))
    try:
        context = ssl.create_default_context(cafile=ca if os.path.exists(ca) else None)
        if os.path.exists(cert) and os.path.exists(key):
            context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise OSError(f"the TLS files for {url} in {folder} cannot be used: {exc}") from exc
    return context


class Connections:
    """The connections to one engine that are idle, for the next request to take."""

    def __init__(self, address: Address) -> None:
        self.address = address
        self._idle: list[Connection] = []

    async def take(self) -> Connection:
        """An idle connection, else a new one."""
        while self._idle:
            connection = self._idle.pop()
            if not connection.reader.at_eof() and not connection.writer.is_closing():
                return connection
            connection.close()  # the engine (or the SSH forward) closed it meanwhile
        return await self.address.open()

    def give_back(self, connection: Connection) -> None:
        """Keep a connection whose response was read to its end; close any other."""
        if connection.reusable and len(self._idle) < KEEP_IDLE:
            self._idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()
