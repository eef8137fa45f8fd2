"""Tars in and out of a run's container: the run's files going in, ``outputs/`` coming out.

Coming out, a tar from a container is untrusted: only regular files and folders are written,
every path stays under the destination, and nothing is written through a symbolic link.
"""

from __future__ import annotations

import os
import stat
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import IO

from launchdeck.core import farside
from launchdeck.core.targets.base import RUNTIME_DIR
from launchdeck.core.targets.outputs import copy_file_sparse, write_sparse

#: In-container helpers: (far-side file, path inside the container). The follower started by
#: ``docker exec`` needs no file (it runs as ``python -c``, see ``execution``); the launcher's
#: mirror of the output (``launch.py --mirror``) loads it from here.
HELPERS = ((farside.path("launch"), "deck/bin/launch.py"),
           (farside.path("follow"), "deck/bin/follow.py"))


def _owned_by_root(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    if info.isdir():
        # The image's user may not be root; a run must be able to write its outputs.
        info.mode = 0o777
    return info


def _skip_caches(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return None if "__pycache__" in info.name.split("/") else _owned_by_root(info)


def run_files(work: Path | None) -> IO[bytes]:
    """A tar of ``/deck`` for one run: helpers, the metrics runtime, and the code (``work``)."""
    spool = tempfile.TemporaryFile()
    with tarfile.open(fileobj=spool, mode="w") as tar:
        for name in ("deck", "deck/bin"):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            tar.addfile(_owned_by_root(info))
        for source, dest in HELPERS:
            tar.add(str(source), arcname=dest, filter=_owned_by_root)
        tar.add(str(RUNTIME_DIR), arcname="deck/runtime", filter=_skip_caches)
        if work is not None:
            # Symlinks inside the snapshot are recreated as symlinks, never followed.
            tar.add(str(work), arcname="deck/work", filter=_owned_by_root)
    spool.seek(0)
    return spool


def one_file(name: str, data: bytes) -> IO[bytes]:
    """A tar holding one small file (markers put into a running container)."""
    import io

    spool = tempfile.TemporaryFile()
    with tarfile.open(fileobj=spool, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(_owned_by_root(info), io.BytesIO(data))
    spool.seek(0)
    return spool


def extract_outputs(archive: IO[bytes], dest: Path) -> list[str]:
    """Unpack the tar of a container's ``outputs`` folder into ``dest``; return what was skipped.

    Files are written sparse (``core.targets.outputs``); a hard link is kept under every name
    (the tar holds its data once, under the first name).
    """
    skipped: list[str] = []
    written: dict[str, Path] = {}  # member name -> the file it was written to
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=archive, mode="r|") as tar:
        for member in tar:
            parts = PurePosixPath(member.name).parts[1:]  # drop the leading "outputs"
            rel = "/".join(parts)
            if not parts:
                continue
            if member.name.startswith("/") or ".." in parts:
                skipped.append(f"{member.name}: path leaves outputs/")
                continue
            if member.isdir():
                _safe_dirs(dest, parts)
                continue
            if not (member.isfile() or member.islnk()):
                skipped.append(f"{rel}: {_kind(member)}")
                continue
            folder = _safe_dirs(dest, parts[:-1])
            if folder is None:
                skipped.append(f"{rel}: a folder on its path is not a folder")
                continue
            if member.islnk():
                first = written.get(member.linkname.rstrip("/"))
                if first is None:
                    skipped.append(f"{rel}: hard link to {member.linkname}, which was not kept")
                    continue
                problem = _link_or_copy(first, folder / parts[-1])
                if problem:
                    skipped.append(f"{rel}: {problem}")
                else:
                    written[member.name] = folder / parts[-1]
                continue
            source = tar.extractfile(member)
            assert source is not None
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
            try:
                fd = os.open(folder / parts[-1], flags, 0o644)
            except OSError as exc:
                skipped.append(f"{rel}: {exc.strerror}")
                continue
            try:
                write_sparse(source.read, fd)
            finally:
                os.close(fd)
            written[member.name] = folder / parts[-1]
    return skipped


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "symbolic link not followed"
    if member.isfifo():
        return "FIFO (named pipe), not a regular file"
    if member.ischr() or member.isblk():
        return "device, not a regular file"
    return "not a regular file"


def _link_or_copy(first: Path, path: Path) -> str | None:
    """Give ``first``'s content a second name in history; the reason it failed, or None."""
    try:
        if os.path.lexists(path):
            os.unlink(path)  # collected before by a keeper that died: same content
        os.link(first, path, follow_symlinks=False)
    except OSError:
        try:
            copy_file_sparse(first, path)
        except OSError as exc:
            return exc.strerror
    return None


def _safe_dirs(dest: Path, parts: tuple[str, ...]) -> Path | None:
    """``dest/parts...`` as real folders (created as needed), or None if a link is in the way."""
    folder = dest
    for part in parts:
        folder = folder / part
        try:
            st = os.lstat(folder)
        except FileNotFoundError:
            os.mkdir(folder, 0o755)
            continue
        if not stat.S_ISDIR(st.st_mode):
            return None
    return folder
