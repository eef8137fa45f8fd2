"""The SSH host of a target's ``.compute`` file: built and reached the same way by every target
that works over SSH (remote Docker, remote Python, Spark cluster).

One place, so the targets cannot drift apart again: the file's ``port`` only when it sets one
(otherwise ``~/.ssh/config`` and then 22 decide), a ``password`` (a ``keyring:`` reference, or
a clear error for Workbench's ``AzureMlSecret=``) handed to the pool and never stored, and the
same patience with a busy sshd.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from launchdeck.core.errors import HostKeyError, TargetUnreachable

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.remote.broker.client import LinkedHost, LinkPool
    from launchdeck.core.remote.connection import SSHPool
    from launchdeck.core.remote.commands import SSHHost

#: Waits between tries to open the link. sshd drops handshakes beyond MaxStartups (10 by
#: default) at random: 20 keepers starting at once must not fail their runs for that.
CONNECT_RETRIES = (0.2, 0.5, 1.0, None)


def host_of(compute: "ComputeConfig", pool: "SSHPool | LinkPool | None" = None
            ) -> "SSHHost":
    from launchdeck.core.config.secrets import resolve_password
    from launchdeck.core.remote.pools import target_pool

    pool = pool or target_pool()
    host = pool.host(compute.address or "", port=compute.explicit_port, user=compute.username,
                     identity_file=compute.identity_file)
    password = resolve_password(compute)  # keyring:SERVICE/USER, or a clear error
    if password.value is not None:
        pool.remember_password(host.endpoint, password.value)
    return host


#: The compute types whose targets reach their host over SSH.
SSH_TYPES = frozenset({"remotedocker", "remote", "cluster"})


def warm_link(compute: "ComputeConfig") -> None:
    """Start the host's link process (if none answers) in the background, so that it is
    connected by the time the run's keeper asks; any trouble is the keeper's to report."""
    if str(compute.type) not in SSH_TYPES or not compute.address:
        return  # a local or Docker target: not even the link settings are looked at
    from launchdeck.core.remote.broker.rundir import links_enabled

    if links_enabled():
        from launchdeck.core.remote.broker.starter import prestart

        prestart(compute.address, compute.explicit_port, compute.username,
                 compute.identity_file)


async def connect(host: "SSHHost", target_name: str):
    """The host's shared connection; host key trouble names the target's check command (a
    keeper never trusts a key itself: the user confirms it there)."""
    import asyncio  # here: `deck submit` imports this module (warm_link) with no event loop

    try:
        for delay in CONNECT_RETRIES:
            try:
                return await host.connection()
            except TargetUnreachable:
                if delay is None:
                    raise
                await asyncio.sleep(delay)
    except HostKeyError as exc:
        raise HostKeyError(str(exc).replace("deck target check NAME",
                                            f"deck target check {target_name}")
                           + ("" if exc.changed else
                              f"\nRuns on target {target_name} cannot start until then."),
                           host=exc.host, fingerprint=exc.fingerprint,
                           changed=exc.changed) from None
