"""How a run's code reaches its container: through the engine's API, or from the host's store.

A delivery stages the code before the container is created (and says which folders of the
engine's host the container mounts: ``nativeSharedDirectory``, ``sharedVolumes``), then gives
deck's helpers, its runtime and the code to the container: as a tar the container unpacks
from its stdin (``stdin_files``, ``core/farside/boot.py``), or put in while it starts (``put``).

- ``ApiDelivery``: the snapshot is materialized on this machine and sent on the container's
  stdin when its image runs as root, else copied in through the engine's archive API (or, with
  ``sharedVolumes: true`` on a local engine, bind-mounted from the run's folder). Paths are
  this machine's when the engine is local.
- ``HostStoreDelivery``: the snapshot is synced into the remote host's mirror of the content
  store (only the blobs it lacks), then put into the container *on the host* by
  ``core/farside/put.py``, so code crosses the SSH link once, not once per run.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import gzip
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Protocol


from launchdeck.core import farside
from launchdeck.core.docker.engine import put_files
from launchdeck.core.errors import ConfigError, TargetError, TargetUnreachable
from launchdeck.core.targets.base import RunSpec
from launchdeck.core.targets.docker import archive as docker_archive

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.docker.client import EngineClient
    from launchdeck.core.remote.commands import CommandResult, SSHHost
    from launchdeck.core.remote.sync import SyncReport
    from launchdeck.core.targets.docker.engines import ForwardedEngine

#: Where ``nativeSharedDirectory``'s project folder is mounted in a run's container.
SHARE_MOUNT = "/azureml-share/"


@dataclass
class StagedCode:
    """A run's code ready to be put into its container."""

    #: A copy of the code on this machine, removed once it is in the container (or not needed).
    work: Path | None
    #: Bind mounts of the container (``HOST_PATH:CONTAINER_PATH``).
    binds: list[str]
    #: ``sharedVolumes``: rewrites the snapshot's files into the bind-mounted folder an earlier
    #: keeper of this run staged (see ``ApiDelivery.stage``); called only where no script ran.
    refill: Callable[[], None] | None = None
    #: Ends what the delivery got ready for ``put`` and that was not used (a launch that
    #: failed before it): called by ``discard``.
    abandon: Callable[[], None] | None = None

    async def refill_mounted(self) -> None:
        if self.refill is not None:
            await asyncio.to_thread(self.refill)

    def discard(self) -> None:
        if self.abandon is not None:
            self.abandon()
            self.abandon = None
        if self.work is not None:
            shutil.rmtree(self.work, ignore_errors=True)
            self.work = None


class CodeDelivery(Protocol):
    async def stage(self, spec: RunSpec, compute: "ComputeConfig") -> StagedCode:
        """The code of ``spec`` staged for the container, by ``compute``'s settings."""
        ...

    async def put(self, docker: "EngineClient", container_id: str, spec: RunSpec,
                  staged: StagedCode) -> None: ...

    def stdin_files(self, staged: StagedCode) -> IO[bytes] | None:
        """The tar ``put`` unpacks, for a container that takes it on its stdin instead (an
        image that runs as root: see ``core/farside/boot.py``); None: only ``put`` will do."""
        ...


def _share_folder(compute: "ComputeConfig", project_dir: Path, share: str, where: str) -> str:
    """``<share>/<project name>``; ``share`` must be absolute on the engine's host."""
    if not share.startswith("/"):
        raise ConfigError(f"nativeSharedDirectory must be an absolute path on {where}",
                          file=str(compute.path), field="nativeSharedDirectory")
    return f"{share.rstrip('/')}/{project_dir.name}"


class ApiDelivery:
    """Code materialized here and copied in through the engine's API."""

    def __init__(self, *, project_dir: Path, local_engine: bool) -> None:
        self.project_dir = project_dir
        self.local_engine = local_engine

    def _share_binds(self, compute: "ComputeConfig") -> list[str]:
        share = compute.native_shared_directory
        if not share:
            return []
        share_dir = os.path.expanduser(share) if self.local_engine else share
        folder = _share_folder(compute, self.project_dir, share_dir, "the engine's host")
        if self.local_engine:
            # Created as the user: the engine would create it owned by root.
            os.makedirs(folder, exist_ok=True)
        return [f"{folder}:{SHARE_MOUNT}"]

    async def stage(self, spec: RunSpec, compute: "ComputeConfig") -> StagedCode:
        root = spec.run_dir / "target"
        root.mkdir(parents=True, exist_ok=True)
        binds = self._share_binds(compute)
        if compute.shared_volumes and self.local_engine:
            work = root / "work"
            binds.append(f"{work}:/deck/work")
            if work.exists():
                # An earlier keeper of this run staged it, and the container it started may
                # have it mounted: a new folder in its place is not the one that container
                # sees (its mount keeps the removed one, and runs nothing there). The same
                # folder is made whole again, once it is known that no script ran in it.
                return StagedCode(None, binds, refill=functools.partial(
                    spec.store.restore, spec.snapshot, work, overwrite=True))
            await asyncio.to_thread(spec.store.materialize, spec.snapshot, work)
            return StagedCode(None, binds)
        # sharedVolumes with a remote engine: a local path means nothing there, so the code
        # is copied in as without it (nothing is said: launch must not write to the run's log,
        # whose offsets the keeper counts from here on).
        work = Path(tempfile.mkdtemp(prefix="work-", dir=root))
        shutil.rmtree(work)
        await asyncio.to_thread(spec.store.materialize, spec.snapshot, work)
        return StagedCode(work, binds)

    async def put(self, docker: "EngineClient", container_id: str, spec: RunSpec,
                  staged: StagedCode) -> None:
        with docker_archive.run_files(staged.work) as files:
            await put_files(docker, container_id, files)

    def stdin_files(self, staged: StagedCode) -> IO[bytes] | None:
        return docker_archive.run_files(staged.work)


