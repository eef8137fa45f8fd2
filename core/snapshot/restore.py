"""Write a snapshot's files out of the store (``materialize`` for a run, ``restore`` for a user).

Never writes outside the destination: manifest paths are validated when read (``manifest``);
every folder a file goes into is checked to resolve inside the destination (a symlink already
there cannot redirect us); files are opened with ``O_NOFOLLOW``; links are made last and each is
checked, once all exist, to resolve inside the destination.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from launchdeck.core.errors import SnapshotError
from launchdeck.core.snapshot.manifest import Manifest, ManifestEntry, is_inside

if TYPE_CHECKING:
    from launchdeck.core.snapshot.store import ContentStore

_CHUNK = 1 << 20
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _check_destination(dest: Path, manifest: Manifest, *, overwrite: bool,
                       require_empty: bool) -> None:
    if require_empty:
        if os.path.lexists(dest) and (not dest.is_dir() or any(dest.iterdir())):
            raise SnapshotError(f"{dest}: exists and is not an empty folder; a snapshot is "
                                "materialized only into a new folder")
        return
    clashes = []
    for entry in manifest:
        path = dest / entry.path
        if path.is_dir() and not path.is_symlink():
            raise SnapshotError(f"{path}: is a folder; the snapshot has a file there")
        if not overwrite and os.path.lexists(path):
            clashes.append(entry.path)
    if clashes:
        more = f" and {len(clashes) - 3} more" if len(clashes) > 3 else ""
        raise SnapshotError(f"{dest}: would overwrite {', '.join(clashes[:3])}{more}; "
                            "nothing was written")


def _copy(src_fd: int, dst_fd: int, size: int) -> None:
    copied = 0
    fast = hasattr(os, "copy_file_range")
    while copied < size:
        if fast:
            try:
                # In-kernel copy; a reflink on CoW file systems, still a separate file.
                n = os.copy_file_range(src_fd, dst_fd, size - copied)
            except OSError:
                fast = False  # not across these file systems: plain reads and writes
                continue
        else:
            data = os.read(src_fd, min(_CHUNK, size - copied))
            n = len(data)
            write_all(dst_fd, data)
        if n == 0:
            raise OSError("blob shorter than recorded")
        copied += n


class _Writer:
    def __init__(self, store: "ContentStore", dest: Path, *, overwrite: bool) -> None:
        self.store = store
        self.root = os.path.realpath(dest)
        self.overwrite = overwrite
        self.checked: set[str] = set()

    def _folder(self, entry: ManifestEntry) -> str:
        folder = os.path.dirname(os.path.join(self.root, entry.path))
        if folder not in self.checked:
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as exc:
                raise SnapshotError(f"cannot create the folder of {entry.path}: "
                                    f"{exc.strerror}") from None
            if not is_inside(os.path.realpath(folder), self.root):
                raise SnapshotError(f"{entry.path}: its folder leads outside {self.root} "
                                    "(through a symlink); refused")
            self.checked.add(folder)
        return folder

    def _target(self, entry: ManifestEntry) -> tuple[str, str | None]:
        """(path to create, final path to rename it onto or None)."""
        final = os.path.join(self._folder(entry), os.path.basename(entry.path))
        if self.overwrite and os.path.lexists(final):
            tmp = os.path.join(os.path.dirname(final), f".deck-restore-{os.urandom(6).hex()}")
            return tmp, final
        return final, None

    def file(self, entry: ManifestEntry) -> None:
        path, replace = self._target(entry)
        assert entry.hash is not None  # a file's entry has its content's hash
        blob = self.store.blob_path(entry.hash)
        try:
            src = os.open(blob, os.O_RDONLY | _NOFOLLOW)
        except OSError as exc:
            raise SnapshotError(f"blob of {entry.path} unreadable: {exc.strerror}") from None
        try:
            if os.fstat(src).st_size != entry.size:
                raise SnapshotError(f"blob {entry.hash} of {entry.path} is damaged "
                                    "(wrong size)")
            mode = 0o777 if entry.executable else 0o666  # the umask decides the rest
            try:
                dst = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, mode)
            except OSError as exc:
                raise SnapshotError(f"cannot create {entry.path}: {_reason(exc, path)}") \
                    from None
            try:
                _copy(src, dst, entry.size)
            except OSError as exc:
                raise SnapshotError(f"cannot write {entry.path}: {_reason(exc, path)}") \
                    from None
            finally:
                os.close(dst)
        finally:
            os.close(src)
        self._finish(path, replace, entry)

    def link(self, entry: ManifestEntry) -> None:
        path, replace = self._target(entry)
        assert entry.link is not None  # a symlink's entry has its target
        try:
            os.symlink(entry.link, path)
        except OSError as exc:
            raise SnapshotError(f"cannot create symlink {entry.path}: {exc.strerror}") from None
        self._finish(path, replace, entry)

    def check_link(self, entry: ManifestEntry) -> None:
        """Refuse a link that resolves outside; run once all links exist (they chain)."""
        final = os.path.join(self.root, entry.path)
        if not is_inside(os.path.realpath(final), self.root):
            os.unlink(final)
            raise SnapshotError(f"symlink {entry.path} -> {entry.link} resolves outside "
                                f"{self.root}; refused")

    @staticmethod
    def _finish(path: str, replace: str | None, entry: ManifestEntry) -> None:
        if replace is not None:
            try:
                os.replace(path, replace)  # replaces a link itself, never what it points to
            except OSError as exc:
                os.unlink(path)
                raise SnapshotError(f"cannot replace {entry.path}: {exc.strerror}") from None


def write_tree(store: "ContentStore", manifest: Manifest, dest: Path, *, overwrite: bool,
               require_empty: bool) -> None:
    """Write every entry of ``manifest`` under ``dest`` (see ``ContentStore.restore``)."""
    missing = store.missing_blobs(e.hash for e in manifest if e.hash is not None)
    if missing:
        raise SnapshotError(f"snapshot {manifest.fingerprint} lacks {len(missing)} blob(s) in "
                            f"{store.root}, e.g. {missing[0]}")
    _check_destination(dest, manifest, overwrite=overwrite, require_empty=require_empty)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SnapshotError(f"cannot create {dest}: {exc.strerror}") from None
    writer = _Writer(store, dest, overwrite=overwrite)
    # Files before links: a link made first could redirect a later write.
    for entry in manifest:
        if not entry.is_link:
            writer.file(entry)
    links = [entry for entry in manifest if entry.is_link]
    for entry in links:
        writer.link(entry)
    for entry in links:
        writer.check_link(entry)


def _reason(exc: OSError, path) -> str:
    from launchdeck.core.diskerrors import is_storage_problem, storage_error

    # A full disk reads "no space left on device (PATH)" wherever it is met.
    return str(storage_error(exc, path)) if is_storage_problem(exc) else (exc.strerror or str(exc))
