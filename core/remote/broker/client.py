"""A deck process's side of the link process: hosts that look like ``RemoteHost`` but whose
commands and forwards go through this machine's one link to the host.

``LinkPool.host()`` gives a ``LinkedHost`` with the methods targets use (``connection``,
``accept_host_key``, ``process``, ``run``, ``open_forward``, ``host_key_fingerprint``,
``is_connected``). Each call is one short Unix connection to the link (``wire``). When no link
answers, ``start_link`` starts one under a lock (a stale socket of a dead link is replaced), so
however many processes race, one link serves the host. Nothing here imports asyncssh.

Errors come back as the link raised them (``HostKeyError`` with its fingerprint, ``TargetError``,
``TargetUnreachable``...). A link that dies mid-command is a lost connection
(``TargetUnreachable``, or a missing exit status): runs wait for it as for any lost link and the
next call starts a new one. A password (from the keyring, or asked on a terminal when the link
says keys were refused) is handed to the link with the request and kept in memory only.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import inspect
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable

from launchdeck.core import errors
from launchdeck.core.errors import TargetError, TargetUnreachable
from launchdeck.core.remote.broker import wire
from launchdeck.core.remote.broker.rundir import LinkSpec, runtime_dir, socket_path
from launchdeck.core.remote.broker.starter import answers, prestart, start_link
from launchdeck.core.remote.commands import CommandResult, run_command, translate_errors
from launchdeck.core.remote.sshconfig import SSHEndpoint

_CHUNK = 256 * 1024


def _error(value: dict) -> errors.DeckError:
    """The exception the link reported, rebuilt with its class and fields."""
    kind = getattr(errors, str(value.get("type")), None)
    if not (isinstance(kind, type) and issubclass(kind, errors.DeckError)):
        kind = TargetError
    message = str(value.get("message") or "the link process failed")
    if issubclass(kind, errors.HostKeyError):
        return kind(message, host=value.get("host") or "",
                    fingerprint=value.get("fingerprint") or "",
                    changed=bool(value.get("changed")))
    if issubclass(kind, errors.ConfigError):
        return kind(message, file=value.get("file"), line=value.get("line"),
                    column=value.get("column"), field=value.get("field"))
    return kind(message)


@dataclass(frozen=True)
class LinkConnection:
    """What a caller learns of the link's SSH connection (it never holds it)."""

    fingerprint: str
    sockname: tuple


class _Stdin:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    def write(self, data: bytes) -> None:
        for start in range(0, len(data), _CHUNK):
            self._writer.write(wire.frame(wire.STDIN, data[start:start + _CHUNK]))

    def write_eof(self) -> None:
        self._writer.write(wire.frame(wire.STDIN_EOF))

    async def drain(self) -> None:
        await self._writer.drain()


@dataclass
class LinkedResult:
    exit_status: int | None
    exit_signal: tuple | None
    stdout: bytes
    stderr: bytes


