"""The link process's side of a command session (core.remote.broker.server), spoken to raw over
its socket, against the real sshd on 127.0.0.1:2222."""

import asyncio
import json

import pytest

from launchdeck.core.remote.broker import wire
from launchdeck.core.remote.broker.client import LinkPool
from launchdeck.core.remote.broker.rundir import runtime_dir, socket_path

pytestmark = pytest.mark.ssh


async def open_sessions(host) -> int:
    return (await host._simple({"op": "status"}))["sessions"]


async def test_a_stdin_end_sent_after_the_exit_status_is_read_not_reset(link_home, ssh_server):
    # A slow client (a busy machine) may send its stdin's end after the command has ended.
    # A link that closed then, with that frame unread, reset the client's connection, and the
    # client lost the exit status it had already received: "connection lost while ...".
    host = LinkPool().host(ssh_server.host, port=ssh_server.port, user=ssh_server.user,
                           identity_file=str(ssh_server.client_key))
    await host.connection()
    reader, writer = await asyncio.open_unix_connection(
        str(socket_path(runtime_dir(), host.spec)))
    writer.write(wire.json_frame(wire.REQUEST, {"op": "exec", "cmd": ["sh", "-c", "exit 4"]}))
    frames = []
    while (got := await wire.read_frame(reader)) is not None:
        frames.append(got)
    kind, payload = frames[-1]
    assert kind == wire.EXIT and json.loads(payload)["exit_status"] == 4
    # The link ended only its own side: the late frame is taken, the session is still open.
    writer.write(wire.frame(wire.STDIN_EOF))
    await writer.drain()
    assert await open_sessions(host) == 1
    writer.close()

    async def closed() -> None:
        while await open_sessions(host):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(closed(), 60)
