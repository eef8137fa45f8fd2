"""A sweep's owner: the detached process that starts its trials, stops the losers and ends it.

Started like a run's keeper (its own session, no terminal, ``python -m`` of this module), it
outlives the command that began the sweep. All it knows is in the sweep's folder and in history
(its trials are runs tagged with the sweep), so an owner killed at any moment is replaced by
another that goes on where it was: ``deck sweep resume``, or ``deck sweep status`` when it finds
a running sweep without its owner. ``owner.lock`` (an ``flock`` the kernel drops when its holder
dies, however it dies) makes sure one owner at a time drives a sweep.

The trials run under their own keepers: the owner only queues them, watches their metrics in
history, and asks a keeper to cancel a trial the stopping rule gives up on.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from launchdeck.core.history.records import parse_utc, utc_now
from launchdeck.core.project import Project
from launchdeck.core.runs.state import RunState
from launchdeck.core.sweeps.sampling import trial_source
from launchdeck.core.sweeps.space import as_text
from launchdeck.core.sweeps.stopping import parse_rule
from launchdeck.core.sweeps.store import Sweep, SweepState, SweepStore
from launchdeck.core.sweeps.trials import Trial, best_trial, trial_record, trials_of

#: How often the owner looks at history (a trial's new metric values, a freed slot).
POLL_SECONDS = 0.25
#: How often it revives a trial's keeper that died (as any deck command that reads history).
REVIVE_EVERY_SECONDS = 2.0
ACTIVE = (RunState.QUEUED, RunState.PREPARING, RunState.RUNNING)


def lock_owner(folder: Path) -> int | None:
    """Take the sweep's owner lock; its fd, or None when another owner holds it."""
    from launchdeck.core.runs.liveness import owner_lock

    return owner_lock(folder / "owner.lock")


def owner_alive(store: SweepStore, sweep_id: str) -> bool:
    """Whether an owner drives the sweep now (it holds the lock)."""
    fd = lock_owner(store.folder(sweep_id))
    if fd is None:
        return True
    os.close(fd)
    return False


def start_owner(project: Project, sweep_id: str) -> int:
    """Start the sweep's owner in a new session, detached from this process."""
    import subprocess

    folder = SweepStore(project.deck_dir).folder(sweep_id)
    with open(folder / "owner.log", "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "launchdeck.core.sweeps.owner", str(project.root), sweep_id],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=project.root,
            start_new_session=True, close_fds=True)
    # A long-lived caller (a dashboard) must not keep a zombie per sweep.
    threading.Thread(target=proc.wait, name=f"reap-owner-{proc.pid}", daemon=True).start()
    return proc.pid