class HostStoreDelivery:
    """Code synced into the remote host's store and put into the container there.

    Every exchange with the host happens before the container is created, while the target
    asks the engine about the image (``stage_early``): the sync, and the start of the host's
    put script, which builds the run's ``/deck`` tar and waits for the container's id. What
    is left between the create and the start is one line to that script and its archive PUT.
    """

    def __init__(self, *, project_dir: Path, engine: "ForwardedEngine") -> None:
        self.project_dir = project_dir
        self.engine = engine
        self._home: str | None = None
        self.last_sync: "SyncReport | None" = None  #: of the last stage (benchmarks, tests)
        self._early: dict[str, asyncio.Future[StagedCode]] = {}
        self._puts: dict[str, _HostPut] = {}

    def stage_early(self, spec: RunSpec, compute: "ComputeConfig") -> None:
        """Begin ``stage`` now; the next ``stage`` of this run takes what it made."""
        self.drop_early(spec.run_id)
        self._early[spec.run_id] = asyncio.ensure_future(self._stage(spec, compute))

    def drop_early(self, run_id: str) -> None:
        """Forget an early stage that no ``stage`` took (the launch failed before it)."""
        early = self._early.pop(run_id, None)
        if early is None:
            return
        if early.done():
            _discard_staged(early)
        else:
            early.cancel()
            # Staged meanwhile after all: its put script is ended (it reads no container id).
            early.add_done_callback(_discard_staged)

    async def stage(self, spec: RunSpec, compute: "ComputeConfig") -> StagedCode:
        """Sync the snapshot into the host's store; nothing of the code stays on this side."""
        early = self._early.pop(spec.run_id, None)
        return await early if early is not None else await self._stage(spec, compute)

    async def _stage(self, spec: RunSpec, compute: "ComputeConfig") -> StagedCode:
        from launchdeck.core.remote.sync import sync_snapshot

        host = await self.engine.host()
        await self.engine.connection()  # a host key problem names the target
        # The put script's start (a python3 on the host) and the share folder go on while
        # the snapshot is synced; the script waits to hear that the store holds it.
        binds = asyncio.ensure_future(self._share_binds(compute))
        starting = asyncio.ensure_future(_HostPut.start(host, spec.snapshot,
                                                        self.engine.socket))
        try:
            s = self.last_sync = await sync_snapshot(host, spec.store, spec.snapshot)
            shared = await binds
            put = await starting
        except BaseException:
            for task in (binds, starting):
                task.cancel()
            await asyncio.gather(binds, starting, return_exceptions=True)
            if not starting.cancelled() and starting.exception() is None:
                starting.result().abandon()
            raise
        put.stored()
        root = spec.run_dir / "target"
        root.mkdir(parents=True, exist_ok=True)
        (root / "sync.json").write_text(
            f'{{"bytes_sent": {s.bytes_sent}, "files_sent": {s.files_sent}, '
            f'"blobs_skipped": {s.blobs_skipped}}}\n')
        self._drop_put(spec.run_id)
        self._puts[spec.run_id] = put
        return StagedCode(None, shared, abandon=lambda: self._drop_put(spec.run_id, put))

    def _drop_put(self, run_id: str, put: "_HostPut | None" = None) -> None:
        """End the run's waiting put script (only ``put`` if given), unless ``put`` used it."""
        waiting = self._puts.get(run_id)
        if waiting is not None and (put is None or waiting is put):
            del self._puts[run_id]
            waiting.abandon()

    async def _share_binds(self, compute: "ComputeConfig") -> list[str]:
        """``nativeSharedDirectory`` on the host; ``~`` is the SSH user's home there, as
        Workbench's own ``~/.azureml/share/`` default meant."""
        share = compute.native_shared_directory
        if not share:
            return []
        host = await self.engine.host()
        if share == "~" or share.startswith("~/"):
            if self._home is None:
                result = await host.run(["sh", "-c", 'printf %s "$HOME"'], check=True)
                self._home = result.stdout.decode()
            share = self._home + share[1:]
        folder = _share_folder(compute, self.project_dir, share, "the host, or start with ~/")
        # Created as the SSH user: the engine would create it owned by root, in their home.
        made = await host.run(["mkdir", "-p", "--", folder])
        if made.exit_status != 0:
            raise TargetError(f"target {compute.name}: nativeSharedDirectory {folder} "
                              "cannot be created on the host: "
                              f"{made.stderr.decode(errors='replace').strip()}")
        return [f"{folder}:{SHARE_MOUNT}"]

    async def put(self, docker: "EngineClient", container_id: str, spec: RunSpec,
                  staged: StagedCode) -> None:
        host = await self.engine.host()
        name = self.engine.compute.name
        put = self._puts.pop(spec.run_id, None)
        if put is None:  # the one started by stage was used (a second put of this run)
            put = await _HostPut.start(host, spec.snapshot, self.engine.socket)
            put.stored()
        result = await put.into(container_id)
        if result.exit_status == 127:
            raise TargetError(f"target {name}: python3 is not installed on "
                              f"{host.endpoint.host}; it is needed to put a run's code into "
                              "its container there")
        if result.exit_status is None:
            raise TargetUnreachable(f"{host.endpoint.host}:{host.endpoint.port}: connection "
                                    f"lost while putting run {spec.run_id}'s code into its "
                                    "container")
        if result.exit_status != 0:
            err = result.stderr.decode(errors="replace").strip()[-2000:]
            raise TargetError(f"target {name}: putting run {spec.run_id}'s code "
                              f"into its container on {host.endpoint.host} failed: {err}")

    def stdin_files(self, staged: StagedCode) -> IO[bytes] | None:
        return None  # the code is in the host's store, not here: put.py puts it in there


