"""Host key verification against OpenSSH ``known_hosts`` files.

Launchdeck checks host keys itself instead of leaving it to asyncssh, so that a refusal can say
exactly what the user needs: the fingerprint to confirm for an unknown host, and for a changed
key, which line of which file disagrees. Supported: plain and hashed (``|1|salt|hash``) host
names, ``[host]:port`` for ports other than 22, ``*``/``?`` wildcards, ``!`` negation and
``@revoked``. ``@cert-authority`` lines are ignored: host certificates are not supported.

Trust on first use is never silent: a key is appended to known_hosts only by
``accept_host_key`` and only when the key the server presents has the fingerprint the user
confirmed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path

import launchdeck.core.remote._asyncssh  # noqa: F401  (first: asyncssh imported quickly)
import asyncssh

from launchdeck.core.errors import HostKeyError

DEFAULT_KNOWN_HOSTS = Path("~/.ssh/known_hosts")


@dataclass(frozen=True)
class KnownHostLine:
    """One usable line of a known_hosts file."""

    file: Path
    line: int
    patterns: str
    key: asyncssh.SSHKey
    revoked: bool = False

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key)


def fingerprint(key: asyncssh.SSHKey) -> str:
    """``SHA256:...`` as ``ssh-keygen -l`` prints it."""
    return key.get_fingerprint("sha256")


def host_pattern(host: str, port: int) -> str:
    """The name OpenSSH files a host under: ``host`` on port 22, ``[host]:port`` otherwise."""
    return host.lower() if port == 22 else f"[{host.lower()}]:{port}"


def key_type(key: asyncssh.SSHKey) -> str:
    """``ED25519``, ``RSA``, ``ECDSA``... for messages."""
    name = key.algorithm.decode()
    return name.removeprefix("ssh-").split("-")[0].upper()


def _pattern_matches(pattern: str, name: str) -> bool:
    if pattern.startswith("|1|"):
        try:
            _, _, salt, digest = pattern.split("|")
            mac = hmac.new(base64.b64decode(salt), name.encode(), hashlib.sha1).digest()
            return hmac.compare_digest(mac, base64.b64decode(digest))
        except (ValueError, TypeError):
            return False
    # OpenSSH patterns know only * and ?; brackets in [host]:port are literal.
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                    for c in pattern.lower())
    return re.fullmatch(regex, name) is not None


def _line_matches(patterns: str, name: str) -> bool:
    matched = False
    for pattern in patterns.split(","):
        if pattern.startswith("!"):
            if _pattern_matches(pattern[1:], name):
                return False  # a negated match vetoes the whole line, as in OpenSSH
        elif _pattern_matches(pattern, name):
            matched = True
    return matched


class KnownHosts:
    """The lines of one or more known_hosts files (missing files count as empty)."""

    def __init__(self, files: list[Path] | tuple[Path, ...] | Path | None = None) -> None:
        if files is None:
            files = [DEFAULT_KNOWN_HOSTS]
        elif isinstance(files, (str, Path)):
            files = [Path(files)]
        self.files = [Path(f).expanduser() for f in files]
        self.lines: list[KnownHostLine] = []
        for path in self.files:
            self.lines.extend(_read(path))

    def lookup(self, host: str, port: int) -> list[KnownHostLine]:
        name = host_pattern(host, port)
        return [ln for ln in self.lines if _line_matches(ln.patterns, name)]

    def known_algorithms(self, host: str, port: int) -> list[str]:
        """Signature algorithms of the keys known for a host, to ask the server for those first."""
        algs: list[str] = []
        for ln in self.lookup(host, port):
            if not ln.revoked:
                algs += [a.decode() for a in ln.key.sig_algorithms if a.decode() not in algs]
        return algs

    def verify(self, host: str, port: int, key: asyncssh.SSHKey) -> None:
        """Return if ``key`` is trusted for the host; raise ``HostKeyError`` otherwise."""
        name = host_pattern(host, port)
        lines = self.lookup(host, port)
        presented = fingerprint(key)
        for ln in lines:
            if ln.revoked and ln.key == key:
                raise HostKeyError(
                    f"Refusing to connect to {name}: its host key {presented} is marked "
                    f"@revoked in {ln.file} line {ln.line}.",
                    host=name, fingerprint=presented, changed=True)
        trusted = [ln for ln in lines if not ln.revoked]
        if any(ln.key == key for ln in trusted):
            return
        if trusted:
            # A known host presenting another key, even of another type, is refused: the
            # server was asked for the known key types first, so it no longer has that key.
            where = "\n".join(f"  {ln.file} line {ln.line}: {key_type(ln.key)} {ln.fingerprint}"
                              for ln in trusted)
            raise HostKeyError(
                f"WARNING: THE HOST KEY OF {name} HAS CHANGED. Refusing to connect.\n"
                f"Someone could be intercepting this connection (man-in-the-middle attack), "
                f"or the host was reinstalled.\n"
                f"The host now presents {key_type(key)} key {presented}, but known_hosts says:\n"
                f"{where}\n"
                f"Only if the change is expected (ask the host's administrator), remove that "
                f"line (ssh-keygen -R '{name}' -f {trusted[0].file}) and accept the new key.",
                host=name, fingerprint=presented, changed=True)
        files = ", ".join(str(f) for f in self.files)
        raise HostKeyError(
            f"The host key of {name} is not known (not in {files}).\n"
            f"  {key_type(key)} key fingerprint: {presented}\n"
            f"Check it with the host's administrator (on the host: ssh-keygen -lf "
            f"/etc/ssh/ssh_host_{key_type(key).lower()}_key.pub), then accept it with "
            f"`deck target check NAME` and confirm, or pass `--accept-host-key {presented}`.",
            host=name, fingerprint=presented, changed=False)


def _read(path: Path) -> list[KnownHostLine]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise HostKeyError(f"Cannot read known_hosts file {path}: {exc.strerror}") from exc
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        fields = raw.split()
        if not fields or fields[0].startswith("#"):
            continue
        marker = fields.pop(0) if fields[0].startswith("@") else ""
        if marker not in ("", "@revoked") or len(fields) < 3:
            continue  # @cert-authority (unsupported) or a malformed line: OpenSSH skips those too
        try:
            key = asyncssh.import_public_key(f"{fields[1]} {fields[2]}")
        except (asyncssh.KeyImportError, ValueError):
            continue
        lines.append(KnownHostLine(path, number, fields[0], key, revoked=bool(marker)))
    return lines


def accept_host_key(path: Path, host: str, port: int, key: asyncssh.SSHKey, *,
                    confirmed_fingerprint: str) -> None:
    """Append ``key`` for the host to ``path``, only if its fingerprint is the confirmed one."""
    name = host_pattern(host, port)
    presented = fingerprint(key)
    if confirmed_fingerprint.strip() != presented:
        raise HostKeyError(
            f"Not accepting the host key of {name}: it presents {presented}, which is not the "
            f"fingerprint you confirmed ({confirmed_fingerprint.strip()}). Nothing was written.",
            host=name, fingerprint=presented, changed=False)
    path = Path(path).expanduser()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    algorithm, data = key.export_public_key("openssh").decode().split()[:2]
    existing = path.read_bytes() if path.exists() else b""
    newline = "\n" if existing and not existing.endswith(b"\n") else ""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        out.write(f"{newline}{name} {algorithm} {data}\n")
