"""Follow a growing file from a byte offset, the way ``tail -f`` does, without a thread.

``follow`` is for an event loop; ``follow_blocking`` is the same loop for a plain process (the
CLI streaming a run's output), which then need not import asyncio at all.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator

if TYPE_CHECKING:
    import asyncio

CHUNK = 1 << 20
# Polling starts fast (a new line should show at once) and backs off while the file is idle,
# so a quiet run costs almost nothing.
FAST_POLL = 0.01
SLOW_POLL = 0.25


class _Reader:
    """Reads ``path`` from ``offset`` on; opens it once it exists (a run may not have begun)."""

    def __init__(self, path: Path, offset: int, chunk_size: int) -> None:
        self.path, self.offset, self.chunk_size = path, offset, chunk_size
        self.fd: int | None = None

    def read(self) -> bytes:
        """The next bytes, or b"" when there are none yet (or no file yet)."""
        if self.fd is None:
            try:
                self.fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return b""
        data = os.pread(self.fd, self.chunk_size, self.offset)
        self.offset += len(data)
        return data

    def rest(self) -> Iterator[bytes]:
        """Everything left, to the end of the file as it is now."""
        while data := self.read():
            yield data

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


def follow(path: Path, offset: int, finished: Callable[[], Awaitable[bool]],
           *, chunk_size: int = CHUNK, max_poll: float = SLOW_POLL,
           wake: asyncio.Event | None = None) -> AsyncIterator[bytes]:
    """Yield the bytes of ``path`` from ``offset`` until ``finished()`` and nothing is left.

    ``finished`` is asked only when the file has no new bytes; after it says yes the file is
    read once more to its end, so bytes written just before the end are never lost. Setting
    ``wake`` (say, when the writer is known to have ended) cuts a poll's sleep short.
    """

    async def pause(seconds: float) -> None:
        import asyncio  # loaded already: we run in its loop

        if wake is None:
            await asyncio.sleep(seconds)
            return
        try:
            await asyncio.wait_for(wake.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    return _follow(_Reader(path, offset, chunk_size), finished, pause, max_poll)


def follow_blocking(path: Path, offset: int, finished: Callable[[], bool],
                    *, chunk_size: int = CHUNK, max_poll: float = SLOW_POLL,
                    wake: int | None = None) -> Iterator[bytes]:
    """``follow`` without an event loop: the same reads, the same end, sleeping between polls.

    A descriptor ``wake`` that becomes readable (a pidfd of the writer, which has exited) cuts
    the sleep short once; later polls sleep their full time.
    """

    async def finished_now() -> bool:
        return finished()

    async def pause(seconds: float) -> None:
        nonlocal wake
        if wake is None:
            time.sleep(seconds)
            return
        import select

        if select.select([wake], [], [], seconds)[0]:
            wake = None  # readable for good now: waiting on it again would not wait

    return _without_loop(_follow(_Reader(path, offset, chunk_size), finished_now, pause,
                                 max_poll))


async def _follow(reader: _Reader, finished: Callable[[], Awaitable[bool]],
                  pause: Callable[[float], Awaitable[None]],
                  max_poll: float) -> AsyncGenerator[bytes, None]:
    """The one polling loop behind ``follow`` and ``follow_blocking``."""
    delay = FAST_POLL
    try:
        while True:
            if data := reader.read():
                delay = FAST_POLL
                yield data
                continue
            if await finished():
                for data in reader.rest():
                    yield data
                return
            await pause(delay)
            delay = min(delay * 2, max_poll)
    finally:
        reader.close()


def _without_loop(chunks: AsyncGenerator[bytes, None]) -> Iterator[bytes]:
    """Iterate an async generator whose awaits all finish at once (nothing it awaits suspends),
    so each step runs to its next ``yield`` in one ``send`` and no event loop is needed."""
    try:
        while True:
            try:
                chunks.__anext__().send(None)
            except StopIteration as step:
                yield step.value
            except StopAsyncIteration:
                return
            else:
                raise RuntimeError("filetail: a blocking follow awaited an event loop")
    finally:
        try:  # stopped early or done: its own ``finally`` closes the file
            chunks.aclose().send(None)
        except StopIteration:
            pass
