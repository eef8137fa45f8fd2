"""Sizes (``20GB``, ``500MiB``) and ages (``30d``, ``12h``) as users write them, and back."""

from __future__ import annotations

import re

_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*\Z", re.IGNORECASE)
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*\Z", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

#: What a size looks like, for messages.
SIZE_EXAMPLES = "a size such as 20GB, 500MB or 2GiB"
#: What an age looks like, for messages.
DURATION_EXAMPLES = "an age such as 30d, 12h, 90m or 2w"


def parse_size(text: str) -> int | None:
    """Bytes of ``20GB`` (decimal units), ``2GiB`` (binary) or ``1024`` (bytes); None if not a
    size."""
    found = _SIZE.match(str(text))
    if found is None:
        return None
    number, unit = float(found.group(1)), (found.group(2) or "b").lower()
    if unit == "b":
        return int(number)
    base = 1024 if "i" in unit else 1000
    return int(number * base ** ("kmgt".index(unit[0]) + 1))


def parse_duration(text: str) -> float | None:
    """Seconds of ``30d``, ``12h``, ``90m``, ``45s`` or ``2w``; None if not an age."""
    found = _DURATION.match(str(text))
    if found is None:
        return None
    return float(found.group(1)) * _SECONDS[found.group(2).lower()]


def format_size(n: float) -> str:
    """``512 B``, ``12.3 kB``, ``4.1 MB``, ``1.2 GB``: decimal units, as ``docker images``."""
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)
