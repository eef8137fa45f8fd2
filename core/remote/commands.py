"""What a command run over SSH gives back, how its words are quoted, and how asyncssh's and the
OS's exceptions become ``core.errors``, and how a command is run to its end: shared by the pool,
``RemoteHost`` and the link process's client (which never imports asyncssh: its exceptions are
only looked for when asyncssh is loaded)."""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import sys
from dataclasses import dataclass
from typing import Any, AsyncContextManager, Iterator, Protocol

from launchdeck.core.errors import DeckError, TargetError, TargetUnreachable
from launchdeck.core.remote.sshconfig import SSHEndpoint


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: bytes
    stderr: bytes


class SSHHost(Protocol):
    """What targets use of a host: ``RemoteHost`` (this process's own connection) and
    ``LinkedHost`` (through the machine's link process) both are one."""

    endpoint: SSHEndpoint

    async def connection(self) -> object: ...

    async def accept_host_key(self, fingerprint: str) -> None: ...

    def process(self, cmd: list[str]) -> AsyncContextManager[Any]: ...

    async def run(self, cmd: list[str], *, input: bytes | None = None,
                  timeout: float | None = None, check: bool = False) -> CommandResult: ...

    async def host_key_fingerprint(self) -> str: ...

    async def is_connected(self) -> bool: ...

    async def open_forward(self, remote_path: str) -> Any: ...


@contextlib.contextmanager
def translate_errors(endpoint: SSHEndpoint, doing: str = "talking to") -> Iterator[None]:
    """Turn asyncssh/OS exceptions raised inside the block into ``core.errors``."""
    try:
        yield
    except DeckError:
        raise
    except Exception as exc:
        translated = _translated(exc, endpoint, doing)
        if translated is None:
            raise
        raise translated from exc


def _translated(exc: Exception, endpoint: SSHEndpoint, doing: str) -> DeckError | None:
    asyncssh: Any = sys.modules.get("asyncssh")
    if asyncssh is not None and isinstance(exc, asyncssh.PermissionDenied):
        return TargetError(f"{endpoint}: permission denied while {doing} it: {exc}")
    lost: tuple[type, ...] = (BrokenPipeError, ConnectionError, TimeoutError)
    if asyncssh is not None:
        lost += (asyncssh.DisconnectError, asyncssh.ChannelOpenError, asyncssh.ConnectionLost)
    if isinstance(exc, lost):
        return TargetUnreachable(f"{endpoint.host}:{endpoint.port}: connection lost while "
                                 f"{doing} it: {exc or type(exc).__name__}")
    if asyncssh is not None and isinstance(exc, asyncssh.SFTPError):
        return TargetError(f"{endpoint}: SFTP failed while {doing} it: {exc.reason}")
    if isinstance(exc, OSError):
        return TargetUnreachable(f"{endpoint.host}:{endpoint.port}: {exc}")
    return None


def _write_errors() -> tuple[type[BaseException], ...]:
    asyncssh: Any = sys.modules.get("asyncssh")
    return (BrokenPipeError, ConnectionError) + ((asyncssh.Error,) if asyncssh else ())


async def communicate(proc, input: bytes | None) -> tuple[bytes, bytes]:
    """Feed ``input`` then EOF while reading stdout and stderr to their end.

    A command may end (or close its stdin) before it has read all of ``input``: asyncssh then
    refuses further writes ("Channel not open for sending"). That is the command's doing, not
    the link's, so the rest of the input is dropped and the command's own exit status and
    stderr are reported; a link that really dropped still shows as a missing exit status.
    """
    async def feed() -> None:
        try:
            if input:
                proc.stdin.write(input)
            proc.stdin.write_eof()
            await proc.stdin.drain()
        except _write_errors():
            pass

    feeding = asyncio.ensure_future(feed())
    try:
        stdout, stderr = await asyncio.gather(proc.stdout.read(), proc.stderr.read())
        await proc.wait_closed()
    finally:
        feeding.cancel()
        await asyncio.gather(feeding, return_exceptions=True)
    return stdout, stderr


async def run_command(host, cmd: list[str], *, input: bytes | None = None,
                      timeout: float | None = None, check: bool = False) -> CommandResult:
    """``host.run``: ``cmd`` to its end on a host's ``process``; stdin gets ``input``, then EOF."""
    async with host.process(cmd) as proc:
        try:
            stdout, stderr = await asyncio.wait_for(communicate(proc, input), timeout)
        except asyncio.TimeoutError:
            raise TargetError(f"{host.endpoint}: `{cmd[0]}` did not finish within "
                              f"{timeout:g} s") from None
        status = proc.exit_status
        if status is None and proc.exit_signal:
            raise TargetError(f"{host.endpoint}: `{cmd[0]}` was killed by signal "
                              f"{proc.exit_signal[0]}")
        if status is None:  # the channel closed with no exit status: the link went
            raise TargetUnreachable(f"{host.endpoint.host}:{host.endpoint.port}: "
                                    f"connection lost while `{cmd[0]}` was running")
    done = CommandResult(status, stdout or b"", stderr or b"")
    if check and status != 0:
        tail = done.stderr.decode(errors="replace").strip()[-2000:]
        raise TargetError(f"{host.endpoint}: `{' '.join(cmd[:3])}` exited with {status}"
                          + (f": {tail}" if tail else ""))
    return done


def quote_command(cmd: list[str]) -> str:
    """One shell line whose words, for a POSIX login shell, are exactly ``cmd``."""
    if isinstance(cmd, str):
        raise TypeError("commands are lists of arguments, never one shell string")
    return " ".join(shlex.quote(str(arg)) for arg in cmd)


def decoded(output: bytes | str | None) -> str:
    """A finished process's output as text (deck opens its processes in bytes: asyncssh types
    the output of either kind)."""
    if isinstance(output, str):
        return output
    return (output or b"").decode(errors="replace")
