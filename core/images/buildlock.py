"""One build of an environment image at a time, per target and tag, in a project.

A sweep's trials, or a few submits made at once, start keepers that each look for their
environment image, miss it, and would each build it: the same packages downloaded once per
run, and with the classic builder several builds racing to one tag. The first keeper to need a
tag builds it holding this lock; the others wait for it, then find the image built.

The lock is ``flock`` on a file in ``.deck/locks/``, so it holds across every deck process of
the project and is released when its holder exits, however it ends. Builds from other
projects or other machines are not held back: each may build the same image (the result is
the same image; only the work is repeated).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
from pathlib import Path
from typing import AsyncIterator, Callable

from launchdeck.core.project import DECK_DIR

#: Longest pause between two tries for a lock another process holds.
_MAX_POLL = 0.5


def build_lock_path(project_dir: Path, target: str, tag: str) -> Path:
    """The lock file of ``tag`` on ``target`` (a name safe for any target name)."""
    digest = hashlib.sha256(f"{target}\0{tag}".encode()).hexdigest()[:20]
    return Path(project_dir) / DECK_DIR / "locks" / f"build-{digest}.lock"


@contextlib.asynccontextmanager
async def one_build_at_a_time(path: Path, *, on_wait: Callable[[], None]) -> AsyncIterator[None]:
    """Hold the lock at ``path``; ``on_wait()`` once if another process holds it first.

    Waiting polls rather than blocking a thread in ``flock``, so a canceled run stops
    waiting at once. A lock that cannot be made (a read-only ``.deck``) is skipped: it only
    saves repeated work, and the build itself says what is wrong with the disk.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError:
        yield
        return
    try:
        pause, told = 0.02, False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    on_wait()
                    told = True
                await asyncio.sleep(pause)
                pause = min(pause * 2, _MAX_POLL)
        yield
    finally:
        os.close(fd)  # releases the lock
