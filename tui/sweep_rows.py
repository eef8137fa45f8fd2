"""A sweep as one row of the runs table: a record standing for all its trials.

The runs table sorts, filters and draws records; a sweep's row is a ``RunRecord`` made from the
sweep (its id, state, script, configuration, targets, first start and last end), so the table's
sorting and ``/`` filter treat it as they treat a run. Its trials are folded into it; enter
opens the sweep's view, where they are listed.
"""

from __future__ import annotations

from typing import Any

from launchdeck.core.history.records import RunRecord
from launchdeck.core.runs.state import RunState
from launchdeck.core.sweeps.store import SweepState
from launchdeck.core.sweeps.trials import SweepProgress


def sweep_record(p: SweepProgress) -> RunRecord:
    """The stand-in record of sweep ``p`` (its run_id is the sweep id, as ``sweep3``)."""
    starts = [t.run.start_time_utc for t in p.trials if t.run.start_time_utc]
    ends = [t.run.end_time_utc for t in p.trials if t.run.end_time_utc]
    over = p.status.state is not SweepState.RUNNING
    end = p.status.ended_utc or (max(ends) if ends else None)
    return RunRecord(run_id=p.sweep.sweep_id, status=RunState(str(p.status.state)),
                     target=",".join(dict.fromkeys(p.sweep.targets)),
                     run_configuration=p.sweep.runconfig, script=p.sweep.script, arguments=(),
                     framework="", snapshot="", config={}, created_utc=p.sweep.created_utc,
                     start_time_utc=min(starts) if starts else None,
                     end_time_utc=end if over and starts else None,
                     sweep_id=p.sweep.sweep_id)


def trial_count(p: SweepProgress) -> str:
    """``3/8``: trials begun of those planned."""
    return f"{len(p.trials)}/{p.sweep.definition.trials}"


def best_metric(p: SweepProgress) -> tuple[str, Any] | None:
    """(objective, best value so far) for the metric column; None before a trial completes."""
    if p.best is None or not p.sweep.definition.metric:
        return None
    return p.sweep.definition.metric, p.best.value
