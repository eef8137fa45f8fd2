"""Log metrics from a run's script: ``import deckrun; deckrun.log("loss", 0.3)``.

Standard library only: Launchdeck puts this folder on every run's PYTHONPATH, on every target,
so nothing needs installing. Each call appends one JSON line to the file named by
``DECK_METRICS_FILE`` and flushes it, so the value reaches history while the run goes. Outside a
deck run (no such variable) the value is printed to stderr instead, so scripts still run.
"""

import json
import math
import os
import sys
import threading
import time

__all__ = ["log", "run_id"]

_lock = threading.Lock()
_file = None


def run_id():
    """The id of the current run, or None outside a deck run."""
    return os.environ.get("DECK_RUN_ID")


def _clean(value):
    # JSON has no NaN or infinity; keep them readable rather than failing the script.
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, str)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays, without importing numpy
        return _clean(value.tolist())
    if hasattr(value, "item"):
        return _clean(value.item())
    return str(value)


def log(name, value, description=""):
    """Record ``name -> value`` (a number, a string or a list) for the current run."""
    global _file
    record = {"name": str(name), "value": _clean(value), "time": time.time()}
    if description:
        record["description"] = str(description)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    path = os.environ.get("DECK_METRICS_FILE")
    with _lock:
        if not path:
            sys.stderr.write("deckrun: %s = %r\n" % (name, value))
            return
        if _file is None:
            _file = open(path, "a", encoding="utf-8")
        _file.write(line)
        _file.flush()
