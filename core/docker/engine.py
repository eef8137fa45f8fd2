"""One Docker Engine connection: where it is, error translation, file transfer.

Every ``EngineError`` (the engine's answer) and OS exception raised while talking to an engine
is turned into a ``core.errors`` error here (``engine_errors``), so the rest of deck sees only
``TargetError`` and its children. Archive transfers are streamed through temp files: a run's outputs or log can
be far larger than memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tarfile
import tempfile
from typing import IO, AsyncIterator

from launchdeck.core.docker.client import EngineClient
from launchdeck.core.docker.session import EngineError
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
    """Whether the engine said there is no such thing (container, image, path, exec)."""
    return isinstance(exc, EngineError) and exc.status == 404


@contextlib.asynccontextmanager
async def engine_errors(what: str, url: str) -> AsyncIterator[None]:
    """Translate third-party failures during ``what`` into deck's error tree."""
    try:
        yield
    except TargetError:
        raise
    except EngineError as exc:
        raise TargetError(f"{what}: the Docker Engine said: {exc.message}") from exc
    except (ConnectionError, FileNotFoundError, asyncio.TimeoutError,
            asyncio.IncompleteReadError) as exc:
        detail = str(exc) or exc.__class__.__name__
        raise TargetUnreachable(f"{what}: the Docker Engine at {url} does not answer "
                                f"({detail}); {START_HINT}") from exc
    except OSError as exc:
        raise TargetError(f"{what}: talking to the Docker Engine at {url} failed: "
                          f"{exc.__class__.__name__}: {exc}") from exc


async def connect(url: str | None = None) -> EngineClient:
    """A client for the engine (no request is made yet)."""
    url = engine_url(url)
    try:
        return EngineClient(url)
    except ValueError as exc:
        raise TargetUnreachable(f"cannot use the Docker Engine at {url}: {exc}; "
                                f"{START_HINT}") from exc


async def fetch_archive(docker: EngineClient, container_id: str, path: str,
                        into: IO[bytes]) -> bool:
    """Stream ``path`` of a container as a tar into ``into``; False if there is no such path.

    The tar is never held in memory: it goes to ``into`` as it arrives.
    """
    try:
        async with docker.containers.container(container_id).archive(path) as response:
            async for chunk in response.chunks():
                into.write(chunk)
    except EngineError as exc:
        if exc.status == 404 and "no such container" not in exc.message.lower():
            return False
        raise
    into.seek(0)
    return True


async def read_file(docker: EngineClient, container_id: str, path: str,
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


async def put_files(docker: EngineClient, container_id: str, tar_file: IO[bytes],
                    dest: str = "/") -> None:
    """Unpack a tar (an open file at position 0) into a container, created or running."""
    await docker.containers.container(container_id).put_archive(dest, tar_file)
