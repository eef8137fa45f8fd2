"""Actions that write through core (submit, cancel, rerun, delete, move in the queue, cancel a
sweep), each in a thread worker.

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


def confirm_cancel_sweep(screen: "Screen", sweep_id: str) -> None:
    """Ask, then cancel the sweep (``core.sweeps.control.cancel``, as ``deck sweep cancel``)."""
    from launchdeck.tui.screens.dialogs import Confirm

    screen.app.push_screen(
        Confirm(f"Cancel {sweep_id}? Its running trials are stopped and no new one starts; "
                f"deck sweep resume {sweep_id} goes on later.", yes="Cancel sweep"),
        lambda yes: yes and cancel_sweep_in_worker(screen, sweep_id))


def cancel_sweep_in_worker(screen: "Screen", sweep_id: str) -> None:
    from launchdeck.core.sweeps.control import cancel

    _core_in_worker(screen, lambda mine: cancel(mine, sweep_id),
                    done=f"cancel requested for {sweep_id}", failed="Not canceled",
                    name="cancel sweep")


def rerun_in_worker(screen: "Screen", runs: list[RunRecord]) -> None:
    """Queue each run again from its own snapshot and configuration (``core`` ``resubmit``)."""
    project = screen.app.project

    def work() -> None:
        from launchdeck.core.runs.submit import resubmit

        done: list[tuple[RunRecord, RunRecord]] = []
        with own_project(project) as mine:
            for old in runs:
                try:
                    done.append((old, resubmit(mine, old.run_id)))
                except DeckError as exc:
                    screen.app.call_from_thread(screen.notify, f"{old.run_id}: {exc}",
                                                title="Rerun failed", severity="error",
                                                timeout=10)
        if done:
            screen.app.call_from_thread(_reran, screen, done)

    screen.run_worker(work, thread=True, group="rerun", name="rerun")


def _reran(screen: "Screen", done: list[tuple[RunRecord, RunRecord]]) -> None:
    # One toast for the lot (several marked runs rerun at once); the newest is selected.
    if len(done) == 1:
        old, new = done[0]
        screen.notify(f"{old.run_id} -> {new.run_id} (same snapshot and configuration)",
                      title="Rerun submitted")
    else:
        screen.notify("\n".join(f"{old.run_id} -> {new.run_id}" for old, new in done),
                      title=f"{len(done)} runs rerun (same snapshots and configurations)")
    _select_later(screen, done[-1][1].run_id)


def delete_in_worker(screen: "Screen", runs: list[RunRecord]) -> None:
    """Remove runs from history with their folders (``core`` ``delete_runs``, as the CLI)."""
    from launchdeck.core.history.removal import delete_runs

    what = runs[0].run_id if len(runs) == 1 else f"{len(runs)} runs"
    _core_in_worker(screen, lambda mine: delete_runs(mine, runs), done=f"deleted {what}",
                    failed="Nothing deleted", name="delete runs")


def _core_in_worker(screen: "Screen", call, *, done: str, failed: str, name: str) -> None:
    """``call(project)`` in a thread worker on a project of its own; a toast saying ``done``,
    or the error under the title ``failed``."""
    project = screen.app.project

    def work() -> None:
        try:
            with own_project(project) as mine:
                call(mine)
        except DeckError as exc:
            screen.app.call_from_thread(screen.notify, str(exc), title=failed,
                                        severity="error", timeout=10)
            return
        screen.app.call_from_thread(screen.notify, done)

    screen.run_worker(work, thread=True, group=name, name=name)


def move_in_worker(screen: "Screen", run_id: str, where: str) -> None:
    """Move a queued run in its target's queue (``HistoryStore.move_in_queue``, as the CLI)."""
    project = screen.app.project

    def work() -> None:
        try:
            with own_project(project) as mine:
                queue = mine.history.move_in_queue(run_id, where)
        except DeckError as exc:
            screen.app.call_from_thread(screen.notify, str(exc), title="Not moved",
                                        severity="warning")
            return
        place = queue.index(run_id) + 1 if run_id in queue else None
        if place is not None:
            screen.app.call_from_thread(screen.notify, f"{run_id}: {place} of {len(queue)} in "
                                        "its target's queue", timeout=3)

    screen.run_worker(work, thread=True, group="move", name="move in queue")
