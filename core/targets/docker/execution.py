"""One run in a Docker container, read and steered through the engine's API alone.

Everything goes through the API (no bind mount is needed), so the same code drives a remote
engine over a forwarded socket:

- output: the launcher (``core/farside/launch.py``) writes the script's stdout and stderr to
  ``/deck/output.log`` inside the container. ``logs(offset)`` runs ``core/farside/follow.py``
  there (``python -c``: it needs no file of the run's) with ``docker exec`` from that byte
  offset while the container runs, and reads the rest with the archive API once it has
  stopped, so a keeper that died resumes at the offset history recorded: no line lost, none
  repeated. Metrics work the same on ``/deck/metrics.jsonl``. A launch reads the output from
  byte 0 on the container's stdout instead, attached before the start as ``docker run`` does:
  the launcher's mirror copies the file there (``attach_mirror``), so no ``docker exec`` (a
  process started in the container, a second Python) stands between the start and the first
  line.
- exit: ``/deck/exit.json`` (written by the launcher) holds the script's exit code, and the
  signal if the container was stopped while it ran. ``cancel()`` first drops a
  ``/deck/canceled`` marker, so any later keeper can tell deck's own stop from a stranger's.
- outputs: the archive API copies ``/deck/work/outputs`` out, safely (``archive``).
- variables: the runconfig's environment reaches the launcher on the container's stdin,
  attached before its start (``attached_stdin``), or through ``docker exec`` stdin for a
  container a dead keeper started (``deliver_environment``); never through the container's
  configuration or a command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO, AsyncIterator, Awaitable, Callable, TypeVar

from launchdeck.core import farside
from launchdeck.core.docker.attach import AttachedStream
from launchdeck.core.docker.client import EngineClient
from launchdeck.core.docker.containers import Exec
from launchdeck.core.docker.engine import (engine_errors, fetch_archive, is_missing, put_files,
                                           read_file)
from launchdeck.core.docker.session import EngineError
from launchdeck.core.errors import ExecutionLost, TargetError, TargetUnreachable
from launchdeck.core.farside.follow import END, MAGIC
from launchdeck.core.targets.docker import archive as docker_archive

OUTPUT = "/deck/output.log"
METRICS = "/deck/metrics.jsonl"
EXIT = "/deck/exit.json"
CANCELED = "/deck/canceled"
LAUNCH = "/deck/bin/launch.py"
#: Written by the launcher once it took the run's variables: the script starts after it.
ENV_TAKEN = "/deck/env-taken"
#: A tmpfs in each run's container where the launcher picks up the run's variables (a 0600
#: file, deleted once read); sticky and world-writable because the image's user may not be root.
SECRETS = "/deck/secrets"
SECRETS_TMPFS = "rw,noexec,nosuid,nodev,size=16m,mode=1777"
#: How long a run waits for an engine that went away (a restart takes a few seconds).
ENGINE_PATIENCE = 30.0

T = TypeVar("T")


class DockerExecution:
    """A run's container; ``external_id`` is the container id."""

    def __init__(self, docker: EngineClient, container_id: str, *, url: str,
                 python: str, run_id: str, local_work: Path | None = None) -> None:
        self.external_id = container_id
        self._docker = docker
        self._url = url
        self._python = python
        self._run_id = run_id
        self._container = docker.containers.container(container_id)
        self._local_work = local_work  # the bind-mounted code of sharedVolumes, if any
        #: Streams opened ahead of the first ``logs``/``metrics`` from an offset, with their
        #: exec; no exec: the container's own stdout, the launcher's mirror (``attach_mirror``).
        self._started: dict[tuple[str, int], tuple[Exec | None, AttachedStream]] = {}
        #: Seconds to wait out an engine that does not answer; the remote target sets 0 and
        #: waits for its SSH link itself, reporting it to the keeper meanwhile.
        self.patience = ENGINE_PATIENCE

    @property
    def _short(self) -> str:
        return self.external_id[:12]

    def _gone(self) -> ExecutionLost:
        return ExecutionLost(
            f"run {self._run_id}: its container {self._short} no longer exists (removed by hand, "
            "or the engine lost it); output after the last copy and its outputs/ are gone")

    async def _patiently(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """Run an API call, waiting out an engine restart (up to ``patience`` seconds)."""
        deadline = time.monotonic() + self.patience
        while True:
            try:
                async with engine_errors(what, self._url):
                    return await call()
            except TargetUnreachable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1.0)

    async def _state(self) -> dict | None:
        """The container's State, or None when it is gone."""
        async def show():
            try:
                return (await self._container.show())["State"]
            except EngineError as exc:
                if is_missing(exc):
                    return None
                raise
        return await self._patiently(f"inspecting container {self._short}", show)

    # -- streams ------------------------------------------------------------------------------

    def logs(self, from_offset: int = 0) -> AsyncIterator[bytes]:
        return self._follow(OUTPUT, from_offset)

    def metrics(self, from_offset: int = 0) -> AsyncIterator[bytes]:
        return self._follow(METRICS, from_offset)

    async def _follow(self, path: str, offset: int) -> AsyncIterator[bytes]:
        while True:
            # A follower started ahead is known to have started while the run ran (and an
            # inspect now would wait for the engine's lock, held while the follower starts).
            state = {"Running": True} if (path, offset) in self._started else \
                await self._state()
            if state is None:
                return  # wait() reports the loss; there is nothing more to read
            if state.get("Running"):
                done = False
                async for chunk in self._exec_follow(path, offset):
                    if chunk is None:
                        done = True
                    else:
                        offset += len(chunk)
                        yield chunk
                if done:
                    return
                await asyncio.sleep(0.05)  # cut off: let the engine settle before looking again
                continue  # the follower was cut off: look again (stopped -> archive below)
            async with engine_errors(f"reading {path} of container {self._short}", self._url):
                try:
                    async for chunk in read_file(self._docker, self.external_id, path, offset):
                        yield chunk
                except EngineError as exc:
                    if not is_missing(exc):
                        raise
            return

    async def attach_mirror(self) -> None:
        """Attach to the stdout and stderr of the created container, before its start: the
        launcher's mirror of the output (``launch.py --mirror``) from byte 0, for the first
        ``logs(0)`` to take over; the engine keeps nothing of it, so no byte may come first."""
        stream = await self._container.attach(stdout=True, stderr=True)
        self._started[(OUTPUT, 0)] = (None, stream)

    async def _open_follower(self, path: str, offset: int) -> tuple[Exec, AttachedStream]:
        # The follower's source on its command line: it runs before the run's files are in.
        exe = await self._container.exec(
            [self._python, "-I", "-S", "-c", _follower_source(), path, str(offset), EXIT],
            stdout=True, stderr=True)
        return exe, await exe.start()  # the follower runs from here on

    async def _exec_follow(self, path: str, offset: int) -> AsyncIterator[bytes | None]:
        """Bytes from the in-container follower; a final None if it ended because the run did."""
        async with engine_errors(f"following {path} in container {self._short}", self._url):
            started = self._started.pop((path, offset), None)
            try:
                exe, stream = started or await self._open_follower(path, offset)
            except EngineError as exc:
                if _stopped_meanwhile(exc):
                    return
                raise
            head = said = b""  # said: the end of the mirror's stderr
            try:
                while (message := await stream.read_out()) is not None:
                    if message.stream == 2 and exe is None:
                        said = (said + message.data)[-len(END):]
                    if message.stream != 1 or not message.data:
                        continue
                    data = message.data
                    if len(head) < len(MAGIC):
                        need = len(MAGIC) - len(head)
                        head, data = head + data[:need], data[need:]
                        if not MAGIC.startswith(head):
                            return  # the engine's error text, not the follower: cut off
                    if data:
                        yield data
            except EngineError as exc:
                if not _stopped_meanwhile(exc):
                    raise
                return
            finally:
                await stream.close()
            if exe is None:  # the mirror says so on stderr
                finished = said == END
            else:
                try:
                    finished = (await exe.inspect()).get("ExitCode") == 0
                except EngineError:
                    finished = False
        if finished:
            yield None

    # -- life ---------------------------------------------------------------------------------

    async def wait(self) -> int:
        # A stream attached ahead that no reader took would never be read: the engine would
        # hold the container's exit until it is (a run's reader takes it first; a later
        # logs() reads the file instead).
        await self.close_streams()

        async def wait_once():
            try:
                return await self._container.wait()
            except EngineError as exc:
                if is_missing(exc):
                    return None
                raise
        result = await self._patiently(f"waiting for container {self._short}", wait_once)
        if result is None:
            raise self._gone()
        state = await self._state()
        if state is None:
            raise self._gone()
        record = await self._read_json(EXIT)
        canceled = await self._exists(CANCELED)
        if record is None:
            if canceled:
                return int(state.get("ExitCode") or 137)
            why = "out of memory" if state.get("OOMKilled") else \
                "docker kill, or the engine stopped"
            raise ExecutionLost(
                f"run {self._run_id}: container {self._short} stopped before its script ended "
                f"and left no exit code ({why}); container exit code {state.get('ExitCode')}")
        code = int(record["code"])
        if record.get("signal") and not canceled:
            raise ExecutionLost(
                f"run {self._run_id}: container {self._short} was stopped from outside deck "
                f"(docker stop, or the engine restarted) while its script ran; the script "
                f"ended with exit code {code}")
        return code

    async def cancel(self, *, grace_seconds: float = 10.0) -> None:
        state = await self._state()
        if state is None or not state.get("Running"):
            return
        async with engine_errors(f"stopping container {self._short}", self._url):
            try:
                with docker_archive.one_file(CANCELED.lstrip("/"), b"deck cancel\n") as marker:
                    await put_files(self._docker, self.external_id, marker)
                # SIGTERM to the launcher (which passes it to the script's process group), then
                # SIGKILL from the engine once the grace period is over.
                await self._container.stop(t=max(0, math.ceil(grace_seconds)))
            except EngineError as exc:
                if exc.status not in (404, 409):  # already stopped or gone
                    raise

    async def collect_outputs(self, dest: Path) -> list[str]:
        """Copy ``outputs/`` into ``dest``; return what was left out, and why."""
        with tempfile.TemporaryFile() as spool:
            async with engine_errors(f"copying outputs/ of container {self._short}", self._url):
                try:
                    found = await fetch_archive(self._docker, self.external_id,
                                                "/deck/work/outputs", spool)
                except EngineError as exc:
                    if is_missing(exc):
                        raise self._gone() from None
                    raise
            if not found:
                return []
            skipped = await asyncio.to_thread(docker_archive.extract_outputs, spool, dest)
        record = await self._read_json(EXIT) or {}
        return skipped + [f"{path}: socket, not a regular file"
                          for path in record.get("sockets") or ()]

    async def close_streams(self) -> None:
        """Close the followers started ahead that no reader took over."""
        for _exe, stream in self._started.values():
            await stream.close()
        self._started.clear()

    async def release(self) -> None:
        await self.close_streams()
        async with engine_errors(f"removing container {self._short}", self._url):
            try:
                await self._container.delete(force=True, v=True)
            except EngineError as exc:
                if not is_missing(exc):
                    raise
        if self._local_work is not None:
            # The code can be restored from the content store; only outputs are kept.
            await asyncio.to_thread(shutil.rmtree, self._local_work, True)

    # -- small files ----------------------------------------------------------------------------

    async def _read_json(self, path: str) -> dict | None:
        data = b""
        async with engine_errors(f"reading {path} of container {self._short}", self._url):
            try:
                async for chunk in read_file(self._docker, self.external_id, path):
                    data += chunk
            except EngineError as exc:
                if is_missing(exc):
                    return None
                raise
        try:
            return json.loads(data) if data else None
        except ValueError:
            return None

    async def _exists(self, path: str) -> bool:
        async with engine_errors(f"reading {path} of container {self._short}", self._url):
            try:
                return await has_file(self._docker, self.external_id, path)
            except EngineError as exc:
                if is_missing(exc):
                    return False
                raise


