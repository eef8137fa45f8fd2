"""Start keeper processes, and revive the keepers of runs whose keeper died."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.history.records import RunRecord
from core.project import Project
from core.runs.state import RunState

# The project's code must be importable by the keeper even when deck runs from a source tree.
_CODE_ROOT = str(Path(__file__).resolve().parent.parent.parent)


def start_keeper(project: Project, run_id: str) -> int:
    """Start the keeper of ``run_id`` in a new session, detached from this process."""
    run_dir = project.run_dir(run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_CODE_ROOT, env.get("PYTHONPATH")) if p)
    with open(run_dir / "keeper.log", "ab") as keeper_log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "core.runs.keeper", str(project.root), run_id],
            stdin=subprocess.DEVNULL, stdout=keeper_log, stderr=keeper_log, env=env,
            cwd=project.root, start_new_session=True, close_fds=True)
    # The keeper outlives us; nobody will wait() for it here, and Python must not warn.
    proc.returncode = 0
    return proc.pid


def revive(project: Project, runs: list[RunRecord] | None = None) -> list[str]:
    """Start a keeper for every unfinished run whose keeper is gone; return their ids.

    Any deck command that looks at history calls this, so runs reattach as soon as someone
    looks, even after a reboot killed every keeper.
    """
    from core.runs.keeper import pid_alive

    if runs is None:
        runs = project.history.list_runs(status=[RunState.QUEUED, RunState.PREPARING,
                                                 RunState.RUNNING])
    revived = []
    for run in runs:
        if run.status.is_terminal or run.keeper_pid is None:
            continue
        if not pid_alive(run.keeper_pid):
            start_keeper(project, run.run_id)
            revived.append(run.run_id)
    return revived
