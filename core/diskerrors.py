"""OS and SQLite storage failures as one clear line naming the path.

A full disk or a read-only folder must read the same wherever it is met (a submit's snapshot,
a keeper's log copy, a history write): "no space left on device (PATH)".
"""

from __future__ import annotations

import errno
import os

from launchdeck.core.errors import StorageError

_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


def is_storage_problem(exc: BaseException) -> bool:
    """Whether ``exc`` is a full disk or a folder deck may not write (not a bug of ours)."""
    return isinstance(exc, StorageError) or (
        isinstance(exc, OSError) and exc.errno in _REASONS)


def storage_error(exc: OSError, path: str | os.PathLike[str] | None = None) -> StorageError:
    """``exc`` as a ``StorageError`` whose message names the path it was about."""
    where = exc.filename if exc.filename else path
    reason = (_REASONS.get(exc.errno) if exc.errno is not None else None) or exc.strerror \
        or str(exc)
    return StorageError(f"{reason} ({_shown(where)})" if where else reason)


def disk_full(folder: str | os.PathLike[str]) -> bool:
    """Whether the file system holding ``folder`` has (next to) no space left."""
    try:
        stats = os.statvfs(folder)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < 64 * 1024


def no_space(path: str | os.PathLike[str]) -> StorageError:
    return StorageError(f"no space left on device ({_shown(path)})")


def read_only(path: str | os.PathLike[str]) -> StorageError:
    return StorageError(f"read-only: deck cannot write here ({_shown(path)})")


def _shown(path) -> str:
    return os.fsdecode(path)