class LinkedProcess:
    """A command running on the host through the link: binary stdin, stdout, stderr."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self.stdin = _Stdin(writer)
        self.stdout = asyncio.StreamReader()
        self.stderr = asyncio.StreamReader()
        self.exit_status: int | None = None
        self.exit_signal: tuple | None = None
        self._pump = asyncio.ensure_future(self._demux(reader))

    async def _demux(self, reader: asyncio.StreamReader) -> None:
        streams = {wire.STDOUT: self.stdout, wire.STDERR: self.stderr}
        try:
            while (got := await wire.read_frame(reader)) is not None:
                kind, payload = got
                if kind in streams:
                    if payload:
                        streams[kind].feed_data(payload)
                    else:
                        streams[kind].feed_eof()
                elif kind == wire.EXIT:
                    status = wire.parse_json(payload)
                    self.exit_status = status.get("exit_status")
                    signal = status.get("exit_signal")
                    self.exit_signal = tuple(signal) if signal else None
        except (wire.WireError, OSError):
            pass  # a link that died mid-command: no exit status, as a dropped SSH link
        finally:
            for stream in streams.values():
                stream.feed_eof()

    async def wait(self) -> LinkedResult:
        await self.wait_closed()
        return LinkedResult(self.exit_status, self.exit_signal, await self.stdout.read(),
                            await self.stderr.read())

    def close(self) -> None:
        self._writer.close()

    async def wait_closed(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(self._pump)


PasswordProvider = Callable[[SSHEndpoint], "Awaitable[str | None] | str | None"]


class LinkPool:
    """Hands out ``LinkedHost``s; the stand-in for ``SSHPool`` when a link process serves."""

    def __init__(self) -> None:
        self.password_provider: PasswordProvider | None = None
        self._passwords: dict[tuple, str] = {}
        self._starting: dict[tuple[int, str], asyncio.Lock] = {}

    def host(self, address: str, *, port: int | None = None, user: str | None = None,
             identity_file: str | None = None) -> "LinkedHost":
        return LinkedHost(self, LinkSpec.of(address, port, user, identity_file))

    def remember_password(self, endpoint: SSHEndpoint, password: str) -> None:
        self._passwords[endpoint.key] = password

    def forget_password(self, endpoint: SSHEndpoint) -> None:
        self._passwords.pop(endpoint.key, None)

    async def close(self) -> None:
        """Nothing to close here: the link serves other processes and leaves when idle."""

    async def _ensure_started(self, folder: Path, spec: LinkSpec) -> None:
        # One thread per loop waits on the lock file, not twenty (a lock per loop: the
        # dashboard checks targets on loops of their own).
        key = (id(asyncio.get_running_loop()), spec.name)
        lock = self._starting.setdefault(key, asyncio.Lock())
        async with lock:
            await asyncio.to_thread(start_link, folder, spec)


def _provisional(spec: LinkSpec) -> SSHEndpoint:
    """The endpoint as the ``.compute`` file says it, until the link reports it resolved."""
    try:
        user = spec.user or getpass.getuser()
    except (KeyError, OSError):
        user = "root"
    return SSHEndpoint(alias=spec.address, host=spec.address, port=spec.port or 22, user=user)


class LinkedHost:
    """One SSH destination served by this machine's link process for it."""

    def __init__(self, pool: LinkPool, spec: LinkSpec) -> None:
        self.pool = pool
        self.spec = spec
        self.endpoint = _provisional(spec)
        self._password_key = self.endpoint.key
        self._fingerprint = "unknown"

    def __repr__(self) -> str:
        return f"LinkedHost({self.endpoint})"

    async def _request(self, request: dict, *, start: bool = True
                       ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, dict]:
        """Open a session, send ``request``; the link's reply (its error raised)."""
        folder = runtime_dir()
        path = socket_path(folder, self.spec)
        asked = False
        attempt = 0
        while True:
            attempt += 1
            try:
                reader, writer = await asyncio.open_unix_connection(str(path))
            except (FileNotFoundError, ConnectionRefusedError):
                if not start or attempt > 3:
                    raise TargetUnreachable(f"{self.endpoint.host}:{self.endpoint.port}: no "
                                            f"SSH link process answers at {path}") from None
                await self.pool._ensure_started(folder, self.spec)
                continue
            password = self.pool._passwords.get(self._password_key)
            writer.write(wire.json_frame(wire.REQUEST, {
                **request, **({"password": password} if password else {})}))
            try:
                got = await wire.read_frame(reader)
            except (wire.WireError, OSError):
                got = None
            if got is None:  # the link left as we came (idle, killed): a new one, once
                writer.close()
                if attempt > 3:
                    raise TargetUnreachable(f"{self.endpoint.host}:{self.endpoint.port}: the "
                                            "SSH link process closed the session")
                continue
            reply = wire.parse_json(got[1])
            if "endpoint" in reply:
                self._learn(reply["endpoint"])
            error = reply.get("error")
            if not error:
                return reader, writer, reply
            writer.close()
            if error.get("auth") and not asked and password is None \
                    and self.pool.password_provider is not None:
                asked = True
                answer = self.pool.password_provider(self.endpoint)
                if inspect.isawaitable(answer):
                    answer = await answer
                if answer:
                    self.pool._passwords[self._password_key] = answer
                    continue
            if error.get("auth") and password is not None:
                self.pool._passwords.pop(self._password_key, None)  # wrong: ask again later
            raise _error(error)

    def _learn(self, endpoint: dict) -> None:
        known = {f.name for f in fields(SSHEndpoint)}
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in endpoint.items() if k in known}
        with contextlib.suppress(TypeError):
            self.endpoint = SSHEndpoint(**values)

    async def _simple(self, request: dict, *, start: bool = True) -> dict:
        _, writer, reply = await self._request(request, start=start)
        writer.close()
        return reply

    async def connection(self, accept_fingerprint: str | None = None) -> LinkConnection:
        """Make sure the link is connected to the host (opened or reopened as needed)."""
        reply = await self._simple({"op": "connect", "accept": accept_fingerprint})
        self._fingerprint = reply.get("fingerprint") or "unknown"
        return LinkConnection(self._fingerprint, tuple(reply.get("sockname") or ()))

    async def accept_host_key(self, fingerprint: str) -> None:
        """Connect, adding the host key to known_hosts if it has exactly this fingerprint."""
        await self.connection(accept_fingerprint=fingerprint)

    async def host_key_fingerprint(self) -> str:
        return (await self.connection()).fingerprint

    async def is_connected(self) -> bool:
        try:
            reply = await self._simple({"op": "status"}, start=False)
        except TargetError:
            return False
        return bool(reply.get("connected"))

    @contextlib.asynccontextmanager
    async def process(self, cmd: list[str]) -> AsyncIterator[LinkedProcess]:
        """A running remote command with binary stdin/stdout/stderr."""
        if isinstance(cmd, str):
            raise TypeError("commands are lists of arguments, never one shell string")
        reader, writer, _ = await self._request({"op": "exec", "cmd": [str(a) for a in cmd]})
        proc = LinkedProcess(reader, writer)
        try:
            with translate_errors(self.endpoint, f"running `{cmd[0]}` on"):
                yield proc
        finally:
            proc.close()
            await proc.wait_closed()

    async def run(self, cmd: list[str], *, input: bytes | None = None,
                  timeout: float | None = None, check: bool = False) -> CommandResult:
        """Run ``cmd`` to the end; stdin gets ``input`` then EOF. Output is bytes."""
        return await run_command(self, cmd, input=input, timeout=timeout, check=check)

    async def open_forward(self, remote_path: str) -> "LinkedForward":
        """The link's local socket reaching ``remote_path`` (shared, kept by the link)."""
        reply = await self._simple({"op": "forward", "path": remote_path})
        return LinkedForward(str(reply["socket"]))

    async def forward_unix_socket(self, remote_path: str) -> str:
        return (await self.open_forward(remote_path)).path

    async def forward_docker_socket(self, remote: str = "/var/run/docker.sock") -> str:
        return await self.forward_unix_socket(remote)

    async def sftp(self):
        raise TargetError(f"{self.endpoint}: SFTP is not served through the link process; "
                          "deck moves files with commands (tar streams) instead")


