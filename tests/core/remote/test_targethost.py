"""Every SSH target builds its host the same way (core.remote.targethost)."""

import pytest

from launchdeck.core.config.compute import load_compute
from launchdeck.core.errors import HostKeyError
from launchdeck.core.remote import SSHPool
from launchdeck.core.targets.remote.target import RemoteTarget
from launchdeck.core.targets.docker.remote import RemoteDockerTarget
from launchdeck.core.targets.spark.target import SparkTarget


@pytest.mark.parametrize("kind, make", [("cluster", SparkTarget), ("remote", RemoteTarget),
                                        ("remotedocker", RemoteDockerTarget)])
async def test_a_compute_without_port_takes_port_and_user_from_ssh_config(tmp_path, kind, make):
    # The cluster target once passed 22 itself, so ~/.ssh/config's Port never applied.
    config = tmp_path / "ssh_config"
    config.write_text("Host head\n  HostName 127.0.0.1\n  Port 2222\n  User deckuser\n")
    path = tmp_path / "aml_config" / f"{kind}1.compute"
    path.parent.mkdir()

    async def endpoint_of(text: str):
        path.write_text(text)
        pool = SSHPool(config_paths=[config], known_hosts=tmp_path / "known_hosts")
        target = make(load_compute(path), project_dir=tmp_path, pool=pool)
        host = await target.host() if kind == "remotedocker" else target.host
        return host.endpoint

    ep = await endpoint_of(f"type: {kind}\naddress: head\nbaseDockerImage: x\n")
    assert (ep.host, ep.port, ep.user) == ("127.0.0.1", 2222, "deckuser")
    ep = await endpoint_of(f"type: {kind}\naddress: head\nport: 2200\nbaseDockerImage: x\n")
    assert ep.port == 2200  # the file's own port wins


@pytest.mark.ssh
@pytest.mark.parametrize("kind, make", [("cluster", SparkTarget), ("remote", RemoteTarget),
                                        ("remotedocker", RemoteDockerTarget)])
async def test_an_unknown_host_key_names_the_target_s_own_check_command(tmp_path, ssh_server,
                                                                        kind, make):
    # The cluster target once reached its host without targethost.connect: its message said
    # "deck target check NAME" (and a busy sshd's dropped handshake failed it at once).
    path = tmp_path / "aml_config" / f"{kind}1.compute"
    path.parent.mkdir()
    path.write_text(f"type: {kind}\naddress: {ssh_server.host}\nport: {ssh_server.port}\n"
                    f"username: {ssh_server.user}\nidentityFile: {ssh_server.client_key}\n"
                    "baseDockerImage: x\n")
    pool = SSHPool(config_paths=[], known_hosts=tmp_path / "known_hosts")
    target = make(load_compute(path), project_dir=tmp_path, pool=pool)
    try:
        with pytest.raises(HostKeyError) as refused:
            await target.check()
        assert f"deck target check {kind}1" in str(refused.value)
        assert "NAME" not in str(refused.value)
    finally:
        await target.close()
        await pool.close()
