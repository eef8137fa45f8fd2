"""What the dashboard remembers between sessions (the runs table's sort order), in a small
JSON file under the user's state folder: ``$XDG_STATE_HOME/launchdeck/dashboard.json``
(``~/.local/state`` by default). Never project files: two users of one project keep their own.

A file that cannot be read is ignored (the defaults apply); one that cannot be written is
skipped quietly: remembering is a convenience, never a reason to stop.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def state_path() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                            "state")
    return Path(base) / "launchdeck" / "dashboard.json"


def load_state() -> dict[str, Any]:
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remember(key: str, value: Any) -> None:
    """Store ``value`` under ``key`` (the other keys kept); written atomically."""
    path = state_path()
    data = load_state()
    data[key] = value
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}")
        temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        pass
