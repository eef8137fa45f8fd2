"""The remote Docker target: the Docker target, made of SSH parts, on a Linux host's engine.

Mapping: everything of ``DockerTarget`` (images by content-hash tag, one container per run,
launcher, offsets, cancel, outputs) through the host's Docker socket, forwarded over the one
shared SSH connection of this process (``core.remote``). What differs is only which parts it
is built of (``DockerTarget.__init__``):

- engine: the host's socket forwarded over SSH (``engines.ForwardedEngine``);
- code: the run's snapshot is synced into the host's mirror of the content store (only the
  blobs it lacks, and a manifest delta), then put into the container *from the host*
  (``delivery.HostStoreDelivery``, ``core/farside/put.py``), so code crosses the link once,
  not once per run;
- link: a run outlives the SSH link. Its execution (``link``) waits for the host to come back
  (for ever, unless ``linkLossTimeout`` says how long), resumes every stream at its byte
  offset, and tells the run's events (``link_state``) when the link went down and is back;
- trust: host keys are checked against known_hosts; an unknown key is only accepted through
  ``accept_host_key(fingerprint)`` (``deck target check``), never by a run's keeper;
- passwords: a ``keyring:`` reference is read from the system keyring; otherwise the CLI asks
  on a terminal (``core.remote.connection.ask_passwords_on_terminal``: the pool's
  ``password_provider``), once per process, kept in memory only. A run's keeper has no
  terminal: use a key, the agent, or the keyring for runs.

One SSH connection per host *per machine*: every process (the CLI, each run's keeper, the
dashboard) reaches the host through its link process (``core.remote.broker``), and the engine's
socket is a socket of that link. With ``DECK_SSH_LINK=0`` (or a pool given) it is one
connection per process.

``Framework: PySpark`` runs as on the Docker target (spark-submit ``local[*]`` in the
container). What it cannot do: hosts without ``python3`` (the code is
put into containers by a host-side script); a run
whose host never comes back stays Running (without ``linkLossTimeout``), and its cancel waits
for the host.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from launchdeck.core.remote.link import Link, LinkLossPolicy
from launchdeck.core.targets.base import Capability, Execution, RunEvents, RunSpec
from launchdeck.core.targets.docker.delivery import HostStoreDelivery
from launchdeck.core.targets.docker.engines import DOCKER_SOCKET, ForwardedEngine
from launchdeck.core.targets.docker.target import DockerTarget

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.remote.connection import SSHPool
    from launchdeck.core.remote.commands import SSHHost
    from launchdeck.core.remote.hostslots import HostSlots
    from launchdeck.core.remote.sync import SyncReport

__all__ = ["DOCKER_SOCKET", "RemoteDockerTarget"]

#: How long an image's facts (its inspect), once found, are taken as known (a relaunch after
#: a lost link, possibly hours later, asks again).
IMAGE_FACTS_SECONDS = 30.0


class RemoteDockerTarget(DockerTarget):
    """A Docker target with a forwarded engine, code put from the host's store, and a link.

    Only assembly and the SSH handles (``host``, ``connection``, ``accept_host_key``) are
    here; everything a run does is the Docker target's.
    """

    capabilities = frozenset({Capability.ENVIRONMENT_IMAGES, Capability.HOST_KEY,
                              Capability.HOST_SLOTS})

    def __init__(self, compute: "ComputeConfig", *, project_dir: Path,
                 pool: "SSHPool | None" = None, docker_socket: str = DOCKER_SOCKET) -> None:
        engine = ForwardedEngine(compute, pool=pool, socket=docker_socket)
        super().__init__(
            compute, project_dir=project_dir, engine=engine,
            delivery=HostStoreDelivery(project_dir=Path(project_dir), engine=engine),
            link=Link(engine.host, engine.connection, name=compute.name,
                      policy=LinkLossPolicy.of(compute)))
        self.forwarded = engine
        self.docker_socket = docker_socket
        self._images_found: dict[str, tuple[dict, float]] = {}  # ref -> (inspect, when)

    async def _inspect_image(self, ref: str) -> dict | None:
        """As the Docker target's, but an image found is not asked about again for
        ``IMAGE_FACTS_SECONDS``: a keeper's prepare and launch ask about the same images one
        after the other (its id for the tag, its facts for the launch), and each question is
        a round trip over the link. A missing image is asked about every time (``deck
        prepare`` may build it meanwhile)."""
        now = time.monotonic()
        found = self._images_found.get(ref)
        if found is not None and now - found[1] < IMAGE_FACTS_SECONDS:
            return found[0]
        image = await super()._inspect_image(ref)
        if image is not None:
            self._images_found[ref] = (image, now)
        return image

    async def _launch(self, spec: RunSpec, events: RunEvents):
        # The host's side (the sync, the put script starting) goes on while the engine is
        # asked about the image: each is a few exchanges over the link.
        assert isinstance(self.delivery, HostStoreDelivery)
        self.delivery.stage_early(spec, self.compute)
        try:
            return await super()._launch(spec, events)
        finally:
            self.delivery.drop_early(spec.run_id)  # taken by the launch, unless it failed

    @property
    def last_sync(self) -> "SyncReport | None":
        """What the last launch sent to the host's store (benchmarks, tests)."""
        assert isinstance(self.delivery, HostStoreDelivery)
        return self.delivery.last_sync

    async def host(self) -> "SSHHost":
        return await self.forwarded.host()

    async def remote_host(self) -> "SSHHost":
        """The host, connected (its store is pruned through it)."""
        host = await self.host()
        await self.connection()
        return host

    async def connection(self):
        """The shared SSH connection; host key trouble names this target's check command."""
        return await self.forwarded.connection()

    def host_slots(self) -> "HostSlots | None":
        """``maxConcurrentRuns`` counted on the host, for every machine (none when unset)."""
        from launchdeck.core.remote.hostslots import HostSlots, slot_key

        limit = self.compute.max_concurrent_runs
        if limit is None:
            return None
        return HostSlots(self.host, key=slot_key("remotedocker", self.name), limit=limit,
                         target=self.name)

    async def slot_watch(self, spec: RunSpec, execution: Execution) -> dict:
        """The run's container, asked about through the engine's socket on the host."""
        return {"container": execution.external_id, "socket": self.docker_socket}

    async def accept_host_key(self, fp: str) -> None:
        """Trust the host's key if it has fingerprint ``fp`` (what the user confirmed)."""
        await (await self.host()).accept_host_key(fp)
