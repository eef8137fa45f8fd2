"""What changed in run history since the last look, read cheaply enough to ask a few times a second.

A ``RunsFeed`` lives in one worker thread with its own ``HistoryStore``. ``data_version()`` tells
whether anyone committed; only then does it read the active runs, the newest few (runs that were
submitted and ended between two looks) and those that were active last time, never the whole
history again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from launchdeck.core.history.records import RunRecord
from launchdeck.core.history.store import HistoryStore
from launchdeck.core.runs.state import RunState

ACTIVE = (RunState.QUEUED, RunState.PREPARING, RunState.RUNNING)
RECENT = 25
# A chatty run logs metrics many times a second; its table cell needs them once a second or two.
METRIC_REFRESH_SECONDS = 1.5


@dataclass
class FeedUpdate:
    """New or changed runs, deleted runs, and the runs whose first metric has a new last
    value."""

    runs: dict[str, RunRecord] = field(default_factory=dict)
    first_metric: dict[str, tuple[str, Any]] = field(default_factory=dict)
    full: bool = False
    removed: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.runs or self.first_metric or self.full or self.removed)

    def merge(self, other: "FeedUpdate") -> None:
        """Take in a later update (what a gathered, not yet drawn, update becomes)."""
        for run_id in other.removed:
            self.runs.pop(run_id, None)
            self.first_metric.pop(run_id, None)
        self.removed -= set(other.runs)
        self.removed |= other.removed
        self.runs.update(other.runs)
        self.first_metric.update(other.first_metric)


class RunsFeed:
    """Incremental reader of the runs table for one thread."""

    def __init__(self, history: HistoryStore, *, clock=time.monotonic) -> None:
        self.history = history
        self.runs: dict[str, RunRecord] = {}
        self._version: int | None = None
        self._active: set[str] = set()
        self._metric_offsets: dict[str, int] = {}
        self._metric_pending: set[str] = set()
        self._metric_due: dict[str, float] = {}
        self._clock = clock

    def load(self) -> FeedUpdate:
        """Everything, once: the first paint, or when too much changed at once."""
        self._version = self.history.data_version()
        before, self.runs = self.runs, {r.run_id: r for r in self.history.list_runs()}
        self._active = {rid for rid, r in self.runs.items() if r.status.is_active}
        self._metric_pending = {rid for rid, r in self.runs.items() if r.metrics_offset}
        return FeedUpdate(runs=dict(self.runs), full=True, removed=before.keys() - self.runs)

    def first_metrics(self, run_ids: list[str]) -> dict[str, tuple[str, Any]]:
        """Run id -> (its first-logged metric, that metric's last value)."""
        out: dict[str, tuple[str, Any]] = {}
        for run_id, values in self.history.last_metrics(run_ids).items():
            if values:
                name = next(iter(values))
                out[run_id] = (name, values[name])
            self._metric_offsets[run_id] = self.runs[run_id].metrics_offset \
                if run_id in self.runs else 0
        return out

    def poll(self) -> FeedUpdate:
        """What changed since the last call (empty when nobody committed)."""
        if self._version is None:
            update = self.load()
        else:
            update = FeedUpdate()
            version = self.history.data_version()
            if version != self._version:
                self._version = version
                update = self._changes()
        update.first_metric.update(self._due_metrics())
        return update

    def _changes(self) -> FeedUpdate:
        fresh = {r.run_id: r for r in self.history.list_runs(status=ACTIVE)}
        recent = self.history.list_runs(limit=RECENT)
        if len(recent) == RECENT and not any(r.run_id in self.runs for r in recent):
            return self.load()  # more runs arrived than we look back over: read all once
        for run in recent:
            fresh.setdefault(run.run_id, run)
        for run_id in self._active - fresh.keys():
            # It ended since the last look (or was deleted: None).
            fresh[run_id] = self.history.find_exact(run_id)
        removed = {rid for rid, r in fresh.items() if r is None}
        fresh = {rid: r for rid, r in fresh.items() if r is not None}
        changed = {rid: r for rid, r in fresh.items() if self.runs.get(rid) != r}
        self.runs.update(changed)
        # Deleted runs (by the dashboard or `deck runs delete`): a count tells, then the ids.
        if len(self.runs) > self.history.count_runs():
            removed |= self.runs.keys() - set(self.history.run_ids())
        for run_id in removed:
            self.runs.pop(run_id, None)
            self._metric_pending.discard(run_id)
        self._active = {rid for rid, r in fresh.items() if r.status.is_active}
        for run_id, run in changed.items():
            if run.metrics_offset != self._metric_offsets.get(run_id, 0):
                self._metric_pending.add(run_id)
        return FeedUpdate(runs=changed, removed=removed)

    def _due_metrics(self) -> dict[str, tuple[str, Any]]:
        if not self._metric_pending:
            return {}
        now = self._clock()
        due = [rid for rid in self._metric_pending if self._metric_due.get(rid, 0.0) <= now]
        if not due:
            return {}
        self._metric_pending.difference_update(due)
        for run_id in due:
            self._metric_due[run_id] = now + METRIC_REFRESH_SECONDS
        return self.first_metrics(due)
