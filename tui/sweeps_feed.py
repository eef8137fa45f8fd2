"""What changed in the project's sweeps, read in the dashboard's history watcher thread.

A sweep's progress (``core.sweeps.control.progress``) reads every trial's metrics, so it is
read again only when one of its trials changed in history or its state file says something
new; the state files are small and read at each look.
"""

from __future__ import annotations

from launchdeck.core.errors import DeckError
from launchdeck.core.history.store import HistoryStore
from launchdeck.core.project import Project
from launchdeck.core.sweeps.control import progress
from launchdeck.core.sweeps.owner import owner_alive
from launchdeck.core.sweeps.store import SweepState, SweepStore
from launchdeck.core.sweeps.trials import SweepProgress


class SweepsFeed:
    """Incremental reader of the sweeps for one thread (its own history connection)."""

    def __init__(self, project: Project, history: HistoryStore) -> None:
        self.project = project
        self.history = history
        self.store = SweepStore(project.deck_dir)
        self.known: dict[str, SweepProgress] = {}

    def poll(self, touched: set[str]) -> dict[str, SweepProgress]:
        """The sweeps whose progress changed; ``touched``: sweeps whose trials changed in
        history since the last call."""
        changed: dict[str, SweepProgress] = {}
        for sweep_id in self.store.ids():
            old = self.known.get(sweep_id)
            if old is not None and sweep_id not in touched and \
                    self.store.status(sweep_id) == old.status:
                continue
            try:
                # Not revived here: revive() does that, as often as runs are revived.
                fresh = progress(self.project, sweep_id, revive=False, history=self.history,
                                 earlier=old)
            except DeckError:
                continue  # a sweep being written as we look: the next look has it
            if fresh != old:
                changed[sweep_id] = self.known[sweep_id] = fresh
        return changed

    def revive(self) -> None:
        """Give each running sweep whose owner died a new one, as the watcher revives runs'
        keepers (``deck sweep status`` does the same; a second owner started meanwhile finds
        the lock taken and leaves)."""
        for sweep_id, known in list(self.known.items()):
            if known.status.state is SweepState.RUNNING and \
                    not owner_alive(self.store, sweep_id):
                try:
                    progress(self.project, sweep_id, revive=True, history=self.history,
                             earlier=known)
                except DeckError:
                    continue
