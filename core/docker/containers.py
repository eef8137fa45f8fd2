"""The Engine API's container and exec calls that deck makes (``EngineClient.containers``)."""

from __future__ import annotations

import contextlib
from typing import IO, AsyncIterator

from launchdeck.core.docker.attach import STDERR, STDOUT, AttachedStream, split_frames
from launchdeck.core.docker.session import EngineSession, path_of
from launchdeck.core.docker.wire import Response


class Containers:
    """The containers of one engine."""

    def __init__(self, session: EngineSession) -> None:
        self._session = session

    async def create(self, *, config: dict, name: str | None = None) -> "Container":
        """``POST /containers/create``; ``EngineError`` 409 if ``name`` is taken."""
        created = await self._session.call("POST", "/containers/create",
                                           params={"name": name}, json_body=config)
        return Container(self._session, created["Id"])

    async def get(self, name: str) -> "Container":
        """The container ``name`` (or id), inspected: its facts in ``Container.facts``."""
        facts = await self._session.call("GET", path_of("containers", name, "json"))
        return Container(self._session, facts["Id"], facts=facts)

    def container(self, container_id: str) -> "Container":
        """The container ``container_id``, without asking the engine anything."""
        return Container(self._session, container_id)


class Container:
    """One container; ``facts`` is its inspect when it was got by ``Containers.get``."""

    def __init__(self, session: EngineSession, container_id: str, *,
                 facts: dict | None = None) -> None:
        self._session = session
        self.id = container_id
        self.facts = facts or {}

    def _path(self, *more: str) -> str:
        return path_of("containers", self.id, *more)

    async def show(self) -> dict:
        """``GET /containers/{id}/json``: its configuration and ``State``."""
        return await self._session.call("GET", self._path("json"))

    async def start(self) -> None:
        await self._session.call("POST", self._path("start"))

    async def wait(self) -> dict:
        """Until it stops (however long): ``{"StatusCode": ...}``."""
        return await self._session.call("POST", self._path("wait"))

    async def stop(self, *, t: int) -> None:
        """SIGTERM, then SIGKILL after ``t`` seconds (an answer 304: it was not running)."""
        await self._session.call("POST", self._path("stop"), params={"t": t})

    async def delete(self, *, force: bool = False, v: bool = False) -> None:
        """Remove it (``force``: even running; ``v``: with its anonymous volumes)."""
        await self._session.call("DELETE", self._path(), params={"force": force, "v": v})

    async def logs(self, *, stdout: bool = True, stderr: bool = False) -> str:
        """What it wrote so far, as text (for the short probes deck runs: read whole)."""
        async with self._session.stream("GET", self._path("logs"),
                                        params={"stdout": stdout, "stderr": stderr}) as answer:
            body = await answer.read()
        wanted = {STDOUT} if stdout else set()
        wanted |= {STDERR} if stderr else set()
        return "".join(frame.data.decode("utf-8", errors="replace")
                       for frame in split_frames(body) if frame.stream in wanted)

    async def stats(self) -> dict:
        """One sample of its usage (``stream=0``, ``one-shot``: no second sample waited for)."""
        return await self._session.call("GET", self._path("stats"),
                                        params={"stream": False, "one-shot": True})

    async def attach(self, *, stdin: bool = False, stdout: bool = False,
                     stderr: bool = False) -> AttachedStream:
        """Attach to its streams (before its start too: what comes is not kept by the engine).

        ``detachKeys`` empty: deck's stdin carries binary data, which no key may cut.
        """
        return await self._session.hijack(self._path("attach"), params={
            "stream": True, "logs": False, "stdin": stdin, "stdout": stdout,
            "stderr": stderr, "detachKeys": ""})

    async def exec(self, cmd: list[str], *, stdin: bool = False, stdout: bool = True,
                   stderr: bool = True) -> "Exec":
        """Create (not start) a process in the running container, without a TTY."""
        created = await self._session.call("POST", self._path("exec"), json_body={
            "Cmd": cmd, "AttachStdin": stdin, "AttachStdout": stdout, "AttachStderr": stderr,
            "Tty": False})
        return Exec(self._session, created["Id"])

    @contextlib.asynccontextmanager
    async def archive(self, path: str) -> AsyncIterator[Response]:
        """``GET /containers/{id}/archive``: ``path`` as a tar, read as it comes."""
        async with self._session.stream("GET", self._path("archive"),
                                        params={"path": path}) as answer:
            yield answer

    async def put_archive(self, path: str, tar_file: IO[bytes]) -> None:
        """Unpack a tar (an open file, sent as it is read) into the container at ``path``."""
        await self._session.call("PUT", self._path("archive"), params={"path": path},
                                 body=tar_file, headers={"Content-Type": "application/x-tar"})


class Exec:
    """A process created in a container by ``Container.exec``."""

    def __init__(self, session: EngineSession, exec_id: str) -> None:
        self._session = session
        self.id = exec_id

    async def start(self) -> AttachedStream:
        """Start it, attached: its stdin, stdout and stderr (it runs from this call on)."""
        return await self._session.hijack(path_of("exec", self.id, "start"),
                                          json_body={"Detach": False, "Tty": False})

    async def inspect(self) -> dict:
        """``GET /exec/{id}/json``: ``Running``, ``ExitCode``."""
        return await self._session.call("GET", path_of("exec", self.id, "json"))
