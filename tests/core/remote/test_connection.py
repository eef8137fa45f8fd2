"""SSHPool and RemoteHost against the real sshd on 127.0.0.1:2222."""

import asyncio
import os
import signal
import subprocess

import pytest

from launchdeck.core.errors import ConfigError, HostKeyError, TargetError, TargetUnreachable
from launchdeck.core.remote import SSHPool

pytestmark = pytest.mark.ssh


def _host(server, known_hosts, **pool_options):
    pool = SSHPool(config_paths=[], known_hosts=known_hosts, **pool_options)
    return pool, pool.host(server.host, port=server.port, user=server.user,
                           identity_file=str(server.client_key))


async def test_key_auth_runs_a_command(ssh_server, known_hosts_file):
    pool, host = _host(ssh_server, ssh_server.write_known_hosts(known_hosts_file))
    try:
        result = await host.run(["id", "-un"])
        assert (result.exit_status, result.stdout) == (0, b"deckuser\n")
        assert (await host.run(["sh", "-c", "echo oops >&2; exit 3"])).exit_status == 3
        with pytest.raises(TargetError, match="exited with 3: oops"):
            await host.run(["sh", "-c", "echo oops >&2; exit 3"], check=True)
    finally:
        await pool.close()


async def test_unknown_host_refused_then_accepted_with_the_right_fingerprint(
        ssh_server, known_hosts_file):
    pool, host = _host(ssh_server, known_hosts_file)
    try:
        with pytest.raises(HostKeyError) as err:
            await host.run(["true"])
        e = err.value
        assert (e.changed, e.fingerprint) == (False, ssh_server.fingerprint)
        assert e.host == f"[127.0.0.1]:{ssh_server.port}"
        assert ssh_server.fingerprint in str(e) and "--accept-host-key" in str(e)
        assert not known_hosts_file.exists()

        wrong = "SHA256:" + "A" * 43
        with pytest.raises(HostKeyError, match="not the fingerprint you confirmed"):
            await host.accept_host_key(wrong)
        assert not known_hosts_file.exists()

        await host.accept_host_key(ssh_server.fingerprint)
        assert known_hosts_file.read_text() == ssh_server.known_hosts_line()
    finally:
        await pool.close()
    # A new pool (a new process, in effect) now trusts the host without being told.
    pool, host = _host(ssh_server, known_hosts_file)
    try:
        assert (await host.run(["true"])).exit_status == 0
    finally:
        await pool.close()


async def test_changed_host_key_is_refused_loudly(ssh_server, known_hosts_file, tmp_path):
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    algorithm, data = other.with_suffix(".pub").read_text().split()[:2]
    known_hosts_file.write_text(f"# old\n[127.0.0.1]:{ssh_server.port} {algorithm} {data}\n")
    pool, host = _host(ssh_server, known_hosts_file)
    try:
        with pytest.raises(HostKeyError) as err:
            await host.run(["true"])
        assert err.value.changed and err.value.fingerprint == ssh_server.fingerprint
        assert "HAS CHANGED" in str(err.value) and f"{known_hosts_file} line 2" in str(err.value)
        # Confirming the new fingerprint does not override a changed key.
        with pytest.raises(HostKeyError) as again:
            await host.accept_host_key(ssh_server.fingerprint)
        assert again.value.changed
        assert ssh_server.fingerprint not in known_hosts_file.read_text()
    finally:
        await pool.close()


async def test_hashed_known_hosts_entry(ssh_server, known_hosts_file):
    ssh_server.write_known_hosts(known_hosts_file)
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(known_hosts_file)], check=True,
                   capture_output=True)
    assert known_hosts_file.read_text().startswith("|1|")
    pool, host = _host(ssh_server, known_hosts_file)
    try:
        assert (await host.run(["true"])).exit_status == 0
    finally:
        await pool.close()


async def test_twenty_concurrent_commands_share_one_connection(ssh_server, known_hosts_file):
    pool, host = _host(ssh_server, ssh_server.write_known_hosts(known_hosts_file))
    try:
        async def one(i):
            conn = await host.connection()
            out = await host.run(["sh", "-c", 'sleep 0.2; echo "$1 $SSH_CONNECTION"', "sh",
                                  str(i)])
            return conn, out.stdout.decode().split(" ", 1)

        results = await asyncio.gather(*(one(i) for i in range(20)))
        assert len({id(conn) for conn, _ in results}) == 1
        assert [int(n) for _, (n, _) in results] == list(range(20))
        assert len({addr for _, (_, addr) in results}) == 1  # one TCP connection
        assert pool.entry(host.endpoint).opened == 1
        (addr,) = {addr for _, (_, addr) in results}
        assert int(addr.split()[1]) == results[0][0].get_extra_info("sockname")[1]
    finally:
        await pool.close()


