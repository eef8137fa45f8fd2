"""The remote Docker target: the Docker target, driven over SSH on a Linux host's engine.

Mapping: everything of ``DockerTarget`` (images by content-hash tag, one container per run,
launcher, offsets, cancel, outputs) through the host's Docker socket, forwarded over the one
shared SSH connection of this process (``core.remote``). What differs:

- code: the run's snapshot is synced into the host's mirror of the content store (only the
  blobs it lacks, and a manifest delta), then put into the container *from the host*
  (``core/farside/put.py``), so code crosses the link once, not once per run;
- link: a run outlives the SSH link. Its execution (``remotedocker_link``) waits for the host
  to come back, resumes every stream at its byte offset, and tells the run's events
  (``link_state``) when the link went down and when it is back;
- trust: host keys are checked against known_hosts; an unknown key is only accepted through
  ``accept_host_key(fingerprint)`` (``deck target check``), never by a run's keeper;
- passwords: a ``keyring:`` reference is read from the system keyring; otherwise the CLI asks
  on a terminal (``core.remote.connection.ask_passwords_on_terminal``: the pool's
  ``password_provider``), once per process, kept in memory only. A run's keeper has no
  terminal: use a key, the agent, or the keyring for runs.

One SSH connection per host *per process*: each run's keeper is its own process, so N runs
watched by N keepers hold N connections (each with its channels for log and metrics tails).
Everything one process does on a host (a prepare, the dashboard's checks, many runs driven
through one target object) shares one connection.

``Framework: PySpark`` runs as on the Docker target (spark-submit ``local[*]`` in the
container). What it cannot do: hosts without ``python3`` (the code is
put into containers by a host-side script); cleaning the host's store (it only grows); a run
whose host never comes back stays Running, and its cancel waits for the host.
"""

from __future__ import annotations

import base64
import functools
import gzip
from pathlib import Path

import aiodocker

from launchdeck.core import farside
from launchdeck.core.errors import ConfigError, TargetError, TargetUnreachable
from launchdeck.core.remote.forward import UnixSocketForward
from launchdeck.core.remote.hostkeys import fingerprint
from launchdeck.core.remote.sync import REMOTE_STORE, sync_snapshot
from launchdeck.core.targets.base import REMOTE_DEFAULT_RUNS, Capability, RunEvents, RunSpec
from launchdeck.core.targets.docker.target import SHARE_MOUNT, DockerTarget
from launchdeck.core.targets.docker.archive import run_files
from launchdeck.core.targets.docker.link import Link, RemoteDockerExecution

if False:  # typing only
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.remote.connection import SSHPool
    from launchdeck.core.remote.remotehost import RemoteHost

DOCKER_SOCKET = "/var/run/docker.sock"
_PUT = farside.source("put").encode()
_PROBE = r'''s=$1; [ -S "$s" ] || { echo missing; exit 0; }
[ -r "$s" ] && [ -w "$s" ] || { echo denied; exit 0; }
echo ok; df -Pk "$HOME" 2>/dev/null | tail -n 1'''


