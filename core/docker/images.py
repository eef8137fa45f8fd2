"""The Engine API's image calls that deck makes (``EngineClient.images``)."""

from __future__ import annotations

from typing import IO, AsyncIterator

from launchdeck.core.docker.session import EngineSession, path_of


class Images:
    """Images on one engine, by reference (``name:tag``) or id."""

    def __init__(self, session: EngineSession) -> None:
        self._session = session

    async def inspect(self, ref: str) -> dict:
        """``GET /images/{ref}/json``; ``EngineError`` 404 if there is no such image."""
        return await self._session.call("GET", path_of("images", ref, "json"))

    async def list(self, *, filters: dict[str, list[str]] | None = None) -> list[dict]:
        """``GET /images/json``: the images (``filters`` as the API takes them)."""
        return await self._session.call("GET", "/images/json", params={"filters": filters})

    async def delete(self, ref: str) -> None:
        """Untag ``ref``, and delete the image if no other tag (or container) holds it."""
        await self._session.call("DELETE", path_of("images", ref))

    async def tag(self, image: str, repository: str, *, tag: str) -> None:
        """Tag ``image`` (an id or reference) as ``repository:tag``."""
        await self._session.call("POST", path_of("images", image, "tag"),
                                 params={"repo": repository, "tag": tag})

    def pull(self, ref: str) -> AsyncIterator[dict]:
        """``POST /images/create``: the pull's progress messages; a failure raises.

        A reference without a tag is ``:latest``, as for ``docker pull`` (the API would pull
        every tag of it).
        """
        pinned = "@" in ref or ":" in ref.rsplit("/", 1)[-1]
        return self._session.json_stream("POST", "/images/create", params={
            "fromImage": ref, "tag": None if pinned else "latest"})

    def build(self, context: IO[bytes], *, buildkit: bool,
              nocache: bool = False) -> AsyncIterator[dict]:
        """``POST /build`` of a tar context (an open file, sent as it is read): the build's
        messages; ``buildkit`` asks for BuildKit (``version=2``), else the classic builder.
        Intermediate containers are removed even when a step fails (``forcerm``)."""
        params = {"rm": True, "forcerm": True, "nocache": nocache,
                  "version": "2" if buildkit else "1"}
        return self._session.json_stream(
            "POST", "/build", params=params, body=context,
            headers={"Content-Type": "application/x-tar"})
