"""Environment images of Docker targets on the real engine: userManagedEnvironment, and the
environment_id a run records (through `deck prepare` / `deck submit`, as a user runs them)."""

from __future__ import annotations

import secrets
import subprocess

import pytest

from launchdeck.cli.main import main
from tests.fixtures.events import RecordedEvents
from tests.fixtures.docker_engine import BASE_IMAGE, CA_BUNDLE
from tests.fixtures.projects import Deck, _stop_runs, run_id_of

pytestmark = pytest.mark.docker

#: A package pip cannot find: any attempt to build this environment fails, so a run that
#: completes proves nothing was built.
UNBUILDABLE = "dependencies:\n  - python=3.5.2\n  - deck-no-such-package-61f0=1.0\n" \
              "  - pip:\n    - inflection\n"
PROBE = ("import sys\n"
         "try:\n    import inflection\n    print('inflection installed')\n"
         "except ImportError:\n    print('inflection not installed')\n"
         "print('python', sys.version.split()[0])\n")


def runconfig(prepare: bool) -> str:
    return ('ArgumentVector: ["$file"]\nTarget: docker\nEnvironmentVariables: null\n'
            f"Framework: Python\nPrepareEnvironment: {'true' if prepare else 'false'}\n")


@pytest.fixture
def user_managed(docker_project):
    p = docker_project
    p.compute(userManagedEnvironment=True)
    p.conda(UNBUILDABLE)
    p.write("probe.py", PROBE)
    p.write("aml_config/docker.runconfig", runconfig(prepare=True))
    yield p
    _stop_runs(p.root)


def test_user_managed_prepare_builds_nothing_and_says_why(user_managed, capsys):
    code = main(["--project", str(user_managed.root), "prepare", "-c", "docker"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert (f"nothing to build: userManagedEnvironment is true in docker.compute, so runs use "
            f"the base image {BASE_IMAGE} as it is; conda_dependencies.yml is not used") in out
    assert out.strip().splitlines()[-1].startswith(f"Image: {BASE_IMAGE} ")
    assert "Step " not in out


def test_user_managed_run_uses_the_base_image_as_it_is(user_managed):
    deck = Deck(user_managed.root)
    result = deck("submit", "-c", "docker", "probe.py", timeout=300)
    assert result.returncode == 0, result.out + result.err
    run = deck.wait_for(run_id_of(result.out), timeout=120)
    assert run["status"] == "Completed", run
    assert "inflection not installed" in result.out and "python 3.11" in result.out
    assert run["environment_id"] == BASE_IMAGE


def test_a_run_that_found_its_image_records_it_without_preparing(docker_project, monkeypatch):
    monkeypatch.setenv("DECK_BUILD_CA_BUNDLE", CA_BUNDLE)
    p = docker_project
    p.compute()
    p.conda(f"dependencies:\n  - python=3.11\n  - pip:\n    - \"# {secrets.token_hex(4)}\"\n")
    p.write("probe.py", PROBE)
    p.write("aml_config/docker.runconfig", runconfig(prepare=False))
    try:
        assert main(["--project", str(p.root), "prepare", "-c", "docker"]) == 0
        deck = Deck(p.root)
        result = deck("submit", "-c", "docker", "probe.py", timeout=300)
        assert result.returncode == 0, result.out + result.err
        run = deck.wait_for(run_id_of(result.out), timeout=120)
        assert run["status"] == "Completed", run
        assert run["environment_id"] and run["environment_id"].startswith("deck-env:")
        images = subprocess.run(["docker", "image", "inspect", run["environment_id"]],
                                capture_output=True)
        assert images.returncode == 0
    finally:
        _stop_runs(p.root)


async def test_user_managed_on_a_remote_host_runs_the_base_image(tmp_path, docker_engine,
                                                                  ssh_server):
    from launchdeck.core.config.compute import load_compute
    from launchdeck.core.targets.docker.remote import RemoteDockerTarget
    from tests.core.targets.docker.test_remote import Remote, read_all

    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(ssh_server.known_hosts_line())
    remote = Remote(tmp_path / "proj", docker_engine, ssh_server, known_hosts)
    remote.write("probe.py", PROBE)
    path = remote.write("aml_config/gpu1.compute",
                        f"type: remotedocker\naddress: 127.0.0.1\nport: {ssh_server.port}\n"
                        f"username: {ssh_server.user}\nidentityFile: {ssh_server.client_key}\n"
                        f"baseDockerImage: {docker_engine}\nuserManagedEnvironment: true\n")
    target = RemoteDockerTarget(load_compute(path), project_dir=remote.root, pool=remote.pool)
    remote.targets.append(target)
    try:
        spec = remote.spec(target, "probe.py")
        lines: list[str] = []
        assert await target.prepare(spec.env, progress=lines.append) == docker_engine
        assert any("nothing to build: userManagedEnvironment is true" in ln for ln in lines)
        events = RecordedEvents()
        execution = await target.launch(spec, events)
        try:
            assert events.environments == [docker_engine]
            out = (await read_all(execution)).decode()
            assert await execution.wait() == 0, out
            assert "inflection not installed" in out
        finally:
            await execution.release()
    finally:
        await remote.close()
