"""A line index of a growing log file, cheap enough for a million lines.

The file is cut into blocks of about ``BLOCK`` bytes that end on a newline; the index keeps each
block's byte offset and the number of its first line, so indexing is one ``bytes.count`` per block
(C speed: about 50 ms for 60 MB) and finding line N is a bisection plus one block read. Decoded
blocks are kept in a small cache; only the blocks on screen are ever decoded. A view reads with
``cached_line`` (never touches the file) and has ``load`` run in a thread for what is missing.

One thread appends (``update``) while another reads (``line``, ``search``): a lock guards the
arrays and the cache.
"""

from __future__ import annotations

import os
import re  # noqa: F401 - named in a type
import threading
import time
from array import array
from bisect import bisect_right
from collections import OrderedDict
from pathlib import Path

BLOCK = 64 * 1024
READ = 4 * 1024 * 1024
CACHED_BLOCKS = 64
MAX_PARTIAL = 64 * 1024


class LineIndex:
    """Line offsets of one file, grown by ``update()``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._starts = array("q")   # byte offset of each block
        self._firsts = array("q")   # number of each block's first line
        self._end = 0               # bytes indexed: everything before ends with a newline
        self._lines = 0             # complete lines indexed
        self._partial = b""         # bytes after the last newline (a line being written)
        self._arrivals: list[tuple[int, float]] = []  # (first line, time seen), while following
        self._cache: OrderedDict[int, list[str]] = OrderedDict()
        self._lock = threading.Lock()

    # -- growing (one thread) -----------------------------------------------------------------

    def update(self, *, note_arrival: bool = False) -> bool:
        """Index what was appended since the last call; whether anything changed."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            size = os.fstat(fd).st_size
            if size == self.size:
                return False
            if size < self.size:
                self._reset()  # truncated or replaced: start over
            before = self._lines
            with self._lock:
                start = self._reopen_last_block()
            offset = start
            while offset < size:
                chunk = os.pread(fd, min(READ, size - offset), offset)
                if not chunk:
                    break
                used = self._index_chunk(chunk, offset)
                if used == 0:
                    if len(chunk) < READ or offset + len(chunk) >= size:
                        break  # only a partial line is left
                    # A line longer than READ: extend the read until its newline.
                    used = self._index_long_line(fd, offset, size)
                    if used == 0:
                        break
                offset += used
            partial = os.pread(fd, min(MAX_PARTIAL, max(0, size - self._end)), self._end)
            with self._lock:
                self._partial = partial
                if note_arrival and self._lines > before:
                    self._arrivals.append((before, time.time()))
            return True
        finally:
            os.close(fd)

    def _reset(self) -> None:
        with self._lock:
            self._starts, self._firsts = array("q"), array("q")
            self._end = self._lines = 0
            self._partial = b""
            self._cache.clear()

    def _reopen_last_block(self) -> int:
        # A small last block (a followed log grows a little at a time) is indexed again with what
        # was appended, so the index never fills up with tiny blocks.
        if self._starts and self._end - self._starts[-1] < BLOCK // 2:
            start = self._starts.pop()
            self._lines = self._firsts.pop()
            self._cache.pop(len(self._starts), None)
            self._end = start
        return self._end

    def _index_chunk(self, chunk: bytes, base: int) -> int:
        pos, length = 0, len(chunk)
        starts, firsts = [], []
        lines = self._lines
        while pos < length:
            cut = chunk.rfind(b"\n", pos, min(pos + BLOCK, length))
            if cut < 0:
                cut = chunk.find(b"\n", pos + BLOCK)
                if cut < 0:
                    break
            starts.append(base + pos)
            firsts.append(lines)
            lines += chunk.count(b"\n", pos, cut + 1)
            pos = cut + 1
        with self._lock:
            self._starts.extend(starts)
            self._firsts.extend(firsts)
            self._lines = lines
            self._end = base + pos
        return pos

    def _index_long_line(self, fd: int, offset: int, size: int) -> int:
        probe = offset + READ
        while probe < size:
            chunk = os.pread(fd, READ, probe)
            cut = chunk.find(b"\n")
            if cut >= 0:
                end = probe + cut + 1
                with self._lock:
                    self._starts.append(offset)
                    self._firsts.append(self._lines)
                    self._lines += 1
                    self._end = end
                return end - offset
            probe += len(chunk)
        return 0

    # -- reading (any thread) -----------------------------------------------------------------

    @property
    def line_count(self) -> int:
        """Lines to show: the complete ones and a line still being written."""
        return self._lines + (1 if self._partial else 0)

    @property
    def size(self) -> int:
        return self._end + len(self._partial)

    def line(self, number: int) -> str:
        """Line ``number``, read from the file if its block is not cached."""
        with self._lock:
            if number >= self._lines:
                return self._partial_line(number)
            block = bisect_right(self._firsts, number) - 1
            return self._block_lines(block)[number - self._firsts[block]]

    def cached_line(self, number: int) -> str | None:
        """Line ``number`` if it can be had without reading the file; else None (``load``)."""
        with self._lock:
            if number >= self._lines:
                return self._partial_line(number)
            block = bisect_right(self._firsts, number) - 1
            lines = self._cache.get(block)
            if lines is None:
                return None
            self._cache.move_to_end(block)
            return lines[number - self._firsts[block]]

    def load(self, first: int, last: int) -> None:
        """Read the blocks holding lines ``first`` to ``last`` (exclusive) into the cache."""
        with self._lock:
            last = min(last, self._lines)
            if first >= last:
                return
            blocks = range(bisect_right(self._firsts, first) - 1,
                           bisect_right(self._firsts, last - 1))
        for block in blocks[:CACHED_BLOCKS // 2]:  # never evict what this very call read
            with self._lock:
                if block < len(self._starts):
                    self._block_lines(block)

    def _partial_line(self, number: int) -> str:
        return _decode(self._partial) if number == self._lines and self._partial else ""

    def arrival(self, number: int) -> float | None:
        """When the dashboard saw the line appear (None for lines that were there already)."""
        with self._lock:
            firsts = [first for first, _ in self._arrivals]
            at = bisect_right(firsts, number) - 1
            return self._arrivals[at][1] if at >= 0 else None

    def search(self, needle: str, start: int, *, backwards: bool = False) -> int | None:
        """The next line at or after ``start`` (before it, backwards) holding ``needle``."""
        key = needle.lower().encode()
        if not key:
            return None
        with self._lock:
            count = len(self._starts)
            first_block = max(0, bisect_right(self._firsts, start) - 1) if count else 0
        order = range(first_block, -1, -1) if backwards else range(first_block, count)
        for block in order:
            with self._lock:
                data = self._block_bytes(block).lower()
                first = self._firsts[block]
            hits = _matching_lines(data, key, first)
            hits = [h for h in hits if (h < start if backwards else h >= start)]
            if hits:
                return hits[-1] if backwards else hits[0]
        if not backwards and self._partial and needle.lower() in _decode(self._partial).lower():
            return self._lines if self._lines >= start else None
        return None

    def matching(self, pattern: "re.Pattern[str]", *, invert: bool = False,
                 start: int = 0) -> tuple[list[int], int]:
        """Numbers of the complete lines from ``start`` on that ``pattern`` finds (``invert``:
        does not find), and the line count they were read up to (where the next call starts).
        Decodes every block it reads, outside the page cache: call it from a worker."""
        with self._lock:
            blocks, upto = len(self._starts), self._lines
            first_block = max(0, bisect_right(self._firsts, start) - 1) if blocks else 0
        hits: list[int] = []
        for block in range(first_block, blocks):
            with self._lock:
                first = self._firsts[block]
                data = self._block_bytes(block)
            for number, line in enumerate(_decode(data).split("\n")[:-1], start=first):
                if start <= number < upto and (pattern.search(_clean(line)) is None) == invert:
                    hits.append(number)
        return hits, upto

    def count(self, needle: str, line: int | None = None) -> tuple[int, int]:
        """(lines holding ``needle``, how many of them come before ``line``): a match count."""
        key = needle.lower().encode()
        if not key:
            return 0, 0
        total = before = 0
        with self._lock:
            blocks = len(self._starts)
        for block in range(blocks):
            with self._lock:
                data = self._block_bytes(block).lower()
                first = self._firsts[block]
            hits = _matching_lines(data, key, first)
            total += len(hits)
            if line is not None:
                before += sum(1 for h in hits if h < line)
        if self._partial and needle.lower() in _decode(self._partial).lower():
            total += 1
            before += 1 if line is not None and self._lines < line else 0
        return total, before

    def _block_bytes(self, block: int) -> bytes:
        start = self._starts[block]
        end = self._starts[block + 1] if block + 1 < len(self._starts) else self._end
        with open(self.path, "rb") as f:
            f.seek(start)
            return f.read(end - start)

    def _block_lines(self, block: int) -> list[str]:
        lines = self._cache.get(block)
        if lines is None:
            lines = [_clean(line) for line in _decode(self._block_bytes(block)).split("\n")[:-1]]
            self._cache[block] = lines
            if len(self._cache) > CACHED_BLOCKS:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(block)
        return lines


def _matching_lines(data: bytes, key: bytes, first: int) -> list[int]:
    """Numbers of the lines of ``data`` (lowercased; its first line is ``first``) holding ``key``."""
    hits, line, counted = [], first, 0
    at = data.find(key)
    while at >= 0:
        line += data.count(b"\n", counted, at)
        hits.append(line)
        end = data.find(b"\n", at)
        if end < 0:
            break
        line += 1
        counted = end + 1
        at = data.find(key, counted)
    return hits


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _clean(line: str) -> str:
    # A progress bar redraws itself with \r: show what a terminal would have left on screen.
    if "\r" in line:
        line = line.rstrip("\r")
        line = line.rsplit("\r", 1)[-1]
    return line.expandtabs(8) if "\t" in line else line


#: The most a tail reads from the end of a log (longer lines are shown from their end).
TAIL_BYTES = 256 * 1024


def tail_lines(path: Path, count: int, *, max_bytes: int = TAIL_BYTES) -> tuple[int, list[str]]:
    """The file's size and its last ``count`` lines (a line being written included), cleaned as
    the index cleans them; reads only the end of the file, never the whole of it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return -1, []
    try:
        size = os.fstat(fd).st_size
        # Lines are rarely long: read a little first, more only if that held too few.
        want = min(size, max_bytes, max(4096, count * 160))
        while True:
            data = os.pread(fd, want, size - want)
            lines = _decode(data).split("\n")
            if data.endswith(b"\n"):
                lines.pop()
            if want < size:
                lines = lines[1:]  # cut in the middle of a line
            if len(lines) >= count or want >= min(size, max_bytes):
                return size, [_clean(line) for line in lines[-count:]] if count else []
            want = min(size, max_bytes, want * 4)
    finally:
        os.close(fd)
