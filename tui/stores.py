"""History connections for worker threads.

``Project.history`` is one sqlite connection; sharing it between worker threads would interleave
their statements. Each thread that reads history gets its own ``HistoryStore`` here, opened on
first use and closed with the thread.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from launchdeck.core.history.store import HistoryStore
from launchdeck.core.project import Project


class ThreadStores:
    """One ``HistoryStore`` per thread for one project."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._local = threading.local()

    def history(self) -> HistoryStore:
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = _ClosingStore(self.project.deck_dir / "history.db")
        return store


class _ClosingStore(HistoryStore):
    # A thread's local data is dropped when the thread ends; close the connection with it.
    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


@contextmanager
def own_project(project: Project) -> Iterator[Project]:
    """A fresh ``Project`` (own history connection) for a worker that writes through core."""
    mine = Project(project.root)
    try:
        yield mine
    finally:
        if "history" in mine.__dict__:
            mine.history.close()
