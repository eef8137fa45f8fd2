"""One shared SSH connection per host, opened lazily and reopened when it drops.

``SSHPool`` keeps one asyncssh connection per (host, port, user) for every caller in the
process (the link process, ``core.remote.broker``, is one such process serving all the others); ``RemoteHost`` is a caller's handle on one destination. Authentication: keys
(``identityFile`` or ``~/.ssh/config``/default keys), the SSH agent (``SSH_AUTH_SOCK``), then a
password from a callback, asked once per process and kept in memory only. Every host key is
checked by ``core.remote.hostkeys``; checking is never switched off.

asyncssh and OS exceptions are translated (``core.remote.commands.translate_errors``) into
``core.errors``.
A command that was running when the link dropped fails with ``TargetUnreachable``: it is never
re-run, since it may have had effects; only a channel that could not even be opened is retried
once on a fresh connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import weakref
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Awaitable, Callable

import launchdeck.core.remote._asyncssh  # noqa: F401  (first: asyncssh imported quickly)
import asyncssh
from asyncssh.public_key import get_default_public_key_algs

from launchdeck.core.errors import ConfigError, HostKeyError, TargetError, TargetUnreachable
from launchdeck.core.remote.commands import CommandResult, quote_command, translate_errors
from launchdeck.core.remote.hostkeys import DEFAULT_KNOWN_HOSTS, KnownHosts, accept_host_key
from launchdeck.core.remote.remotehost import RemoteHost
from launchdeck.core.remote.sshconfig import SSHEndpoint, parse_jump, resolve

#: Asked for a password when keys and agent were refused; may be async. None means "no".
PasswordProvider = Callable[[SSHEndpoint], "Awaitable[str | None] | str | None"]

# Process-wide, memory only: one prompt per destination per process.
_PASSWORDS: dict[tuple[str, int, str, str], str] = {}


class _Client(asyncssh.SSHClient):
    """Checks the host key ourselves and answers password prompts through the pool."""

    def __init__(self, pool: "SSHPool", endpoint: SSHEndpoint, known: KnownHosts,
                 accept: str | None, accept_file: Path) -> None:
        self.pool, self.endpoint, self.known = pool, endpoint, known
        self.accept, self.accept_file = accept, accept_file
        self.host_key_error: HostKeyError | None = None
        self.password_asked = False
        self.conn: asyncssh.SSHClientConnection | None = None

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        self.conn = conn

    def connection_lost(self, exc: Exception | None) -> None:
        self.pool._forget(self.endpoint.key, self.conn)

    def validate_host_public_key(self, host: str, addr: str, port: int,
                                 key: asyncssh.SSHKey) -> bool:
        try:
            self.known.verify(host, port, key)
            return True
        except HostKeyError as exc:
            if self.accept and not exc.changed:  # a changed key is never accepted from here
                try:
                    accept_host_key(self.accept_file, host, port, key,
                                    confirmed_fingerprint=self.accept)
                    return True
                except HostKeyError as refused:
                    exc = refused
            self.host_key_error = exc
            return False

    async def password_auth_requested(self) -> str | None:
        if self.password_asked:  # one try per connection: a wrong password is not re-sent
            return None
        self.password_asked = True
        return await self.pool._password(self.endpoint)

    def kbdint_auth_requested(self) -> str | None:
        return "" if self.pool.password_provider or self.endpoint.key in _PASSWORDS else None

    async def kbdint_challenge_received(self, name, instructions, lang, prompts):
        if not prompts:
            return []
        if len(prompts) == 1 and "password" in prompts[0][0].lower():
            password = await self.password_auth_requested()
            return None if password is None else [password]
        return None


@dataclass
class _Entry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    conn: asyncssh.SSHClientConnection | None = None
    channels: asyncio.Semaphore | None = None
    sftp: asyncssh.SFTPClient | None = None
    opened: int = 0  #: how many times a connection was opened (tests and diagnostics)


class SSHPool:
    """Shared SSH connections of this process (use ``shared_pool()`` outside tests)."""

    def __init__(self, *, config_paths: list[Path] | None = None,
                 known_hosts: Path | list[Path] | None = None,
                 password_provider: PasswordProvider | None = None,
                 keepalive_interval: float = 15.0, keepalive_count_max: int = 3,
                 connect_timeout: float = 15.0, max_channels: int = 8) -> None:
        # max_channels: concurrent command channels per connection. OpenSSH's MaxSessions
        # defaults to 10 and refuses the 11th; SFTP holds one, so 8 leaves a spare.
        self.config_paths = config_paths
        self.known_hosts = [known_hosts] if isinstance(known_hosts, (str, Path)) else known_hosts
        self.password_provider = password_provider
        self.keepalive = (keepalive_interval, keepalive_count_max)
        self.connect_timeout = connect_timeout
        self.max_channels = max_channels
        self._entries: dict[tuple[str, int, str, str], _Entry] = {}
        self._forwards: list = []

    def host(self, address: str, *, port: int | None = None, user: str | None = None,
             identity_file: str | None = None) -> RemoteHost:
        """A handle on one destination; ``~/.ssh/config`` applies under the ``.compute`` values."""
        endpoint = resolve(address, port=port, user=user, identity_file=identity_file,
                           config_paths=self.config_paths)
        return RemoteHost(self, endpoint)

    def entry(self, endpoint: SSHEndpoint) -> _Entry:
        return self._entries.setdefault(endpoint.key, _Entry())

    async def connection(self, endpoint: SSHEndpoint, *,
                         accept_fingerprint: str | None = None,
                         _depth: int = 0) -> asyncssh.SSHClientConnection:
        """The shared connection to ``endpoint``, opened now if there is none or it dropped."""
        entry = self.entry(endpoint)
        async with entry.lock:  # 20 callers at once make one connection, not 20
            if entry.conn is None or entry.conn.is_closed():
                entry.conn, entry.sftp = None, None
                entry.conn = await self._open(endpoint, accept_fingerprint, _depth)
                entry.channels = asyncio.Semaphore(self.max_channels)
                entry.opened += 1
            return entry.conn

    def _forget(self, key: tuple[str, int, str, str], conn: object) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry.conn is conn:
            entry.conn, entry.sftp = None, None

    def _known_hosts(self, endpoint: SSHEndpoint) -> KnownHosts:
        files = self.known_hosts or [Path(f) for f in endpoint.known_hosts_files] \
            or [DEFAULT_KNOWN_HOSTS]
        return KnownHosts(files)

    async def _open(self, endpoint: SSHEndpoint, accept: str | None,
                    depth: int) -> asyncssh.SSHClientConnection:
        tunnel = None
        if endpoint.proxy_jump:
            if depth > 8:
                raise ConfigError(f"ProxyJump loop while reaching {endpoint.alias}")
            tunnel = await self.connection(self._jump_endpoint(endpoint.proxy_jump),
                                           _depth=depth + 1)
        known = self._known_hosts(endpoint)
        lookup = endpoint.host_key_alias or endpoint.host
        # Ask for the key types we already know first, as OpenSSH does, so a known host shows
        # its known key and a different key means a changed key.
        defaults = [a.decode() for a in get_default_public_key_algs()]
        known_algs = known.known_algorithms(lookup, endpoint.port)
        clients: list[_Client] = []

        def factory() -> _Client:
            clients.append(_Client(self, endpoint, known, accept, known.files[0]))
            return clients[-1]

        options = dict(
            port=endpoint.port, username=endpoint.user, tunnel=tunnel,
            config=list(endpoint.config_paths), client_factory=factory,
            known_hosts=([], [], []),  # trust nothing blindly: _Client decides every key
            x509_trusted_certs=None, host_key_alias=endpoint.host_key_alias,
            server_host_key_algs=known_algs + [a for a in defaults if a not in known_algs],
            keepalive_interval=self.keepalive[0], keepalive_count_max=self.keepalive[1],
            connect_timeout=self.connect_timeout,
            password_auth=True, kbdint_auth=True,
        )
        if endpoint.identity_files:
            options["client_keys"] = list(endpoint.identity_files)
        try:
            return await asyncssh.connect(endpoint.host, **options)
        except asyncssh.HostKeyNotVerifiable as exc:
            if clients and clients[-1].host_key_error:
                raise clients[-1].host_key_error from None
            raise HostKeyError(f"{endpoint.host}:{endpoint.port}: {exc}",
                               host=endpoint.host) from exc
        except asyncssh.PermissionDenied as exc:
            if any(c.password_asked for c in clients):
                self.forget_password(endpoint)  # wrong: ask again next time, never reuse
            raise TargetError(
                f"{endpoint}: authentication failed ({exc.reason}). Tried: "
                f"{self._methods_tried(endpoint, clients)}. Put a public key in the host's "
                f"~/.ssh/authorized_keys and set identityFile, or load it into ssh-agent."
            ) from exc
        except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
            raise ConfigError(f"cannot use identity file for {endpoint}: {exc}",
                              field="identityFile") from exc
        except FileNotFoundError as exc:  # an identityFile that is not there
            raise ConfigError(f"identity file not found: {exc.filename}",
                              field="identityFile") from exc
        except (OSError, asyncio.TimeoutError, asyncssh.Error) as exc:
            cause = str(exc) or type(exc).__name__
            if isinstance(exc, OSError) and exc.errno:  # "Connection refused", not a tuple
                cause = os.strerror(exc.errno)
            via = f" via {endpoint.proxy_jump}" if endpoint.proxy_jump else ""
            raise TargetUnreachable(
                f"cannot reach {endpoint.host}:{endpoint.port}{via} "
                f"(target address {endpoint.alias!r}): {cause}") from exc

    def _jump_endpoint(self, spec: str) -> SSHEndpoint:
        hops = parse_jump(spec)
        host, port, user = hops[-1]
        jump = resolve(host, port=port, user=user, config_paths=self.config_paths)
        if len(hops) > 1:  # the last hop is reached through the ones before it
            earlier = spec.split(",")[:-1]
            jump = replace(jump, proxy_jump=",".join(earlier))
        return jump

    def _methods_tried(self, endpoint: SSHEndpoint, clients: list[_Client]) -> str:
        keys = ", ".join(endpoint.identity_files) if endpoint.identity_files \
            else "default keys (~/.ssh/id_*)"
        tried = [f"public key ({keys})"]
        agent = os.environ.get("SSH_AUTH_SOCK")
        tried.append(f"SSH agent ({agent})" if agent else "no SSH agent (SSH_AUTH_SOCK unset)")
        asked = any(c.password_asked for c in clients)
        tried.append("password" if asked else "no password (none available)")
        return "; ".join(tried)

    async def _password(self, endpoint: SSHEndpoint) -> str | None:
        if endpoint.key in _PASSWORDS:
            return _PASSWORDS[endpoint.key]
        if self.password_provider is None:
            return None
        answer = self.password_provider(endpoint)
        if inspect.isawaitable(answer):
            answer = await answer
        if answer:
            # Kept for this process only; a refused password is asked again next connection.
            _PASSWORDS[endpoint.key] = answer
        return answer or None

    @staticmethod
    def remember_password(endpoint: SSHEndpoint, password: str) -> None:
        """Use ``password`` for ``endpoint`` in this process (e.g. one read from the keyring)."""
        _PASSWORDS[endpoint.key] = password

    @staticmethod
    def forget_password(endpoint: SSHEndpoint) -> None:
        _PASSWORDS.pop(endpoint.key, None)

    async def close(self) -> None:
        """Close every connection and socket forward this pool opened."""
        for forward in self._forwards:
            await forward.close()
        self._forwards.clear()
        for entry in self._entries.values():
            if entry.conn is not None:
                entry.conn.close()
                with contextlib.suppress(Exception):
                    await entry.conn.wait_closed()
                entry.conn = None
        self._entries.clear()


_SHARED: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SSHPool]" = \
    weakref.WeakKeyDictionary()


def shared_pool() -> SSHPool:
    """The process's pool (one per event loop: asyncssh connections belong to a loop)."""
    loop = asyncio.get_running_loop()
    if loop not in _SHARED:
        _SHARED[loop] = SSHPool()
    return _SHARED[loop]
