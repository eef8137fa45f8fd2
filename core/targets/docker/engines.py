"""How a Docker target reaches its engine: on this machine, or a host's socket over SSH.

An engine connection gives the target an engine client (``core.docker.client``) and says what the target cannot see
from the client alone: whether this machine's paths are the engine host's (bind mounts), how
many runs it takes by default, and the facts and failures of ``check`` that belong to the way
it is reached (an SSH host key, a socket the SSH user may not open, the engine host's disks).
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING, Awaitable, Callable, Protocol

from launchdeck.core.docker.client import EngineClient
from launchdeck.core.docker.engine import connect, engine_url, is_local
from launchdeck.core.errors import TargetError, TargetUnreachable
from launchdeck.core.targets.base import REMOTE_DEFAULT_RUNS

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.remote.connection import SSHPool
    from launchdeck.core.remote.broker.client import LinkedForward, LinkedHost, LinkPool
    from launchdeck.core.remote.forward import UnixSocketForward
    from launchdeck.core.remote.commands import SSHHost

#: The engine's socket on a remote host.
DOCKER_SOCKET = "/var/run/docker.sock"
#: ``sh -c _PROBE sh SOCKET``: whether the SSH user may use the socket, and the home's free KiB.
_PROBE = r'''s=$1; [ -S "$s" ] || { echo missing; exit 0; }
[ -r "$s" ] && [ -w "$s" ] || { echo denied; exit 0; }
echo ok; df -Pk "$HOME" 2>/dev/null | tail -n 1'''

#: What ``check`` asks the engine itself (versions, base image), given by the target.
EngineFacts = Callable[[], Awaitable[dict[str, str]]]


class EngineConnection(Protocol):
    url: str
    #: Whether paths on this machine are paths on the engine's host (bind mounts work).
    local: bool

    @property
    def default_runs(self) -> int:
        """How many runs at once when the ``.compute`` file does not say."""
        ...

    async def client(self) -> EngineClient: ...

    async def check(self, target: str, engine_facts: EngineFacts) -> dict[str, str]:
        """``engine_facts()`` and what the way the engine is reached adds to them."""
        ...

    async def close(self) -> None: ...


class _ClientAndForward:
    """The client an engine connection made, and the SSH forward of a socket it uses (if any):
    closed together, the client first."""

    _docker: EngineClient | None = None
    _forward: "UnixSocketForward | LinkedForward | None" = None

    async def close(self) -> None:
        if self._docker is not None:
            await self._docker.close()
            self._docker = None
        if self._forward is not None:
            await self._forward.close()
            self._forward = None


class LocalEngine(_ClientAndForward):
    """The engine at a URL, ``DOCKER_HOST``, or the local socket.

    ``ssh://[USER@]HOST[:PORT][/SOCKET]`` (the docker CLI's form, which aiodocker took too) is
    the host's socket (default ``/var/run/docker.sock``) forwarded over deck's shared SSH
    connection to it, with ``~/.ssh/config`` and known_hosts as for SSH targets.
    """

    def __init__(self, url: str | None = None, *, local: bool | None = None) -> None:
        self.url = engine_url(url)
        self.local = is_local(self.url) if local is None else local
        self._docker: EngineClient | None = None
        self._forward: "UnixSocketForward | LinkedForward | None" = None
        self._opening = asyncio.Lock()

    @property
    def default_runs(self) -> int:
        return os.cpu_count() or 1

    async def client(self) -> EngineClient:
        async with self._opening:  # callers at once share one forward
            if self._docker is None:
                self._docker = await (self._over_ssh() if self.url.startswith("ssh://")
                                      else connect(self.url))
        return self._docker

    async def _over_ssh(self) -> EngineClient:
        from urllib.parse import urlsplit

        from launchdeck.core.remote.pools import target_pool

        parts = urlsplit(self.url)
        if not parts.hostname:
            raise TargetUnreachable(f"cannot use the Docker Engine at {self.url}: no host in it")
        host = target_pool().host(parts.hostname, port=parts.port, user=parts.username)
        self._forward = await host.open_forward(parts.path.rstrip("/") or DOCKER_SOCKET)
        return EngineClient(f"unix://{self._forward.path}")

    async def check(self, target: str, engine_facts: EngineFacts) -> dict[str, str]:
        return await engine_facts()


class ForwardedEngine(_ClientAndForward):
    """A remote host's engine socket, forwarded over the host's shared SSH connection."""

    local = False

    def __init__(self, compute: "ComputeConfig", *, pool: "SSHPool | LinkPool | None" = None,
                 socket: str = DOCKER_SOCKET) -> None:
        user = f"{compute.username}@" if compute.username else ""
        port = f":{compute.explicit_port}" if compute.explicit_port else ""
        self.url = f"ssh://{user}{compute.address}{port}{socket}"
        self.socket = socket
        self.compute = compute
        self._pool = pool
        self._host: "SSHHost | None" = None
        self._forward: "UnixSocketForward | LinkedForward | None" = None
        self._docker: EngineClient | None = None

    @property
    def default_runs(self) -> int:
        # Not this machine's core count: the runs go elsewhere.
        return REMOTE_DEFAULT_RUNS

    async def host(self) -> "SSHHost":
        if self._host is None:
            from launchdeck.core.remote.targethost import host_of

            self._host = host_of(self.compute, self._pool)
        return self._host

    async def connection(self):
        """The shared SSH connection; host key trouble names the target's check command."""
        from launchdeck.core.remote.targethost import connect as connect_host

        return await connect_host(await self.host(), self.compute.name)

    async def client(self) -> EngineClient:
        if self._docker is None:
            host = await self.host()
            # Both at once: the forward needs the connection only for its first client.
            results = await asyncio.gather(self.connection(), host.open_forward(self.socket),
                                           return_exceptions=True)
            connected, forward = results
            if isinstance(forward, BaseException):
                raise forward
            if isinstance(connected, BaseException):
                await forward.close()
                raise connected
            if self._docker is None:
                self._forward = forward
                self._docker = EngineClient(f"unix://{forward.path}")
            elif forward is not self._forward:  # another caller got there meanwhile
                await forward.close()
        return self._docker

    async def check(self, target: str, engine_facts: EngineFacts) -> dict[str, str]:
        await self.connection()
        host = await self.host()
        facts = {"ssh": str(host.endpoint), "host_key": await host.host_key_fingerprint()}
        probe = await host.run(["sh", "-c", _PROBE, "sh", self.socket])
        lines = probe.stdout.decode(errors="replace").splitlines()
        state = lines[0].strip() if lines else "missing"
        if state == "missing":
            raise TargetError(
                f"target {target}: no Docker Engine on {host.endpoint}: {self.socket} "
                "does not exist there. Install Docker on the host (Debian/Ubuntu: apt-get "
                "install docker.io) and start it, then run `deck target check "
                f"{target}` again.")
        if state == "denied":
            raise TargetError(
                f"target {target}: {host.endpoint.user} may not use the Docker Engine on "
                f"{host.endpoint.host} ({self.socket} is not read/writable for that "
                f"user). On the host: sudo usermod -aG docker {host.endpoint.user}, then try "
                "again.")
        if len(lines) > 1 and len(lines[1].split()) >= 4:
            facts["free_disk_home"] = _gib(lines[1].split()[3])
        try:
            facts.update(await engine_facts())
        except TargetUnreachable as exc:
            raise TargetUnreachable(f"target {target}: the Docker Engine behind "
                                    f"{self.socket} on {host.endpoint} does not answer "
                                    f"({exc})") from None
        info = await (await self.client()).info()
        root = str(info.get("DockerRootDir") or "/var/lib/docker")
        df = await host.run(["df", "-Pk", root])
        fields = df.stdout.decode(errors="replace").splitlines()[-1:]
        if df.exit_status == 0 and fields and len(fields[0].split()) >= 4:
            facts["free_disk_docker"] = _gib(fields[0].split()[3])
        return facts


def _gib(kib: str) -> str:
    try:
        return f"{int(kib) / (1 << 20):.1f} GiB"
    except ValueError:
        return kib
