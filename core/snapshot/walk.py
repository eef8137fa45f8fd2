"""Walk a project folder: the files and in-project symlinks a snapshot takes, and why others not.

Always left out: ``.git`` at any depth, ``__pycache__`` folders, and at the top level ``.deck``
(history and the store) and ``outputs`` (what runs write); then whatever the
``.gitignore`` / ``.amlignore`` files say. Excluded folders are never entered, so files in them
are never opened. Symlinks are recorded, never followed: one whose target resolves outside the
project is skipped with a warning. FIFOs, sockets and devices are skipped with a warning.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field

from launchdeck.core.errors import SnapshotError
from launchdeck.core.snapshot.ignore import IGNORE_FILES, IgnoreRules, IgnoreStack
from launchdeck.core.snapshot.manifest import is_inside, link_stays_inside

_TOP_LEVEL = frozenset({".deck", "outputs"})


@dataclass
class ProjectTree:
    """What a walk found: files with their lstat data, links with their targets, warnings."""

    files: list[tuple[str, os.stat_result]] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _read_rules(folder: str, names: set[str], rel_folder: str) -> IgnoreRules:
    """The rules of the ignore files ``names`` in one folder (.amlignore's lines come last)."""
    text = []
    for name in IGNORE_FILES:
        if name in names:
            try:
                with open(os.path.join(folder, name), encoding="utf-8",
                          errors="surrogateescape") as fh:
                    text.append(fh.read())
            except OSError as exc:
                raise SnapshotError(f"cannot read {rel_folder}{name}: {exc.strerror}") from None
    return IgnoreRules.parse("\n".join(text)) if text else IgnoreRules([])


def _link_target(path: str, rel: str, root: str) -> str | None:
    """The relative target to record for a symlink, or None when it leaves the project."""
    target = os.readlink(path)
    resolved = os.path.realpath(path)
    if not is_inside(resolved, root):
        return None
    if os.path.isabs(target):
        # Keep the link working wherever the snapshot is restored.
        target = os.path.relpath(resolved, os.path.dirname(os.path.join(root, rel)))
    target = target.replace(os.sep, "/")
    # A target that climbs out and only comes back in through other links is refused on
    # restore (it is read lexically there), so it is left out here.
    return target if link_stays_inside(rel, target) else None


def walk_project(root: str, *, exclude: frozenset[str] = frozenset(),
                 keep: frozenset[str] = frozenset()) -> ProjectTree:
    """Walk ``root`` (a real, absolute path); ``exclude`` adds relative paths to leave out,
    ``keep`` files no ignore file may leave out (a run's configs; see ``IgnoreStack``)."""
    tree = ProjectTree()
    excluded = _TOP_LEVEL | exclude
    pending: list[tuple[str, str, IgnoreStack]] = [(root, "", IgnoreStack(keep=keep))]
    while pending:
        folder, prefix, rules = pending.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            raise SnapshotError(f"cannot read folder {prefix or './'}: {exc.strerror}") from None
        # Like git (since 2.32), an ignore file that is a symlink is not followed.
        holders = {e.name for e in entries
                   if e.name in IGNORE_FILES and e.is_file(follow_symlinks=False)}
        if holders:
            rules = rules.push(prefix, _read_rules(folder, holders, prefix))
        for entry in entries:
            rel = prefix + entry.name
            try:
                is_link = entry.is_symlink()
                is_dir = not is_link and entry.is_dir(follow_symlinks=False)
                if rel in excluded or entry.name == ".git" or (
                        is_dir and entry.name == "__pycache__"):
                    continue
                if rules.ignored(rel, is_dir=is_dir):
                    continue
                if is_dir:
                    pending.append((entry.path, rel + "/", rules))
                elif is_link:
                    target = _link_target(entry.path, rel, root)
                    if target is None:
                        tree.warnings.append(f"{rel}: symlink to {os.readlink(entry.path)} "
                                             "points outside the project; left out")
                    else:
                        tree.links.append((rel, target))
                else:
                    st = entry.stat(follow_symlinks=False)
                    if stat.S_ISREG(st.st_mode):
                        tree.files.append((rel, st))
                    else:
                        tree.warnings.append(f"{rel}: not a regular file; left out")
            except FileNotFoundError:
                tree.warnings.append(f"{rel}: vanished during the snapshot; left out")
            except OSError as exc:
                raise SnapshotError(f"cannot read {rel}: {exc.strerror}") from None
    return tree
