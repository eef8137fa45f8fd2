"""The host-side runner (``core/farside/runner.py``) as a command: ``python3 -c RUNNER ARGS...``.

The runner is sent with every command rather than installed on the host, so a host never runs
a runner of another deck version. It needs the host's ``python3`` (3.6+), whatever Python the
run itself uses.
"""

from __future__ import annotations

from launchdeck.core import farside

RUNNER = farside.script("runner")


def runner_command(*args: str) -> list[str]:
    """The argument list that runs the host-side runner with ``args`` (launch, follow, ...)."""
    return ["python3", "-c", RUNNER, *args]
