"""The content-addressed snapshot store of a project (``<project>/.deck/store``).

Layout::

    objects/ab/cdef...      file contents by sha256, read-only, never rewritten
    manifests/<fp>.json     one manifest per distinct snapshot (see ``manifest``)
    stat-cache/<key>        per project folder: stat data -> hash (see ``statcache``)
    tmp/                    temp files, renamed or linked into place (same file system)

Writes are atomic and safe from many processes at once (see ``blobs``).

A file that changes while it is read is snapshotted as the bytes that were read (the blob always
matches its hash); the result carries a warning and the file is not stat-cached, so the next
snapshot reads it again.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from launchdeck.core.errors import ProjectError, SnapshotError
from launchdeck.core.snapshot import manifest as manifests
from launchdeck.core.snapshot.blobs import CHUNK, BlobFiles
from launchdeck.core.snapshot.manifest import Manifest, ManifestEntry
from launchdeck.core.snapshot.restore import write_tree
from launchdeck.core.snapshot.statcache import StatCache, cache_path, fs_clock_ns
from launchdeck.core.snapshot.walk import walk_project

_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_CLOEXEC", 0))


@dataclass(frozen=True, slots=True)
class SnapshotResult:
    """What one ``snapshot()`` took and what it added to the store."""

    fingerprint: str
    file_count: int          # files and symlinks in the manifest
    total_bytes: int         # bytes of all files in the snapshot
    new_blobs: int           # blobs this snapshot added to the store
    new_bytes: int
    hashed_files: int        # files read (stat cache misses); 0 for an unchanged tree
    warnings: tuple[str, ...]


class ContentStore:
    """Blobs by content hash plus one manifest per snapshot, under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._files = BlobFiles(self.root)
        self._manifests = self.root / "manifests"
        self._caches = self.root / "stat-cache"

    # -- blobs ----------------------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        """Where the blob with this sha256 lives (whether or not it is present)."""
        return Path(self._files.blob_file(digest))

    def has_blob(self, digest: str) -> bool:
        return self._files.has_blob(digest)

    def missing_blobs(self, hashes: Iterable[str]) -> list[str]:
        """The hashes (each once, in the order given) whose blobs this store lacks."""
        seen: set[str] = set()
        missing = []
        for digest in hashes:
            if digest not in seen:
                seen.add(digest)
                if not self.has_blob(digest):
                    missing.append(digest)
        return missing

    # -- manifests ------------------------------------------------------------------------

    def _manifest_path(self, fingerprint: str) -> Path:
        if not manifests.is_digest(fingerprint):
            raise SnapshotError(f"not a snapshot fingerprint: {fingerprint!r}")
        return self._manifests / f"{fingerprint}.json"

    def has_manifest(self, fingerprint: str) -> bool:
        return self._manifest_path(fingerprint).is_file()

    def manifest(self, fingerprint: str) -> Manifest:
        """The validated manifest of a snapshot (``SnapshotError`` if missing or unsafe)."""
        try:
            data = self._manifest_path(fingerprint).read_bytes()
        except FileNotFoundError:
            raise SnapshotError(f"no snapshot {fingerprint} in {self.root}") from None
        except OSError as exc:
            raise SnapshotError(f"cannot read snapshot {fingerprint}: {exc.strerror}") from None
        return manifests.decode(data, fingerprint)

    def _store_manifest(self, data: bytes) -> str:
        fingerprint = manifests.fingerprint_of(data)
        self._files.publish_bytes(data, self._manifest_path(fingerprint))
        return fingerprint

    # -- snapshot -------------------------------------------------------------------------

    def snapshot(self, project_dir: Path, *, keep: frozenset[str] = frozenset()) -> SnapshotResult:
        """Take a snapshot of ``project_dir`` into this store (``keep``: files no ignore file
        may leave out, such as a run's dependency files)."""
        root = os.path.realpath(project_dir)
        if not os.path.isdir(root):
            raise ProjectError(f"{project_dir}: not a folder, cannot snapshot it")
        store_rel = os.path.relpath(os.path.realpath(self.root), root)
        outside = store_rel == os.pardir or store_rel.startswith(os.pardir + os.sep)
        exclude = frozenset() if outside else frozenset({store_rel.replace(os.sep, "/")})
        self._files.sweep_temps()
        start_ns = fs_clock_ns(self._files.tmp_dir)  # before any file is looked at (racy rule)
        cache_file = cache_path(self._caches, root)
        cache = StatCache.load(cache_file, root)
        tree = walk_project(root, exclude=exclude, keep=keep)
        warnings = list(tree.warnings)
        entries = [ManifestEntry(path=rel, link=target) for rel, target in tree.links]
        new_blobs = new_bytes = hashed = total = 0
        for rel, st in tree.files:
            digest = cache.lookup(rel, st)
            if digest is not None and self.has_blob(digest):
                cache.record(rel, st, digest)
                size, mode = st.st_size, st.st_mode
            else:
                got = self._hash_file(root, rel, cache, warnings)
                if got is None:
                    continue
                digest, size, mode, new = got
                hashed += 1
                if new:
                    new_blobs += 1
                    new_bytes += size
            total += size
            entries.append(ManifestEntry(path=rel, hash=digest, size=size,
                                         executable=bool(mode & stat.S_IXUSR)))
        fingerprint = self._store_manifest(manifests.encode(entries))
        cache.save(cache_file, self._files.tmp_dir, start_ns=start_ns)
        return SnapshotResult(fingerprint=fingerprint, file_count=len(entries),
                              total_bytes=total, new_blobs=new_blobs, new_bytes=new_bytes,
                              hashed_files=hashed, warnings=tuple(warnings))

    def _hash_file(self, root: str, rel: str, cache: StatCache,
                   warnings: list[str]) -> tuple[str, int, int, bool] | None:
        """Read one file into the store: (hash, size, mode, new) or None if it went away."""
        try:
            fd = os.open(os.path.join(root, rel), _OPEN_FLAGS)
        except FileNotFoundError:
            warnings.append(f"{rel}: vanished during the snapshot; left out")
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # became a symlink since the walk: O_NOFOLLOW
                warnings.append(f"{rel}: replaced by a symlink during the snapshot; left out")
                return None
            raise SnapshotError(f"cannot read {rel}: {exc.strerror}") from None
        try:
            before = os.fstat(fd)
            if not stat.S_ISREG(before.st_mode):
                warnings.append(f"{rel}: replaced by a non-file during the snapshot; left out")
                return None
            previous = cache.previous(rel)
            probe = before.st_size > CHUNK and previous is not None and \
                previous[0] == before.st_size
            try:
                digest, size, new = self._files.ingest(fd, probe=probe)
            except OSError as exc:  # store failures are SnapshotErrors already
                raise SnapshotError(f"cannot read {rel}: {exc.strerror}") from None
            after = os.fstat(fd)
        finally:
            os.close(fd)
        if size != before.st_size or (after.st_size, after.st_mtime_ns, after.st_ctime_ns) != \
                (before.st_size, before.st_mtime_ns, before.st_ctime_ns):
            warnings.append(f"{rel}: changed while it was read; the snapshot holds the bytes "
                            "read then")
        else:
            cache.record(rel, before, digest)
        return digest, size, before.st_mode, new

    # -- restore ----------------------------------------------------------------------------

    def materialize(self, fingerprint: str, dest: Path) -> None:
        """Write a snapshot's files into ``dest``, which must be absent or empty.

        Files are copies (a run may change them; the store never changes), keep the executable
        bit (other permission bits follow the umask), and in-tree symlinks are recreated.
        """
        write_tree(self, self.manifest(fingerprint), Path(dest), overwrite=False,
                   require_empty=True)

    def restore(self, fingerprint: str, dest: Path, *, overwrite: bool = False) -> None:
        """Write a snapshot's files into ``dest`` (existing or not), e.g. to get a run's code back.

        Refuses, before writing anything, if any file to write already exists, unless
        ``overwrite``; a folder is never replaced by a file.
        """
        write_tree(self, self.manifest(fingerprint), Path(dest), overwrite=overwrite,
                   require_empty=False)


