"""A runconfig's ``keyring:`` secrets reach the script in a container and nowhere else.

Real keyring backend (``tests/fixtures/system_keyring.py``), real `deck submit`, real engine:
the secret must not be in ``docker inspect`` (the container's Env), in any process's command
line on the machine, in a file in the container or in the project once the run is over.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import subprocess
import time

import pytest

from launchdeck.core.targets.base import NO_EVENTS
from tests.fixtures.projects import run_id_of

pytestmark = pytest.mark.docker

NO_PIP = "name: env\ndependencies:\n  - python=3.11\n"

WAITS = """\
import hashlib, os, time
token = os.environ.get("API_TOKEN", "")
print("token sha256", hashlib.sha256(token.encode()).hexdigest(), flush=True)
print("plain", os.environ.get("PLAIN"), flush=True)
while not os.path.exists("/tmp/go"):
    time.sleep(0.05)
print("done", flush=True)
"""


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def wait_for_line(log, needle: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        if needle in text:
            return text
        time.sleep(0.1)
    raise AssertionError(f"{needle!r} never appeared in {log}")


def use_keyring_secret(deck, system_keyring, runconfig: str) -> str:
    import keyring

    secret = "s3cr3t-" + secrets.token_hex(12)
    keyring.set_password("launchdeck", "api", secret)
    for key in ("PYTHON_KEYRING_BACKEND", "XDG_DATA_HOME"):
        deck.env[key] = os.environ[key]
    deck("runconfig", "env", "set", runconfig, "API_TOKEN=keyring:launchdeck/api", check=True)
    deck("runconfig", "env", "set", runconfig, "PLAIN=visible", check=True)
    return secret


def assert_the_secret_stays_in_the_script(deck, runconfig: str, secret: str) -> dict:
    """Run waits.py on ``runconfig``: the script has the secret; inspect, ps, files do not."""
    project = deck.project
    (project / "waits.py").write_text(WAITS)
    run_id = run_id_of(deck("submit", "-c", runconfig, "--detach", "waits.py", check=True).out)
    log = project / ".deck" / "runs" / run_id / "output.log"
    text = wait_for_line(log, "plain visible")
    assert f"token sha256 {hashlib.sha256(secret.encode()).hexdigest()}" in text
    container = deck.json("runs", "show", run_id)["external_id"]
    inspected = docker("inspect", container)
    assert secret not in inspected
    env = json.loads(inspected)[0]["Config"]["Env"]
    assert not any(e.startswith(("API_TOKEN=", "PLAIN=")) for e in env)
    assert secret not in subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True,
                                        text=True).stdout
    # Nothing in the container's files holds it (the delivery file is read and deleted).
    found = subprocess.run(["docker", "exec", container, "grep", "-rl", secret, "/deck", "/tmp"],
                           capture_output=True, text=True)
    assert found.stdout == ""
    docker("exec", container, "touch", "/tmp/go")
    run = deck.wait_for(run_id, timeout=120)
    assert run["status"] == "Completed", run
    # Nothing deck keeps holds it either: history, logs, snapshot, keeper log.
    for folder, _dirs, files in os.walk(project / ".deck"):
        for name in files:
            with open(os.path.join(folder, name), "rb") as f:
                assert secret.encode() not in f.read(), os.path.join(folder, name)
    # The keeper removes the container just after the run's final state.
    deadline = time.monotonic() + 120
    while subprocess.run(["docker", "inspect", container], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline, f"container {container} was never removed"
        time.sleep(0.1)
    return run


def test_a_keyring_secret_is_in_no_container_config_ps_or_file(system_keyring, deck):
    (deck.project / "aml_config" / "conda_dependencies.yml").write_text(NO_PIP)
    secret = use_keyring_secret(deck, system_keyring, "docker")
    assert_the_secret_stays_in_the_script(deck, "docker", secret)


@pytest.mark.parametrize("shared_volumes", [False, True], ids=["copied", "sharedVolumes"])
async def test_a_relaunch_hands_over_the_variables_a_dead_keeper_did_not(docker_project,
                                                                         monkeypatch,
                                                                         shared_volumes):
    """A keeper killed between the container's start and the hand-over: the next keeper's
    launch finds the container waiting and hands the variables over; the script runs once.
    With sharedVolumes the container keeps the folder it mounted: the next keeper must not put
    a new one in its place (the container would see a removed folder and run nothing)."""
    import launchdeck.core.targets.docker.target as docker_target

    docker_project.write("env.py", "import os\nprint('got', os.environ.get('TOKEN'))\n")
    env = docker_project.env(conda=None, **({"sharedVolumes": True} if shared_volumes else {}))
    target = docker_project.target(env)
    real = docker_target.deliver_environment

    async def died_first(*args, **kwargs):
        return None  # the keeper "died" here: nothing was handed over
    try:
        await target.ensure_image(env, progress=lambda _: None)
        spec = docker_project.run_spec(env, "run-handover", "env.py",
                                       environment={"TOKEN": "t0ken"})
        monkeypatch.setattr(docker_target, "deliver_environment", died_first)
        first = await target.launch(spec, NO_EVENTS)
        monkeypatch.setattr(docker_target, "deliver_environment", real)
        again = await target.launch(spec, NO_EVENTS)
        assert again.external_id == first.external_id
        await runs_once_with_its_variable(again)
    finally:
        await target.close()


async def test_a_relaunch_puts_in_the_files_a_dead_keeper_did_not_send(docker_project,
                                                                       monkeypatch):
    """A keeper killed after the start, before the run's files went in on the container's
    stdin: the next keeper's launch puts them in and hands the variables over; the script
    runs once, with its code and its variables."""
    import launchdeck.core.targets.docker.target as docker_target

    docker_project.write("env.py", "import os\nprint('got', os.environ.get('TOKEN'))\n")
    env = docker_project.env(conda=None)
    target = docker_project.target(env)

    async def died_first(*args, **kwargs):
        return None  # the keeper "died" here: nothing went in on stdin
    try:
        await target.ensure_image(env, progress=lambda _: None)
        spec = docker_project.run_spec(env, "run-files", "env.py",
                                       environment={"TOKEN": "t0ken"})
        with monkeypatch.context() as patched:
            patched.setattr(docker_target, "send_files", died_first)
            patched.setattr(docker_target, "deliver_environment", died_first)
            first = await target.launch(spec, NO_EVENTS)
        again = await target.launch(spec, NO_EVENTS)
        assert again.external_id == first.external_id
        await runs_once_with_its_variable(again)
    finally:
        await target.close()


async def runs_once_with_its_variable(execution) -> None:
    """The relaunched run's script ran once, with its code and the TOKEN handed over."""
    async def read():
        return b"".join([chunk async for chunk in execution.logs(0)])
    output = await asyncio.wait_for(read(), 120)  # the script never starts without them
    assert await execution.wait() == 0
    assert output == b"got t0ken\n"
    await execution.release()
