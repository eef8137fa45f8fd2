"""Per-target run slots: at most N runs of a target execute at once.

A slot is an exclusive ``flock`` on one of N files under ``.deck/slots/<target>/``. The kernel
drops the lock when its holder dies, however it dies, so a crashed keeper can never leak
capacity. Queued runs take slots in submit order: a queued run gets a keeper only when
``core.runs.dispatch`` finds room for it (or as its target's one standby), and a keeper only
tries once every older queued run of its target is gone from the queue.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Awaitable, Callable

POLL_SECONDS = 0.05


class SlotLease:
    """A held slot; released by ``release()`` or by the holder's death."""

    def __init__(self, fd: int, index: int) -> None:
        self._fd = fd
        self.index = index

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def folder(deck_dir: Path, target: str) -> Path:
    """Where a target's slot files are (``.deck/slots/<target>``)."""
    return deck_dir / "slots" / target


def try_acquire(folder: Path, limit: int) -> SlotLease | None:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(max(1, limit)):
        fd = os.open(folder / f"{index}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return SlotLease(fd, index)
    return None


def busy_slots(folder: Path, limit: int) -> int:
    """How many of the target's slots are held right now."""
    held = 0
    for index in range(max(1, limit)):
        path = folder / f"{index}.lock"
        if not path.exists():
            continue
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
        except BlockingIOError:
            held += 1
        finally:
            os.close(fd)
    return held


async def acquire(folder: Path, limit: int, *, my_turn: Callable[[], bool],
                  stop: Callable[[], Awaitable[bool] | bool]) -> SlotLease | None:
    """Wait for a slot; return None if ``stop()`` says to give up (the run was canceled)."""
    import asyncio  # here: `deck submit` counts slots (dispatch) without an event loop

    while True:
        result = stop()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return None
        if my_turn():
            lease = try_acquire(folder, limit)
            if lease is not None:
                return lease
        await asyncio.sleep(POLL_SECONDS)
