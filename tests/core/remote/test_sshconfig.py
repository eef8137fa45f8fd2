"""~/.ssh/config: aliases, HostName/Port/User/IdentityFile, ProxyJump, against the real sshd."""

import pytest

from launchdeck.core.errors import TargetUnreachable
from launchdeck.core.remote import SSHPool
from launchdeck.core.remote.sshconfig import parse_jump, resolve


def _config(path, server, extra=""):
    path.write_text(f"""
Host deckbox
    HostName {server.host}
    Port {server.port}
    User {server.user}
    IdentityFile {server.client_key}
Host viajump
    HostName {server.host}
    Port {server.port}
    User {server.user}
    IdentityFile {server.client_key}
    ProxyJump deckbox
Host deadjump
    HostName {server.host}
    Port {server.port}
    ProxyJump {server.user}@{server.host}:1
{extra}""")
    return path


def test_compute_values_win_over_the_config_file(tmp_path):
    cfg = tmp_path / "config"
    cfg.write_text("Host gpu\n  HostName 10.1.2.3\n  Port 2200\n  User alice\n"
                   "  IdentityFile ~/.ssh/gpu_%r\n")
    ep = resolve("gpu", config_paths=[cfg])
    assert (ep.host, ep.port, ep.user, ep.alias) == ("10.1.2.3", 2200, "alice", "gpu")
    assert ep.identity_files[0].endswith("/.ssh/gpu_alice")
    ep = resolve("gpu", port=22, user="bob", identity_file="/k", config_paths=[cfg])
    assert (ep.port, ep.user, ep.identity_files) == (22, "bob", ("/k",))
    assert resolve("plain.example", config_paths=[]).host == "plain.example"


def test_parse_jump():
    assert parse_jump("u@a:2200,b,[::1]:22") == [("a", 2200, "u"), ("b", None, None),
                                                  ("::1", 22, None)]


@pytest.mark.ssh
async def test_alias_with_hostname_port_user_identityfile(ssh_server, known_hosts_file,
                                                          tmp_path):
    cfg = _config(tmp_path / "config", ssh_server)
    pool = SSHPool(config_paths=[cfg], known_hosts=ssh_server.write_known_hosts(known_hosts_file))
    try:
        host = pool.host("deckbox")
        assert (host.endpoint.host, host.endpoint.port) == ("127.0.0.1", ssh_server.port)
        assert (await host.run(["id", "-un"])).stdout == b"deckuser\n"
    finally:
        await pool.close()


@pytest.mark.ssh
async def test_default_config_and_known_hosts_come_from_home(ssh_server, tmp_path, monkeypatch):
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    _config(home / ".ssh" / "config", ssh_server)
    ssh_server.write_known_hosts(home / ".ssh" / "known_hosts")
    monkeypatch.setenv("HOME", str(home))
    pool = SSHPool()  # nothing given: ~/.ssh/config and ~/.ssh/known_hosts of $HOME
    try:
        assert (await pool.host("deckbox").run(["echo", "ok"])).stdout == b"ok\n"
    finally:
        await pool.close()


@pytest.mark.ssh
async def test_proxyjump_through_the_same_sshd(ssh_server, known_hosts_file, tmp_path):
    cfg = _config(tmp_path / "config", ssh_server)
    pool = SSHPool(config_paths=[cfg], known_hosts=ssh_server.write_known_hosts(known_hosts_file))
    try:
        host = pool.host("viajump")
        assert host.endpoint.proxy_jump == "deckbox"
        result = await host.run(["sh", "-c", "echo $SSH_CONNECTION"])
        # The inner connection arrives from the jump host's sshd, not from this client socket.
        jump = await pool.host("deckbox").connection()
        inner = await host.connection()
        assert inner is not jump
        # Both ride on the jump connection's one TCP socket; the target session's peer, seen
        # by the server, is the jump host's sshd forwarding it (another source port).
        our_port = jump.get_extra_info("sockname")[1]
        assert inner.get_extra_info("socket").getsockname()[1] == our_port
        peer_ip, peer_port = result.stdout.split()[:2]
        assert peer_ip == b"127.0.0.1" and int(peer_port) != our_port
        # Two sshd sessions: ours (the jump) and the one the jump's forwarding opened.
        assert ssh_server.session_of(our_port) != ssh_server.session_of(int(peer_port))
    finally:
        await pool.close()


@pytest.mark.ssh
async def test_dead_jump_host_is_reported_as_unreachable(ssh_server, known_hosts_file, tmp_path):
    cfg = _config(tmp_path / "config", ssh_server)
    pool = SSHPool(config_paths=[cfg], known_hosts=ssh_server.write_known_hosts(known_hosts_file),
                   connect_timeout=5)
    try:
        with pytest.raises(TargetUnreachable, match=r"127\.0\.0\.1:1\b.*refused"):
            await pool.host("deadjump").run(["true"])
    finally:
        await pool.close()
