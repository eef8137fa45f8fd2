"""Early stopping of a sweep's trials from their live metric values, as HyperDrive defined it.

A step is one value of the objective metric: a trial's n-th logged value is its step n.

- ``median``: a trial whose best value so far is worse than the median of the running averages
  (up to the same step) of the sweep's completed trials is stopped.
- ``bandit:SLACK``: a trial is stopped when its best value so far is not within the slack
  factor of the best value any other trial had by the same step: maximizing, when
  ``value * (1 + SLACK) < best``; minimizing, when ``value > best * (1 + SLACK)``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Protocol, Sequence

from launchdeck.core.errors import ConfigError

RULES = ("median", "bandit:SLACK")


class StopRule(Protocol):
    """Whether a running trial should stop, and why (None: let it go on)."""

    @property
    def text(self) -> str:
        """The rule as ``--stop`` takes it."""
        ...

    def verdict(self, values: Sequence[float], completed: Sequence[Sequence[float]],
                others: Sequence[Sequence[float]], *, maximize: bool) -> str | None:
        """``values``: this trial's; ``completed``: those of the completed trials; ``others``:
        those of every other trial that logged any (running ones too)."""
        ...


def _best(values: Sequence[float], maximize: bool) -> float:
    return max(values) if maximize else min(values)


def _worse(a: float, b: float, maximize: bool) -> bool:
    return a < b if maximize else a > b


@dataclass(frozen=True)
class MedianRule:
    text: str = "median"

    def verdict(self, values, completed, others, *, maximize):
        step = len(values)
        averages = [statistics.fmean(c[:step]) for c in completed if c]
        if not step or not averages:
            return None
        median = statistics.median(averages)
        best = _best(values, maximize)
        if _worse(best, median, maximize):
            return (f"median rule: best {best:.6g} by step {step} is worse than the median "
                    f"{median:.6g} of the completed trials' running averages")
        return None


@dataclass(frozen=True)
class BanditRule:
    slack: float
    text: str = "bandit"

    def verdict(self, values, completed, others, *, maximize):
        step = len(values)
        reached = [_best(o[:step], maximize) for o in others if o]
        if not step or not reached:
            return None
        leader = _best(reached, maximize)
        best = _best(values, maximize)
        out = best * (1 + self.slack) < leader if maximize else best > leader * (1 + self.slack)
        if out:
            return (f"bandit rule: best {best:.6g} by step {step} is not within slack "
                    f"{self.slack:g} of the best trial's {leader:.6g}")
        return None


def parse_rule(text: str | None, *, field: str = "--stop") -> StopRule | None:
    """``median``, ``bandit:0.1`` or ``none``/empty (no early stopping)."""
    if text is None or text.strip().lower() in ("", "none"):
        return None
    name, _, arg = text.strip().partition(":")
    if name == "median" and not arg:
        return MedianRule()
    if name == "bandit":
        try:
            slack = float(arg)
        except ValueError:
            slack = -1.0
        if slack > 0:
            return BanditRule(slack, text=f"bandit:{slack:g}")
        raise ConfigError(f"bandit needs a slack factor above 0, as in bandit:0.1 (got "
                          f"{text!r})", field=field)
    raise ConfigError(f"unknown stopping rule {text!r}; say one of {', '.join(RULES)} or none",
                      field=field)
