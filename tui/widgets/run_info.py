"""``RunInfo``: a run's timeline, its effective configuration and its snapshot fingerprint."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from core.history.records import RunEvent, RunRecord, parse_utc
from tui.format import full_time, join_args, status_text

STEP_NAMES = {"Queued": "queued", "Preparing": "preparing", "Running": "started",
              "Completed": "finished", "Failed": "finished", "Canceled": "finished"}


def timeline(run: RunRecord, events: list[RunEvent]) -> list[tuple[str, str, str]]:
    """(step, time, note) from the run's events and its first output, in time order."""
    steps = [(e.time_utc, STEP_NAMES.get(e.status, e.status.lower()),
              e.status if STEP_NAMES.get(e.status) == "finished" else "", e.note or "")
             for e in events]
    if run.first_output_utc:
        steps.append((run.first_output_utc, "first output", "", ""))
    steps.sort(key=lambda s: s[0])
    origin = parse_utc(steps[0][0]) if steps else None
    rows = []
    for when, name, state, note in steps:
        offset = (parse_utc(when) - origin).total_seconds() if origin else 0.0
        label = f"{name} ({state})" if state else name
        rows.append((label, f"{full_time(when)}  +{offset:.1f}s", note))
    return rows


class RunInfo(Static):
    def show(self, run: RunRecord, events: list[RunEvent]) -> None:
        steps = Table(title="Timeline", title_justify="left", box=None, expand=False)
        steps.add_column("step", style="bold")
        steps.add_column("when")
        steps.add_column("note", overflow="fold")
        for row in timeline(run, events):
            steps.add_row(*row)

        facts = Table(title="Run", title_justify="left", box=None, show_header=False)
        facts.add_column(style="bold", no_wrap=True)
        facts.add_column(overflow="fold")
        facts.add_row("id", run.run_id)
        facts.add_row("status", status_text(run.status))
        facts.add_row("command", join_args([run.script, *run.arguments]))
        facts.add_row("framework", run.framework)
        facts.add_row("snapshot", run.snapshot)
        for label, value in (("exit code", run.exit_code), ("error", run.error),
                             ("environment", run.environment_id),
                             ("external id", run.external_id),
                             ("disconnected since", run.disconnected_since)):
            if value is not None:
                facts.add_row(label, Text(str(value), style="red" if label == "error" else ""))

        config = Table(title="Configuration", title_justify="left", box=None)
        config.add_column("setting", style="bold", no_wrap=True)
        config.add_column("value", overflow="fold")
        for key, value in run.config.items():
            config.add_row(key, _show(value))
        self.update(Group(steps, Text(""), facts, Text(""), config))


def _show(value) -> str:
    if isinstance(value, list):
        return join_args(str(v) for v in value)
    return "null" if value is None else str(value)
