"""Copy a run's ``outputs/`` folder into history without ever leaving either folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def copy_outputs(source: Path, dest: Path) -> list[str]:
    """Copy regular files under ``source`` to ``dest``; return what was skipped and why.

    Symlinks are never followed (a script could point one at ``/etc/shadow`` or at history
    itself); they are skipped and reported.
    """
    skipped: list[str] = []
    if not source.is_dir() or source.is_symlink():
        return skipped
    for folder, dirs, files in os.walk(source, followlinks=False):
        rel_folder = Path(folder).relative_to(source)
        for name in list(dirs):
            if (Path(folder) / name).is_symlink():
                dirs.remove(name)
                skipped.append(f"{rel_folder / name}: symbolic link not followed")
        for name in files:
            path = Path(folder) / name
            rel = rel_folder / name
            if path.is_symlink() or not path.is_file():
                skipped.append(f"{rel}: not a regular file")
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target, follow_symlinks=False)
    return skipped


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
