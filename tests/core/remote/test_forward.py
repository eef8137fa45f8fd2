"""Unix socket forwarding over the shared connection (the remote Docker Engine's way in)."""

import asyncio
import os
import signal
import stat
import tempfile

import pytest

from launchdeck.core.remote import SSHPool

pytestmark = pytest.mark.ssh


@pytest.fixture
async def host(ssh_server, known_hosts_file):
    pool = SSHPool(config_paths=[], known_hosts=ssh_server.write_known_hosts(known_hosts_file))
    yield pool.host(ssh_server.host, port=ssh_server.port, user=ssh_server.user,
                    identity_file=str(ssh_server.client_key))
    await pool.close()


@pytest.fixture
async def echo_socket():
    """A unix socket server on the 'remote' side that deckuser may reach."""
    folder = tempfile.mkdtemp(prefix="deck-echo-")
    os.chmod(folder, 0o755)
    path = os.path.join(folder, "echo.sock")

    async def echo(reader, writer):
        while data := await reader.read(65536):
            writer.write(data.upper())
            await writer.drain()
        writer.close()

    server = await asyncio.start_unix_server(echo, path=path)
    os.chmod(path, 0o666)
    yield path
    server.close()
    await server.wait_closed()
    os.unlink(path)
    os.rmdir(folder)


async def _ask(local_path: str, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_unix_connection(local_path)
    writer.write(payload)
    await writer.drain()
    writer.write_eof()
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return data


async def test_forwarded_socket_is_private_and_survives_a_dropped_link(host, ssh_server,
                                                                       echo_socket):
    local = await host.forward_unix_socket(echo_socket)
    assert stat.S_IMODE(os.stat(os.path.dirname(local)).st_mode) == 0o700
    big = os.urandom(1 << 20).hex().encode()
    answers = await asyncio.gather(_ask(local, b"ping"), _ask(local, b"pong"), _ask(local, big))
    assert answers == [b"PING", b"PONG", big.upper()]

    conn = await host.connection()
    session = ssh_server.session_of(conn.get_extra_info("sockname")[1])
    os.killpg(session, signal.SIGKILL)  # the [priv] monitor and its network child
    await asyncio.sleep(0.3)
    assert await _ask(local, b"again") == b"AGAIN"  # same path, new connection underneath
    assert await host.connection() is not conn


async def test_docker_engine_through_the_forwarded_socket(host, request):
    from launchdeck.core.docker.client import EngineClient

    try:
        request.getfixturevalue("docker_engine")
    except pytest.FixtureLookupError:
        if not os.path.exists("/var/run/docker.sock"):
            pytest.skip("no Docker Engine on this machine")
    local = await host.forward_docker_socket()
    docker = EngineClient("unix://" + local)
    try:
        version = await docker.version()
    finally:
        await docker.close()
    assert version["ApiVersion"]