@dataclass(frozen=True)
class LinkedForward:
    path: str

    async def close(self) -> None:
        """The link keeps its forward for every process; it goes when the link does."""


def link_status(folder: Path | None = None) -> list[dict]:
    """The link processes of this user: what their status files say, and whether they answer."""
    folder = folder or runtime_dir()
    found = []
    for info in sorted(folder.glob("*.json")):
        try:
            value = json.loads(info.read_text())
        except (OSError, ValueError):
            continue
        value["answers"] = answers(Path(value.get("socket", "")))
        found.append(value)
    return found


async def stop_links(folder: Path | None = None) -> int:
    """Ask every link process of this user to leave; how many were asked."""
    folder = folder or runtime_dir()
    stopped = 0
    for sock in sorted(folder.glob("*.sock")):
        if "-f" in sock.stem:
            continue
        try:
            reader, writer = await asyncio.open_unix_connection(str(sock))
        except OSError:
            continue
        writer.write(wire.json_frame(wire.REQUEST, {"op": "stop"}))
        with contextlib.suppress(wire.WireError, OSError):
            if await wire.read_frame(reader) is not None:
                stopped += 1
        writer.close()
    return stopped


__all__ = ["LinkPool", "LinkedHost", "link_status", "prestart", "start_link", "stop_links"]
