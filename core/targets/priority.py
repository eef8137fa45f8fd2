"""How run processes yield the CPU to the person at the keyboard.

Runs are batch work: under contention the dashboard, the shell and the editor should win. A
nice value alone does not do it on Linux with autogroup scheduling (the default on desktop and
many server kernels): CPU time is first shared between sessions, then by niceness inside a
session, and every keeper and local run is a session of its own, so 50 runs would get 50 shares
to the dashboard's one. The session's group gets the niceness too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig

#: Niceness of keepers and local runs when the ``.compute`` file does not say (``niceness``).
DEFAULT_NICENESS = 10


def lower_priority(niceness: int) -> None:
    """Run this process, and what it starts, at ``niceness`` (never raises its priority).

    The session's scheduling group is changed only when the session is not the parent's (a
    keeper or a run's waiter, which start sessions of their own), so a process that shares a
    terminal's session never slows that terminal down.
    """
    try:
        if niceness > os.getpriority(os.PRIO_PROCESS, 0):
            os.setpriority(os.PRIO_PROCESS, 0, niceness)
    except OSError:
        pass  # a limit (RLIMIT_NICE, a sandbox) keeps the priority it has: not worth failing for
    try:
        if os.getsid(0) == os.getsid(os.getppid()):
            return
    except OSError:
        pass  # the parent is gone (a keeper whose starter exited): the session is its own
    try:
        Path("/proc/self/autogroup").write_text(str(niceness))
    except OSError:
        pass  # no autogroup scheduling here (not Linux, or switched off): niceness is enough


def niceness_of(compute: "ComputeConfig") -> int:
    return DEFAULT_NICENESS if compute.niceness is None else compute.niceness
