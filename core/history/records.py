"""What history holds about one run, as plain data."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from launchdeck.core.runs.state import RunState


def utc_now() -> str:
    """Now, as the ISO-8601 UTC text history stores (sortable as text)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_utc(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text)  # C-fast; understands the trailing Z since 3.11


def format_duration(seconds: float | None) -> str:
    """``12.3s``, ``4m05s``, ``2h07m``: the one way both faces show how long a run took."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    run_id: str
    status: RunState
    target: str
    run_configuration: str
    script: str
    arguments: tuple[str, ...]
    framework: str
    snapshot: str
    config: dict[str, Any]
    created_utc: str
    start_time_utc: str | None = None
    end_time_utc: str | None = None
    first_output_utc: str | None = None
    exit_code: int | None = None
    error: str | None = None
    keeper_pid: int | None = None
    external_id: str | None = None
    cancel_requested: bool = False
    metrics_offset: int = 0
    disconnected_since: str | None = None
    environment_id: str | None = None
    #: 1, 2, 3, ... per project in submission order (None until history has numbered it)
    run_number: int | None = None
    #: Place in its target's queue while Queued (lower goes first; None: submit order)
    queue_order: float | None = None
    #: The sweep this run is a trial of (None: an ordinary run)
    sweep_id: str | None = None
    #: Labels of the run: a trial's ``trial`` number, ``params`` and ``stopped`` reason
    tags: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, list[Any]] | None = field(default=None, compare=False)
    artifacts: tuple[str, ...] | None = field(default=None, compare=False)

    @property
    def duration_s(self) -> float | None:
        start = parse_utc(self.start_time_utc)
        if start is None:
            return None
        end = parse_utc(self.end_time_utc) or datetime.now(timezone.utc)
        return round((end - start).total_seconds(), 3)

    def to_json(self) -> dict[str, Any]:
        """The object ``deck runs show --json`` prints."""
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "run_number": self.run_number,
            "status": str(self.status),
            "exit_code": self.exit_code,
            "target": self.target,
            "run_configuration": self.run_configuration,
            "script": self.script,
            "arguments": list(self.arguments),
            "framework": self.framework,
            "created_utc": self.created_utc,
            "start_time_utc": self.start_time_utc,
            "end_time_utc": self.end_time_utc,
            "duration_s": self.duration_s,
            "snapshot": self.snapshot,
            "error": self.error,
            "external_id": self.external_id,
            "environment_id": self.environment_id,
            "disconnected_since": self.disconnected_since,
            "sweep_id": self.sweep_id,
            "tags": self.tags,
        }
        if self.metrics is not None:
            out["metrics"] = self.metrics
        if self.artifacts is not None:
            out["artifacts"] = list(self.artifacts)
        return out

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "RunRecord":
        return cls(
            run_id=row["run_id"],
            status=RunState(row["status"]),
            target=row["target"],
            run_configuration=row["run_configuration"],
            script=row["script"],
            arguments=tuple(json.loads(row["arguments"])),
            framework=row["framework"],
            snapshot=row["snapshot"],
            config=json.loads(row["config"]),
            created_utc=row["created_utc"],
            start_time_utc=row["start_time_utc"],
            end_time_utc=row["end_time_utc"],
            first_output_utc=row["first_output_utc"],
            exit_code=row["exit_code"],
            error=row["error"],
            keeper_pid=row["keeper_pid"],
            external_id=row["external_id"],
            cancel_requested=bool(row["cancel_requested"]),
            metrics_offset=row["metrics_offset"],
            disconnected_since=row["disconnected_since"],
            environment_id=row["environment_id"],
            run_number=row["run_number"],
            queue_order=row["queue_order"],
            sweep_id=row["sweep_id"],
            tags=json.loads(row["tags"]) if row["tags"] else {},
        )


@dataclass(frozen=True, kw_only=True)
class RunEvent:
    time_utc: str
    status: str
    note: str | None
