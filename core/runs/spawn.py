"""Start a run's keeper as a fresh interpreter (``python -m launchdeck.core.runs.keeper``).

The way for a caller that may not fork: one with threads (the dashboard) or with history open
(a keeper handing its slot on, a sweep's owner, any command that read history). It imports
nothing of the keeper, so the keeper itself can start the next one.
"""

from __future__ import annotations

import subprocess
import sys
import threading

from launchdeck.core.project import Project


def spawn_keeper(project: Project, run_id: str) -> int:
    """Start the keeper of ``run_id`` in a new session, detached from this process."""
    run_dir = project.run_dir(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / "keeper.log", "ab") as keeper_log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "launchdeck.core.runs.keeper", str(project.root), run_id],
            stdin=subprocess.DEVNULL, stdout=keeper_log, stderr=keeper_log,
            cwd=project.root, start_new_session=True, close_fds=True)
    # The keeper is our child: wait for it in a daemon thread, or each run would leave a
    # zombie behind until this process exits (a dashboard lives long).
    threading.Thread(target=proc.wait, name=f"reap-keeper-{proc.pid}", daemon=True).start()
    return proc.pid
