"""Actions that write through core (submit, cancel, rerun), each in a thread worker.

Each worker opens its own ``Project`` so its history connection is its own; results come back
to the screen with ``call_from_thread``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from launchdeck.core.errors import DeckError
from launchdeck.core.history.records import RunRecord
from launchdeck.tui.stores import own_project

if TYPE_CHECKING:
    from textual.screen import Screen


def submit_in_worker(screen: "Screen", script: str, runconfig: str,
                     arguments: tuple[str, ...]) -> None:
    project = screen.app.project

    def work() -> None:
        from launchdeck.core.runs.submit import submit

        try:
            with own_project(project) as mine:
                run = submit(mine, runconfig, str(mine.root / script), arguments)
        except DeckError as exc:
            screen.app.call_from_thread(screen.notify, str(exc), title="Submit failed",
                                        severity="error", timeout=10)
            return
        screen.app.call_from_thread(_submitted, screen, run)

    screen.run_worker(work, thread=True, group="submit", name=f"submit {script}")


def _submitted(screen: "Screen", run: RunRecord) -> None:
    screen.notify(f"{run.run_id}: {run.script} on {run.target}", title="Submitted")
    _select_later(screen, run.run_id)


def _select_later(screen: "Screen", run_id: str) -> None:
    # The run reaches the table with the next look at history, a moment from now.
    ran = getattr(screen, "ran", None)
    if ran:
        screen.set_timer(0.5, lambda: ran(run_id))


def cancel_in_worker(screen: "Screen", run_ids: list[str]) -> None:
    project = screen.app.project

    def work() -> None:
        from launchdeck.core.runs.control import request_cancel

        with own_project(project) as mine:
            for run_id in run_ids:
                try:
                    request_cancel(mine, run_id)
                except DeckError as exc:
                    screen.app.call_from_thread(screen.notify, str(exc), severity="warning")
        what = run_ids[0] if len(run_ids) == 1 else f"{len(run_ids)} runs"
        screen.app.call_from_thread(screen.notify, f"cancel requested for {what}")

    screen.run_worker(work, thread=True, group="cancel", name="cancel runs")


def rerun_in_worker(screen: "Screen", runs: list[RunRecord]) -> None:
    """Queue each run again from its own snapshot and configuration (``core`` ``resubmit``)."""
    project = screen.app.project

    def work() -> None:
        from launchdeck.core.runs.submit import resubmit

        with own_project(project) as mine:
            for old in runs:
                try:
                    new = resubmit(mine, old.run_id)
                except DeckError as exc:
                    screen.app.call_from_thread(screen.notify, f"{old.run_id}: {exc}",
                                                title="Rerun failed", severity="error",
                                                timeout=10)
                    continue
                screen.app.call_from_thread(_reran, screen, old, new)

    screen.run_worker(work, thread=True, group="rerun", name="rerun")


def _reran(screen: "Screen", old: RunRecord, new: RunRecord) -> None:
    screen.notify(f"{old.run_id} -> {new.run_id} (same snapshot and configuration)",
                  title="Rerun submitted")
    _select_later(screen, new.run_id)
