"""CPU and memory of a run: a real process tree from /proc, a real container from the engine."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from launchdeck.core.runs.usage import container_sample, cpu_percent, process_tree_sample

TREE = """\
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c",
    "b = bytearray(40 * 1024 * 1024)\\nfor i in range(0, len(b), 4096): b[i] = 1\\n"
    "print('ready', flush=True)\\nwhile True: pass"], stdout=sys.stdout)
child.wait()
"""


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
    return value


def test_a_process_tree_is_summed_and_its_cpu_measured():
    parent = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        assert parent.stdout.readline().strip() == "ready"
        first = process_tree_sample(parent.pid)
        assert first.processes == 2  # the script and the child it started; not this test
        assert first.memory_bytes >= 40 * 1024 * 1024
        later = wait_for(lambda: (s := process_tree_sample(parent.pid)) and
                         s.cpu_seconds > first.cpu_seconds and s, what="CPU time")
        assert cpu_percent(first, later) > 0
    finally:
        import os
        import signal

        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait()
    assert process_tree_sample(parent.pid) is None  # gone


def test_a_reused_pid_is_not_the_run():
    sample = process_tree_sample(1, started=-5)  # pid 1 exists, but started at another time
    assert sample is None


@pytest.mark.docker
async def test_a_container_is_measured_by_the_engine(docker_engine):
    from launchdeck.core.docker.engine import connect

    name = f"deck-usage-{time.monotonic_ns()}"
    subprocess.run(["docker", "run", "-d", "--name", name, docker_engine, "python3", "-c",
                    "b = bytearray(30 * 1024 * 1024)\nfor i in range(0, len(b), 4096): b[i] = 1"
                    "\nwhile True: pass"], check=True, capture_output=True)
    docker = await connect()
    try:
        first = await container_sample(docker, name)
        assert first is not None and first.processes == 1
        deadline = time.monotonic() + 60
        while (later := await container_sample(docker, name)).memory_bytes < 30 * 1024 * 1024 \
                or later.cpu_seconds <= first.cpu_seconds:
            assert time.monotonic() < deadline, later
            await asyncio.sleep(0.1)
        assert cpu_percent(first, later) > 0
        subprocess.run(["docker", "stop", "-t", "0", name], check=True, capture_output=True)
        assert await container_sample(docker, name) is None  # stopped: nothing to report
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        await docker.close()


def test_many_local_runs_are_read_from_one_walk_of_proc(monkeypatch):
    from launchdeck.core.runs import usage

    parents = [subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True,
                                start_new_session=True) for _ in range(2)]
    walks = []
    real = usage._all_stats
    monkeypatch.setattr(usage, "_all_stats", lambda *a: walks.append(1) or real(*a))
    try:
        for parent in parents:
            assert parent.stdout.readline().strip() == "ready"
        samples = usage.local_run_samples({f"run{i}": f"{p.pid}:x" for i, p in
                                           enumerate(parents)} | {"gone": "999999999:1"})
        assert len(walks) == 1
        assert samples["gone"] is None
        assert all(samples[f"run{i}"].processes == 2 and
                   samples[f"run{i}"].memory_bytes >= 40 * 1024 * 1024 for i in range(2))
    finally:
        import os
        import signal

        for parent in parents:
            os.killpg(parent.pid, signal.SIGKILL)
            parent.wait()
