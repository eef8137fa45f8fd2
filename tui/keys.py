"""The user's key remapping: ``~/.config/launchdeck/keys.toml`` (``$XDG_CONFIG_HOME`` honoured).

Every binding of the dashboard has an id (press ``?`` to see them); the file maps ids to keys::

    [keys]
    "runs.cancel" = "x"            # one key
    "app.goto" = ["colon", "g"]    # several

A file that does not parse, or names unknown ids, is reported once and the defaults stay.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path


def keymap_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "launchdeck" / "keys.toml"


def load_keymap(path: Path, known_ids: set[str]) -> tuple[dict[str, str], list[str]]:
    """The binding id -> keys mapping in ``path``, and the problems found in it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, []
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, [f"{path}: {exc}; using the default keys"]
    table = data.get("keys", data)
    keymap: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, keys in table.items():
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k.strip()
                                                              for k in keys):
            problems.append(f"{path}: {binding_id}: expected a key or a list of keys")
            continue
        if binding_id not in known_ids:
            problems.append(f"{path}: {binding_id!r} is not a binding id (see ? for the ids)")
            continue
        keymap[binding_id] = ",".join(k.strip() for k in keys)
    return keymap, problems