@contextlib.asynccontextmanager
async def attached_stdin(docker: EngineClient,
                         container_id: str) -> AsyncIterator[AttachedStream]:
    """The stdin of a created container (``OpenStdin``, ``StdinOnce``), attached before its
    start as ``docker run -i`` does; closing it closes the launcher's stdin.

    Its first bytes reach the launcher as soon as it runs: no ``docker exec`` (a process
    started in the container, a second Python) stands between the start and the script.
    """
    stream = await docker.containers.container(container_id).attach(stdin=True)
    async with stream:  # attached now: the engine keeps what is written until it is read
        yield stream


async def send_files(stdin: AttachedStream, files: IO[bytes] | None) -> None:
    """The run's ``/deck`` tar (see ``core/farside/boot.py``) on its attached stdin; None:
    the files are in (put through the engine), say so."""
    if files is None:
        await stdin.write_in(b"0\n")
        return
    files.seek(0, 2)
    await stdin.write_in(b"%d\n" % files.tell())
    files.seek(0)
    while chunk := files.read(1 << 20):
        await stdin.write_in(chunk)


async def has_file(docker: EngineClient, container_id: str, path: str) -> bool:
    """Whether ``path`` exists in a container (a missing container raises)."""
    with tempfile.TemporaryFile() as spool:
        return await fetch_archive(docker, container_id, path, spool)


