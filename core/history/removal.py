"""Delete runs: their history (timeline, metrics, artifacts) and their files under .deck/runs/."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from launchdeck.core.errors import RunStateError

if TYPE_CHECKING:
    from launchdeck.core.history.records import RunRecord
    from launchdeck.core.project import Project


def check_deletable(runs: "list[RunRecord]") -> None:
    """Refuse the whole request if any run is still queued or going (nothing is deleted)."""
    active = [r for r in runs if r.status.is_active]
    if active:
        names = ", ".join(f"{r.run_id} ({r.status})" for r in active)
        raise RunStateError(f"cannot delete a run that is not over: {names}; cancel it first "
                            f"(deck cancel {active[0].run_id})")


def delete_runs(project: "Project", runs: "list[RunRecord]") -> None:
    """Remove ``runs`` from history, then their folders (outputs, logs, materialized code).

    History goes first: a run that is listed always has its files. Snapshots stay in the
    content store, which other runs may share.
    """
    # Read again: a run may have been rerun or revived while the user was asked.
    runs = [project.history.get_run(r.run_id) for r in runs]
    check_deletable(runs)
    project.history.delete_runs([r.run_id for r in runs])
    for run in runs:
        shutil.rmtree(project.run_dir(run.run_id), ignore_errors=True)