class SweepOwner:
    def __init__(self, project: Project, sweep: Sweep) -> None:
        self.project = project
        self.history = project.history
        self.sweep = sweep
        self.definition = sweep.definition
        self.store = SweepStore(project.deck_dir)
        self.rule = parse_rule(self.definition.stop)
        self.source = trial_source(self.definition)
        self.told: set[str] = set()
        self.capacity = {t: _capacity(project, t) for t in sweep.targets}
        self.parallel = self.definition.parallel or sum(self.capacity.values())
        self.ending: str | None = None
        self.last_revive = 0.0
        self._seen: tuple[int, list[Trial]] | None = None

    def run(self) -> SweepState:
        while True:
            status = self.store.status(self.sweep.sweep_id)
            if status.state is not SweepState.RUNNING:
                return status.state
            trials = self._trials()
            if status.cancel_requested:
                self._stop_all(trials, "the sweep was canceled")
                self.store.end(self.sweep.sweep_id, SweepState.CANCELED, "canceled by user")
                return SweepState.CANCELED
            self._tell_finished(trials)
            self._apply_rule(trials)
            if self.ending is None:
                self.ending = self._limit_reached(trials)
                if self.ending is not None:
                    self._say(f"ending: {self.ending}")
                    self._stop_all(trials, self.ending)
            active = [t for t in trials if t.run.status.is_active]
            if not active and (self.ending or len(trials) >= self.definition.trials):
                reason = self.ending or f"all {len(trials)} trials are over"
                self.store.end(self.sweep.sweep_id, SweepState.COMPLETED, reason)
                self._say(f"completed: {reason}")
                return SweepState.COMPLETED
            if self.ending is None:
                self._start_more(trials, len(active))
            self._revive(active)
            time.sleep(POLL_SECONDS)

    # -- trials -------------------------------------------------------------------------------

    def _trials(self) -> list[Trial]:
        """The trials, read again only when another process changed history (a sweep of
        thousands of trials costs one cheap PRAGMA per look while nothing moves)."""
        version = self.history.data_version()
        if self._seen is None or self._seen[0] != version:
            self._seen = (version, trials_of(self.history, self.sweep))
        return self._seen[1]

    def _start_more(self, trials: list[Trial], active: int) -> None:
        next_index = max((t.index for t in trials), default=-1) + 1
        while active < self.parallel and next_index < self.definition.trials:
            template = self._free_target()
            if template is None:
                return
            params = self.source.propose(next_index)
            from launchdeck.core.runs.submit import queue_prepared

            run = queue_prepared(self.project, trial_record(self.sweep, template, next_index,
                                                            params))
            self._seen = None  # our own writes do not change data_version for us
            shown = " ".join(f"{k}={as_text(v)}" for k, v in params.items())
            self._say(f"trial {next_index}: run #{run.run_number} {run.run_id} on "
                      f"{run.target}: {shown}")
            next_index += 1
            active += 1

    def _free_target(self):
        """The first target (in the sweep's order) with fewer active runs than its slots."""
        for template in self.sweep.templates:
            busy = len(self.history.list_runs(status=ACTIVE, target=template.target))
            if busy < self.capacity[template.target]:
                return template
        return None

    def _tell_finished(self, trials: list[Trial]) -> None:
        for t in trials:
            if t.run.status.is_terminal and t.run.run_id not in self.told:
                self.told.add(t.run.run_id)
                completed = t.run.status is RunState.COMPLETED
                self.source.tell(t.index, t.params, t.value if completed else None,
                                 stopped=t.run.status is RunState.CANCELED)

    def _apply_rule(self, trials: list[Trial]) -> None:
        if self.rule is None:
            return
        completed = [t.values for t in trials if t.run.status is RunState.COMPLETED]
        for t in trials:
            if t.run.status is not RunState.RUNNING or not t.values or t.run.cancel_requested:
                continue
            others = [o.values for o in trials if o is not t and o.values]
            reason = self.rule.verdict(t.values, completed, others,
                                       maximize=self.definition.maximize)
            if reason is not None:
                self._stop(t, reason)

    def _limit_reached(self, trials: list[Trial]) -> str | None:
        d = self.definition
        if d.goal is not None:
            best = best_trial(self.sweep, trials)
            if best is not None and best.value is not None and (
                    best.value >= d.goal if d.maximize else best.value <= d.goal):
                return (f"the goal {d.goal:g} was reached by trial {best.index} "
                        f"(run #{best.run.run_number}: {best.value:g})")
        if d.max_duration is not None:
            began = parse_utc(self.sweep.created_utc)
            now = parse_utc(utc_now())
            if began and now and (now - began).total_seconds() >= d.max_duration:
                return f"its maximum duration ({d.max_duration:g} s) ran out"
        return None

    def _stop_all(self, trials: list[Trial], reason: str) -> None:
        for t in trials:
            if t.run.status.is_active and not t.run.cancel_requested:
                self._stop(t, reason)

    def _stop(self, trial: Trial, reason: str) -> None:
        """Cancel a trial, its reason recorded with it (tags and error) before it ends."""
        from launchdeck.core.errors import RunStateError
        from launchdeck.core.runs.control import request_cancel

        self._say(f"stopping trial {trial.index} (run {trial.run.run_id}): {reason}")
        self.history.update_run(trial.run.run_id, tags={**trial.run.tags, "stopped": reason},
                                error=f"stopped by its sweep: {reason}")
        try:
            request_cancel(self.project, trial.run.run_id)
        except RunStateError:
            pass  # it ended meanwhile
        self._seen = None

    def _revive(self, active: list[Trial]) -> None:
        now = time.monotonic()
        if active and now - self.last_revive > REVIVE_EVERY_SECONDS:
            from launchdeck.core.runs.launcher import revive

            self.last_revive = now
            revive(self.project, [t.run for t in active])

    def _say(self, line: str) -> None:
        print(f"{utc_now()} {line}", flush=True)


def _capacity(project: Project, target: str) -> int:
    """How many runs the target takes at once (its maxConcurrentRuns, or its default)."""
    from launchdeck.core.config.compute import load_compute
    from launchdeck.core.targets.registry import open_target

    compute = load_compute(project.compute_path(target))
    return open_target(project, compute).max_concurrent_runs


def own(project_root: str, sweep_id: str) -> int:
    project = Project.find(project_root)
    store = SweepStore(project.deck_dir)
    sweep = store.get(sweep_id)
    lock = lock_owner(store.folder(sweep_id))
    if lock is None:
        return 0  # another owner drives it
    try:
        if store.status(sweep_id).state is not SweepState.RUNNING:
            return 0
        store.update(sweep_id, owner_pid=os.getpid())
        try:
            SweepOwner(project, sweep).run()
        except Exception as exc:
            import traceback

            traceback.print_exc()
            store.end(sweep_id, SweepState.FAILED, f"its owner failed: {exc}")
            return 1
    finally:
        os.close(lock)
    return 0


if __name__ == "__main__":
    sys.exit(own(sys.argv[1], sys.argv[2]))
