"""The content store's prune lock: submits share it, a prune holds it alone.

A submit takes a snapshot (reusing blobs already stored) and then queues a run that names it;
a rerun queues a run naming an old snapshot. Until that run is in history nothing shows that
the snapshot is needed, so a prune in between could remove a blob or manifest the new run is
about to use. Submits hold the lock shared for that stretch (many at once), a prune holds it
exclusively while it plans and removes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Iterator

LOCK_FILE = "prune.lock"


@contextlib.contextmanager
def store_lock(root: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold the store's prune lock (shared, or ``exclusive``) for the ``with`` block."""
    try:
        os.makedirs(root, exist_ok=True)
        fd = os.open(os.path.join(root, LOCK_FILE), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                     0o600)
    except OSError:
        if exclusive:
            raise
        # A full or read-only disk: the submit fails on its own write with a clear message,
        # which the lock must not hide.
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)