async def deliver_environment(docker: EngineClient, container_id: str, python: str,
                              variables: dict[str, str], *,
                              stdin: AttachedStream | None = None) -> None:
    """Hand a started container's launcher the run's variables: on its attached ``stdin``
    (a launch), else over ``docker exec`` stdin (a container a dead keeper left waiting).

    Neither the exec's command line nor any configuration holds a value: only the stream does.
    """
    payload = json.dumps(variables).encode("utf-8")
    if stdin is not None:
        await stdin.write_in(b"%d\n" % len(payload) + payload)
        return
    exe = await docker.containers.container(container_id).exec(
        [python, "-I", "-S", LAUNCH, "--deliver"], stdin=True, stdout=True, stderr=True)
    stream = await exe.start()
    errors = b""
    try:
        await stream.write_in(b"%d\n" % len(payload) + payload)
        while (message := await stream.read_out()) is not None:
            errors += message.data
    finally:
        await stream.close()
    code = (await exe.inspect()).get("ExitCode")
    if code != 0:
        raise TargetError(f"container {container_id[:12]}: the run's environment variables "
                          f"could not be handed to it (exit code {code}): "
                          f"{errors.decode(errors='replace').strip()[-500:]}")


@functools.lru_cache(maxsize=1)
def _follower_source() -> str:
    return farside.source("follow")


def _stopped_meanwhile(exc: EngineError) -> bool:
    """An exec refused because the container stopped or vanished since it was inspected."""
    return exc.status in (404, 409) or "is not running" in exc.message
