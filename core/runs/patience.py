"""History writes a keeper cannot lose: locks and a full disk are waited out, not died of."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path

from launchdeck.core.errors import HistoryBusy, StorageError
from launchdeck.core.project import Project

#: Longest pause between two tries of a history write that found the database locked or the
#: disk full.
HISTORY_RETRY_MAX_SECONDS = 5.0
#: Space each keeper sets aside in its run folder and gives back when the disk is full, so the
#: run's final state can still be written (a few database pages and the run record).
SPACE_RESERVE_BYTES = 256 * 1024


class PatientHistory:
    """The history store as a keeper uses it: it never dies of a lock.

    A write that finds the database locked past the busy timeout (another process holding a
    long transaction) is tried again with a growing pause, for as long as it takes, and the
    run's log says so once. Inside ``patient_with_full_disk`` a full disk is waited out the
    same way (a run's final state must be written once space is back).
    """

    def __init__(self, project: Project, note, free_space=lambda: False) -> None:
        self._project = project  # its history is opened on first use, patiently too
        self._path = project.deck_dir / "history.db"
        self._note = note
        self._free_space = free_space
        self._full_disk_ok = 0

    @contextlib.contextmanager
    def patient_with_full_disk(self):
        self._full_disk_ok += 1
        try:
            yield
        finally:
            self._full_disk_ok -= 1

    def __getattr__(self, name: str):
        def patient(*args, **kwargs):
            return self._retry(lambda: getattr(self._project.history, name)(*args, **kwargs))
        return patient

    def _retry(self, call):
        pause = 0.05
        waiting_since = None
        while True:
            try:
                result = call()
            except (HistoryBusy, StorageError, sqlite3.OperationalError) as exc:
                reason = self._worth_waiting(exc)
                if reason is None:
                    raise
                if reason.startswith("the run history cannot be written") and self._free_space():
                    continue  # the keeper's reserve was given back: try again at once
                if waiting_since is None:
                    waiting_since = time.monotonic()
                    self._note(f"{reason}; this run's keeper waits for it (the run goes on)")
                time.sleep(pause)
                pause = min(pause * 2, HISTORY_RETRY_MAX_SECONDS)
                continue
            if waiting_since is not None:
                self._note(f"the run history can be written again (waited "
                           f"{time.monotonic() - waiting_since:.1f} s)")
            return result

    def _worth_waiting(self, exc: Exception) -> str | None:
        if isinstance(exc, sqlite3.OperationalError):  # a read that met the lock
            from launchdeck.core.history.db import history_error

            exc = history_error(exc, self._path, "read")
        if isinstance(exc, HistoryBusy):
            return f"the run history {self._path} is locked by another process"
        if isinstance(exc, StorageError) and self._full_disk_ok \
                and str(exc).startswith("no space left"):
            return f"the run history cannot be written: {exc}"
        return None


class SpaceReserve:
    """A file of ``SPACE_RESERVE_BYTES`` a keeper holds while its run goes.

    On a full disk the keeper deletes it to write the run's final state ("no space left on
    device (PATH)") at once rather than leave the run Running until someone frees space.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._held = False

    def take(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.posix_fallocate(fd, 0, SPACE_RESERVE_BYTES)
            finally:
                os.close(fd)
            self._held = True
        except OSError:  # no room for it (or a read-only folder): the run goes on without
            with contextlib.suppress(OSError):
                self.path.unlink(missing_ok=True)

    def release(self) -> bool:
        """Give the space back; whether there was any to give."""
        held, self._held = self._held, False
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)
        return held
