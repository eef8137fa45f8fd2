"""``RunInfo``: a run's timeline, its effective configuration and its snapshot fingerprint."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from launchdeck.core.history.records import RunEvent, RunRecord, parse_utc
from launchdeck.tui.format import clock_time, full_time, join_args, printable, status_text

STEP_NAMES = {"Queued": "queued", "Preparing": "preparing", "Running": "started",
              "Completed": "finished", "Failed": "finished", "Canceled": "finished"}
STEPS = ("queued", "preparing", "started", "first output", "finished")


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
        rows.append((label, f"{clock_time(when)}  +{offset:.1f}s", printable(note, keep="\n")))
    reached = {name for _, name, _, _ in steps}
    if "preparing" not in reached and not run.config.get("PrepareEnvironment"):
        # A step the run skips, said in its place: the timeline always has the same shape.
        rows.insert(min(1, len(rows)), ("preparing", "—", "skipped: PrepareEnvironment off"))
        reached.add("preparing")
    if run.status.is_active:  # the steps still ahead
        rows += [(name, "—", "") for name in STEPS if name not in reached]
    return rows


#: Cells the label column and the gap take before a fact's value.
FACT_LABEL_WIDTH = len("disconnected since") + 1


class RunInfo(Static):
    _shown_key: str | None = None
    _shown: tuple[RunRecord, list[RunEvent]] | None = None

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)

    def show(self, run: RunRecord, events: list[RunEvent]) -> None:
        self._shown = (run, events)
        rows = timeline(run, events)
        # A running run is read again with every metric it logs: what this shows rarely
        # changed, and drawing it again (a layout pass) is what would cost.
        key = repr((self.size.width, rows, run.status, run.exit_code, run.error,
                    run.environment_id, run.external_id, run.disconnected_since, run.snapshot,
                    run.config))
        if key == self._shown_key:
            return
        self._shown_key = key
        # The date once, in the title: the rows keep to clock times and offsets. No table has
        # edge padding: a 64-digit fingerprint then fits at 80 columns.
        day = full_time(run.created_utc)[:10]
        steps = Table(title=f"Timeline ({day})", title_justify="left", box=None, expand=False,
                      pad_edge=False)
        steps.add_column("step", style="bold")
        steps.add_column("when")
        steps.add_column("note", overflow="fold")
        for row in rows:
            steps.add_row(*row)

        facts = Table(title="Run", title_justify="left", box=None, show_header=False,
                      pad_edge=False)
        facts.add_column(style="bold", no_wrap=True)
        facts.add_column(overflow="fold")
        facts.add_row("id", run.run_id)
        facts.add_row("status", status_text(run.status))
        facts.add_row("command", printable(join_args([run.script, *run.arguments])))
        facts.add_row("framework", printable(run.framework))
        facts.add_row("snapshot", fingerprint(run.snapshot, self.size.width - FACT_LABEL_WIDTH))
        for label, value in (("exit code", run.exit_code), ("error", run.error),
                             ("environment", run.environment_id),
                             ("external id", run.external_id),
                             ("disconnected since", run.disconnected_since)):
            if value is not None:
                facts.add_row(label, Text(printable(value, keep="\n"),
                                          style="red" if label == "error" else ""))

        config = Table(title="Configuration", title_justify="left", box=None, pad_edge=False)
        config.add_column("setting", style="bold", no_wrap=True)
        config.add_column("value", overflow="fold")
        for key, value in run.config.items():
            config.add_row(printable(key), printable(_show(value)))
        self.update(Group(steps, Text(""), facts, Text(""), config))


def fingerprint(digest: str, room: int) -> str:
    """The snapshot hash whole where it fits on one line, else its start and "…" (never
    wrapped: a hash over two lines reads as two)."""
    if room <= 0 or len(digest) <= room:
        return digest
    return digest[:max(12, room - 1)] + "…"


def _show(value) -> str:
    if isinstance(value, list):
        return join_args(str(v) for v in value)
    return "null" if value is None else str(value)
