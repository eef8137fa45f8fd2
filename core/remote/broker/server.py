"""The link process: holds the SSH connection to one host and serves it to local deck processes.

Started by the first deck process that needs the host (``client.start_link``), detached from
it, and gone after ``DECK_LINK_IDLE_SECONDS`` (60 s) without a client. It serves, over its
socket in the private runtime folder (``rundir``), one session per local connection (see
``wire``): ``connect`` (open the link, optionally trusting a confirmed host key),
``exec`` (a command with stdin, stdout, stderr and exit status), ``forward`` (the path of a
local socket that reaches a remote Unix socket, e.g. the Docker Engine's), ``status`` and
``stop``. Connections, host-key checks and error messages are those of ``SSHPool``: the link is
an ``SSHPool`` in a process of its own. Past the server's MaxSessions (a command channel
refused while others are open) it opens another connection to the host.

Nothing is written but its socket, a status file and a log of its own errors: a password a
client hands over stays in this process's memory.

Run as ``python -m launchdeck.core.remote.broker.server SPEC_JSON`` (by ``start_link`` only).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import struct
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from launchdeck.core.errors import ConfigError, DeckError, HostKeyError, TargetError
from launchdeck.core.remote.broker import wire
from launchdeck.core.remote.broker.rundir import (LinkSpec, forward_path, idle_seconds,
                                                  info_path, runtime_dir, socket_path)

if TYPE_CHECKING:
    import asyncssh

    from launchdeck.core.remote.connection import SSHPool
    from launchdeck.core.remote.forward import UnixSocketForward
    from launchdeck.core.remote.remotehost import RemoteHost

_CHUNK = 256 * 1024
#: Connections to one host at most (each past the first only when the server refused a session).
MAX_CONNECTIONS = 8
#: How long a finished command's session waits for its client to close (it does at once).
_CLIENT_CLOSE_WAIT = 30.0


def error_json(exc: BaseException) -> dict:
    """A deck error as the client re-raises it (same class, message and fields)."""
    out: dict = {"type": type(exc).__name__ if isinstance(exc, DeckError) else "TargetError",
                 "message": str(exc)}
    if isinstance(exc, HostKeyError):
        out.update(host=exc.host, fingerprint=exc.fingerprint, changed=exc.changed)
    if isinstance(exc, ConfigError):
        out.update(message=exc.message, file=exc.file, line=exc.line, column=exc.column,
                   field=exc.field)
    cause = exc.__cause__
    if cause is not None and type(cause).__name__ == "PermissionDenied":
        out["auth"] = True  # the client may ask for a password and try again
    return out


#: A connection's session limit until its server refuses one (then: how many it had open).
UNLIMITED = 1 << 30


class _Lane:
    """One SSH connection of the link, and how many command channels it may hold."""

    def __init__(self, pool: "SSHPool", host: "RemoteHost") -> None:
        self.pool, self.host = pool, host
        self.active = 0
        self.limit = UNLIMITED

    def release(self) -> None:
        self.active -= 1
        if not self.active:  # a refusal may have come of sshd reaping late: forget it
            self.limit = UNLIMITED


class Link:
    """The served connection(s) to one host."""

    def __init__(self, spec: LinkSpec, folder: Path) -> None:
        self.spec, self.folder = spec, folder
        self.path = socket_path(folder, spec)
        self.idle = idle_seconds()
        self.lanes: list[_Lane] = []
        self.forwards: dict[str, "UnixSocketForward"] = {}
        self.sessions = 0
        self.started = time.time()
        self._server: asyncio.AbstractServer | None = None
        self._done = asyncio.Event()
        self._idle_timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task] = set()
        self._leaving_idle = False  #: leaving because nobody used it (not told to stop)

    # -- life ---------------------------------------------------------------------------------

    async def serve(self, ready_fd: int | None) -> None:
        self._server = await asyncio.start_unix_server(self._session, path=str(self.path))
        os.chmod(self.path, 0o600)
        self._ino = os.stat(self.path).st_ino
        self._write_info()
        if ready_fd is not None:  # the starting client may send requests from now on
            with contextlib.suppress(OSError):  # a starter that left already (deck exited)
                os.write(ready_fd, b"ready\n")
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, ready_fd)
            os.close(devnull)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._done.set)
        self._arm_idle()
        # Someone needs the host now: connect before the first request is even read.
        warm = asyncio.ensure_future(self._warm_up())
        await self._done.wait()
        warm.cancel()
        await self._shut_down()

    async def _warm_up(self) -> None:
        with contextlib.suppress(Exception):
            lane = self._lane0()
            await lane.pool.connection(lane.host.endpoint)
            self._write_info()

    def _arm_idle(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        self._idle_timer = asyncio.get_running_loop().call_later(self.idle, self._idle_check)

    def _idle_check(self) -> None:
        forwarded = sum(f.clients for f in self.forwards.values())
        if self.sessions or forwarded:
            self._arm_idle()  # a session ending re-arms it too; forwards are looked at here
        else:
            self._leaving_idle = True
            self._done.set()

    async def _shut_down(self) -> None:
        # Unlink first: a client that finds no socket starts a new link rather than talking to
        # this one while it goes.
        with contextlib.suppress(OSError):
            if os.stat(self.path).st_ino == self._ino:
                os.unlink(self.path)
        with contextlib.suppress(OSError):
            info_path(self.folder, self.spec).unlink()
        log = self.folder / f"{self.spec.name}.log"
        with contextlib.suppress(OSError):
            if log.stat().st_size == 0:  # nothing went wrong: no file left behind
                log.unlink()
        if self._server is not None:
            self._server.close()
        if self._leaving_idle:
            # A client that connected in the moment before the socket went is served to the
            # end (a link stopped on purpose cuts its sessions instead).
            await asyncio.sleep(0)
            while self.sessions:
                await asyncio.sleep(0.05)
        for task in list(self._tasks):
            task.cancel()
        for forward in self.forwards.values():
            await forward.close()
        for lane in self.lanes:
            await lane.pool.close()

    def _write_info(self) -> None:
        lane = self.lanes[0] if self.lanes else None
        info = {"pid": os.getpid(), "spec": self.spec.to_json(),
                "endpoint": str(lane.host.endpoint) if lane else self.spec.address,
                "started": self.started, "socket": str(self.path)}
        tmp = info_path(self.folder, self.spec).with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.replace(info_path(self.folder, self.spec))

    # -- connections --------------------------------------------------------------------------

    def _new_lane(self) -> _Lane:
        from launchdeck.core.remote.connection import SSHPool

        pool = SSHPool()
        host = pool.host(self.spec.address, port=self.spec.port, user=self.spec.user,
                         identity_file=self.spec.identity_file)
        lane = _Lane(pool, host)
        self.lanes.append(lane)
        return lane

    def _lane0(self) -> _Lane:
        return self.lanes[0] if self.lanes else self._new_lane()

    def _free_lane(self) -> _Lane:
        for lane in self.lanes:
            if lane.active < lane.limit:
                return lane
        if len(self.lanes) < MAX_CONNECTIONS:
            return self._new_lane()
        return min(self.lanes, key=lambda lane: lane.active)

    def connected(self) -> int:
        return sum(1 for lane in self.lanes
                   if (c := lane.pool.entry(lane.host.endpoint).conn) and not c.is_closed())

    async def _open_process(self, cmd: list[str]) -> tuple[_Lane, "asyncssh.SSHClientProcess"]:
        """A channel running ``cmd``, on a connection with a free session slot."""
        import asyncssh

        from launchdeck.core.remote.commands import quote_command, translate_errors
        from launchdeck.core.remote.remotehost import (_REFUSED_CODES, _REFUSED_FIRST_WAIT,
                                                       _REFUSED_LONGEST_WAIT,
                                                       _REFUSED_PATIENCE)

        line = quote_command(cmd)
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + _REFUSED_PATIENCE
        delay, reopened, refusals = _REFUSED_FIRST_WAIT, False, 0
        while True:
            lane = self._free_lane()
            conn = await lane.pool.connection(lane.host.endpoint)
            lane.active += 1
            try:
                return lane, await conn.create_process(line, encoding=None)
            except (asyncssh.ChannelOpenError, asyncssh.DisconnectError,
                    ConnectionError) as exc:
                lane.release()
                endpoint = lane.host.endpoint
                if conn.is_closed() and not reopened:  # dead link: once, on a new one
                    lane.pool._forget(endpoint.key, conn)
                    reopened = True
                    continue
                refused = getattr(exc, "code", None) in _REFUSED_CODES
                refusals += refused
                if refused and lane.active >= 1 and refusals > 2:
                    # Refused again with our other channels open: the server's MaxSessions.
                    # This connection holds all it may; the command goes on another one.
                    lane.limit = lane.active
                    continue
                if refused and loop.time() + delay < give_up_at:
                    await asyncio.sleep(delay)  # a slot freeing up (sshd reaps late)
                    delay = min(delay * 2, _REFUSED_LONGEST_WAIT)
                    continue
                if refused:
                    raise TargetError(
                        f"{endpoint}: the server refused to start `{cmd[0]}` for "
                        f"{_REFUSED_PATIENCE:g} s "
                        f"({getattr(exc, 'reason', '') or 'open failed'}); its "
                        f"sshd_config may allow too few sessions (MaxSessions)") from exc
                with translate_errors(endpoint, f"starting `{cmd[0]}` on"):
                    raise exc

    # -- sessions -----------------------------------------------------------------------------

    async def _session(self, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.sessions += 1
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        try:
            if not _same_user(writer):
                return
            got = await wire.read_frame(reader)
            if got is None or got[0] != wire.REQUEST:
                return  # a liveness probe, or not our protocol
            request = wire.parse_json(got[1])
            await self._answer(request, reader, writer)
        except (wire.WireError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.sessions -= 1
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            if not self.sessions and not self._done.is_set():
                self._arm_idle()

    async def _answer(self, request: dict, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        op = request.get("op")
        try:
            if request.get("password"):
                from launchdeck.core.remote.connection import SSHPool

                SSHPool.remember_password(self._lane0().host.endpoint, request["password"])
            if op == "exec":
                lane, proc = await self._open_process([str(a) for a in request["cmd"]])
                await self._exec(lane, proc, reader, writer)
                return
            if op == "connect":
                reply = await self._connect(request.get("accept"))
            elif op == "forward":
                reply = {"socket": await self._forward(str(request["path"]))}
            elif op == "status":
                reply = {"pid": os.getpid(), "connected": self.connected(),
                         "connections": len(self.lanes), "sessions": self.sessions - 1,
                         "forwards": len(self.forwards), "started": self.started,
                         "endpoint": self._endpoint_json()}
            elif op == "stop":
                reply = {"stopping": True}
                self._done.set()
            else:
                reply = {"error": {"type": "TargetError",
                                   "message": f"the link process does not know {op!r}"}}
        except DeckError as exc:
            reply = {"error": error_json(exc)}
        except Exception as exc:  # the client gets it as a target error, never a hang
            reply = {"error": {"type": "TargetError",
                               "message": f"{self.spec.address}: {type(exc).__name__}: {exc}"}}
        reply.setdefault("ok", "error" not in reply)
        writer.write(wire.json_frame(wire.REPLY, reply))
        await writer.drain()

    def _endpoint_json(self) -> dict:
        from dataclasses import asdict

        return asdict(self._lane0().host.endpoint)

    async def _connect(self, accept: str | None) -> dict:
        from launchdeck.core.remote.hostkeys import fingerprint

        lane = self._lane0()
        conn = await lane.pool.connection(lane.host.endpoint, accept_fingerprint=accept)
        self._write_info()
        key = conn.get_server_host_key()
        return {"fingerprint": fingerprint(key) if key is not None else "unknown",
                "sockname": list(conn.get_extra_info("sockname") or ()),
                "endpoint": self._endpoint_json()}

    async def _forward(self, remote: str) -> str:
        from launchdeck.core.remote.forward import UnixSocketForward

        if remote not in self.forwards:
            path = forward_path(self.folder, self.spec, len(self.forwards))
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            forward = UnixSocketForward(self._lane0().host, remote, path=str(path))
            await forward.start()
            self.forwards[remote] = forward
        return self.forwards[remote].path

    async def _exec(self, lane: _Lane, proc: "asyncssh.SSHClientProcess",
                    reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        import asyncssh

        async def feed() -> None:
            while (got := await wire.read_frame(reader)) is not None:
                kind, payload = got
                try:
                    if kind == wire.STDIN:
                        proc.stdin.write(payload)
                        await proc.stdin.drain()
                    elif kind == wire.STDIN_EOF:
                        proc.stdin.write_eof()
                except (BrokenPipeError, ConnectionError, asyncssh.Error):
                    pass  # the command closed its stdin: its exit status says the rest
            # The client went away (it never half-closes: stdin's end is a frame).

        async def pump(stream, kind: bytes) -> None:
            with contextlib.suppress(asyncssh.Error, OSError):
                while data := await stream.read(_CHUNK):
                    writer.write(wire.frame(kind, data))
                    await writer.drain()
            writer.write(wire.frame(kind))

        async def run_out() -> None:
            await asyncio.gather(pump(proc.stdout, wire.STDOUT), pump(proc.stderr, wire.STDERR))
            with contextlib.suppress(Exception):
                await proc.wait_closed()
            sig = proc.exit_signal
            writer.write(wire.json_frame(wire.EXIT, {
                "exit_status": proc.exit_status,
                "exit_signal": list(sig) if sig else None}))
            await writer.drain()

        feeding = asyncio.ensure_future(feed())
        running = asyncio.ensure_future(run_out())
        try:
            writer.write(wire.json_frame(wire.REPLY, {"ok": True}))
            # Until the command ends, or its client is gone (a killed keeper): then nobody
            # reads what it writes (a log follower would run as long as its run), so its
            # channel is closed and the session ends; the link can then go idle.
            await asyncio.wait({feeding, running}, return_when=asyncio.FIRST_COMPLETED)
            if running.done():
                running.result()
                # The exit status is sent: end our side and read until the client closes.
                # Closing with a frame of its still unread (its stdin's end, sent late by a
                # slow client) resets its connection, and asyncio's reader then raises before
                # it hands over the exit status it had buffered: "connection lost".
                writer.write_eof()
                await asyncio.wait({feeding}, timeout=_CLIENT_CLOSE_WAIT)
        finally:
            feeding.cancel()
            running.cancel()
            await asyncio.gather(feeding, running, return_exceptions=True)
            proc.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait_closed(), 5)
            lane.release()


def _same_user(writer: asyncio.StreamWriter) -> bool:
    """The folder is private already; the peer's uid is checked as well, as ssh does."""
    sock = writer.get_extra_info("socket")
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (AttributeError, OSError):
        return True  # no SO_PEERCRED here: the 0700 folder is the guard
    return struct.unpack("3i", creds)[1] == os.getuid()


def main(argv: list[str]) -> int:
    spec = LinkSpec.from_json(json.loads(argv[1]))
    folder = runtime_dir()
    if os.fork():  # the starter waits for this launcher only: the link is nobody's child
        os._exit(0)
    os.chdir("/")  # holds no project folder (or mount) of the process that started it
    log = os.open(folder / f"{spec.name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 2)
    os.close(log)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    from launchdeck.core.remote._quickimport import without_liboqs_search

    async def run() -> None:
        link = Link(spec, folder)
        with without_liboqs_search():
            await link.serve(ready_fd=1)

    try:
        asyncio.run(run())
    except ConfigError as exc:
        print(f"deck link: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
