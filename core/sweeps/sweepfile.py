"""``aml_config/NAME.sweep``: a sweep's search space and settings, beside the other configs.

A YAML map, read and edited round-trip like every config file (``core.config.yamlio``: an edit
changes one value's text and leaves comments, order and quoting as they were)::

    # deck sweep -c local --sweep-file tune train.py
    search: random          # grid (default when every parameter is a list), random, tpe
    trials: 20
    seed: 7
    maximize: accuracy      # or minimize: loss
    parameters:
      lr: loguniform(1e-4, 1e-1)
      epochs: [3, 5, 8]     # a list: grid values, or a choice
      optimizer: choice(sgd, adam)
    stop: median            # or bandit:0.1, none
    maxTrials: 20
    maxDuration: 2h
    goal: 0.97
    targets: [local, docker]
    parallel: 4
    env: false              # true: parameters as environment variables, not --name value

Flags given to ``deck sweep`` win over the file's values. A wrong key or value is an error
naming file:line:column, and the sweep does not start.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from launchdeck.core.config._section import Section
from launchdeck.core.config.yamlio import YamlDocument, describe, editing, load_document
from launchdeck.core.errors import ConfigError
from launchdeck.core.sweeps.definition import SearchKind, SweepSettings, parse_duration
from launchdeck.core.sweeps.space import Parameter, parse_spec, values_parameter

SUFFIX = ".sweep"
KEYS = ("search", "trials", "seed", "maximize", "minimize", "parameters", "stop", "maxTrials",
        "maxDuration", "goal", "targets", "parallel", "env")


def sweep_path(config_dir: Path, name: str) -> Path:
    """``aml_config/NAME.sweep`` (a NAME ending in .sweep, or holding a /, is a path as is)."""
    if name.endswith(SUFFIX) or "/" in name:
        return Path(name)
    return config_dir / f"{name}{SUFFIX}"


def load_sweep_file(path: Path) -> SweepSettings:
    return settings_from_document(load_document(path))


def set_setting(path: Path, key: str | tuple[str, ...], value: Any) -> None:
    """Change one setting (``("parameters", "lr")`` for a parameter) in place, after checking
    that the file still reads as a sweep; nothing is written otherwise."""
    with editing(path) as doc:
        doc.set(key, value)
        settings_from_document(doc)
        doc.save()


def settings_from_document(doc: YamlDocument) -> SweepSettings:
    s = Section(doc, doc.data)
    for key in doc.data:
        if key not in KEYS:
            near = difflib.get_close_matches(str(key), KEYS, n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]}?" if near else f" (keys: {', '.join(KEYS)})"
            raise s.fail(key, f"unknown key {key!r}{hint}", part="key")
    search = s.text("search", expected="grid, random or tpe")
    if search is not None and search not in set(SearchKind):
        raise s.wrong("search", "grid, random or tpe")
    duration = None
    if s.get("maxDuration") is not None:
        try:
            duration = parse_duration(doc.source_text(doc.data, "maxDuration"),
                                      field="maxDuration")
        except ConfigError:
            raise s.wrong("maxDuration", "a duration such as 90s, 10m or 2h") from None
    goal = s.get("goal")
    if goal is not None and (isinstance(goal, bool) or not isinstance(goal, (int, float))):
        raise s.wrong("goal", "a number")
    stop = s.text("stop", expected="median, bandit:SLACK or none")
    if stop is not None:
        from launchdeck.core.sweeps.stopping import parse_rule

        try:
            parse_rule(stop)
        except ConfigError as exc:
            raise s.fail("stop", exc.message) from None
    return SweepSettings(
        parameters=_parameters(doc, s), search=SearchKind(search) if search else None,
        trials=s.integer("trials", None, low=1, expected="a whole number of at least 1"),
        seed=s.integer("seed", None, expected="a whole number"),
        maximize=s.text("maximize", expected="a metric name"),
        minimize=s.text("minimize", expected="a metric name"), stop=stop,
        max_trials=s.integer("maxTrials", None, low=1, expected="a whole number of at least 1"),
        max_duration=duration, goal=float(goal) if goal is not None else None,
        targets=s.text_list("targets", item="a compute target's name", allow_numbers=False),
        parallel=s.integer("parallel", None, low=1, expected="a whole number of at least 1"),
        env=s.boolean("env", False) if s.has("env") else None)


def _parameters(doc: YamlDocument, s: Section) -> tuple[Parameter, ...]:
    node = s.get("parameters")
    if node is None:
        return ()
    if not isinstance(node, dict):
        raise s.wrong("parameters", "a map of NAME: values or NAME: distribution(...)")
    out = []
    for name, value in node.items():
        label = f"parameters.{name}"
        try:
            if isinstance(value, list):
                if not value or any(isinstance(v, (dict, list)) or v is None for v in value):
                    raise ConfigError("must be a list of single values")
                out.append(values_parameter(str(name), [_scalar(doc, value, i)
                                                        for i in range(len(value))],
                                            field=label))
            elif isinstance(value, str):
                out.append(parse_spec(str(name), value, field=label))
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                out.append(values_parameter(str(name), [value], field=label))
            else:
                raise ConfigError(f"must be a list of values or a distribution such as "
                                  f"uniform(0, 1), got {describe(value)}")
        except ConfigError as exc:
            raise doc.error(f"{label}: {exc.message.removeprefix(f'{name}: ')}", node, name,
                            field=label) from None
    return tuple(out)


def _scalar(doc: YamlDocument, node: list, index: int) -> Any:
    value = node[index]
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, (int, float)) else str(value)
