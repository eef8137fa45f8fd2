"""Write a file so that readers see the old bytes or the new, never a torn mix."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def default_mode() -> int:
    """The mode a new file gets: 0o666 less the umask."""
    # os.umask() can only be read by setting it, which races other threads; ask the kernel.
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    return 0o644


def atomic_write(target: Path, payload: bytes, mode: int, *, exclusive: bool) -> None:
    """Write beside ``target``, fsync, then rename over it (``exclusive``: never replace one)."""
    import tempfile  # here: reading configs (every submit) writes none

    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        if exclusive:
            try:
                os.link(tmp, target)  # fails if the file appeared meanwhile: never clobber
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links
                if target.exists():
                    raise FileExistsError(str(target)) from None
                os.replace(tmp, target)
            else:
                os.unlink(tmp)
        else:
            os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

