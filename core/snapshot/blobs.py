"""The store's files on disk: blobs under ``objects/``, written through temp files in ``tmp/``.

Every write lands under a unique temp name and is then hard-linked (or, where links are not
supported, renamed) into place, so readers never see half a file, an existing object is never
rewritten, and any number of processes may write into one store at once. Nothing is fsync'ed:
like git's loose objects, a power cut may leave a damaged blob, which a restore detects by size.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from launchdeck.core.errors import SnapshotError
from launchdeck.core.snapshot.manifest import is_digest
from launchdeck.core.snapshot.restore import write_all

CHUNK = 1 << 20
_ABANDONED_AFTER_S = 86400  # a temp file untouched this long belongs to a killed process


class BlobFiles:
    """Blob paths, temp files and atomic publishing under a store ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects_dir = os.fspath(root / "objects")
        self.tmp_dir = root / "tmp"

    def blob_file(self, digest: str) -> str:
        # Plain strings: this runs once per file on every snapshot, pathlib costs too much.
        if not is_digest(digest):
            raise SnapshotError(f"not a sha256 digest: {digest!r}")
        return f"{self.objects_dir}{os.sep}{digest[:2]}{os.sep}{digest[2:]}"

    def has_blob(self, digest: str) -> bool:
        return os.path.isfile(self.blob_file(digest))

    def _failed(self, exc: OSError) -> SnapshotError:
        from launchdeck.core.diskerrors import storage_error

        # "no space left on device (PATH)": the same words as every other full-disk failure.
        return SnapshotError(f"cannot write to the store {self.root}: "
                             f"{storage_error(exc, self.root)}")

    def _ensure_dir(self, path: Path | str) -> None:
        # Not remembered between calls: the store may be cleaned while a process holds it.
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise self._failed(exc) from None

    def temp(self, kind: str) -> tuple[int, str]:
        """A new, uniquely named, read-only temp file open for writing: (fd, path)."""
        self._ensure_dir(self.tmp_dir)
        path = os.path.join(self.tmp_dir, f"{kind}-{os.getpid()}-{os.urandom(8).hex()}")
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o444), path
        except OSError as exc:
            raise self._failed(exc) from None

    def write(self, fd: int, data: bytes) -> None:
        try:
            write_all(fd, data)
        except OSError as exc:
            raise self._failed(exc) from None

    def publish(self, tmp: str, final: str | Path) -> bool:
        """Put a finished temp file at ``final``; False if it was already there."""
        self._ensure_dir(os.path.dirname(final))
        try:
            os.link(tmp, final)  # never replaces: an existing object is never rewritten
            return True
        except FileExistsError:
            return False
        except OSError:
            # No hard links here (some network or FAT file systems): an atomic rename of the
            # same bytes is the next best thing.
            if os.path.exists(final):
                return False
            try:
                os.replace(tmp, final)
            except OSError as exc:
                raise self._failed(exc) from None
            return True
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)

    def publish_bytes(self, data: bytes, final: Path) -> None:
        if not final.exists():
            fd, tmp = self.temp(final.parent.name)
            try:
                self.write(fd, data)
            finally:
                os.close(fd)
            self.publish(tmp, final)

    def sweep_temps(self) -> None:
        """Remove temp files that killed processes left behind."""
        cutoff = time.time() - _ABANDONED_AFTER_S
        try:
            with os.scandir(self.tmp_dir) as it:
                for entry in it:
                    try:
                        if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                            os.unlink(entry.path)
                    except OSError:
                        pass  # another process swept it first
        except OSError:
            pass

    def ingest(self, fd: int, *, probe: bool) -> tuple[str, int, bool]:
        """Hash an open file while storing it: (sha256, bytes read, whether the blob is new).

        The blob is always written from the very bytes that were hashed, so a file changing
        under us can never yield a blob that does not match its name. A file of one chunk is
        stored only if its blob is missing; a longer one streams into a temp file, unless
        ``probe`` (its content is probably stored already: only its stat data changed), where
        it is hashed first and read again to store it only if that hash is new.
        """
        if probe:
            digest = hashlib.sha256()
            while chunk := os.read(fd, CHUNK):
                digest.update(chunk)
            if self.has_blob(digest.hexdigest()):
                return digest.hexdigest(), os.lseek(fd, 0, os.SEEK_CUR), False
            os.lseek(fd, 0, os.SEEK_SET)
        digest = hashlib.sha256()
        first, size, tmp_fd, tmp = b"", 0, -1, ""
        try:
            while chunk := os.read(fd, CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if not first:
                    first = chunk
                    continue
                if tmp_fd < 0:
                    tmp_fd, tmp = self.temp("blob")
                    self.write(tmp_fd, first)
                self.write(tmp_fd, chunk)
            hexdigest = digest.hexdigest()
            final = self.blob_file(hexdigest)
            if os.path.exists(final):
                return hexdigest, size, False
            if tmp_fd < 0:
                tmp_fd, tmp = self.temp("blob")
                self.write(tmp_fd, first)
            os.close(tmp_fd)
            tmp_fd = -1
            return hexdigest, size, self.publish(tmp, final)
        finally:
            if tmp_fd >= 0:
                os.close(tmp_fd)
            if tmp and os.path.lexists(tmp):
                os.unlink(tmp)
