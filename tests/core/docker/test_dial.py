"""Engine addresses as DOCKER_HOST spells them; TLS as the docker CLI decides and verifies it."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
from pathlib import Path

import pytest

from launchdeck.core.docker.dial import Address
from launchdeck.core.docker.engine import connect, engine_errors
from launchdeck.core.errors import TargetError, TargetUnreachable
from tests.fixtures.engine_relay import relay_to_engine


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


async def test_an_engine_that_does_not_answer_is_unreachable_naming_its_url(tmp_path):
    nobody = tmp_path / "nobody.sock"  # a socket file whose listener is gone
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(nobody))
    for url in (f"unix://{nobody}", f"unix://{tmp_path}/missing.sock"):
        docker = await connect(url)
        try:
            with pytest.raises(TargetUnreachable) as raised:
                async with engine_errors("target box", url):
                    await docker.version()
            said = str(raised.value)
            assert said.startswith(f"target box: the Docker Engine at {url} does not answer")
            assert "DOCKER_HOST" in said  # the start hint
        finally:
            await docker.close()


def _certificates(folder: Path) -> None:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, as the docker CLI
    finds them in DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem), plus server.pem/server-key.pem."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=deck-ca",
            "-keyout", "ca-key.pem", "-out", "ca.pem")
    for name, subject, extension in (("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1"),
                                     ("client", "/CN=deck", "extendedKeyUsage=clientAuth")):
        (folder / f"{name}.ext").write_text(extension + "\n")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject,
                "-keyout", f"{name}-key.pem", "-out", f"{name}.csr")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext",
                "-out", f"{name}.pem")
    (folder / "client.pem").rename(folder / "cert.pem")
    (folder / "client-key.pem").rename(folder / "key.pem")


async def _tls_in_front_of_the_engine(folder: Path) -> asyncio.AbstractServer:
    """TLS on 127.0.0.1 that wants a client certificate of the CA, then the engine's socket."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(folder / "ca.pem"))
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_cert_chain(folder / "server.pem", folder / "server-key.pem")

    return await asyncio.start_server(relay_to_engine, "127.0.0.1", 0, ssl=context)


@pytest.mark.docker
async def test_a_tls_engine_is_verified_with_the_docker_cli_certificates(docker_engine, tmp_path,
                                                                        monkeypatch):
    _certificates(tmp_path)
    server = await _tls_in_front_of_the_engine(tmp_path)
    port = server.sockets[0].getsockname()[1]
    url = f"tcp://127.0.0.1:{port}"
    try:
        monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
        monkeypatch.setenv("DOCKER_CERT_PATH", str(tmp_path))
        docker = await connect(url)
        try:
            assert (await docker.version())["ApiVersion"]
            assert (await docker.images.inspect(docker_engine))["Id"]
        finally:
            await docker.close()

        # Another CA's folder: the engine's certificate is not trusted, and deck says so.
        other = tmp_path / "other"
        other.mkdir()
        _certificates(other)
        monkeypatch.setenv("DOCKER_CERT_PATH", str(other))
        docker = await connect(url)
        try:
            with pytest.raises(TargetError, match=f"{url} failed: .*certificate verify failed"):
                async with engine_errors("target box", url):
                    await docker.version()
        finally:
            await docker.close()
    finally:
        server.close()
