"""The columns of the runs table, the cells of a run's row, and the order rows sort in.

Pure functions of a run's record and what is shown beside it (its mark, why it waits, what it
uses, its first metric): ``RunsTable`` keeps that state and the rows; this only draws and orders.
"""

from __future__ import annotations

from typing import Any, Callable

from rich.text import Text

from launchdeck.core.history.records import RunRecord
from launchdeck.core.runs.state import RunState
from launchdeck.tui.format import (cpu_share, duration_s, format_duration, format_value,
                                   memory_size, printable, short_id, short_time, status_text)

# (label, key) in the order shown. A new column goes here and into row_cells, and into
# DROP_ORDER if it may give way when the terminal is narrow.
COLUMNS = (("#", "number"), ("run", "id"), ("status", "status"), ("script", "script"),
           ("config", "runconfig"), ("target", "target"), ("took", "duration"),
           ("cpu", "cpu"), ("mem", "mem"), ("metric", "metric"), ("started", "started"))
# What gives way, first to last, when every column does not fit: the table never scrolls
# sideways and never cuts a value. Columns not named here always show.
DROP_ORDER = ("started", "mem", "cpu", "runconfig", "target", "metric", "duration", "script")
#: Columns that are read (not from history): sampled only while shown.
USAGE_COLUMNS = ("cpu", "mem")
STATE_ORDER = {state: i for i, state in enumerate(RunState)}
MARK = "●"  # marked runs carry it before their id


class RunId(Text):
    """The id cell: shows the short id, remembers the run."""

    def __init__(self, shown: str, run_id: str) -> None:
        super().__init__(shown)
        self.run_id = run_id


def id_cell(run: RunRecord, project_name: str, *, marked: bool) -> RunId:
    return RunId((MARK if marked else " ") + short_id(run.run_id, project_name), run.run_id)


def row_cells(run: RunRecord, *, project_name: str, marked: bool, now: float,
              metric: tuple[str, Any] | None, wait: Any = None, used: Any = None,
              trials: str | None = None) -> dict[str, Any]:
    """Every column's cell of ``run``'s row: ``wait`` (a QueueWait) shows on a queued run,
    ``used`` (a core.runs.usage.Usage) on a running one, ``trials`` ("3/8") on a sweep's."""
    # Text, not str, in every cell: DataTable reads a str as markup ("[done]" is not a
    # style), and parses it again each time it draws the row.
    status = status_text(run.status)
    wait = wait if run.status is RunState.QUEUED else None
    used = used if run.status is RunState.RUNNING else None
    if wait is not None:
        status.append(f" {wait.short}", style="dim")  # "… Queued #2 2/2 busy"
    if trials is not None:
        status.append(f" {trials}", style="dim")  # "3/8" trials
    return {
        "number": Text(str(run.run_number or ""), justify="right"),
        "id": id_cell(run, project_name, marked=marked),
        "status": status,
        "script": Text(printable(run.script)),
        "runconfig": Text(printable(run.run_configuration)),
        "target": Text(printable(run.target)),
        "started": Text(short_time(run.start_time_utc, now)),
        "duration": Text(format_duration(duration_s(run, now))),
        "metric": Text(f"{printable(metric[0])}={format_value(metric[1], 10)}" if metric
                       else ""),
        "cpu": Text(cpu_share(used), justify="right"),
        "mem": Text(memory_size(used.memory_bytes) if used else "", justify="right"),
    }


def sort_key(column: str, *, record: Callable[[str], RunRecord],
             metric: Callable[[str], tuple[str, Any] | None], usage: dict[str, Any],
             clock: Callable[[], float]) -> Callable[[RunId], tuple]:
    """The key that sorts rows (by their id cells) on ``column``, oldest run first on a tie."""

    def key(cell: RunId):
        run = record(cell.run_id)
        if column == "status":
            value: Any = STATE_ORDER[run.status]
        elif column == "duration":
            value = duration_s(run, clock()) or 0.0
        elif column == "metric":
            got = metric(cell.run_id)
            value = (0, got[1], "") if got and isinstance(got[1], (int, float)) \
                else (1, 0, str(got[1]) if got else "")
        elif column == "started":
            value = run.start_time_utc or ""
        elif column == "id":
            value = run.created_utc
        elif column == "number":
            value = run.run_number or 0
        elif column in USAGE_COLUMNS:
            used = usage.get(cell.run_id)
            value = -1.0 if used is None else (
                used.memory_bytes if column == "mem" else used.cpu_percent or 0.0)
        else:
            value = getattr(run, {"runconfig": "run_configuration"}.get(column, column))
        return (value, run.created_utc)

    return key
