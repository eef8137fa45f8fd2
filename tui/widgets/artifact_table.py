"""``ArtifactTable``: the files a run kept (what it wrote under ``./outputs/``), with sizes.

The run's detail screen shows it on its Artifacts tab and binds the keys: enter or ``o`` opens
the file under the cursor in the user's pager, ``y`` copies its path.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

from rich.text import Text

from launchdeck.tui.format import format_size, printable
from launchdeck.tui.widgets.table import Table


class ArtifactTable(Table):
    """One row per kept file, keyed by its path under the run's folder."""

    def __init__(self, run_dir: Path, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self.run_dir = run_dir
        self.paths: list[str] = []  # as shown, top to bottom
        self.add_column("artifact", key="path")
        self.add_column("size", key="size")

    def show(self, artifacts: list[tuple[str, int]]) -> bool:
        """Rows for ``artifacts`` (path, size), redrawn only if the paths changed: whether
        they did."""
        paths = [path for path, _ in artifacts]
        if paths == self.paths:
            return False
        self.paths = paths
        self.clear()
        for path, size in artifacts:
            self.add_row(Text(printable(path)), format_size(size), key=path)
        return True

    def chosen(self) -> Path | None:
        """The file under the cursor; None, said, when the run kept none."""
        if not self.row_count:
            self.notify("no artifacts: a run keeps what it writes under ./outputs/",
                        severity="warning")
            return None
        return self.run_dir / self.paths[self.cursor_row]

    def open_chosen(self) -> None:
        """The file under the cursor in ``$PAGER`` (or less), on the whole terminal."""
        path = self.chosen()
        if path is None:
            return
        from textual.app import SuspendNotSupported

        pager = shlex.split(os.environ.get("PAGER") or "less") or ["less"]
        try:
            with self.app.suspend():
                subprocess.run([*pager, str(path)], check=False)
        except SuspendNotSupported:
            self.notify(f"cannot hand the terminal to a pager here; the file is {path}")
        except OSError as exc:
            self.notify(f"{pager[0]}: {exc}", severity="error")

    def copy_chosen(self) -> None:
        """The path of the file under the cursor, to the clipboard."""
        path = self.chosen()
        if path is not None:
            self.app.copy_to_clipboard(str(path))
            self.notify(f"copied {path}")
