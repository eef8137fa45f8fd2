"""A sweep's trials as runs: the record of a new trial, and how each one is doing.

Every trial is an ordinary run on the sweep's snapshot, tagged ``{"trial": N, "params": {...}}``
(and ``"stopped": why`` when the sweep stopped it early), so ``deck rerun`` repeats it and
``deck runs list --sweep`` finds it. ``sweep_progress`` is what ``deck sweep status`` shows (and
a dashboard view can show): the trials, their objective, the best one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from launchdeck.core.history.records import RunRecord
from launchdeck.core.history.store import HistoryStore
from launchdeck.core.runs.runspec import SWEEP_ENVIRONMENT
from launchdeck.core.runs.state import RunState
from launchdeck.core.sweeps.space import as_text
from launchdeck.core.sweeps.store import Sweep, SweepStatus


def trial_record(sweep: Sweep, template: RunRecord, index: int,
                 params: dict[str, Any]) -> RunRecord:
    """The Queued record of trial ``index`` on ``template``'s target.

    Parameters go after the script's own arguments as ``--name value``, or with ``env`` into
    the run's variables (recorded in its config, so a rerun has them too).
    """
    tags = {"trial": index, "params": params}
    if sweep.definition.env:
        config = {**template.config,
                  SWEEP_ENVIRONMENT: {name: as_text(v) for name, v in params.items()}}
        return replace(template, config=config, sweep_id=sweep.sweep_id, tags=tags)
    extra = tuple(word for name, value in params.items() for word in (f"--{name}",
                                                                      as_text(value)))
    return replace(template, arguments=template.arguments + extra, sweep_id=sweep.sweep_id,
                   tags=tags)


def numeric(values: list[Any] | None) -> list[float]:
    """A metric's values that are numbers (a text or a list logged under its name is skipped)."""
    return [float(v) for v in values or () if isinstance(v, (int, float))
            and not isinstance(v, bool) and math.isfinite(v)]


@dataclass(frozen=True)
class Trial:
    run: RunRecord
    index: int
    params: dict[str, Any]
    #: The objective's values so far (a step each)
    values: list[float]
    stopped: str | None

    @property
    def value(self) -> float | None:
        """The objective: the last value the trial logged."""
        return self.values[-1] if self.values else None


def trials_of(history: HistoryStore, sweep: Sweep) -> list[Trial]:
    """The sweep's trials, first started first."""
    runs = history.list_runs(sweep=sweep.sweep_id, newest_first=False)
    metric = sweep.definition.metric
    out = []
    for run in runs:
        values = numeric(history.metrics(run.run_id).get(metric)) if metric else []
        out.append(Trial(run=run, index=int(run.tags.get("trial", -1)),
                         params=dict(run.tags.get("params") or {}), values=values,
                         stopped=run.tags.get("stopped")))
    return sorted(out, key=lambda t: t.index)


def best_trial(sweep: Sweep, trials: list[Trial]) -> Trial | None:
    """The completed trial with the best objective (None before one completes)."""
    done = [t for t in trials if t.run.status is RunState.COMPLETED and t.value is not None]
    if not done:
        return None
    pick = max if sweep.definition.maximize else min
    return pick(done, key=lambda t: t.value)  # type: ignore[arg-type, return-value]


@dataclass(frozen=True)
class SweepProgress:
    sweep: Sweep
    status: SweepStatus
    trials: list[Trial]
    best: Trial | None
    owner_alive: bool

    def to_json(self) -> dict[str, Any]:
        d = self.sweep.definition
        return {
            "sweep_id": self.sweep.sweep_id, "state": str(self.status.state),
            "reason": self.status.reason, "owner_alive": self.owner_alive,
            "owner_pid": self.status.owner_pid,
            "created_utc": self.sweep.created_utc, "ended_utc": self.status.ended_utc,
            "script": self.sweep.script, "runconfig": self.sweep.runconfig,
            "targets": list(self.sweep.targets), "search": str(d.search), "seed": d.seed,
            "metric": d.metric, "goal": "maximize" if d.maximize else "minimize",
            "trials_planned": d.trials,
            "best": _trial_json(self.best) if self.best else None,
            "trials": [_trial_json(t) for t in self.trials]}


def _trial_json(t: Trial) -> dict[str, Any]:
    return {"trial": t.index, "run_id": t.run.run_id, "run_number": t.run.run_number,
            "status": str(t.run.status), "target": t.run.target, "params": t.params,
            "value": t.value, "steps": len(t.values), "stopped": t.stopped}
