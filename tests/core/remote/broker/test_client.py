"""Deck processes share one SSH connection per host through the link process, against the
real sshd on 127.0.0.1:2222 (core.remote.broker.client and .server)."""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from launchdeck.core.errors import ConfigError, HostKeyError, TargetError
from launchdeck.core.remote.broker.client import LinkPool, link_status
from launchdeck.core.remote.broker.rundir import info_path, runtime_dir, socket_path
from tests.fixtures.waiting import until, until_async

pytestmark = pytest.mark.ssh


def host_of(ssh_server, pool=None):
    return (pool or LinkPool()).host(ssh_server.host, port=ssh_server.port,
                                     user=ssh_server.user,
                                     identity_file=str(ssh_server.client_key))


def link_pid(host) -> int:
    return json.loads(info_path(runtime_dir(), host.spec).read_text())["pid"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A link that ended but is not yet reaped by init is gone for our purpose.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def client_ports(ssh_server, home) -> set[int]:
    return {port for _pid, port in ssh_server.connections_from(home)}


async def test_commands_get_stdin_stdout_stderr_and_exit_status(link_home, ssh_server):
    host = host_of(ssh_server)
    done = await host.run(["sh", "-c", 'cat; echo "to err $1" >&2; exit 3', "sh", "a b"],
                          input=b"to stdin\n")
    assert (done.exit_status, done.stdout, done.stderr) == (3, b"to stdin\n", b"to err a b\n")
    assert str(host.endpoint) == f"{ssh_server.user}@{ssh_server.host}:{ssh_server.port}"
    blob = os.urandom(3 << 20)  # larger than a frame and than any buffer on the way
    async with host.process(["sha256sum"]) as proc:
        proc.stdin.write(blob)
        proc.stdin.write_eof()
        await proc.stdin.drain()
        out = await proc.stdout.read()
        result = await proc.wait()
    import hashlib

    assert out.split()[0].decode() == hashlib.sha256(blob).hexdigest()
    assert result.exit_status == 0
    with pytest.raises(TargetError, match="exited with 7: no"):
        await host.run(["sh", "-c", "echo no >&2; exit 7"], check=True)


def link_logs() -> str:
    """What the test's link processes wrote (a failure's message carries it)."""
    folder = Path(os.environ["XDG_RUNTIME_DIR"]) / "launchdeck"
    return "\n".join(f"{log.name}: {log.read_text(errors='replace')}"
                     for log in sorted(folder.glob("*.log")))


def test_a_deck_process_with_a_live_link_imports_neither_asyncssh_nor_aiodocker(
        link_home, ssh_server):
    code = f"""
import asyncio, sys
from launchdeck.core.remote.broker.client import LinkPool
async def main():
    host = LinkPool().host({ssh_server.host!r}, port={ssh_server.port},
                           user={ssh_server.user!r}, identity_file={str(ssh_server.client_key)!r})
    print((await host.run(["echo", "hello"])).stdout.decode().strip())
    print(await host.host_key_fingerprint())
asyncio.run(main())
print(sorted(m for m in ("asyncssh", "aiodocker") if m in sys.modules))
"""
    for _ in range(2):  # the first starts the link; the second finds it
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, (out.stderr, link_logs())
        assert out.stdout.splitlines() == ["hello", ssh_server.fingerprint, "[]"]


def test_racing_processes_start_one_link_and_one_connection(link_home, ssh_server, tmp_path):
    go = tmp_path / "go"
    code = f"""
import asyncio, os, time
from launchdeck.core.remote.broker.client import LinkPool
while not os.path.exists({str(go)!r}):
    time.sleep(0.005)
host = LinkPool().host({ssh_server.host!r}, port={ssh_server.port},
                       user={ssh_server.user!r}, identity_file={str(ssh_server.client_key)!r})
print(asyncio.run(host.run(["echo", "ok"])).stdout.decode().strip())
"""
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(6)]
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [o for o, _ in outs] == ["ok\n"] * 6, ([e for _, e in outs], link_logs())
    links = [s for s in link_status() if s["answers"]]
    assert len(links) == 1
    servers = subprocess.run(["pgrep", "-f", f"broker.server .*{link_home}"],
                             capture_output=True, text=True).stdout.split()
    assert servers == [str(links[0]["pid"])]
    assert len(client_ports(ssh_server, link_home)) == 1


async def test_past_max_sessions_the_link_opens_a_second_connection(link_home, ssh_server):
    # The test sshd has OpenSSH's default MaxSessions (10): 12 commands at once need two.
    host = host_of(ssh_server)
    await host.connection()
    assert len(client_ports(ssh_server, link_home)) == 1
    opened = []
    try:
        for _ in range(12):
            ctx = host.process(["cat"])
            proc = await ctx.__aenter__()
            opened.append((ctx, proc))
        for _ctx, proc in opened:  # every one of them runs
            proc.stdin.write(b"alive\n")
            await proc.stdin.drain()
            assert await proc.stdout.readline() == b"alive\n"
        assert len(client_ports(ssh_server, link_home)) == 2
    finally:
        for ctx, proc in opened:
            proc.stdin.write_eof()
            await ctx.__aexit__(None, None, None)


