"""What a target tells about a run (``RunEvents``), recorded by the run's keeper.

The keeper builds one ``RunRecorder`` per run and gives it to the target's ``launch`` or
``attach``: a lost link is shown on the run ("disconnected since") while it stays Running, an id
or environment that becomes known is kept with the run, and progress lines go to the run's log.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable


class RunRecorder:
    """The ``RunEvents`` of one run: history and the run's log keep what the target tells."""

    def __init__(self, history, run_id: str, *, log_line: Callable[[str], None]) -> None:
        self._history = history  # the keeper's PatientHistory: a locked database is waited out
        self._run_id = run_id
        self._log_line = log_line

    def progress(self, line: str) -> None:
        self._log_line(line)

    def link_state(self, lost_since: datetime | None) -> None:
        # A run that ended meanwhile keeps its final record as it is.
        if not self._history.get_run(self._run_id).status.is_terminal:
            self._history.update_run(self._run_id, disconnected_since=utc_text(lost_since))

    def external_id(self, value: str) -> None:
        self._history.update_run(self._run_id, external_id=value)

    def environment(self, environment_id: str) -> None:
        if environment_id:
            self._history.update_run(self._run_id, environment_id=environment_id)


def utc_text(moment: datetime | None) -> str | None:
    """``moment`` as the ISO-8601 UTC text history stores (as ``utc_now`` writes it)."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
