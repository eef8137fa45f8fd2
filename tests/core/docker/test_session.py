"""Requests to a real engine: JSON answers, the engine's errors, one connection kept for many."""

from __future__ import annotations

import asyncio

import pytest

from launchdeck.core.docker.client import EngineClient
from launchdeck.core.docker.engine import engine_errors, is_missing
from launchdeck.core.docker.session import EngineError
from launchdeck.core.errors import TargetError
from tests.fixtures.engine_relay import ENGINE, relay_to_engine

pytestmark = pytest.mark.docker


async def test_a_json_call_answers_with_the_engines_facts(docker_engine):
    docker = EngineClient(f"unix://{ENGINE}")
    try:
        version = await docker.version()
        image = await docker.images.inspect(docker_engine)
    finally:
        await docker.close()
    assert version["ApiVersion"] and version["Version"]
    assert image["Id"].startswith("sha256:") and docker_engine in image["RepoTags"]


async def test_a_missing_image_is_a_404_with_the_engines_message(docker_engine):
    docker = EngineClient(f"unix://{ENGINE}")
    try:
        with pytest.raises(EngineError) as raised:
            await docker.images.inspect("deck-no-such-image:never")
        assert raised.value.status == 404 and is_missing(raised.value)
        assert "no such image" in raised.value.message.lower()
        assert "deck-no-such-image:never" in raised.value.message
        # As users see it:
        with pytest.raises(TargetError, match=r"^looking: the Docker Engine said: (?i:no such image)"):
            async with engine_errors("looking", docker.url):
                await docker.images.inspect("deck-no-such-image:never")
    finally:
        await docker.close()


class CountingForward:
    """A Unix socket in front of the engine's that counts the connections it is given, and
    can drop them all (as an SSH forward does when its link goes)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.accepted = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, self.path)

    async def _serve(self, reader, writer) -> None:
        self.accepted += 1
        self._writers.append(writer)
        await relay_to_engine(reader, writer)

    def drop_all(self) -> None:
        for writer in self._writers:
            writer.close()

    async def stop(self) -> None:
        self.drop_all()
        if self._server is not None:
            self._server.close()


async def test_sequential_calls_share_one_connection_and_a_dropped_one_is_replaced(
        docker_engine, tmp_path):
    forward = CountingForward(str(tmp_path / "engine.sock"))
    await forward.start()
    docker = EngineClient(f"unix://{forward.path}")
    try:
        await docker.version()
        await docker.images.inspect(docker_engine)
        with pytest.raises(EngineError):  # an error answer leaves the connection usable
            await docker.images.inspect("deck-no-such-image:never")
        assert (await docker.images.list(filters={"reference": [docker_engine]}))
        assert forward.accepted == 1

        forward.drop_all()  # the idle connection dies, as when an SSH link drops
        assert (await docker.version())["ApiVersion"]
        assert forward.accepted == 2
    finally:
        await docker.close()
        await forward.stop()