def _discard_staged(staged: "asyncio.Future[StagedCode]") -> None:
    if not staged.cancelled() and staged.exception() is None:
        staged.result().discard()


#: ``python3 -c _BOOT STORE FINGERPRINT SOCKET``: runs the put script that follows on stdin
#: (``<length>\n<script>``), which then reads its two lines from the same stdin.
_BOOT = "import sys; s = sys.stdin.buffer; exec(s.read(int(s.readline())))"


@dataclass
class _HostPut:
    """``core/farside/put.py`` started on the host before the container exists: once told the
    snapshot is stored, it builds the tar from the host's store, then waits for the id."""

    proc: Any
    stack: contextlib.AsyncExitStack
    output: "asyncio.Future[tuple[bytes, bytes]]"

    @classmethod
    async def start(cls, host: "SSHHost", snapshot: str, socket: str) -> "_HostPut":
        from launchdeck.core.remote.sync import REMOTE_STORE

        stack = contextlib.AsyncExitStack()
        try:
            proc = await stack.enter_async_context(
                host.process(["python3", "-c", _BOOT, REMOTE_STORE, snapshot, socket]))
        except BaseException:  # canceled meanwhile (a launch that failed): nothing left open
            await stack.aclose()
            raise
        script = _put_script()
        proc.stdin.write(b"%d\n" % len(script) + script)
        output = asyncio.ensure_future(asyncio.gather(proc.stdout.read(), proc.stderr.read()))
        return cls(proc, stack, output)

    def stored(self) -> None:
        """Tell the script that the host's store holds the snapshot: it builds the tar."""
        from launchdeck.core.remote.commands import _write_errors

        with contextlib.suppress(*_write_errors()):  # it ended early: into() says why
            self.proc.stdin.write(b"stored\n")

    async def into(self, container_id: str) -> "CommandResult":
        """Tell the script the container; its exit status once the code is in."""
        from launchdeck.core.remote.commands import CommandResult, _write_errors

        try:
            with contextlib.suppress(*_write_errors()):  # it ended early: its status says why
                self.proc.stdin.write(container_id.encode() + b"\n")
                self.proc.stdin.write_eof()
                await self.proc.stdin.drain()
            stdout, stderr = await self.output
            await self.proc.wait_closed()
            return CommandResult(self.proc.exit_status, stdout, stderr)
        finally:
            await self.stack.aclose()

    def abandon(self) -> None:
        """End it unused: no id comes, so it exits without touching a container."""
        from launchdeck.core.remote.commands import _write_errors

        with contextlib.suppress(*_write_errors()):
            self.proc.stdin.write_eof()
        closing = asyncio.ensure_future(self.stack.aclose())
        closing.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.output.cancel()


@functools.lru_cache(maxsize=1)
def _put_script() -> bytes:
    """The host-side put script with the launcher, follower and runtime in it (a few KB)."""
    with docker_archive.run_files(None) as files:
        helpers = base64.b64encode(gzip.compress(files.read(), 9))
    return b'HELPERS = "' + helpers + b'"\n' + farside.script("put").encode()
