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
                                                                      link_home):
    # #13.6: the screen checks each target on a worker thread's own loop; all of them go
    # through the host's one link process.
    import os
    import threading

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
                          ssh_server.connections_from(link_home, also=os.getpid())}))
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
    assert len(results) == 10 and all(r.reachable for r in results), \
        [r.message for r in results if not r.reachable]
    assert max(seen) == 1, seen
