"""Import aiohttp (and aiodocker) without loading the system's CA certificates at import.

aiohttp builds two default TLS client contexts when it is imported, and loading the CA
certificates into them is about 40 ms of CPU: a third of what a remote Docker run's keeper
spends before it can launch, for a Unix socket that never speaks TLS. Within the block, a
context that would load them at creation is marked instead and loads them the first time it
wraps a connection (or is asked about them), so a TLS engine is verified exactly as before.
"""

from __future__ import annotations

import contextlib
import ssl
from typing import Any, Iterator

_PENDING = "_deck_pending_ca"


class _LoadsCAsWhenUsed(ssl.SSLContext):
    """An ``SSLContext`` whose default CA certificates are loaded at its first use."""

    def _load(self) -> None:
        pending = self.__dict__.pop(_PENDING, ())
        self.__class__ = ssl.SSLContext  # type: ignore[assignment]
        for purpose in pending:
            if purpose is None:
                ssl.SSLContext.set_default_verify_paths(self)
            else:
                ssl.SSLContext.load_default_certs(self, purpose)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> Any:
        self._load()
        return ssl.SSLContext.wrap_socket(self, *args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> Any:
        self._load()
        return ssl.SSLContext.wrap_bio(self, *args, **kwargs)

    def get_ca_certs(self, *args: Any, **kwargs: Any) -> Any:
        self._load()
        return ssl.SSLContext.get_ca_certs(self, *args, **kwargs)

    def cert_store_stats(self) -> Any:
        self._load()
        return ssl.SSLContext.cert_store_stats(self)


def _defer(context: ssl.SSLContext, purpose: Any) -> None:
    context.__dict__.setdefault(_PENDING, []).append(purpose)
    context.__class__ = _LoadsCAsWhenUsed


@contextlib.contextmanager
def ca_certificates_loaded_when_used() -> Iterator[None]:
    """Within the block, TLS contexts defer loading the default CA certificates."""
    def load_default_certs(self: ssl.SSLContext,
                           purpose: Any = ssl.Purpose.SERVER_AUTH) -> None:
        _defer(self, purpose)

    def set_default_verify_paths(self: ssl.SSLContext) -> None:
        _defer(self, None)

    ssl.SSLContext.load_default_certs = load_default_certs  # type: ignore[method-assign]
    ssl.SSLContext.set_default_verify_paths = set_default_verify_paths  # type: ignore
    try:
        yield
    finally:
        del ssl.SSLContext.set_default_verify_paths  # the C method of its base again
        ssl.SSLContext.load_default_certs = _REAL_LOAD_DEFAULT_CERTS  # type: ignore


_REAL_LOAD_DEFAULT_CERTS = ssl.SSLContext.load_default_certs

with ca_certificates_loaded_when_used():
    import aiohttp  # noqa: F401
    import aiohttp.connector  # noqa: F401
