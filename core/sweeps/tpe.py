"""Bayesian search with Optuna's TPE sampler (the optional extra ``launchdeck[sweep]``).

Optuna keeps no state here beyond an in-memory study: a resumed sweep's owner tells a new
study every trial already over (``tell`` of an index it never proposed adds it as finished),
so the sampler learns from the whole history again.
"""

from __future__ import annotations

from typing import Any

from launchdeck.core.errors import ConfigError
from launchdeck.core.sweeps.definition import SweepDefinition
from launchdeck.core.sweeps.space import Parameter

INSTALL_HINT = "pip install 'launchdeck[sweep]'"


def check_available() -> None:
    """Refuse a tpe sweep up front (not in its owner) when Optuna is missing."""
    _optuna()


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ConfigError(f"--search tpe needs Optuna, which is not installed: {INSTALL_HINT}",
                          field="--search") from None
    return optuna


class TpeSource:
    def __init__(self, definition: SweepDefinition) -> None:
        optuna = self.optuna = _optuna()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        direction = "maximize" if definition.maximize else "minimize"
        self.study = optuna.create_study(
            direction=direction, sampler=optuna.samplers.TPESampler(seed=definition.seed))
        self.distributions = {p.name: _distribution(optuna, p) for p in definition.parameters}
        self._asked: dict[int, Any] = {}

    def propose(self, index: int) -> dict[str, Any]:
        trial = self.study.ask(self.distributions)
        self._asked[index] = trial
        return dict(trial.params)

    def tell(self, index: int, params: dict[str, Any], value: float | None, *,
             stopped: bool) -> None:
        state = self.optuna.trial.TrialState
        outcome = state.PRUNED if stopped else state.FAIL if value is None else state.COMPLETE
        result = value if outcome is state.COMPLETE else None
        trial = self._asked.pop(index, None)
        if trial is not None:
            self.study.tell(trial, result, state=outcome)
            return
        if set(params) != set(self.distributions):
            return  # a trial of an older definition: nothing to learn from
        try:
            frozen = self.optuna.trial.create_trial(
                params=params, distributions=self.distributions, value=result, state=outcome)
        except ValueError:
            return  # a value outside today's space (an edited sweep file)
        self.study.add_trial(frozen)


def _distribution(optuna, p: Parameter):
    d = optuna.distributions
    if p.is_list:
        return d.CategoricalDistribution(list(p.values))
    if p.kind == "randint":
        return d.IntDistribution(int(p.low), int(p.high))
    return d.FloatDistribution(p.low, p.high, log=p.kind == "loguniform")
