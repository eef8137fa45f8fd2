"""deck's Docker Engine client: the calls deck makes, grouped as the Engine API groups them.

``images`` (``core.docker.images``), ``containers`` and their execs
(``core.docker.containers``), and the engine's ``version`` and ``info`` here; all over one
``EngineSession`` (``core.docker.session``: the requests, ``EngineError``, the API version).
"""

from __future__ import annotations

from launchdeck.core.docker.containers import Containers
from launchdeck.core.docker.images import Images
from launchdeck.core.docker.session import EngineSession


class EngineClient:
    """One engine, at ``url`` (``unix://PATH``, ``tcp://HOST:PORT``; see ``core.docker.dial``).

    No connection is opened before the first call; ``ValueError`` for a URL that is none.
    """

    def __init__(self, url: str) -> None:
        self.session = EngineSession(url)
        self.images = Images(self.session)
        self.containers = Containers(self.session)

    @property
    def url(self) -> str:
        return self.session.url

    async def version(self) -> dict:
        """``GET /version``: the engine's version, API version, OS."""
        return await self.session.call("GET", "/version")

    async def info(self) -> dict:
        """``GET /info``: the engine's system facts (runtimes, root folder, architecture)."""
        return await self.session.call("GET", "/info")

    async def close(self) -> None:
        """Close the idle connections (a stream in use closes with its reader)."""
        self.session.close()
