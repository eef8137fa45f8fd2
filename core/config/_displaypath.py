"""How a path is shown in a message (used by every module that names a file to the user)."""

from __future__ import annotations

import contextlib
import os


def display_path(path: str | os.PathLike[str]) -> str:
    """The path as a user should see it in a message: relative to the current folder if inside."""
    absolute = os.path.abspath(path)
    with contextlib.suppress(OSError, ValueError):
        relative = os.path.relpath(absolute)
        if not relative.startswith(".."):
            return relative
    return absolute
