"""What a command run over SSH gives back, how its words are quoted, and how asyncssh's and the
OS's exceptions become ``core.errors``: shared by the pool and by ``RemoteHost``."""

from __future__ import annotations

import contextlib
import shlex
from dataclasses import dataclass
from typing import Iterator

import asyncssh

from launchdeck.core.errors import DeckError, TargetError, TargetUnreachable
from launchdeck.core.remote.sshconfig import SSHEndpoint


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: bytes
    stderr: bytes


@contextlib.contextmanager
def translate_errors(endpoint: SSHEndpoint, doing: str = "talking to") -> Iterator[None]:
    """Turn asyncssh/OS exceptions raised inside the block into ``core.errors``."""
    try:
        yield
    except DeckError:
        raise
    except asyncssh.PermissionDenied as exc:
        raise TargetError(f"{endpoint}: permission denied while {doing} it: {exc}") from exc
    except (asyncssh.DisconnectError, asyncssh.ChannelOpenError, asyncssh.ConnectionLost,
            BrokenPipeError, ConnectionError, TimeoutError) as exc:
        raise TargetUnreachable(f"{endpoint.host}:{endpoint.port}: connection lost while "
                                f"{doing} it: {exc or type(exc).__name__}") from exc
    except asyncssh.SFTPError as exc:
        raise TargetError(f"{endpoint}: SFTP failed while {doing} it: {exc.reason}") from exc
    except OSError as exc:
        raise TargetUnreachable(f"{endpoint.host}:{endpoint.port}: {exc}") from exc


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
