"""Attach and exec streams on a real engine: stdin in (and its end), stdout and stderr apart."""

from __future__ import annotations

import pytest

from launchdeck.core.docker.attach import STDERR, STDOUT, AttachedStream
from launchdeck.core.docker.client import EngineClient

pytestmark = pytest.mark.docker

#: Reads stdin to its end, then answers on both streams: it ends only if stdin's end arrives.
ECHO = ("import sys\n"
        "data = sys.stdin.buffer.read()\n"
        "sys.stdout.buffer.write(data.upper()); sys.stdout.flush()\n"
        "sys.stderr.write('stdin ended after %d bytes' % len(data))\n")


@pytest.fixture
async def docker():
    client = EngineClient("unix:///var/run/docker.sock")
    yield client
    await client.close()


async def _talk(stream: AttachedStream, data: bytes) -> dict[int, bytes]:
    await stream.write_in(data)
    await stream.write_eof()
    said: dict[int, bytes] = {STDOUT: b"", STDERR: b""}
    while (frame := await stream.read_out()) is not None:
        said[frame.stream] += frame.data
    return said


async def test_exec_takes_stdin_to_its_end_and_answers_on_stdout_and_stderr(docker,
                                                                          docker_engine):
    container = await docker.containers.create(config={
        "Image": docker_engine, "Entrypoint": [], "Cmd": ["sleep", "600"],
        "Labels": {"launchdeck.test": "1"}})
    try:
        await container.start()
        exe = await container.exec(["python3", "-c", ECHO], stdin=True)
        async with await exe.start() as stream:
            said = await _talk(stream, b"hello \x10\x11 engine" * 1000)
        assert said[STDOUT] == b"HELLO \x10\x11 ENGINE" * 1000
        assert said[STDERR] == b"stdin ended after 15000 bytes"
        assert (await exe.inspect())["ExitCode"] == 0
    finally:
        await container.delete(force=True)


async def test_attached_before_the_start_nothing_is_missed(docker, docker_engine):
    container = await docker.containers.create(config={
        "Image": docker_engine, "Entrypoint": [], "Cmd": ["python3", "-c", ECHO],
        "AttachStdin": True, "OpenStdin": True, "StdinOnce": True, "Tty": False,
        "Labels": {"launchdeck.test": "1"}})
    try:
        stream = await container.attach(stdin=True, stdout=True, stderr=True)
        try:
            await container.start()
            said = await _talk(stream, b"first line\n")
        finally:
            await stream.close()
        assert said == {STDOUT: b"FIRST LINE\n", STDERR: b"stdin ended after 11 bytes"}
        assert (await container.wait())["StatusCode"] == 0
    finally:
        await container.delete(force=True)


async def test_a_refused_attach_says_what_the_engine_said(docker):
    from launchdeck.core.docker.session import EngineError

    with pytest.raises(EngineError) as raised:
        await docker.containers.container("deck-no-such-container").attach(stdout=True)
    assert raised.value.status == 404 and "no such container" in raised.value.message.lower()
