"""Engine addresses as DOCKER_HOST spells them, TLS as the docker CLI decides it."""

from __future__ import annotations

import pytest

from launchdeck.core.docker.dial import Address
from launchdeck.core.docker.engine import connect
from launchdeck.core.errors import TargetUnreachable


def test_a_unix_socket_and_tcp_with_and_without_tls(monkeypatch):
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    assert Address.parse("unix:///var/run/docker.sock").path == "/var/run/docker.sock"
    plain = Address.parse("tcp://10.0.0.5:2375")
    assert (plain.host, plain.port, plain.tls) == ("10.0.0.5", 2375, False)
    assert Address.parse("https://engine.example:2376").tls
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    verified = Address.parse("tcp://engine.example")
    assert (verified.host, verified.port, verified.tls) == ("engine.example", 2376, True)


async def test_an_address_deck_cannot_open_is_a_clear_error():
    with pytest.raises(TargetUnreachable, match="npipe:.*named pipe"):
        await connect("npipe:////./pipe/docker_engine")
    with pytest.raises(TargetUnreachable, match="ftp://x is not an address"):
        await connect("ftp://x")
