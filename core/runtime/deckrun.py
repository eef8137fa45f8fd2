"""Log metrics from a run's script: ``import deckrun; deckrun.log("loss", 0.3)``.

Standard library only: Launchdeck puts this folder on every run's PYTHONPATH, on every target,
so nothing needs installing. Each call appends one JSON line to the file named by
``DECK_METRICS_FILE`` and flushes it, so the value reaches history while the run goes. Outside a
deck run (no such variable) the value is printed to stderr instead, so scripts still run.

``upload(name, value)`` keeps a file with the run: it is written under ``outputs/``, which
deck collects as the run's artifacts on every target.
"""

import json
import math
import os
import sys
import threading
import time

__all__ = ["log", "upload", "run_id", "outputs_dir"]

_lock = threading.Lock()
_file = None
# Where the run started: ``outputs/`` is relative to it even if the script changes folder.
_START_DIR = os.getcwd()


class Done:
    """What ``log`` and ``upload`` return: the value is already written (flushed), so waiting
    is immediate. Workbench's calls returned a future whose ``wait()`` blocked until sent."""

    __slots__ = ()

    def wait(self, timeout=None):
        return None

    def done(self):
        return True

    def result(self, timeout=None):
        return None


_DONE = Done()


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
    """Record ``name -> value`` (a number, a string, a boolean or a list) for the current run.

    Returns an object whose ``wait()`` returns at once: the value is written when this returns.
    """
    global _file
    record = {"name": str(name), "value": _clean(value), "time": time.time()}
    if description:
        record["description"] = str(description)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    path = os.environ.get("DECK_METRICS_FILE")
    with _lock:
        if not path:
            sys.stderr.write("deckrun: %s = %r\n" % (name, value))
            return _DONE
        if _file is None:
            _file = open(path, "a", encoding="utf-8")
        _file.write(line)
        _file.flush()
    return _DONE


def outputs_dir():
    """The run's ``outputs/`` folder (what deck keeps as artifacts)."""
    return os.environ.get("DECK_OUTPUTS_DIR") or os.path.join(_START_DIR, "outputs")


def upload(name, value):
    """Keep ``value`` with the run as the artifact ``outputs/<name>``.

    ``value`` is the artifact's content (text or bytes, as Workbench's reference shows), or a
    file to copy: a ``pathlib.Path``, or a text that names an existing file.
    """
    rel = str(name).replace("\\", "/").strip("/")
    parts = rel.split("/")
    if not rel or os.path.isabs(str(name)) or ".." in parts:
        raise ValueError("deckrun.upload: %r is not a relative artifact name (such as "
                         "'plots/loss.png')" % (name,))
    dest = os.path.join(outputs_dir(), *parts)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if isinstance(value, (bytes, bytearray)):
        with open(dest, "wb") as f:
            f.write(value)
    elif hasattr(value, "__fspath__") or (isinstance(value, str) and os.path.isfile(value)):
        import shutil

        source = os.fspath(value)
        if os.path.abspath(source) != os.path.abspath(dest):
            shutil.copyfile(source, dest)
    elif isinstance(value, str):
        with open(dest, "w", encoding="utf-8") as f:
            f.write(value)
    else:
        raise TypeError("deckrun.upload: the value of %r must be text, bytes or a file path, "
                        "not %s" % (name, type(value).__name__))
    return _DONE
