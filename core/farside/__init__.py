"""Code that runs on the far side, in a run's container or on a remote host.

Each module here is sent whole (over stdin, ``python3 -c``, or copied into the container), so
it is standard library only and runs on any python3 >= 3.6. Deck reads them with ``source``.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def path(name: str) -> Path:
    """The file of far-side module ``name`` (``launch``, ``follow``, ``put``, ``runner``...)."""
    return HERE / f"{name}.py"


def source(name: str) -> str:
    return path(name).read_text()
