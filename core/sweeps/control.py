"""What a user does with a sweep: begin it, look at it, cancel it, resume it.

The CLI (``deck sweep``) and a dashboard call these; the work itself is the owner's
(``core.sweeps.owner``).
"""

from __future__ import annotations

from dataclasses import replace

from launchdeck.core.errors import DeckError
from launchdeck.core.history.records import utc_now
from launchdeck.core.project import Project
from launchdeck.core.sweeps.definition import SearchKind, SweepDefinition
from launchdeck.core.sweeps.owner import owner_alive, start_owner
from launchdeck.core.sweeps.store import Sweep, SweepState, SweepStatus, SweepStore
from launchdeck.core.sweeps.trials import SweepProgress, best_trial, trials_of


def begin(project: Project, definition: SweepDefinition, runconfig: str, script: str,
          arguments: tuple[str, ...] = (), *, source: str | None = None,
          on_warning=None) -> Sweep:
    """Check everything a trial needs, snapshot the project once, record the sweep and start
    its owner; return the sweep (its trials start in the owner)."""
    from launchdeck.core.runs.submit import trial_templates

    if definition.search is SearchKind.TPE:
        from launchdeck.core.sweeps.tpe import check_available

        check_available()
    templates = trial_templates(project, runconfig, script, arguments,
                                targets=definition.targets, on_warning=on_warning)
    store = SweepStore(project.deck_dir)
    sweep = store.create(lambda sweep_id: Sweep(
        sweep_id=sweep_id, created_utc=utc_now(), runconfig=runconfig,
        script=templates[0].script, definition=definition, templates=tuple(templates),
        source=source))
    start_owner(project, sweep.sweep_id)  # it records its own pid: no race with its writes
    return sweep


def progress(project: Project, ref: str, *, revive: bool = True) -> SweepProgress:
    """The sweep, its trials and its best one; an unfinished sweep whose owner died gets a
    new owner when ``revive`` (as looking at runs revives their keepers)."""
    store = SweepStore(project.deck_dir)
    sweep = store.get(ref)
    status = store.status(sweep.sweep_id)
    alive = owner_alive(store, sweep.sweep_id)
    if revive and status.state is SweepState.RUNNING and not alive:
        status = replace(status, owner_pid=start_owner(project, sweep.sweep_id))
        alive = True
    trials = trials_of(project.history, sweep)
    return SweepProgress(sweep=sweep, status=status, trials=trials,
                         best=best_trial(sweep, trials), owner_alive=alive)


def cancel(project: Project, ref: str) -> SweepStatus:
    """Ask the sweep to stop: its owner cancels every active trial and ends it Canceled.

    With no owner alive, that is done here.
    """
    store = SweepStore(project.deck_dir)
    sweep = store.get(ref)
    status = store.status(sweep.sweep_id)
    if status.state is not SweepState.RUNNING:
        raise DeckError(f"sweep {sweep.sweep_id} is already {status.state}")
    status = store.update(sweep.sweep_id, cancel_requested=True)
    if not owner_alive(store, sweep.sweep_id):
        from launchdeck.core.sweeps.owner import SweepOwner

        # A run of the owner's loop does it: the request is seen on its first look.
        SweepOwner(project, sweep).run()
        status = store.status(sweep.sweep_id)
    return status


def resume(project: Project, ref: str) -> SweepStatus:
    """Give a sweep an owner again: after its owner was killed, or after a cancel (the trials
    it had not started yet start then; canceled trials stay canceled)."""
    store = SweepStore(project.deck_dir)
    sweep = store.get(ref)
    status = store.status(sweep.sweep_id)
    if status.state is SweepState.COMPLETED:
        raise DeckError(f"sweep {sweep.sweep_id} is completed ({status.reason}); nothing to "
                        "resume")
    if owner_alive(store, sweep.sweep_id):
        raise DeckError(f"sweep {sweep.sweep_id} is running; its owner is process "
                        f"{status.owner_pid}")
    status = store.update(sweep.sweep_id, state=SweepState.RUNNING, reason=None,
                          ended_utc=None, cancel_requested=False)
    return replace(status, owner_pid=start_owner(project, sweep.sweep_id))
