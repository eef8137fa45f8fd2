"""A lock per project file, held across a read-modify-write, for every deck process and thread.

Ten ``deck runconfig env set`` started at once each read the file, changed it and renamed their
copy over it: all but the last change were lost. Now each edit holds the file's lock from the
read to the rename, so they run one after another and each sees the others' changes.

The lock is ``flock`` on the config file itself, not on a sidecar (a lock file in
``aml_config/`` would be snapshotted and listed with the configs). Saves replace the file by
renaming a new one over it, so after the lock is granted the holder checks that the path still
names the inode it locked; if not, it locks the new file. Within one process the lock is
re-entrant for a thread (a save inside an edit) and other threads wait, since flock locks
belong to open files, which threads share.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from typing import Iterator

from launchdeck.core.config._displaypath import display_path
from launchdeck.core.errors import ConfigError

#: How long an edit waits for another one to finish before it gives up with a message.
WAIT_SECONDS = 60.0


class _Held:
    __slots__ = ("rlock", "depth", "fd")

    def __init__(self) -> None:
        self.rlock = threading.RLock()
        self.depth = 0
        self.fd: int | None = None


_registry: dict[str, _Held] = {}
_registry_lock = threading.Lock()


@contextlib.contextmanager
def locked(path: str | os.PathLike[str], *, wait: float | None = None) -> Iterator[None]:
    """Hold ``path``'s lock (a file that does not exist yet needs none: creating is exclusive)."""
    key = os.path.realpath(path)
    wait = WAIT_SECONDS if wait is None else wait
    with _registry_lock:
        held = _registry.setdefault(key, _Held())
    if not held.rlock.acquire(timeout=wait):
        raise _busy(key)
    try:
        if held.depth == 0:
            held.fd = _lock_inode(key, time.monotonic() + wait)
        held.depth += 1
        try:
            yield
        finally:
            held.depth -= 1
            if held.depth == 0 and held.fd is not None:
                os.close(held.fd)  # closing releases the flock
                held.fd = None
    finally:
        held.rlock.release()


def _lock_inode(path: str, deadline: float) -> int | None:
    pause = 0.005
    while True:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)  # a FIFO must not block
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError:
            return None  # unreadable: the read that follows says so
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise _busy(path) from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.05)
            mine = os.fstat(fd)
            try:
                now = os.stat(path)
            except FileNotFoundError:
                os.close(fd)
                return None
            if (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # replaced while we waited: lock the file that is there now


def _busy(path: str) -> ConfigError:
    return ConfigError("another deck command is still changing this file; nothing was written "
                       "(try again in a moment)", file=display_path(path))
