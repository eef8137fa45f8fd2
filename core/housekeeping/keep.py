"""Which runs a prune keeps: the one rule ``deck store prune`` and a budget follow.

A run is *kept* when any of these holds:

- it is active (Queued, Preparing, Running): never removed, nor anything it needs;
- no age was given (``--older-than``): then every run in history is kept, and a prune removes
  only what no run at all and no run configuration needs;
- it ended (or, never started, was submitted) less than ``older_than`` ago;
- it is named with ``--keep RUN`` (a pin for this prune; deck has no lasting pin).

What a kept run needs: its snapshot (manifest and blobs), its run folder and history row,
and the environment it ran in (``environment_id``: an image or an executor venv).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable

from launchdeck.core.history.records import parse_utc

if TYPE_CHECKING:
    from launchdeck.core.history.records import RunRecord


@dataclass(frozen=True, kw_only=True)
class KeepRule:
    """``older_than``: seconds (None: keep every run); ``pinned``: run ids kept whatever age."""

    older_than: float | None = None
    pinned: frozenset[str] = field(default_factory=frozenset)
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def keeps(self, run: "RunRecord") -> bool:
        if run.status.is_active or self.older_than is None or run.run_id in self.pinned:
            return True
        last = parse_utc(run.end_time_utc) or parse_utc(run.created_utc)
        return last is None or (self.now - last).total_seconds() < self.older_than

    def split(self, runs: "Iterable[RunRecord]") -> "tuple[list[RunRecord], list[RunRecord]]":
        """(kept, not kept) of ``runs``, in the order given."""
        kept: list[RunRecord] = []
        gone: list[RunRecord] = []
        for run in runs:
            (kept if self.keeps(run) else gone).append(run)
        return kept, gone
