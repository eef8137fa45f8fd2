"""known_hosts parsing and verdicts, without a server (the live checks are in test_connection)."""

import base64
import hashlib
import hmac
import os

import asyncssh
import pytest

from launchdeck.core.errors import HostKeyError
from launchdeck.core.remote.hostkeys import KnownHosts, accept_host_key, fingerprint, host_pattern


def _key():
    return asyncssh.generate_private_key("ssh-ed25519").convert_to_public()


def _line(patterns, key, marker=""):
    algorithm, data = key.export_public_key().decode().split()[:2]
    return f"{marker + ' ' if marker else ''}{patterns} {algorithm} {data}\n"


def _hashed(name):
    salt = os.urandom(20)
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def test_port_22_is_plain_and_other_ports_are_bracketed():
    assert host_pattern("Example.COM", 22) == "example.com"
    assert host_pattern("10.0.0.1", 2222) == "[10.0.0.1]:2222"


def test_known_plain_and_hashed_entries_verify(tmp_path):
    a, b = _key(), _key()
    path = tmp_path / "kh"
    path.write_text("# comment\n\n" + _line("box,other", a) + _line(_hashed("[h]:2222"), b))
    known = KnownHosts(path)
    known.verify("box", 22, a)
    known.verify("h", 2222, b)
    with pytest.raises(HostKeyError) as unknown:
        known.verify("h", 22, b)  # port 22 is another entry than [h]:2222
    assert unknown.value.changed is False


def test_wildcards_and_negation(tmp_path):
    a = _key()
    path = tmp_path / "kh"
    path.write_text(_line("*.lab,!bad.lab", a))
    known = KnownHosts(path)
    known.verify("gpu1.lab", 22, a)
    with pytest.raises(HostKeyError):
        known.verify("bad.lab", 22, a)


def test_unknown_host_shows_fingerprint_and_how_to_accept(tmp_path):
    key = _key()
    with pytest.raises(HostKeyError) as err:
        KnownHosts(tmp_path / "absent").verify("box", 2200, key)
    e = err.value
    assert (e.changed, e.host, e.fingerprint) == (False, "[box]:2200", fingerprint(key))
    assert fingerprint(key).startswith("SHA256:") and fingerprint(key) in str(e)
    assert "deck target check" in str(e) and f"--accept-host-key {fingerprint(key)}" in str(e)


def test_changed_key_names_file_and_line(tmp_path):
    old, new = _key(), _key()
    path = tmp_path / "kh"
    path.write_text(_line("x", _key()) + _line("box", old))
    with pytest.raises(HostKeyError) as err:
        KnownHosts(path).verify("box", 22, new)
    e = err.value
    assert e.changed and e.fingerprint == fingerprint(new)
    assert "HAS CHANGED" in str(e) and "man-in-the-middle" in str(e)
    assert f"{path} line 2" in str(e)


def test_revoked_key_is_refused_even_if_also_listed(tmp_path):
    key = _key()
    path = tmp_path / "kh"
    path.write_text(_line("box", key) + _line("*", key, "@revoked"))
    with pytest.raises(HostKeyError, match="revoked"):
        KnownHosts(path).verify("box", 22, key)


def test_accept_writes_only_the_confirmed_fingerprint(tmp_path):
    key = _key()
    path = tmp_path / "ssh" / "known_hosts"
    with pytest.raises(HostKeyError, match="not the fingerprint you confirmed"):
        accept_host_key(path, "box", 2222, key, confirmed_fingerprint=fingerprint(_key()))
    assert not path.exists()
    accept_host_key(path, "box", 2222, key, confirmed_fingerprint=fingerprint(key))
    assert path.read_text().startswith("[box]:2222 ssh-ed25519 ")
    KnownHosts(path).verify("box", 2222, key)