async def test_host_keys_are_checked_as_without_the_link(link_home, ssh_server):
    known = link_home / ".ssh" / "known_hosts"
    known.unlink()
    host = host_of(ssh_server)
    with pytest.raises(HostKeyError) as unknown:
        await host.run(["true"])
    assert unknown.value.fingerprint == ssh_server.fingerprint and not unknown.value.changed
    assert "deck target check" in str(unknown.value)
    with pytest.raises(HostKeyError):  # a wrong fingerprint confirmed is still refused
        await host.accept_host_key("SHA256:" + "A" * 43)
    await host.accept_host_key(ssh_server.fingerprint)
    assert known.read_text() == ssh_server.known_hosts_line()
    assert (await host.run(["echo", "in"])).stdout == b"in\n"


async def test_a_stale_socket_of_a_dead_link_is_replaced(link_home, ssh_server):
    host = host_of(ssh_server)
    path = socket_path(runtime_dir(), host.spec)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(path))  # a socket file nobody listens on, as a killed link leaves it
    dead.close()
    assert (await host.run(["echo", "fresh"])).stdout == b"fresh\n"
    assert alive(link_pid(host))


async def test_a_killed_link_is_replaced_by_the_next_call(link_home, ssh_server):
    host = host_of(ssh_server)
    await host.run(["true"])
    first = link_pid(host)
    os.kill(first, signal.SIGKILL)
    await until_async(lambda: not alive(first), timeout=60, what="the link to die")
    assert (await host.run(["echo", "again"])).stdout == b"again\n"
    assert link_pid(host) != first


async def test_the_link_leaves_after_its_idle_time(link_home, ssh_server, monkeypatch):
    monkeypatch.setenv("DECK_LINK_IDLE_SECONDS", "0.5")
    host = host_of(ssh_server)
    await host.run(["true"])
    pid = link_pid(host)
    path = socket_path(runtime_dir(), host.spec)
    await until_async(lambda: not alive(pid), timeout=60, what="the idle link to leave")
    assert not path.exists() and not info_path(runtime_dir(), host.spec).exists()
    until(lambda: not client_ports(ssh_server, link_home), timeout=60,
          what="its SSH connection to close")
    assert (await host.run(["echo", "back"])).stdout == b"back\n"  # and a new one comes


def test_a_killed_client_s_command_ends_and_the_link_goes_idle(link_home, ssh_server,
                                                               monkeypatch):
    # A keeper killed while following a quiet metrics file: nobody reads that command any
    # more and it writes nothing, so sshd never ends it; the link must end the session itself
    # (a silent command that ignores its stdin; it ends on its own after 300 s).
    monkeypatch.setenv("DECK_LINK_IDLE_SECONDS", "0.5")
    code = f"""
import asyncio
from launchdeck.core.remote.broker.client import LinkPool
async def main():
    host = LinkPool().host({ssh_server.host!r}, port={ssh_server.port},
                           user={ssh_server.user!r}, identity_file={str(ssh_server.client_key)!r})
    async with host.process(["sh", "-c", "echo tick; exec sleep 300"]) as proc:
        print((await proc.stdout.readline()).decode(), end="", flush=True)
        await asyncio.sleep(600)
asyncio.run(main())
"""
    client = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert client.stdout.readline() == b"tick\n"
        pid = json.loads(next(runtime_dir().glob("*.json")).read_text())["pid"]
    finally:
        client.kill()
        client.wait()
    until(lambda: not alive(pid), timeout=60, what="the link to leave once idle")


async def test_a_folder_open_to_others_is_refused_before_anything_starts(link_home,
                                                                         ssh_server):
    folder = runtime_dir()
    os.chmod(folder, 0o755)
    host = host_of(ssh_server)
    with pytest.raises(ConfigError, match="must be 0700"):
        await host.run(["true"])
    assert list(folder.iterdir()) == []


async def test_a_password_stays_in_memory(link_home, ssh_server, tmp_path):
    # Password authentication only: no key offered (identity file that the server ignores).
    (link_home / ".ssh" / "config").write_text("Host *\n  PubkeyAuthentication no\n")
    pool = LinkPool()
    asked = []

    def provider(endpoint):
        asked.append(str(endpoint))
        return ssh_server.password

    pool.password_provider = provider
    host = pool.host(ssh_server.host, port=ssh_server.port, user=ssh_server.user)
    assert (await host.run(["echo", "pw"])).stdout == b"pw\n"
    assert len(asked) == 1
    folder = runtime_dir()
    for path in folder.iterdir():
        if path.is_file():
            assert ssh_server.password.encode() not in path.read_bytes(), path
    assert ssh_server.password not in " ".join(
        open(f"/proc/{link_pid(host)}/cmdline").read().split("\0"))
