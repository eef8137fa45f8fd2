"""The waiter of a local run keeps its promise whatever happens to the keeper that forked it:
the script's exit code reaches the run's files, so a later keeper learns it.

The moments are made exact, not raced: a stand-in keeper (a subprocess) forks the waiter
with one of its steps wrapped, and the wrapper acts at that step in the waiter itself.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

from launchdeck.core.targets.local.target import LocalExecution
from launchdeck.core.targets.local.waiter import RunFiles

#: A keeper that forks a waiter and nothing else; argv: run folder, script source, the step
#: to wrap (``lose_keeper`` or ``late_start_time``).
STAND_IN_KEEPER = """\
import os, select, signal, sys
from pathlib import Path
from launchdeck.core.targets.local import waiter

files = waiter.RunFiles(Path(sys.argv[1]))
files.work.mkdir(parents=True)
real_write, real_start_time = waiter._write_atomic, waiter.start_time


def exited(pid):
    # Returns once pid has ended (a zombie or gone): a pidfd turns readable then.
    select.select([os.pidfd_open(pid)], [], [])


def write_then_lose_the_keeper(path, text):
    real_write(path, text)
    if path == files.external_id:
        # The keeper is killed right here: the script runs, its id is on disk, and the
        # waiter has not yet told the keeper.
        keeper = os.getppid()
        gone = os.pidfd_open(keeper)
        os.kill(keeper, signal.SIGKILL)
        select.select([gone], [], [])


def start_time_once_the_script_ended(pid):
    # A waiter kept off the CPU (a loaded machine) until its short script had already ended.
    if pid != os.getpid():
        exited(pid)
    return real_start_time(pid)


if sys.argv[3] == "lose_keeper":
    waiter._write_atomic = write_then_lose_the_keeper
else:
    waiter.start_time = start_time_once_the_script_ended
lock = os.open(files.launch_lock, os.O_RDWR | os.O_CREAT)
print(waiter.spawn_with_waiter([sys.executable, "-c", sys.argv[2]], files, dict(os.environ),
                               0, lock), flush=True)
"""

SCRIPT = "import sys\nprint('ran', flush=True)\nsys.exit(3)\n"


def fork_waiter(run_dir, step: str) -> subprocess.CompletedProcess:
    (run_dir / "target").mkdir(parents=True)
    return subprocess.run([sys.executable, "-c", STAND_IN_KEEPER, str(run_dir), SCRIPT, step],
                          capture_output=True, text=True, timeout=120)


async def test_a_keeper_killed_before_the_waiter_reports_the_start_loses_no_exit_code(tmp_path):
    keeper = fork_waiter(tmp_path, "lose_keeper")
    assert keeper.returncode == -9, keeper.stderr  # killed where the wrapper stood
    files = RunFiles(tmp_path)
    # What a revived keeper does: attach by the id the waiter wrote, and wait.
    execution = LocalExecution(files.external_id.read_text(), files)
    assert await execution.wait() == 3
    assert files.output.read_text() == "ran\n"


async def test_a_script_that_ended_before_the_waiter_read_its_start_time_is_seen_ended(
        tmp_path):
    keeper = fork_waiter(tmp_path, "late_start_time")
    assert keeper.returncode == 0, keeper.stderr
    files = RunFiles(tmp_path)
    execution = LocalExecution(keeper.stdout.strip(), files)
    # The bound only ends a test that would otherwise hang (the script counted alive forever).
    assert await asyncio.wait_for(execution.wait(), 120) == 3
    logs = [chunk async for chunk in execution.logs(0)]
    assert b"".join(logs) == b"ran\n"
