"""The states of a run, in Workbench's spelling, and which moves between them are allowed.

The one function that changes a run's state is ``core.history.store.HistoryStore.transition``;
it checks moves against ``ALLOWED`` here, so history and screen can never disagree.
"""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    QUEUED = "Queued"        #: submitted, snapshot taken, waiting for a free slot on its target
    PREPARING = "Preparing"  #: building or finding its environment (image, executor env)
    RUNNING = "Running"      #: the process, container or Spark application is alive
    COMPLETED = "Completed"  #: ended with exit code 0
    FAILED = "Failed"        #: ended with a non-zero exit code, or could not start, or vanished
    CANCELED = "Canceled"    #: stopped on a user's request

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL

    @property
    def is_active(self) -> bool:
        return self not in TERMINAL


TERMINAL = frozenset({RunState.COMPLETED, RunState.FAILED, RunState.CANCELED})

ALLOWED: dict[RunState, frozenset[RunState]] = {
    RunState.QUEUED: frozenset({RunState.PREPARING, RunState.RUNNING, RunState.FAILED,
                                RunState.CANCELED}),
    RunState.PREPARING: frozenset({RunState.RUNNING, RunState.FAILED, RunState.CANCELED}),
    RunState.RUNNING: frozenset({RunState.COMPLETED, RunState.FAILED, RunState.CANCELED}),
    RunState.COMPLETED: frozenset(),
    RunState.FAILED: frozenset(),
    RunState.CANCELED: frozenset(),
}


def parse_state(text: str) -> RunState:
    """Accept any capitalisation (``failed``, ``FAILED``) of a state name."""
    for state in RunState:
        if state.value.lower() == text.strip().lower():
            return state
    from launchdeck.core.errors import ConfigError

    names = ", ".join(s.value for s in RunState)
    raise ConfigError(f"unknown run status {text!r}; expected one of {names}", field="status")