async def test_a_session_the_server_refuses_waits_for_a_free_slot(ssh_server, known_hosts_file,
                                                                 monkeypatch):
    # More channels than the server's MaxSessions (10): the 11th is refused until one closes.
    import asyncssh

    refusals = []
    create_process = asyncssh.SSHClientConnection.create_process

    async def counted(self, *args, **kwargs):
        try:
            return await create_process(self, *args, **kwargs)
        except asyncssh.ChannelOpenError as exc:
            refusals.append(exc)
            raise

    monkeypatch.setattr(asyncssh.SSHClientConnection, "create_process", counted)
    pool, host = _host(ssh_server, ssh_server.write_known_hosts(known_hosts_file),
                       max_channels=20)
    try:
        holders = [host.process(["cat"]) for _ in range(10)]
        procs = [await holder.__aenter__() for holder in holders]
        late = asyncio.create_task(host.run(["echo", "late"]))
        for _ in range(600):  # until the server has said no at least once (60 s at most)
            if refusals or late.done():
                break
            await asyncio.sleep(0.1)
        assert refusals and not late.done()  # refused by the server, still retrying
        procs[0].stdin.write_eof()
        await holders[0].__aexit__(None, None, None)
        result = await asyncio.wait_for(late, 30)
        assert (result.exit_status, result.stdout) == (0, b"late\n")
        for proc, holder in zip(procs[1:], holders[1:]):
            proc.stdin.write_eof()
            await holder.__aexit__(None, None, None)
    finally:
        await pool.close()


async def test_reopens_after_the_server_drops_the_connection(ssh_server, known_hosts_file):
    pool, host = _host(ssh_server, ssh_server.write_known_hosts(known_hosts_file))
    try:
        first = await host.connection()
        await host.run(["true"])
        session = ssh_server.session_of(first.get_extra_info("sockname")[1])

        # A command running when the link drops fails clearly; it is never re-run.
        running = asyncio.create_task(host.run(["sleep", "30"]))
        await asyncio.sleep(0.3)
        os.killpg(session, signal.SIGKILL)  # the [priv] monitor and its network child
        with pytest.raises(TargetUnreachable):
            await asyncio.wait_for(running, 10)

        result = await host.run(["echo", "back"])
        assert result.stdout == b"back\n"
        assert await host.connection() is not first
        assert pool.entry(host.endpoint).opened == 2

        # Dropped while idle: the next call reopens without the caller noticing.
        session = ssh_server.session_of((await host.connection()).get_extra_info("sockname")[1])
        os.killpg(session, signal.SIGKILL)
        await asyncio.sleep(0.2)
        assert (await host.run(["true"])).exit_status == 0
        assert pool.entry(host.endpoint).opened == 3
    finally:
        await pool.close()


NASTY = ["it's", 'say "hi"', "$(touch /tmp/deck-pwned)", "`touch /tmp/deck-pwned`",
         "two\nlines", "tab\there", "ünïcödé € 😀", "*", "~", "; rm -rf /nope", "-n", "",
         "  spaced  ", "back\\slash", "!bang", "$HOME", "a'\"'\"'b", "%s%n"]


async def test_arguments_reach_the_remote_command_byte_for_byte(ssh_server, known_hosts_file):
    pool, host = _host(ssh_server, ssh_server.write_known_hosts(known_hosts_file))
    try:
        result = await host.run(["printf", "%s\\0", *NASTY])
        assert result.stdout.split(b"\0")[:-1] == [a.encode() for a in NASTY]
        assert not os.path.exists("/tmp/deck-pwned")
        with pytest.raises(TypeError):
            await host.run("echo one string")
    finally:
        await pool.close()


async def test_stdin_input_and_binary_output(ssh_server, known_hosts_file):
    pool, host = _host(ssh_server, ssh_server.write_known_hosts(known_hosts_file))
    data = bytes(range(256)) * 4096
    try:
        result = await host.run(["cat"], input=data)
        assert result.stdout == data
    finally:
        await pool.close()


