"""Container calls on a real engine: a large archive streamed, not held; logs split by stream."""

from __future__ import annotations

import hashlib
import tarfile
import tempfile
import tracemalloc

import pytest

from launchdeck.core.docker.client import EngineClient
from launchdeck.core.docker.engine import fetch_archive
from launchdeck.core.docker.wire import CHUNK

pytestmark = pytest.mark.docker

SIZE = 48 << 20


@pytest.fixture
async def docker():
    client = EngineClient("unix:///var/run/docker.sock")
    yield client
    await client.close()


async def _ran(docker: EngineClient, image: str, script: str):
    container = await docker.containers.create(config={
        "Image": image, "Entrypoint": [], "Cmd": ["/bin/sh", "-c", script],
        "Labels": {"launchdeck.test": "1"}})
    await container.start()
    assert (await container.wait())["StatusCode"] == 0
    return container


async def test_a_large_archive_arrives_chunked_and_is_never_all_in_memory(docker,
                                                                        docker_engine):
    container = await _ran(docker, docker_engine,
                           f"head -c {SIZE} /dev/urandom > /big && sha256sum /big")
    try:
        expected = (await container.logs(stdout=True)).split()[0]
        async with container.archive("/big") as answer:
            assert answer.headers.get("transfer-encoding") == "chunked"
            pieces = 0
            async for data in answer.chunks():
                assert len(data) <= CHUNK
                pieces += 1
                if pieces == 3:
                    break  # left early: the connection is not kept for another request
        assert pieces == 3

        with tempfile.TemporaryFile() as spool:
            tracemalloc.start()
            try:
                assert await fetch_archive(docker, container.id, "/big", spool)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert peak < SIZE // 4, peak
            with tarfile.open(fileobj=spool, mode="r|") as tar:
                member = tar.next()
                assert member is not None and member.size == SIZE
                source = tar.extractfile(member)
                assert source is not None
                digest = hashlib.sha256()
                while block := source.read(1 << 20):
                    digest.update(block)
        assert digest.hexdigest() == expected
        assert (await docker.version())["ApiVersion"]  # the client goes on after both
    finally:
        await container.delete(force=True)


async def test_logs_keep_stdout_and_stderr_apart(docker, docker_engine):
    container = await _ran(docker, docker_engine, "echo out; echo err >&2; echo out2")
    try:
        assert await container.logs(stdout=True) == "out\nout2\n"
        assert await container.logs(stdout=False, stderr=True) == "err\n"
    finally:
        await container.delete(force=True)
