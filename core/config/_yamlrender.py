"""YAML text for new values: one-line scalars that read back exactly, and block collections.

Quoting is decided here rather than by ruamel's emitter because the emitter only knows YAML
1.2: it would write ``yes`` or ``0o17`` plain, which Workbench-era (YAML 1.1) readers take for a
boolean or a number.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from launchdeck.core.errors import ConfigError

TEXT_TAG = "tag:yaml.org,2002:str"
QUOTES = ('"', "'")
# First characters that would make a plain scalar mean something else (indicators).
_BAD_FIRST = set("?:,[]{}#&*!|>'\"%@`- \t")
_BAD_ANYWHERE = set(",[]{}")  # legal in block plain scalars, but not inside a flow map we edit


class EditError(Exception):
    """An edit the text surgery cannot make (the caller turns it into a ConfigError)."""


@dataclass(frozen=True)
class Layout:
    """How a file indents; new lines copy it."""

    mapping: int = 2  #: columns a nested mapping sits right of its key
    offset: int = 0   #: columns the "- " of a block sequence sits right of its key
    newline: str = "\n"


@dataclass(frozen=True)
class Style:
    """Quote characters for new keys and new text values (None: plain where that is safe)."""

    key: str | None = None
    value: str | None = None


def render_scalar(value: Any, style: str | None = None) -> str:
    """One line of YAML that loads back as exactly ``value`` under YAML 1.1 and 1.2."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        # YAML 1.1 reads 1e+20 (no dot) as text.
        return text if "." in text or "e" not in text else text.replace("e", ".0e", 1)
    if not isinstance(value, str):
        raise EditError(f"cannot write a {type(value).__name__} value")
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise EditError("the text holds characters that are not valid Unicode")
    if style == "'" and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    if style is None and plain_is_safe(value):
        return value
    return _double_quoted(value)


def plain_is_safe(value: str) -> bool:
    if not value or not value.isprintable() or value != value.strip():
        return False
    first = value[0]
    if first in _BAD_FIRST and not (first == "-" and len(value) > 1 and value[1] != " "):
        return False
    if ": " in value or " #" in value or value.endswith(":") or _BAD_ANYWHERE & set(value):
        return False
    if value.startswith(("---", "...")):
        return False
    return _resolves_to_text(value)


_RESOLVERS: list[Any] = []


def _resolves_to_text(value: str) -> bool:
    # Workbench-era readers used YAML 1.1, where yes/no/on/off, 0o17 and 1:20 are not text;
    # quote anything either version would read as something else.
    if not _RESOLVERS:
        from ruamel.yaml.resolver import VersionedResolver

        _RESOLVERS.extend(VersionedResolver(version=v) for v in ((1, 1), (1, 2)))
    from ruamel.yaml.nodes import ScalarNode

    return all(r.resolve(ScalarNode, value, (True, False)) == TEXT_TAG for r in _RESOLVERS)


def _double_quoted(value: str) -> str:
    out = json.dumps(value, ensure_ascii=False)  # JSON strings are YAML double-quoted scalars
    return re.sub("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]",
                  lambda m: f"\\u{ord(m.group()):04X}", out)


def render_inline(value: Any, style: Style) -> str | None:
    if isinstance(value, dict) and not value:
        return "{}"
    if isinstance(value, list) and not value:
        return "[]"
    if isinstance(value, (dict, list)):
        return None
    return render_scalar(value, style.value if isinstance(value, str) else None)


def render_block(value: Any, column: int, layout: Layout, style: Style) -> list[str]:
    """Lines (without line ends) of a block mapping or sequence whose entries start at column."""
    pad, lines = " " * column, []
    if isinstance(value, dict):
        for key, item in value.items():
            head = pad + render_scalar(key, style.key) + ":"
            inline = render_inline(item, style)
            if inline is not None:
                lines.append(f"{head} {inline}")
            else:
                lines.append(head)
                step = layout.mapping if isinstance(item, dict) else layout.offset
                lines += render_block(item, column + step, layout, style)
        return lines
    for item in value:
        inline = render_inline(item, style)
        if inline is not None:
            lines.append(f"{pad}- {inline}")
        else:
            inner = render_block(item, column + 2, layout, style)
            lines += [f"{pad}- {inner[0].lstrip()}", *inner[1:]]
    return lines


def plain_input(value: Any, where: str) -> Any:
    """A value given to an edit, as plain str/bool/int/float/None, dicts and lists."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain_input(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_input(v, where) for v in value]
    raise ConfigError(f"cannot write a {type(value).__name__} value", field=where or None)


def plain(value: Any) -> Any:
    """ruamel's containers as plain dicts and lists (scalars are already comparable)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def comparable(value: Any) -> Any:
    """A form that compares equal only for the same data in the same order (types included)."""
    if isinstance(value, dict):
        return [(comparable(k), comparable(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [comparable(v) for v in value]
    if isinstance(value, float):
        return ("float", repr(float(value)))  # NaN != NaN otherwise
    return (type(value).__name__ if isinstance(value, (bool, type(None))) else "v", value)
