"""The targets screen's checks (tui/target_checks.py) against the real Docker Engine."""

from __future__ import annotations

import pytest

from launchdeck.core.project import Project
from tests.fixtures.docker_engine import BASE_IMAGE
from launchdeck.tui.target_checks import check_target, read_targets

pytestmark = pytest.mark.docker


def test_a_user_managed_docker_target_shows_its_base_image_not_an_unbuilt_one(docker_project):
    p = docker_project
    p.compute(userManagedEnvironment=True)
    p.write("aml_config/docker.runconfig", 'ArgumentVector: ["$file"]\nTarget: docker\n'
            "Framework: Python\nPrepareEnvironment: true\n")
    project = Project(p.root)
    item = next(t for t in read_targets(project) if t.name == "docker")
    checked = check_target(project, item)
    assert checked.reachable, checked.message
    assert checked.environments == {
        "docker": f"{BASE_IMAGE} as it is (userManagedEnvironment)"}


@pytest.mark.ssh
def test_ten_targets_on_one_host_are_checked_over_one_ssh_connection(project, ssh_server,
                                                                      tmp_path, monkeypatch):
    # #13.6: the screen checks each target on a worker thread's own loop; all of them go
    # through the host's one link process.
    import os
    import shutil
    import tempfile
    import threading
    from pathlib import Path

    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, mode=0o700)
    ssh_server.write_known_hosts(home / ".ssh" / "known_hosts")
    xdg = Path(tempfile.mkdtemp(prefix="dl"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(xdg))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv("DECK_SSH_LINK", raising=False)
    for n in range(10):
        (project / "aml_config" / f"box{n}.compute").write_text(
            f"type: remote\naddress: {ssh_server.host}\nport: {ssh_server.port}\n"
            f"username: {ssh_server.user}\nidentityFile: {ssh_server.client_key}\n")
    deck_project = Project(project)
    items = [t for t in read_targets(deck_project) if t.name.startswith("box")]
    results, seen, done = [], set(), threading.Event()

    def sample() -> None:
        while not done.is_set():
            seen.add(len({port for _, port in
                          ssh_server.connections_from(home, also=os.getpid())}))
            done.wait(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    workers = [threading.Thread(target=lambda i=i: results.append(check_target(deck_project, i)))
               for i in items]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=300)
    finally:
        done.set()
        sampler.join()
        from launchdeck.core.remote.broker.client import stop_links
        import asyncio

        asyncio.run(stop_links(xdg / "launchdeck"))
        shutil.rmtree(xdg, ignore_errors=True)
    assert len(results) == 10 and all(r.reachable for r in results), \
        [r.message for r in results if not r.reachable]
    assert max(seen) == 1, seen
