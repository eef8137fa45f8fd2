"""Code that runs on the far side, in a run's container or on a remote host.

Each module here is sent whole (over stdin, ``python3 -c``, or copied into the container), so
it is standard library only and runs on any python3 >= 3.6. Deck reads them with ``source``,
or with ``script`` for one that imports a sibling (``manifest``): the sibling is inlined.
"""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent


def path(name: str) -> Path:
    """The file of far-side module ``name`` (``launch``, ``follow``, ``put``, ``runner``...)."""
    return HERE / f"{name}.py"


def source(name: str) -> str:
    return path(name).read_text()


def script(name: str) -> str:
    """The source of ``name`` to send alone: a sibling it imports under the comment line
    ``# inlined when sent`` is put in place of that import."""
    return _INLINED.sub(lambda match: source(match.group(1)), source(name))


_INLINED = re.compile(r"^# inlined when sent.*\nfrom launchdeck\.core\.farside\.(\w+) import "
                      r"[\w, ]+\n", re.MULTILINE)
