"""What a run's snapshot or output collection left out, kept with the run and shown by
``deck runs show``: nothing is dropped silently.

One file per run, ``skipped.json`` in its folder: ``{"snapshot": [...], "outputs": [...]}``,
each entry ``"path: why"``. The same lines go to the run's log, as ``deck: ...`` lines.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FILE = "skipped.json"
PHRASES = {"snapshot": "snapshot", "outputs": "outputs/ not collected"}


def record(run_dir: Path, stage: str, entries: list[str] | tuple[str, ...]) -> str:
    """Keep ``entries`` for ``stage`` (replacing an earlier list); return the log lines."""
    if not entries:
        return ""
    path = run_dir / FILE
    kept = read(run_dir)
    kept[stage] = list(entries)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(kept, indent=1) + "\n")
    os.replace(tmp, path)
    return "".join(f"deck: {PHRASES[stage]}: {entry}\n" for entry in entries)


def read(run_dir: Path) -> dict[str, list[str]]:
    try:
        data = json.loads((run_dir / FILE).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    return {k: [str(e) for e in v] for k, v in data.items() if isinstance(v, list)}


def lines(run_dir: Path) -> list[str]:
    """``"stage: path: why"`` for every entry, snapshot first."""
    kept = read(run_dir)
    return [f"{stage}: {entry}" for stage in PHRASES for entry in kept.get(stage, ())]
