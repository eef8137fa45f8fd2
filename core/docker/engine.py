"""One Docker Engine connection: where it is, error translation, file transfer.

Every aiodocker, aiohttp and OS exception raised while talking to an engine is turned into a
``core.errors`` error here (``engine_errors``), so the rest of deck sees only ``TargetError``
and its children. Archive transfers are streamed through temp files: a run's outputs or log can
be far larger than memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tarfile
import tempfile
from typing import IO, AsyncIterator

import aiodocker
import aiohttp
from aiodocker.exceptions import DockerError

from launchdeck.core.errors import TargetError, TargetUnreachable

DEFAULT_URL = "unix:///var/run/docker.sock"
START_HINT = ("start it (dockerd, or scripts/infra/docker.sh on a test machine) or set "
              "DOCKER_HOST to an engine that runs")


def engine_url(url: str | None = None) -> str:
    """The engine to talk to: an explicit URL, else ``DOCKER_HOST``, else the local socket."""
    return url or os.environ.get("DOCKER_HOST") or DEFAULT_URL


def is_local(url: str) -> bool:
    """Whether paths on this machine are paths on the engine's host (bind mounts work)."""
    return url.startswith("unix://") or url.startswith("npipe://")


def is_missing(exc: BaseException) -> bool:
    return isinstance(exc, DockerError) and exc.status == 404


@contextlib.asynccontextmanager
async def engine_errors(what: str, url: str) -> AsyncIterator[None]:
    """Translate third-party failures during ``what`` into deck's error tree."""
    try:
        yield
    except TargetError:
        raise
    except DockerError as exc:
        if exc.status == 900:  # aiodocker's code for "could not connect"
            raise TargetUnreachable(f"{what}: the Docker Engine at {url} does not answer "
                                    f"({exc.message}); {START_HINT}") from exc
        raise TargetError(f"{what}: the Docker Engine said: {exc.message}") from exc
    except (aiohttp.ClientConnectionError, ConnectionError, FileNotFoundError,
            asyncio.TimeoutError) as exc:
        detail = str(exc) or exc.__class__.__name__
        raise TargetUnreachable(f"{what}: the Docker Engine at {url} does not answer "
                                f"({detail}); {START_HINT}") from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise TargetError(f"{what}: talking to the Docker Engine at {url} failed: "
                          f"{exc.__class__.__name__}: {exc}") from exc


async def connect(url: str | None = None) -> aiodocker.Docker:
    """An aiodocker client for the engine (no request is made yet)."""
    url = engine_url(url)
    try:
        return aiodocker.Docker(url=url)
    except (ValueError, OSError) as exc:
        raise TargetUnreachable(f"cannot use the Docker Engine at {url}: {exc}; "
                                f"{START_HINT}") from exc


async def fetch_archive(docker: aiodocker.Docker, container_id: str, path: str,
                        into: IO[bytes]) -> bool:
    """Stream ``path`` of a container as a tar into ``into``; False if there is no such path.

    aiodocker's ``get_archive`` holds the whole tar in memory; this does not.
    """
    try:
        async with docker._query(  # noqa: SLF001 - the streaming form of get_archive
                f"containers/{container_id}/archive", method="GET",
                params={"path": path}, timeout=None) as response:
            async for chunk in response.content.iter_chunked(1 << 20):
                into.write(chunk)
    except DockerError as exc:
        if exc.status == 404 and "no such container" not in exc.message.lower():
            return False
        raise
    into.seek(0)
    return True


async def read_file(docker: aiodocker.Docker, container_id: str, path: str,
                    offset: int = 0) -> AsyncIterator[bytes]:
    """The bytes of one file in a container (running or stopped), from ``offset``."""
    with tempfile.TemporaryFile() as spool:
        if not await fetch_archive(docker, container_id, path, spool):
            return
        with tarfile.open(fileobj=spool, mode="r|") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                source = tar.extractfile(member)
                assert source is not None
                # Skipping means reading: a stream tar cannot seek.
                remaining = offset
                while remaining > 0:
                    skipped = source.read(min(remaining, 1 << 20))
                    if not skipped:
                        return
                    remaining -= len(skipped)
                while data := source.read(1 << 20):
                    yield data
                return


async def put_files(docker: aiodocker.Docker, container_id: str, tar_file: IO[bytes],
                    dest: str = "/") -> None:
    """Unpack a tar (an open file at position 0) into a container, created or running."""
    async with docker._query(  # noqa: SLF001 - aiodocker's put_archive forces a JSON type
            f"containers/{container_id}/archive", method="PUT", data=tar_file,
            headers={"content-type": "application/x-tar"}, params={"path": dest},
            timeout=None):
        pass
