"""A run's two streams copied into history while it goes: its output into ``output.log``, its
metric lines into the run's metrics.

Each resumes at the offset history recorded, so a keeper that takes over from a dead one loses
nothing and repeats nothing.
"""

from __future__ import annotations

import json

from launchdeck.core.diskerrors import is_storage_problem, storage_error
from launchdeck.core.history.records import utc_now
from launchdeck.core.runs.patience import PatientHistory
from launchdeck.core.runs.runlog import RunLog, file_size


async def copy_output(execution, log: RunLog, history: PatientHistory, run_id: str) -> None:
    """Append the target's output to the run's log, from where the log has it up to."""
    offset = max(0, file_size(log.path) - log.target_base())
    first = history.get_run(run_id).first_output_utc is None
    with open(log.path, "ab", buffering=0) as out:  # unbuffered: no flush at close
        async for chunk in execution.logs(offset):
            try:
                view = memoryview(chunk)
                while view:
                    view = view[out.write(view):]
            except OSError as exc:
                raise storage_error(exc, log.path) if is_storage_problem(exc) else exc
            if first:
                first = False
                history.update_run(run_id, first_output_utc=utc_now())


async def copy_metrics(execution, history: PatientHistory, run_id: str) -> None:
    """Add the run's metric lines to history, a whole line at a time."""
    offset = history.get_run(run_id).metrics_offset
    pending = b""
    async for chunk in execution.metrics(offset):
        pending += chunk
        complete, sep, rest = pending.rpartition(b"\n")
        if not sep:
            continue
        entries = []
        for line in complete.split(b"\n"):
            entry = parse_metric(line)
            if entry is not None:
                entries.append(entry)
        offset += len(complete) + 1
        pending = rest
        history.add_metrics(run_id, entries, new_offset=offset)


def parse_metric(line: bytes):
    """(name, value, time) of one metric line; None for a line that is not one."""
    try:
        record = json.loads(line)
        return (str(record["name"]), record.get("value"), _utc_from_epoch(record.get("time")))
    except (ValueError, KeyError, TypeError):
        return None  # a torn or foreign line must not stop the run's bookkeeping


def _utc_from_epoch(value) -> str | None:
    from datetime import datetime, timezone

    if not isinstance(value, (int, float)):
        return None
    return datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
