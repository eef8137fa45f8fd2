"""The search space of a sweep: its parameters, read from ``NAME=SPEC`` texts, and sampled.

A SPEC is a list of values (``0.01,0.1,0.3``: a grid axis, or a choice for random and TPE
search), one value, or a distribution: ``uniform(a,b)``, ``loguniform(a,b)`` (uniform in the
logarithm; both bounds above 0), ``randint(a,b)`` (a whole number from a to b, both included)
or ``choice(a,b,c)``. Values read as whole numbers, then numbers, else text.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from dataclasses import dataclass
from typing import Any

from launchdeck.core.errors import ConfigError

Value = int | float | str
#: The distributions a SPEC may name, with what their arguments are.
DISTRIBUTIONS = {
    "uniform": "two numbers, low and high",
    "loguniform": "two numbers above 0, low and high",
    "randint": "two whole numbers, low and high (both included)",
    "choice": "one or more values",
}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")
_CALL = re.compile(r"\s*([a-z]+)\s*\((.*)\)\s*\Z", re.S)


@dataclass(frozen=True)
class Parameter:
    """One axis of the space: ``values`` (a list) or a distribution over ``(low, high)``."""

    name: str
    kind: str  # "values" or a key of DISTRIBUTIONS ("choice" is stored as "values")
    values: tuple[Value, ...] = ()
    low: float = 0.0
    high: float = 0.0

    @property
    def is_list(self) -> bool:
        return self.kind == "values"

    def to_json(self) -> dict[str, Any]:
        if self.is_list:
            return {"name": self.name, "values": list(self.values)}
        return {"name": self.name, "distribution": self.kind, "low": self.low,
                "high": self.high}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Parameter":
        if "values" in data:
            return cls(data["name"], "values", tuple(data["values"]))
        return cls(data["name"], data["distribution"], low=data["low"], high=data["high"])

    def describe(self) -> str:
        if self.is_list:
            return ",".join(str(v) for v in self.values)
        return f"{self.kind}({self.low:g},{self.high:g})"


def parse_value(text: str) -> Value:
    """``3`` -> 3, ``0.01`` -> 0.01, anything else stays text (quotes around it dropped)."""
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def parse_assignment(text: str, *, flag: str) -> Parameter:
    """``lr=0.01,0.1`` or ``lr=loguniform(1e-4,1e-1)`` as given to ``flag``."""
    name, sep, spec = text.partition("=")
    if not sep:
        raise ConfigError(f"{text!r} is not NAME=VALUES (e.g. lr=0.01,0.1 or "
                          "lr=loguniform(1e-4,1e-1))", field=flag)
    return parse_spec(name.strip(), spec, field=flag)


def parse_spec(name: str, spec: str, *, field: str) -> Parameter:
    """The parameter ``name`` from its SPEC text; errors name ``field``."""
    if not _NAME.match(name):
        raise ConfigError(f"{name!r} is not a parameter name (letters, digits, _ . -; not "
                          "starting with a digit)", field=field)
    call = _CALL.match(spec)
    if call is None:
        values = [v for v in spec.split(",")]
        if not spec.strip() or any(not v.strip() for v in values):
            raise ConfigError(f"{name}: an empty value in {spec!r}", field=field)
        return values_parameter(name, [parse_value(v) for v in values], field=field)
    kind, inner = call.group(1), call.group(2)
    if kind not in DISTRIBUTIONS:
        raise ConfigError(f"{name}: unknown distribution {kind!r}; say one of "
                          f"{', '.join(DISTRIBUTIONS)}", field=field)
    args = [parse_value(a) for a in inner.split(",")] if inner.strip() else []
    if kind == "choice":
        if not args:
            raise ConfigError(f"{name}: choice() needs {DISTRIBUTIONS[kind]}", field=field)
        return values_parameter(name, args, field=field)
    return distribution(name, kind, args, field=field)


def values_parameter(name: str, values: list[Value], *, field: str) -> Parameter:
    if len(set(map(repr, values))) != len(values):
        raise ConfigError(f"{name}: a value is given twice in {values}", field=field)
    return Parameter(name, "values", tuple(values))


def distribution(name: str, kind: str, args: list[Any], *, field: str) -> Parameter:
    expected = DISTRIBUTIONS[kind]
    numbers = len(args) == 2 and all(isinstance(a, (int, float)) for a in args)
    if kind == "randint":
        numbers = numbers and all(isinstance(a, int) for a in args)
    if not numbers or args[0] >= args[1] or (kind == "loguniform" and args[0] <= 0):
        shown = ",".join(str(a) for a in args)
        raise ConfigError(f"{name}: {kind}({shown}) needs {expected}, low below high",
                          field=field)
    return Parameter(name, kind, low=args[0], high=args[1])


def check_names(parameters: list[Parameter], *, field: str) -> None:
    seen: set[str] = set()
    for p in parameters:
        if p.name in seen:
            raise ConfigError(f"parameter {p.name!r} is given twice", field=field)
        seen.add(p.name)


def grid(parameters: list[Parameter]) -> list[dict[str, Value]]:
    """Every combination, the first parameter changing slowest (as the flags were given)."""
    for p in parameters:
        if not p.is_list:
            raise ConfigError(f"{p.name}: a grid takes lists of values, not {p.describe()}; "
                              "use --random N or --search tpe for distributions",
                              field="--grid")
    names = [p.name for p in parameters]
    return [dict(zip(names, combo)) for combo in itertools.product(*(p.values
                                                                      for p in parameters))]


def random_trial(parameters: list[Parameter], seed: int, index: int) -> dict[str, Value]:
    """Trial ``index`` of a random search: a function of (seed, index) alone, so the same seed
    gives the same trials, and a resumed sweep the ones it would have had."""
    rng = random.Random(f"deck-sweep/{seed}/{index}")
    return {p.name: _draw(p, rng) for p in parameters}


def _draw(p: Parameter, rng: random.Random) -> Value:
    if p.is_list:
        return rng.choice(p.values)
    if p.kind == "uniform":
        return rng.uniform(p.low, p.high)
    if p.kind == "loguniform":
        return math.exp(rng.uniform(math.log(p.low), math.log(p.high)))
    return rng.randint(int(p.low), int(p.high))


def as_text(value: Value) -> str:
    """How a value reaches the script (``--lr 0.01``, ``lr=0.01``): ``repr`` of a float is the
    shortest text that reads back as the same number."""
    return repr(value) if isinstance(value, float) else str(value)
