"""Start a host's link process unless one answers: the part of the link's client that needs
no event loop, so that `deck submit` can warm the link up without importing asyncio."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from pathlib import Path

from launchdeck.core.errors import TargetError
from launchdeck.core.remote.broker.rundir import LinkSpec, lock_path, runtime_dir, socket_path

#: How long a new link may take to say it listens.
START_TIMEOUT = 30.0


def answers(path: Path) -> bool:
    """Whether a process listens on the Unix socket at ``path``."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def start_link(folder: Path, spec: LinkSpec) -> None:
    """Make sure a link for ``spec`` listens: start one unless one answers (blocking).

    Under the spec's lock file, so two processes racing here start one link between them; a
    socket that does not answer is a dead link's and is replaced.
    """
    # Here: a submit that finds the link live never starts a process.
    import fcntl
    import select
    import subprocess

    path = socket_path(folder, spec)
    with open(lock_path(folder, spec), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if answers(path):
            return
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        log = os.open(folder / f"{spec.name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                      0o600)
        try:
            launcher = subprocess.Popen(
                [sys.executable, "-m", "launchdeck.core.remote.broker.server",
                 json.dumps(spec.to_json())],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                start_new_session=True, close_fds=True)
        finally:
            os.close(log)
        assert launcher.stdout is not None
        try:
            launcher.wait(START_TIMEOUT)  # it forks the link and leaves at once
            # The link's first line, or EOF if it died before listening.
            answered, _, _ = select.select([launcher.stdout], [], [], START_TIMEOUT)
            ready = launcher.stdout.readline() if answered else b""
        except subprocess.TimeoutExpired:
            ready = b""
        finally:
            launcher.stdout.close()
        if ready.strip() != b"ready":
            raise TargetError(f"the SSH link process for {spec.address} did not start; see "
                              f"{folder / (spec.name + '.log')}")


def prestart(address: str, port: int | None, user: str | None,
             identity_file: str | None) -> None:
    """``start_link`` on a daemon thread, errors ignored: the link warms up (imports, SSH
    handshake) while this process does other work; whoever needs it reports its errors."""
    import threading

    def start() -> None:
        try:
            folder = runtime_dir()
            spec = LinkSpec.of(address, port, user, identity_file)
            if not answers(socket_path(folder, spec)):
                start_link(folder, spec)
        except Exception:  # noqa: BLE001 - the keeper's own request says what is wrong
            pass

    threading.Thread(target=start, name="deck-link-prestart", daemon=True).start()
