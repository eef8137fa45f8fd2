"""What a sweep searches and how: ``SweepSettings`` from a sweep file and the command line,
checked into one ``SweepDefinition``."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from launchdeck.core.errors import ConfigError
from launchdeck.core.sweeps.space import Parameter, check_names, grid
from launchdeck.core.sweeps.stopping import parse_rule


class SearchKind(StrEnum):
    GRID = "grid"
    """Every combination of the parameters' values, in order."""
    RANDOM = "random"
    """Trials drawn at random from the parameters' distributions (a seed repeats them)."""
    TPE = "tpe"
    """Bayesian search: Optuna's TPE sampler proposes each trial from the finished ones."""


@dataclass(frozen=True, kw_only=True)
class SweepSettings:
    """What the user said, from a sweep file or flags (None: not said there)."""

    parameters: tuple[Parameter, ...] = ()
    search: SearchKind | None = None
    trials: int | None = None
    seed: int | None = None
    maximize: str | None = None
    minimize: str | None = None
    stop: str | None = None
    max_trials: int | None = None
    max_duration: float | None = None
    goal: float | None = None
    targets: tuple[str, ...] = ()
    parallel: int | None = None
    env: bool | None = None

    def over(self, base: "SweepSettings") -> "SweepSettings":
        """These settings, with ``base``'s where these say nothing (flags over a file).

        Parameters are merged by name; an objective given here replaces the base's.
        """
        changes: dict[str, Any] = {}
        for f in fields(self):
            mine = getattr(self, f.name)
            if mine in (None, ()):
                changes[f.name] = getattr(base, f.name)
        if self.maximize or self.minimize:
            changes["maximize"], changes["minimize"] = self.maximize, self.minimize
        mine_names = {p.name for p in self.parameters}
        changes["parameters"] = tuple(p for p in base.parameters
                                      if p.name not in mine_names) + self.parameters
        return replace(self, **changes)


@dataclass(frozen=True, kw_only=True)
class SweepDefinition:
    parameters: tuple[Parameter, ...]
    search: SearchKind
    #: How many trials the sweep runs at most (a grid: its size, or less with max_trials).
    trials: int
    seed: int
    metric: str | None
    maximize: bool
    stop: str | None
    max_duration: float | None
    goal: float | None
    targets: tuple[str, ...]
    parallel: int | None
    env: bool
    grid_points: list[dict[str, Any]] = field(default_factory=list, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"parameters": [p.to_json() for p in self.parameters],
                "search": str(self.search), "trials": self.trials, "seed": self.seed,
                "metric": self.metric, "maximize": self.maximize, "stop": self.stop,
                "max_duration": self.max_duration, "goal": self.goal,
                "targets": list(self.targets), "parallel": self.parallel, "env": self.env}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SweepDefinition":
        parameters = tuple(Parameter.from_json(p) for p in data["parameters"])
        search = SearchKind(data["search"])
        return cls(parameters=parameters, search=search, trials=data["trials"],
                   seed=data["seed"], metric=data["metric"], maximize=data["maximize"],
                   stop=data["stop"], max_duration=data["max_duration"], goal=data["goal"],
                   targets=tuple(data["targets"]), parallel=data["parallel"], env=data["env"],
                   grid_points=grid(list(parameters)) if search is SearchKind.GRID else [])


def define(settings: SweepSettings) -> SweepDefinition:
    """Check the settings as a whole; errors name the flag (the sweep file's key reads alike)."""
    parameters = list(settings.parameters)
    if not parameters:
        raise ConfigError("a sweep needs at least one parameter (--grid NAME=V1,V2, --param "
                          "NAME=SPEC, or parameters: in the sweep file)", field="--param")
    check_names(parameters, field="--param")
    search = settings.search or (SearchKind.GRID if all(p.is_list for p in parameters)
                                 else None)
    if search is None:
        raise ConfigError("distributions need --random N or --search tpe --trials N",
                          field="--search")
    if settings.maximize and settings.minimize:
        raise ConfigError("say --maximize or --minimize, not both", field="--minimize")
    metric = settings.maximize or settings.minimize
    points: list[dict[str, Any]] = []
    if search is SearchKind.GRID:
        points = grid(parameters)
        trials = min(len(points), settings.max_trials or len(points))
    else:
        count = settings.trials or settings.max_trials
        if not count:
            raise ConfigError(f"a {search} search needs how many trials: --trials N "
                              f"(or --random N)", field="--trials")
        trials = min(count, settings.max_trials or count)
    rule = parse_rule(settings.stop)
    needs_metric = [what for what, said in (("--stop", rule), ("--goal", settings.goal),
                                            ("--search tpe", search is SearchKind.TPE))
                    if said not in (None, False)]
    if needs_metric and metric is None:
        raise ConfigError(f"{needs_metric[0]} needs an objective: --maximize METRIC or "
                          "--minimize METRIC", field=needs_metric[0].split()[0])
    for name, value in (("--parallel", settings.parallel), ("--trials", settings.trials),
                        ("--max-trials", settings.max_trials)):
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be 1 or more", field=name)
    seed = settings.seed if settings.seed is not None else random.SystemRandom().randrange(
        1, 1 << 31)
    return SweepDefinition(parameters=tuple(parameters), search=search, trials=trials,
                           seed=seed, metric=metric, maximize=settings.minimize is None,
                           stop=rule.text if rule else None,
                           max_duration=settings.max_duration, goal=settings.goal,
                           targets=settings.targets, parallel=settings.parallel,
                           env=bool(settings.env), grid_points=points)


_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*\Z")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, *, field: str) -> float:
    """``90`` or ``90s``, ``10m``, ``2h``, ``1d`` -> seconds."""
    match = _DURATION.match(str(text))
    if match is None or float(match.group(1)) <= 0:
        raise ConfigError(f"{text!r} is not a duration (e.g. 90s, 10m, 2h)", field=field)
    return float(match.group(1)) * _UNIT[match.group(2)]