class RemoteDockerTarget(DockerTarget):
    """Runs scripts in containers on a remote host's Docker Engine, over SSH."""

    capabilities = frozenset({Capability.ENVIRONMENT_IMAGES, Capability.HOST_KEY})

    def __init__(self, compute: "ComputeConfig", *, project_dir: Path,
                 pool: "SSHPool | None" = None, docker_socket: str = DOCKER_SOCKET) -> None:
        user = f"{compute.username}@" if compute.username else ""
        port = f":{compute.explicit_port}" if compute.explicit_port else ""
        super().__init__(compute, project_dir=project_dir, local_engine=False,
                         url=f"ssh://{user}{compute.address}{port}{docker_socket}")
        self.docker_socket = docker_socket
        self._pool = pool
        self._host: "RemoteHost | None" = None
        self._forward: UnixSocketForward | None = None
        self._home: str | None = None
        self.link = Link(self.host, self.connection, name=self.name)
        self.last_sync = None  #: the SyncReport of the last launch (benchmarks, tests)

    @property
    def max_concurrent_runs(self) -> int:
        # Not this machine's core count (the Docker target's default): the runs go elsewhere.
        return self.compute.max_concurrent_runs or REMOTE_DEFAULT_RUNS

    # -- the link -----------------------------------------------------------------------------

    async def host(self) -> "RemoteHost":
        if self._host is None:
            from launchdeck.core.remote.targethost import host_of

            self._host = host_of(self.compute, self._pool)
        return self._host

    async def connection(self):
        """The shared SSH connection; host key trouble names this target's check command."""
        from launchdeck.core.remote.targethost import connect

        return await connect(await self.host(), self.name)

    async def accept_host_key(self, fp: str) -> None:
        """Trust the host's key if it has fingerprint ``fp`` (what the user confirmed)."""
        await (await self.host()).accept_host_key(fp)

    async def client(self) -> aiodocker.Docker:
        if self._docker is None:
            await self.connection()
            self._forward = UnixSocketForward(await self.host(), self.docker_socket)
            await self._forward.start()
            self._docker = aiodocker.Docker(url=f"unix://{self._forward.path}")
        return self._docker

    async def close(self) -> None:
        await super().close()
        if self._forward is not None:
            await self._forward.close()
            self._forward = None

    # -- facts --------------------------------------------------------------------------------

    async def check(self) -> dict[str, str]:
        conn = await self.connection()
        host = await self.host()
        key = conn.get_server_host_key()
        facts = {"ssh": str(host.endpoint),
                 "host_key": fingerprint(key) if key is not None else "unknown"}
        probe = await host.run(["sh", "-c", _PROBE, "sh", self.docker_socket])
        lines = probe.stdout.decode(errors="replace").splitlines()
        state = lines[0].strip() if lines else "missing"
        if state == "missing":
            raise TargetError(
                f"target {self.name}: no Docker Engine on {host.endpoint}: {self.docker_socket} "
                "does not exist there. Install Docker on the host (Debian/Ubuntu: apt-get "
                "install docker.io) and start it, then run `deck target check "
                f"{self.name}` again.")
        if state == "denied":
            raise TargetError(
                f"target {self.name}: {host.endpoint.user} may not use the Docker Engine on "
                f"{host.endpoint.host} ({self.docker_socket} is not read/writable for that "
                f"user). On the host: sudo usermod -aG docker {host.endpoint.user}, then try "
                "again.")
        if len(lines) > 1 and len(lines[1].split()) >= 4:
            facts["free_disk_home"] = _gib(lines[1].split()[3])
        try:
            facts.update(await super().check())
        except TargetUnreachable as exc:
            raise TargetUnreachable(f"target {self.name}: the Docker Engine behind "
                                    f"{self.docker_socket} on {host.endpoint} does not answer "
                                    f"({exc})") from None
        docker = await self.client()
        info = await docker.system.info()
        root = str(info.get("DockerRootDir") or "/var/lib/docker")
        df = await host.run(["df", "-Pk", root])
        fields = df.stdout.decode(errors="replace").splitlines()[-1:]
        if df.exit_status == 0 and fields and len(fields[0].split()) >= 4:
            facts["free_disk_docker"] = _gib(fields[0].split()[3])
        return facts

    # -- runs ---------------------------------------------------------------------------------

    async def _code(self, spec: RunSpec) -> tuple[Path | None, list[str]]:
        """Sync the snapshot into the host's store; nothing of the code stays on this side."""
        host = await self.host()
        await self.connection()
        self.last_sync = await sync_snapshot(host, spec.store, spec.snapshot)
        root = spec.run_dir / "target"
        root.mkdir(parents=True, exist_ok=True)
        s = self.last_sync
        (root / "sync.json").write_text(
            f'{{"bytes_sent": {s.bytes_sent}, "files_sent": {s.files_sent}, '
            f'"blobs_skipped": {s.blobs_skipped}}}\n')
        return None, await self._remote_share_binds()

    async def _remote_share_binds(self) -> list[str]:
        """``nativeSharedDirectory`` on the host; ``~`` is the SSH user's home there, as
        Workbench's own ``~/.azureml/share/`` default meant."""
        share = self.compute.native_shared_directory
        if not share:
            return []
        if share == "~" or share.startswith("~/"):
            if self._home is None:
                result = await (await self.host()).run(["sh", "-c", 'printf %s "$HOME"'],
                                                       check=True)
                self._home = result.stdout.decode()
            share = self._home + share[1:]
        if not share.startswith("/"):
            raise ConfigError("nativeSharedDirectory must be an absolute path on the host, or "
                              "start with ~/", file=str(self.compute.path),
                              field="nativeSharedDirectory")
        folder = f"{share.rstrip('/')}/{self.project_dir.name}"
        # Created as the SSH user: the engine would create it owned by root, in their home.
        made = await (await self.host()).run(["mkdir", "-p", "--", folder])
        if made.exit_status != 0:
            raise TargetError(f"target {self.name}: nativeSharedDirectory {folder} cannot be "
                              f"created on the host: "
                              f"{made.stderr.decode(errors='replace').strip()}")
        return [f"{folder}:{SHARE_MOUNT}"]

    async def _deliver(self, docker: aiodocker.Docker, container_id: str, spec: RunSpec,
                       work: Path | None) -> None:
        host = await self.host()
        result = await host.run(["python3", "-", REMOTE_STORE, spec.snapshot, container_id,
                                 self.docker_socket], input=_put_script())
        if result.exit_status == 127:
            raise TargetError(f"target {self.name}: python3 is not installed on "
                              f"{host.endpoint.host}; it is needed to put a run's code into "
                              "its container there")
        if result.exit_status != 0:
            err = result.stderr.decode(errors="replace").strip()[-2000:]
            raise TargetError(f"target {self.name}: putting run {spec.run_id}'s code into its "
                              f"container on {host.endpoint.host} failed: {err}")

    def _execution(self, spec: RunSpec, container_id: str, python: str) -> RemoteDockerExecution:
        return RemoteDockerExecution(super()._execution(spec, container_id, python), self.link)

    async def launch(self, spec: RunSpec, events: RunEvents) -> RemoteDockerExecution:
        # Safe to repeat: the container is named after the run, and a second launch attaches
        # to the one the first started (DockerTarget._create).
        self.link.events = events
        while True:
            try:
                execution = await super().launch(spec, events)
            except TargetUnreachable:
                await self.link.wait_until_back()
                continue
            self.link.up()
            return execution

    async def attach(self, spec: RunSpec, external_id: str,
                     events: RunEvents) -> RemoteDockerExecution:
        # A keeper revived while the host is away waits for it rather than failing the run.
        self.link.events = events

        async def attach_once():
            return await DockerTarget.attach(self, spec, external_id, events)
        return await self.link.call(attach_once)


@functools.lru_cache(maxsize=1)
def _put_script() -> bytes:
    """The host-side put script with the launcher, follower and runtime in it (a few KB)."""
    with run_files(None) as files:
        helpers = base64.b64encode(gzip.compress(files.read(), 9))
    return b'HELPERS = "' + helpers + b'"\n' + _PUT


def _gib(kib: str) -> str:
    try:
        return f"{int(kib) / (1 << 20):.1f} GiB"
    except ValueError:
        return kib
