"""Which SSH pool this process's targets use, without importing asyncssh to decide.

By default the machine's link processes (``core.remote.broker``): every deck process shares
one SSH connection per host. ``DECK_SSH_LINK=0`` makes each process open its own connections
(``SSHPool``), as before the link existed. The link processes themselves use ``SSHPool``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Union

from launchdeck.core.remote.broker.rundir import links_enabled

if TYPE_CHECKING:
    from launchdeck.core.remote.broker.client import LinkPool
    from launchdeck.core.remote.connection import SSHPool

AnyPool = Union["SSHPool", "LinkPool"]
_LINK_POOL: "LinkPool | None" = None


def target_pool() -> AnyPool:
    """The pool targets use when they are not given one."""
    global _LINK_POOL
    if links_enabled():
        if _LINK_POOL is None:
            from launchdeck.core.remote.broker.client import LinkPool

            _LINK_POOL = LinkPool()
        return _LINK_POOL
    from launchdeck.core.remote.connection import shared_pool

    return shared_pool()


async def close_own_connections() -> None:
    """Close the SSH connections this process opened itself on this loop (links stay up)."""
    connection = sys.modules.get("launchdeck.core.remote.connection")
    if connection is not None:
        await connection.shared_pool().close()


def ask_passwords_on_terminal(pool: AnyPool | None = None) -> None:
    """For command-line faces: SSH passwords are asked with getpass when stdin is a terminal.

    Never installed by the target itself: under the dashboard (which owns the terminal) or in
    a keeper (no terminal) a prompt must not appear.
    """
    pool = pool or target_pool()
    if pool.password_provider is None and sys.stdin is not None and sys.stdin.isatty():
        pool.password_provider = _ask_password


async def _ask_password(endpoint) -> str | None:
    import getpass

    # getpass blocks; in a thread so the connection's other traffic keeps flowing.
    return await asyncio.to_thread(getpass.getpass, f"Password for {endpoint}: ")
