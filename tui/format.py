"""How run facts read on screen: status with colour and symbol, times, durations, values."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from rich.text import Text

from launchdeck.core.history.records import RunRecord, format_duration, parse_utc  # noqa: F401
# every name from a run is shown through it
from launchdeck.core.text import printable  # noqa: F401
from launchdeck.core.runs.state import RunState

# A symbol per state so the table reads the same without colour (NO_COLOR, monochrome tmux).
STATUS_SYMBOL: dict[RunState, str] = {
    RunState.QUEUED: "…",
    RunState.PREPARING: "◐",
    RunState.RUNNING: "▶",
    RunState.COMPLETED: "✓",
    RunState.FAILED: "✗",
    RunState.CANCELED: "⊘",
}

STATUS_STYLE: dict[RunState, str] = {
    RunState.QUEUED: "dim",
    RunState.PREPARING: "yellow",
    RunState.RUNNING: "bold cyan",
    RunState.COMPLETED: "green",
    RunState.FAILED: "bold red",
    RunState.CANCELED: "magenta",
}


def status_text(state: RunState) -> Text:
    return Text(f"{STATUS_SYMBOL[state]} {state.value}", style=STATUS_STYLE[state])


def join_args(argv) -> str:
    """Arguments as one line a shell would split back; ``$file`` and friends stay unquoted."""
    import shlex

    safe = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_$")
    return " ".join(a if a and set(a) <= safe else shlex.quote(a) for a in argv)


def short_id(run_id: str, project_name: str) -> str:
    """A run id without its ``<project>_`` prefix: every row of one project shares it."""
    prefix = project_name + "_"
    return run_id[len(prefix):] if run_id.startswith(prefix) else run_id


def short_time(utc: str | None, now: float | None = None) -> str:
    """Local ``HH:MM`` for today, ``MM-DD`` before (five columns either way)."""
    moment = parse_utc(utc)
    if moment is None:
        return ""
    local = moment.astimezone()
    today = datetime.fromtimestamp(time.time() if now is None else now).astimezone().date()
    return local.strftime("%H:%M" if local.date() == today else "%m-%d")


def clock_time(utc: str | None) -> str:
    moment = parse_utc(utc)
    return moment.astimezone().strftime("%H:%M:%S") if moment else ""


def full_time(utc: str | None) -> str:
    moment = parse_utc(utc)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def duration_s(run: RunRecord, now: float | None = None) -> float | None:
    """Seconds the run has taken so far (RunRecord.duration_s with an injectable clock)."""
    start = parse_utc(run.start_time_utc)
    if start is None:
        return None
    end = parse_utc(run.end_time_utc)
    if end is None:
        end = datetime.fromtimestamp(time.time() if now is None else now, timezone.utc)
    return max(0.0, (end - start).total_seconds())


def format_value(value: Any, width: int = 12) -> str:
    """A metric value in at most ``width`` characters."""
    if isinstance(value, bool) or value is None:
        text = str(value)
    elif isinstance(value, float):
        # Fewer digits rather than a cut: "1.235e+04" in 7 cells is "1.2e+04", not "1.235e…".
        text = f"{value:.4g}"
        for digits in (3, 2, 1):
            if len(text) <= width:
                break
            text = f"{value:.{digits}g}"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, list):
        text = "[" + ", ".join(format_value(v, width) for v in value) + "]"
    else:
        text = printable(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def format_size(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def cpu_share(used: Any) -> str:
    """``87%`` of one core (``…`` until a second read gives a rate)."""
    if used is None:
        return ""
    return "…" if used.cpu_percent is None else f"{used.cpu_percent:.0f}%"


def memory_size(size: float) -> str:
    """``512K``, ``340M``, ``1.2G``: four or five cells, as ``top`` shows memory."""
    for unit in ("B", "K", "M", "G"):
        if size < 1000 or unit == "G":
            return f"{size:.1f}{unit}" if unit == "G" and size < 10 else f"{size:.0f}{unit}"
        size /= 1024
    return ""
