"""Copy a run's ``outputs/`` folder into history without ever leaving either folder.

Shared by every target. What a collection (or a snapshot) leaves out is never dropped
silently: the caller gets the list, and ``core.runs.skipped`` puts it in the run's log and in
``deck runs show``. Files are stored sparse: runs of zero bytes become holes, so a 1 GB sparse
output takes what its data takes, not 1 GB.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: Runs of zeros at least this long (and aligned to it) become holes in the stored file.
HOLE_BLOCK = 64 * 1024
_ZEROS = bytes(HOLE_BLOCK)


def write_sparse(read, out: int) -> int:
    """Write what ``read(n)`` yields to the file descriptor ``out``, zero blocks as holes.

    Returns the size written; the file ends exactly there even when it ends in a hole.
    """
    size = _write_blocks(read, out)
    os.ftruncate(out, size)
    return size


def _write_blocks(read, out: int) -> int:
    """Write ``read``'s bytes at ``out``'s position, seeking over aligned zero blocks."""
    size = 0
    pending = b""
    while True:
        chunk = read(1 << 20)
        data = pending + chunk if pending else chunk
        usable = len(data) if not chunk else len(data) - len(data) % HOLE_BLOCK
        view = memoryview(data)
        for at in range(0, usable, HOLE_BLOCK):
            block = view[at:min(at + HOLE_BLOCK, usable)]
            if len(block) == HOLE_BLOCK and block == _ZEROS:
                os.lseek(out, HOLE_BLOCK, os.SEEK_CUR)
            else:
                while block:
                    block = block[os.write(out, block):]
        size += usable
        pending = data[usable:]
        if not chunk:
            return size


def copy_file_sparse(source: Path, target: Path) -> None:
    """Copy one regular file (never through a link at either end), keeping it sparse.

    Holes of the source are found with SEEK_DATA/SEEK_HOLE and never read.
    """
    nofollow = getattr(os, "O_NOFOLLOW", 0)
    src = os.open(source, os.O_RDONLY | nofollow)
    try:
        dst = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | nofollow, 0o644)
        try:
            end = os.fstat(src).st_size
            for start, stop in _data_segments(src, end):
                os.lseek(src, start, os.SEEK_SET)
                os.lseek(dst, start, os.SEEK_SET)
                left = stop - start

                def read(n: int) -> bytes:
                    nonlocal left
                    data = os.read(src, min(n, left)) if left > 0 else b""
                    left -= len(data)
                    return data

                _write_blocks(read, dst)
            os.ftruncate(dst, end)
        finally:
            os.close(dst)
    finally:
        os.close(src)


def _data_segments(fd: int, end: int):
    """``(start, stop)`` of each run of data in a file; the whole file without SEEK_DATA."""
    if not hasattr(os, "SEEK_DATA"):
        yield 0, end
        return
    position = 0
    while position < end:
        try:
            start = os.lseek(fd, position, os.SEEK_DATA)
        except OSError:  # ENXIO: only a hole from here to the end
            return
        stop = os.lseek(fd, start, os.SEEK_HOLE)
        yield start, stop
        position = stop


def copy_outputs(source: Path, dest: Path) -> list[str]:
    """Copy regular files under ``source`` to ``dest``; return what was skipped and why.

    Symlinks are never followed (a script could point one at ``/etc/shadow`` or at history
    itself); they, FIFOs, sockets and devices are skipped and reported. Hard links are
    copied under every name.
    """
    skipped: list[str] = []
    if not source.is_dir() or source.is_symlink():
        return skipped
    for folder, dirs, files in os.walk(source, followlinks=False):
        rel_folder = Path(folder).relative_to(source)
        for name in list(dirs):
            if (Path(folder) / name).is_symlink():
                dirs.remove(name)
                skipped.append(f"{(rel_folder / name).as_posix()}: symbolic link not followed")
        for name in files:
            path = Path(folder) / name
            rel = (rel_folder / name).as_posix()
            kind = _kind(path)
            if kind is not None:
                skipped.append(f"{rel}: {kind}")
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                copy_file_sparse(path, target)
            except OSError as exc:
                skipped.append(f"{rel}: {exc.strerror}")
    return skipped


def _kind(path: Path) -> str | None:
    """Why ``path`` is not collected (None for a regular file)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "vanished"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "symbolic link not followed"
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe), not a regular file"
    if stat.S_ISSOCK(mode):
        return "socket, not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device, not a regular file"
    return "not a regular file"


def list_artifacts(outputs_dir: Path) -> list[tuple[str, int]]:
    """``(outputs/relative/path, size)`` for every regular file kept with a run."""
    found: list[tuple[str, int]] = []
    if not outputs_dir.is_dir():
        return found
    for folder, _dirs, files in os.walk(outputs_dir, followlinks=False):
        for name in files:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                rel = path.relative_to(outputs_dir).as_posix()
                found.append((f"outputs/{rel}", path.stat().st_size))
    return sorted(found)
