"""The stat cache: skip re-hashing files whose stat data has not changed (like git's index).

One file per project folder under ``<store>/stat-cache/``, a ``marshal`` dump of
``{relpath: (size, mtime_ns, ino, ctime_ns, sha256)}``, replaced atomically. It is only an
accelerator: an unreadable or foreign cache is treated as empty.

Racy entries. A file rewritten in the same timestamp tick in which we stat'ed it keeps the stat
data we recorded, so trusting it later would keep stale content. Rule: before a snapshot looks at
any file we read the file-system clock (the mtime of a file we create in the store, so the same
coarse clock and granularity that stamps the project's files), ``start_ns``. An entry is saved
only if its mtime and ctime are both older than ``start_ns``: any later write then gives the file
a newer ctime (the kernel sets it on every write, ``utime`` cannot set it back), so the change is
seen. Files touched at or after ``start_ns`` are simply hashed again by the next snapshot.
Assumes the store and the project share a clock (both under the project, usually one disk).
"""

from __future__ import annotations

import hashlib
import marshal
import os
from pathlib import Path

_VERSION = 1

StatKey = tuple[int, int, int, int]


def stat_key(st: os.stat_result) -> StatKey:
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def cache_path(caches_dir: Path, project_dir: str) -> Path:
    """The cache file of one project folder (by its real path)."""
    name = hashlib.sha256(os.fsencode(project_dir)).hexdigest()[:24]
    return caches_dir / name


def fs_clock_ns(tmp_dir: Path) -> int:
    """The file-system clock now: the mtime the kernel gives a file we create in ``tmp_dir``."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    path = tmp_dir / f"clock-{os.getpid()}-{os.urandom(6).hex()}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        return os.fstat(fd).st_mtime_ns
    finally:
        os.close(fd)
        os.unlink(path)


class StatCache:
    """Stat data -> content hash, read at the start of a snapshot and saved at its end."""

    def __init__(self, project_dir: str, entries: dict | None = None) -> None:
        self.project_dir = project_dir
        self._old: dict[str, tuple] = entries or {}
        self._new: dict[str, tuple] = {}

    @classmethod
    def load(cls, path: Path, project_dir: str) -> "StatCache":
        try:
            doc = marshal.loads(path.read_bytes())  # marshal.load(file) is 10x slower
            if doc["version"] == _VERSION and doc["project"] == project_dir:
                return cls(project_dir, doc["entries"])
        except Exception:  # noqa: BLE001 - any damage just means "no cache"
            pass
        return cls(project_dir)

    def lookup(self, relpath: str, st: os.stat_result) -> str | None:
        """The hash recorded for this exact stat data, if any."""
        entry = self._old.get(relpath)
        if entry is not None and entry[:4] == stat_key(st):
            return entry[4]
        return None

    def previous(self, relpath: str) -> tuple | None:
        """The entry recorded for ``relpath`` last time, whatever its stat data."""
        return self._old.get(relpath)

    def record(self, relpath: str, st: os.stat_result, digest: str) -> None:
        """Remember ``digest`` for ``relpath`` as stat'ed by ``st`` (before it was read)."""
        self._new[relpath] = (*stat_key(st), digest)

    def save(self, path: Path, tmp_dir: Path, *, start_ns: int) -> bool:
        """Write the entries recorded in this snapshot, dropping racy ones; False if unchanged."""
        kept = {rel: e for rel, e in self._new.items() if e[1] < start_ns and e[3] < start_ns}
        if kept == self._old:
            return False
        data = marshal.dumps({"version": _VERSION, "project": self.project_dir,
                              "entries": kept})
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp_dir.mkdir(parents=True, exist_ok=True)
        tmp = tmp_dir / f"stat-{os.getpid()}-{os.urandom(6).hex()}"
        try:
            with open(tmp, "xb") as fh:
                fh.write(data)
            os.replace(tmp, path)  # readers see the old cache or the new one, never half
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return True
