"""A container's life outside any one deck process: cancel, reattach, loss."""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from launchdeck.core.errors import ExecutionLost
from launchdeck.core.targets.base import NO_EVENTS

pytestmark = pytest.mark.docker

COUNTER = """\
import sys, time
for i in range(int(sys.argv[1])):
    print("line %d" % i, flush=True)
    time.sleep(float(sys.argv[2]))
"""

POLITE = """\
import signal, sys, time
def stop(*_):
    print("got TERM", flush=True)
    sys.exit(143)
signal.signal(signal.SIGTERM, stop)
print("started", flush=True)
time.sleep(120)
"""

async def started(project, script: str, *args: str):
    project.write(script, {"counter.py": COUNTER, "polite.py": POLITE,
                           "chatty.py": CHATTY}[script])
    env = project.env(conda=None)
    target = project.target(env)
    await target.ensure_image(env, progress=lambda _: None)
    spec = project.run_spec(env, "run-life", script, *args)
    return target, spec, await target.launch(spec, NO_EVENTS)


async def read_until(execution, needle: bytes, offset: int = 0) -> bytes:
    seen = b""
    async for chunk in execution.logs(offset):
        seen += chunk
        if needle in seen:
            return seen
    raise AssertionError(f"{needle!r} never came; got {seen!r}")


async def test_cancel_stops_politely_within_the_grace_period(docker_project):
    target, spec, execution = await started(docker_project, "polite.py")
    try:
        await read_until(execution, b"started\n")
        await execution.cancel(grace_seconds=10)
        assert await execution.wait() == 143
        output = b"".join([c async for c in execution.logs(0)])
        assert output == b"started\ngot TERM\n"
        await execution.release()
    finally:
        await target.close()


async def test_attach_after_the_keeper_died_yields_every_line_once(docker_project):
    target, spec, execution = await started(docker_project, "counter.py", "40", "0.05")
    external_id = execution.external_id
    try:
        first = await read_until(execution, b"line 5\n")
    finally:
        # The keeper dies: its Execution, its client and its connection all go away.
        del execution
        await target.close()
    offset = len(first)
    target = docker_project.target(spec.env)
    try:
        again = await target.attach(spec, external_id, NO_EVENTS)
        rest = b"".join([chunk async for chunk in again.logs(offset)])
        assert (first + rest).decode().splitlines() == [f"line {i}" for i in range(40)]
        assert await again.wait() == 0
        # Attaching after the end reads the finished log through the archive API.
        late_target = docker_project.target(spec.env)
        late = await late_target.attach(spec, external_id, NO_EVENTS)
        assert b"".join([chunk async for chunk in late.logs(offset)]) == rest
        await late_target.close()
        await again.release()
    finally:
        await target.close()


async def test_a_container_removed_by_hand_is_lost(docker_project):
    target, spec, execution = await started(docker_project, "counter.py", "100", "0.5")
    try:
        await read_until(execution, b"line 0\n")
        subprocess.run(["docker", "rm", "-f", execution.external_id], check=True,
                       capture_output=True)
        with pytest.raises(ExecutionLost, match="no longer exists"):
            await asyncio.wait_for(execution.wait(), 30)
        attached = await target.attach(spec, execution.external_id, NO_EVENTS)
        with pytest.raises(ExecutionLost, match="no longer exists"):
            await attached.wait()
        assert [c async for c in attached.logs(0)] == []
        await attached.release()  # nothing left to free; must not fail
    finally:
        await target.close()


async def test_a_container_stopped_outside_deck_is_lost_not_failed(docker_project):
    target, spec, execution = await started(docker_project, "counter.py", "100", "0.5")
    try:
        await read_until(execution, b"line 0\n")
        subprocess.run(["docker", "stop", "-t", "2", execution.external_id], check=True,
                       capture_output=True)
        with pytest.raises(ExecutionLost, match="stopped from outside deck"):
            await asyncio.wait_for(execution.wait(), 30)
        await execution.release()
    finally:
        await target.close()


CHATTY = """\
import sys
for i in range(int(sys.argv[1])):
    print("line %d %s" % (i, "x" * 100))
"""


def _inspect(container_id: str) -> dict:
    import json

    out = subprocess.run(["docker", "inspect", container_id], check=True, capture_output=True)
    return json.loads(out.stdout)[0]


async def test_a_launch_reads_its_output_on_the_containers_stdout_without_docker_exec(
        docker_project):
    target, spec, execution = await started(docker_project, "counter.py", "5", "0")
    try:
        output = b"".join([chunk async for chunk in execution.logs(0)])
        assert output.decode().splitlines() == [f"line {i}" for i in range(5)]
        assert await execution.wait() == 0
        # The launcher's own copy of the output, attached before the start as `docker run`
        # does: no process was started in the container beside the run's own, and the engine
        # kept no second copy of the output in its log.
        facts = _inspect(execution.external_id)
        assert not facts["ExecIDs"]
        assert facts["HostConfig"]["LogConfig"]["Type"] == "none"
        await execution.release()
    finally:
        await target.close()


async def test_a_launch_whose_output_nobody_reads_still_ends_and_keeps_every_byte(
        docker_project):
    target, spec, execution = await started(docker_project, "chatty.py", "20000")
    try:
        # Nobody reads the stream the launch attached until the run is over: the launcher's
        # copy of the output stalls, and must not keep the container up.
        assert await asyncio.wait_for(execution.wait(), 120) == 0
        output = b"".join([chunk async for chunk in execution.logs(0)])
        assert output.decode().splitlines() == [f"line {i} {'x' * 100}" for i in range(20000)]
        await execution.release()
    finally:
        await target.close()
