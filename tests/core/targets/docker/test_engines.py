"""How a Docker target reaches its engine: DOCKER_HOST=ssh://, as the docker CLI takes it."""

from __future__ import annotations

import pytest

from tests.fixtures.docker_engine import load_compute

pytestmark = [pytest.mark.ssh, pytest.mark.docker]


async def test_a_docker_host_over_ssh_is_the_hosts_socket_forwarded(docker_engine, ssh_server,
                                                                     link_home, tmp_path,
                                                                     monkeypatch):
    from launchdeck.core.targets.docker.target import DockerTarget

    # As a docker CLI user has it: the key in ~/.ssh/config, the host in known_hosts.
    (link_home / ".ssh" / "config").write_text(
        f"Host {ssh_server.host}\n  IdentityFile {ssh_server.client_key}\n")
    url = f"ssh://{ssh_server.user}@{ssh_server.host}:{ssh_server.port}"
    monkeypatch.setenv("DOCKER_HOST", url)
    path = tmp_path / "docker.compute"
    path.write_text(f'type: docker\nbaseDockerImage: "{docker_engine}"\n')
    target = DockerTarget(load_compute(path), project_dir=tmp_path)
    try:
        assert target.url == url and not target.local_engine  # no bind mounts over SSH
        facts = await target.check()
        assert facts["engine"] == url and facts["base_image_id"].startswith("sha256:")
    finally:
        await target.close()
