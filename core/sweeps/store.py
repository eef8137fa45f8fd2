"""Where a sweep is kept: ``.deck/sweeps/SWEEP/``.

``sweep.json`` is written once when the sweep begins (its definition and one template run per
target, all on the sweep's snapshot); ``state.json`` holds what changes (state, the reason it
ended, a cancel request), replaced atomically. Its trials are runs in history, found by their
``sweep_id``; a trial's parameters are in its tags, so ``run.json`` keeps them too.
``owner.lock`` is held by the sweep's owner process while it lives; ``owner.log`` is its output.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from launchdeck.core.errors import DeckError
from launchdeck.core.history.records import RunRecord, utc_now
from launchdeck.core.runs.state import RunState
from launchdeck.core.sweeps.definition import SweepDefinition


class SweepNotFound(DeckError):
    """No sweep by that name in this project."""


class SweepState(StrEnum):
    RUNNING = "Running"
    """Trials are being started or run (or will be, once its owner is back)."""
    COMPLETED = "Completed"
    """Every trial is over: all ran, or a limit or the goal ended the sweep."""
    CANCELED = "Canceled"
    """Canceled by its user; ``deck sweep resume`` goes on with it."""
    FAILED = "Failed"
    """Its owner met an error (said in ``reason``; ``owner.log`` has the rest)."""


@dataclass(frozen=True, kw_only=True)
class Sweep:
    sweep_id: str
    created_utc: str
    runconfig: str
    script: str
    definition: SweepDefinition
    #: One queued-run template per target, in the order trials try them.
    templates: tuple[RunRecord, ...]
    source: str | None = None

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(t.target for t in self.templates)

    def to_json(self) -> dict[str, Any]:
        return {"sweep_id": self.sweep_id, "created_utc": self.created_utc,
                "runconfig": self.runconfig, "script": self.script, "source": self.source,
                "definition": self.definition.to_json(),
                "templates": [_template_json(t) for t in self.templates]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Sweep":
        return cls(sweep_id=data["sweep_id"], created_utc=data["created_utc"],
                   runconfig=data["runconfig"], script=data["script"], source=data["source"],
                   definition=SweepDefinition.from_json(data["definition"]),
                   templates=tuple(RunRecord(run_id="", status=RunState.QUEUED,
                                             created_utc="",
                                             **{**t, "arguments": tuple(t["arguments"])})
                                   for t in data["templates"]))


def _template_json(record: RunRecord) -> dict[str, Any]:
    return {"target": record.target, "run_configuration": record.run_configuration,
            "script": record.script, "arguments": list(record.arguments),
            "framework": record.framework, "snapshot": record.snapshot,
            "config": record.config}


@dataclass(frozen=True, kw_only=True)
class SweepStatus:
    state: SweepState = SweepState.RUNNING
    reason: str | None = None
    ended_utc: str | None = None
    cancel_requested: bool = False
    owner_pid: int | None = None


class SweepStore:
    """The sweeps of one project (``deck_dir`` is its ``.deck``)."""

    def __init__(self, deck_dir: Path) -> None:
        self.root = deck_dir / "sweeps"

    def folder(self, sweep_id: str) -> Path:
        return self.root / sweep_id

    def create(self, make) -> Sweep:
        """Take the next free id (sweep1, sweep2, ...), write ``make(sweep_id)``'s sweep."""
        self.root.mkdir(parents=True, exist_ok=True)
        number = 1 + max((int(p.name[5:]) for p in self.root.iterdir()
                          if p.name.startswith("sweep") and p.name[5:].isdigit()), default=0)
        while True:
            try:
                (self.root / f"sweep{number}").mkdir()
                break
            except FileExistsError:  # another sweep began at the same moment
                number += 1
        sweep = make(f"sweep{number}")
        _write(self.folder(sweep.sweep_id) / "sweep.json", sweep.to_json())
        self.set_status(sweep.sweep_id, SweepStatus())
        return sweep

    def get(self, ref: str) -> Sweep:
        """The sweep ``ref`` names: ``sweep3``, or ``3``."""
        sweep_id = f"sweep{ref}" if ref.isdigit() else ref
        path = self.folder(sweep_id) / "sweep.json"
        if "/" in sweep_id or not path.is_file():
            known = ", ".join(self.ids()) or "none yet"
            raise SweepNotFound(f"no sweep {ref!r} in this project (sweeps: {known})")
        return Sweep.from_json(json.loads(path.read_text()))

    def ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        found = [p.name for p in self.root.iterdir() if (p / "sweep.json").is_file()]
        return sorted(found, key=lambda name: int(name[5:]) if name[5:].isdigit() else 0)

    def status(self, sweep_id: str) -> SweepStatus:
        try:
            data = json.loads((self.folder(sweep_id) / "state.json").read_text())
        except (OSError, ValueError):
            return SweepStatus()
        return SweepStatus(state=SweepState(data["state"]), reason=data.get("reason"),
                           ended_utc=data.get("ended_utc"),
                           cancel_requested=bool(data.get("cancel_requested")),
                           owner_pid=data.get("owner_pid"))

    def set_status(self, sweep_id: str, status: SweepStatus) -> None:
        _write(self.folder(sweep_id) / "state.json",
               {"state": str(status.state), "reason": status.reason,
                "ended_utc": status.ended_utc, "cancel_requested": status.cancel_requested,
                "owner_pid": status.owner_pid})

    def update(self, sweep_id: str, **changes: Any) -> SweepStatus:
        """Change some fields of the state; a lock keeps the owner's and a command's changes
        from undoing each other (read, change, write)."""
        import fcntl

        fd = os.open(self.folder(sweep_id) / "state.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            status = replace(self.status(sweep_id), **changes)
            self.set_status(sweep_id, status)
        finally:
            os.close(fd)
        return status

    def end(self, sweep_id: str, state: SweepState, reason: str) -> None:
        self.update(sweep_id, state=state, reason=reason, ended_utc=utc_now(),
                    cancel_requested=False)


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)
