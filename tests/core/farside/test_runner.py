"""The host-side runner shared by the remote and cluster targets, on the real sshd.

What matters here is the process tree on the host: nothing a run started outlives it, however
it detached itself (a double fork with ``setsid``), whether the run is canceled or ends by
itself, and whether the program is the host's Python or spark-submit on a head node. And no
secret file outlives the run, even when its waiter was killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from launchdeck.core import farside

from launchdeck.core.targets.base import NO_EVENTS
from tests.core.targets.remote.test_target import (DOUBLE_FORK, remote_project,  # noqa: F401
                                                   running)
from tests.core.targets.spark.test_target import spark_project  # noqa: F401 (a fixture)
from tests.fixtures.waiting import until_async

LEAVES_A_DAEMON = """\
import os, signal, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # only SIGKILL stops it
        open("grandchild.pid.tmp", "w").write(str(os.getpid()))
        os.rename("grandchild.pid.tmp", "grandchild.pid")
        while True:
            time.sleep(1)
    os._exit(0)
while not os.path.exists("grandchild.pid"):
    time.sleep(0.01)
print("leaving", flush=True)
"""


@pytest.mark.ssh
async def test_what_a_run_leaves_running_is_stopped_when_it_ends(remote_project):
    remote_project.write("daemon.py", LEAVES_A_DAEMON)
    env = remote_project.env()
    spec = remote_project.run_spec(env, "daemon.py")
    execution = await remote_project.target(env).launch(spec, NO_EVENTS)
    pid_file = remote_project.host_path(spec, "work", "grandchild.pid")
    await until_async(pid_file.exists, what="the grandchild")
    grandchild = int(pid_file.read_text())
    assert await execution.wait() == 0  # the run's own exit code, not the stop's
    assert not running(grandchild)
    await execution.release()


@pytest.mark.ssh
@pytest.mark.spark
async def test_cancel_on_a_cluster_head_node_stops_a_double_forked_grandchild(spark_project,
                                                                              ssh_server):
    """spark-submit runs the script as its driver (no SparkContext: no executors needed)."""
    from launchdeck.core.targets.spark.target import RUNS

    spark_project.write("tree.py", DOUBLE_FORK)
    env = spark_project.env()
    spec = spark_project.run_spec(env, "tree.py")
    execution = await spark_project.target(env).launch(spec, NO_EVENTS)
    pid_file = ssh_server.home / RUNS / spec.run_id / "work" / "grandchild.pid"
    try:
        await until_async(pid_file.exists, timeout=180, what="the grandchild")
        grandchild = int(pid_file.read_text())
        assert running(grandchild)
        await execution.cancel(grace_seconds=2)
        assert await execution.wait() != 0
        await until_async(lambda: not running(grandchild), what="the grandchild to stop")
    finally:
        if pid_file.exists() and running(int(pid_file.read_text())):
            os.kill(int(pid_file.read_text()), 9)
    await execution.release()


WAITS_FOR_GO = """\
import os, time
while not os.path.exists("go"):
    time.sleep(0.01)
print("went", flush=True)
"""


def test_secret_files_a_killed_waiter_left_are_gone_once_the_run_has_ended(tmp_path):
    """The waiter removes ``secrets/`` when the program ends; killed with -9 it cannot, so
    ``wait`` (what a keeper asks to learn the end) removes them."""
    root = tmp_path / "runs" / "r1"
    (root / "work").mkdir(parents=True)
    (root / "work" / "script.py").write_text(WAITS_FOR_GO)
    runner = farside.script("runner")

    def run(*args: str, stdin: str = "") -> str:
        done = subprocess.run([sys.executable, "-c", runner, *args], input=stdin, text=True,
                              capture_output=True, env={**os.environ, "HOME": str(tmp_path)},
                              timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    spec = {"root": "runs/r1", "argv": [sys.executable, "script.py"], "env": {},
            "zip_modules": False, "app_wait": 0,
            "secret_files": {"secrets/spark.private": "spark.token=s3cret\n"}}
    launched = json.loads(run("launch", "-", stdin=json.dumps(spec)).splitlines()[-1])
    secret = root / "secrets" / "spark.private"
    assert secret.read_text() == "spark.token=s3cret\n"
    assert oct(secret.stat().st_mode & 0o777) == "0o600"
    os.kill(launched["waiter"], signal.SIGKILL)
    (root / "work" / "go").touch()
    assert run("wait", "runs/r1").strip() == "lost"  # no waiter wrote its exit code
    assert not (root / "secrets").exists()
    assert (root / "output.log").read_text() == "went\n"