async def test_password_is_asked_once_per_process(ssh_server, known_hosts_file, tmp_path,
                                                  monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # no default keys to fall back on
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    asked = []

    async def provider(endpoint):
        asked.append(str(endpoint))
        return ssh_server.password

    ssh_server.write_known_hosts(known_hosts_file)
    try:
        for _ in range(2):  # two pools: the second one must not ask again
            pool = SSHPool(config_paths=[], known_hosts=known_hosts_file,
                           password_provider=provider)
            host = pool.host(ssh_server.host, port=ssh_server.port, user=ssh_server.user)
            try:
                assert (await host.run(["id", "-un"])).stdout == b"deckuser\n"
            finally:
                await pool.close()
    finally:
        SSHPool.forget_password(host.endpoint)  # the cache is process-wide: leave it clean
    assert asked == [f"deckuser@127.0.0.1:{ssh_server.port}"]


async def test_auth_failure_says_what_was_tried(ssh_server, known_hosts_file, tmp_path,
                                                monkeypatch):
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    stranger = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger)],
                   check=True)
    pool = SSHPool(config_paths=[], known_hosts=ssh_server.write_known_hosts(known_hosts_file),
                   password_provider=lambda endpoint: "wrong password")
    host = pool.host(ssh_server.host, port=ssh_server.port, user=ssh_server.user,
                     identity_file=str(stranger))
    try:
        with pytest.raises(TargetError) as err:
            await host.run(["true"])
        message = str(err.value)
        assert "authentication failed" in message and str(stranger) in message
        assert "SSH_AUTH_SOCK unset" in message and "password" in message
        with pytest.raises(ConfigError, match="identity file not found"):
            await pool.host(ssh_server.host, port=ssh_server.port, user=ssh_server.user,
                            identity_file=str(tmp_path / "nope")).run(["true"])
    finally:
        await pool.close()


async def test_unreachable_port_names_host_and_port(known_hosts_file):
    pool = SSHPool(config_paths=[], known_hosts=known_hosts_file, connect_timeout=5)
    try:
        with pytest.raises(TargetUnreachable, match=r"127\.0\.0\.1:1\b.*refused"):
            await pool.host("127.0.0.1", port=1, user="x").run(["true"])
    finally:
        await pool.close()


async def test_sftp_is_shared_and_renewed_with_the_connection(ssh_server, known_hosts_file,
                                                              remote_scratch, tmp_path):
    pool, host = _host(ssh_server, ssh_server.write_known_hosts(known_hosts_file))
    local = tmp_path / "data.bin"
    local.write_bytes(os.urandom(300_000))
    try:
        sftp = await host.sftp()
        assert await host.sftp() is sftp
        await sftp.makedirs(remote_scratch)
        await sftp.put(str(local), f"{remote_scratch}/data.bin")
        assert (ssh_server.home / remote_scratch / "data.bin").read_bytes() == local.read_bytes()

        port = (await host.connection()).get_extra_info("sockname")[1]
        os.killpg(ssh_server.session_of(port), signal.SIGKILL)
        await asyncio.sleep(0.3)
        again = await host.sftp()
        assert again is not sftp
        assert (await again.stat(f"{remote_scratch}/data.bin")).size == 300_000
    finally:
        await pool.close()


async def test_ssh_agent_auth(ssh_server, known_hosts_file, tmp_path, monkeypatch):
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(50):
            if sock.exists():
                break
            await asyncio.sleep(0.05)
        env = dict(os.environ, SSH_AUTH_SOCK=str(sock))
        subprocess.run(["ssh-add", "-q", str(ssh_server.client_key)], env=env, check=True,
                       capture_output=True)
        monkeypatch.setenv("HOME", str(tmp_path))  # no key files: only the agent has the key
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        pool = SSHPool(config_paths=[], known_hosts=ssh_server.write_known_hosts(known_hosts_file))
        try:
            host = pool.host(ssh_server.host, port=ssh_server.port, user=ssh_server.user)
            assert (await host.run(["id", "-un"])).stdout == b"deckuser\n"
        finally:
            await pool.close()
    finally:
        agent.terminate()
        agent.wait(5)
