"""Where a sweep's trials come from: the grid in order, random draws from a seed, or Optuna's
TPE sampler told how the finished trials did."""

from __future__ import annotations

from typing import Any, Protocol

from launchdeck.core.sweeps.definition import SearchKind, SweepDefinition
from launchdeck.core.sweeps.space import random_trial


class TrialSource(Protocol):
    def propose(self, index: int) -> dict[str, Any]:
        """The parameters of trial ``index`` (0, 1, 2, ... in the order trials start)."""
        ...

    def tell(self, index: int, params: dict[str, Any], value: float | None, *,
             stopped: bool) -> None:
        """Trial ``index`` is over: its objective ``value`` (None: it failed), or stopped early."""
        ...


class GridSource:
    def __init__(self, definition: SweepDefinition) -> None:
        self.points = definition.grid_points

    def propose(self, index: int) -> dict[str, Any]:
        return dict(self.points[index])

    def tell(self, index, params, value, *, stopped) -> None:
        pass


class RandomSource:
    def __init__(self, definition: SweepDefinition) -> None:
        self.definition = definition

    def propose(self, index: int) -> dict[str, Any]:
        return random_trial(list(self.definition.parameters), self.definition.seed, index)

    def tell(self, index, params, value, *, stopped) -> None:
        pass


def trial_source(definition: SweepDefinition) -> TrialSource:
    if definition.search is SearchKind.GRID:
        return GridSource(definition)
    if definition.search is SearchKind.RANDOM:
        return RandomSource(definition)
    from launchdeck.core.sweeps.tpe import TpeSource  # imports Optuna: only for tpe

    return TpeSource(definition)
