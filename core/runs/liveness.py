"""Whether a run has an owner: its keeper process lives, or it was submitted a moment ago.

Read by the keeper (which adopts orphans) and by the launcher (which revives them).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from launchdeck.core.history.records import RunRecord, parse_utc
from launchdeck.core.procstat import is_zombie_or_gone

#: A run whose submitter died before handing it to a keeper is adopted after this long.
ORPHAN_GRACE_SECONDS = 10.0


def keeper_alive(run: RunRecord) -> bool:
    """Whether someone owns ``run``: its keeper runs, or it was submitted a moment ago."""
    if run.keeper_pid is None:
        created = parse_utc(run.created_utc)
        age = (datetime.now(timezone.utc) - created).total_seconds() if created else 1e9
        return age < ORPHAN_GRACE_SECONDS
    return pid_alive(run.keeper_pid)


def owner_lock(path: Path) -> int | None:
    """Take the exclusive ``flock`` on ``path`` (created if missing) that marks an owner (a
    run's keeper, a sweep's owner); its fd, or None when a live process holds it. The kernel
    drops it when its holder dies, however it dies."""
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not is_zombie_or_gone(pid)  # a zombie child of ours counts as dead
