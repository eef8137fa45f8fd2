"""The header line of a run's screen: its id, state, command, where it runs and how long it has
taken, fitted to the bar's width."""

from __future__ import annotations

from rich.markup import escape

from launchdeck.core.history.records import RunRecord
from launchdeck.tui.format import (duration_s, format_duration, join_args, printable, short_id,
                                   status_text)


def run_header(run: RunRecord, *, project_name: str, now: float, width: int) -> str:
    """Rich markup for ``run``'s header in ``width`` cells (0 or less: not fitted)."""
    # Without the project prefix, as in the table. The command gives way (cut with "…"),
    # then the run configuration's name: where it runs and how long it has taken show.
    status = status_text(run.status)
    target = printable(run.target)
    where = f"on {target}" if run.run_configuration == run.target else \
        f"{printable(run.run_configuration)} on {target}"
    took = format_duration(duration_s(run, now))
    command = printable(join_args([run.script, *run.arguments]))
    parts = [short_id(run.run_id, project_name), status.plain, command, where, took]
    if width > 0:
        over = len(" · ".join(p for p in parts if p)) - width
        if over > 0:
            keep = len(command) - over - 1
            parts[2] = command[:keep] + "…" if keep >= 4 else ""
            over = len(" · ".join(p for p in parts if p)) - width
        if over > 0:
            parts[3] = f"on {target}"
    parts[1] = status.markup
    return " · ".join(part if i == 1 else escape(part) for i, part in enumerate(parts) if part)
