"""What every command shares: finding the project, printing tables and JSON."""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, Sequence

# shared with the dashboard
from launchdeck.core.history.records import format_duration  # noqa: F401
from launchdeck.core.project import Project
from launchdeck.core.text import printable


def project_of(args, *, create: bool = False) -> Project:
    return Project.find(getattr(args, "project", None), create=create)


def ask_ssh_passwords_on_terminal(target) -> None:
    """An SSH target's password is asked here when this command has a terminal."""
    from launchdeck.core.targets.capabilities import host_key_target

    if host_key_target(target) is not None:
        from launchdeck.core.remote.pools import ask_passwords_on_terminal

        ask_passwords_on_terminal()


def print_json(value: Any) -> None:
    """Indented JSON; a list gets one compact object per line (fast for 10,000 runs)."""
    if isinstance(value, list):
        body = ",\n".join("  " + json.dumps(item, ensure_ascii=False) for item in value)
        text = f"[\n{body}\n]\n" if value else "[]\n"
    else:
        text = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    sys.stdout.write(text)


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A plain aligned table (no colours: it is meant for pipes and logs too).

    Cells and headers are shown ``printable``: a name holding ESC must not drive the terminal.
    """
    rows = [["" if v is None else printable(v) for v in row] for row in rows]
    headers = [printable(h) for h in headers]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    out = sys.stdout
    out.write("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths)).rstrip() + "\n")
    for row in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")


def short_time(utc: str | None) -> str:
    """``2026-11-28T10:02:03.123456Z`` -> ``2026-11-28 10:02:03``."""
    return utc[:19].replace("T", " ") if utc else ""




def print_config_warnings(*configs) -> None:
    """What the loaded config files hold that deck does not use, one line each on stderr."""
    from launchdeck.core.config.report import format_warnings, warnings_for

    for line in format_warnings(warnings_for(*configs)):
        print(line, file=sys.stderr)


def print_load_errors(errors: Iterable[str]) -> None:
    """The files a listing could not read, after the listing (on stderr)."""
    for error in errors:
        print(f"error: {error}", file=sys.stderr)


def confirm(question: str, *, yes: bool) -> bool:
    """Ask ``question [y/N]`` on the terminal; ``--yes`` answers for scripts.

    Without a terminal and without ``--yes`` nothing is done: a script must say so.
    """
    from launchdeck.core.errors import DeckError

    if yes:
        return True
    if not sys.stdin.isatty():
        raise DeckError(f"{question} Not asked: no terminal here; pass --yes to confirm")
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")
