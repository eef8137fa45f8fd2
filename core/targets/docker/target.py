"""The Docker target: a run is a container of an environment image on a Docker Engine.

Mapping: environment -> image ``deck-env:<hash>`` layered on ``baseDockerImage`` (built by
``prepare``, see ``core.images``); run -> one container labelled ``launchdeck.run_id=<id>``,
named ``deck-<run id>``, its first process the launcher (``core/farside/launch.py``) running
the script with the image's Python in ``/deck/work``; code -> the run's snapshot copied into
the container (or, with ``sharedVolumes: true`` on a local engine, bind-mounted from the run's
folder), never built into the image; output, metrics, outputs, cancel -> see ``execution``. The
container outlives deck: ``attach`` reconnects to it by id.

Workbench keys: ``nativeSharedDirectory`` is bind-mounted (``<dir>/<project name>``, a path on
the engine's host) at ``/azureml-share/`` and named by ``AZUREML_NATIVE_SHARE_DIRECTORY``;
``nvidiaDocker: true`` asks the engine for every GPU.

Built of parts (``DockerTarget.__init__``): the engine connection (``engines``: ``DOCKER_HOST``
or the local socket, or a remote host's socket forwarded over SSH), the code delivery
(``delivery``: through the engine's API, or from a remote host's store) and, behind a network
link, the link-loss wrapper (``link``). The remote Docker target is this one with the SSH
parts (``remote``).

``Framework: PySpark`` runs spark-submit with master ``local[*]`` in the container
(``core.targets.docker.pyspark``). What it cannot do: pulling a base image from a registry
that needs a login.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import IO, TYPE_CHECKING, Awaitable

from launchdeck.core import farside
from launchdeck.core.docker.client import EngineClient
from launchdeck.core.docker.containers import Container
from launchdeck.core.docker.engine import engine_errors, is_missing
from launchdeck.core.docker.session import EngineError
from launchdeck.core.errors import TargetError
from launchdeck.core.images import recipe as recipes
from launchdeck.core.targets.base import Capability, Framework, RunEvents, RunSpec
from launchdeck.core.targets.docker.delivery import (SHARE_MOUNT, ApiDelivery, CodeDelivery,
                                                     StagedCode)
from launchdeck.core.targets.docker.engines import EngineConnection, LocalEngine
from launchdeck.core.targets.docker.environment import EnvironmentImages, ImageResult
from launchdeck.core.targets.docker.execution import (ENV_TAKEN, METRICS, SECRETS,
                                                      SECRETS_TMPFS, DockerExecution,
                                                      attached_stdin, deliver_environment,
                                                      has_file, send_files)
from launchdeck.core.targets.runenv import RunPaths, run_environment

__all__ = ["DockerTarget", "ImageResult", "SHARE_MOUNT"]

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.remote.link import Link
    from launchdeck.core.targets.docker.link import RemoteDockerExecution

GPU_REQUEST = [{"Driver": "nvidia", "Count": -1, "Capabilities": [["gpu"]]}]


async def _all(*calls: Awaitable[object]) -> None:
    """Await every call, at once; then raise the first failure, if any."""
    for result in await asyncio.gather(*calls, return_exceptions=True):
        if isinstance(result, BaseException):
            raise result


def _runs_as_root(image: dict) -> bool:
    """Whether the image's processes run as root (who may create ``/deck`` in the container)."""
    user = str((image.get("Config") or {}).get("User") or "root").split(":", 1)[0]
    return user in ("root", "0")


class DockerTarget(EnvironmentImages):
    """Runs scripts in containers on one Docker Engine.

    Made of an engine connection (``engine``, default: ``url``, ``DOCKER_HOST`` or the local
    socket), a code delivery (``delivery``, default: through the engine's API) and, for an
    engine behind a network link, ``link``: calls that fail because the link is down wait for
    it to come back, as its policy says (``core.remote.link``).
    """

    capabilities = frozenset({Capability.ENVIRONMENT_IMAGES})

    def __init__(self, compute: "ComputeConfig", *, project_dir: Path,
                 url: str | None = None, local_engine: bool | None = None,
                 engine: EngineConnection | None = None,
                 delivery: CodeDelivery | None = None, link: "Link | None" = None) -> None:
        self.name = compute.name
        self.compute = compute
        self.project_dir = Path(project_dir)
        self.engine: EngineConnection = engine or LocalEngine(url, local=local_engine)
        self.delivery: CodeDelivery = delivery or ApiDelivery(
            project_dir=self.project_dir, local_engine=self.engine.local)
        self.link = link

    @property
    def url(self) -> str:
        return self.engine.url

    @property
    def local_engine(self) -> bool:
        return self.engine.local

    @property
    def max_concurrent_runs(self) -> int:
        return self.compute.max_concurrent_runs or self.engine.default_runs

    async def client(self) -> EngineClient:
        return await self.engine.client()

    async def close(self) -> None:
        await self.engine.close()

    # -- facts --------------------------------------------------------------------------------

    async def check(self) -> dict[str, str]:
        return await self.engine.check(self.name, self._engine_facts)

    async def _engine_facts(self) -> dict[str, str]:
        docker = await self.client()
        async with engine_errors(f"target {self.name}", self.url):
            version = await docker.version()
            info = await docker.info()
            base_id = await self._image_id(self.base_image)
        runtimes = ", ".join(sorted(info.get("Runtimes") or {}))
        return {"engine": self.url, "engine_version": str(version.get("Version", "")),
                "api_version": str(version.get("ApiVersion", "")),
                "os": str(info.get("OperatingSystem", "")),
                "arch": str(info.get("Architecture", "")),
                "runtimes": runtimes, "gpu": "yes" if "nvidia" in runtimes else "no",
                "base_image": self.base_image, "base_image_id": base_id or "missing",
                "max_concurrent_runs": str(self.max_concurrent_runs)}

    # -- runs ---------------------------------------------------------------------------------

    async def launch(self, spec: RunSpec,
                     events: RunEvents) -> "DockerExecution | RemoteDockerExecution":
        if self.link is None:
            return await self._launch(spec, events)
        self.link.listener = events
        # Safe to repeat: the container is named after the run, and a second launch attaches
        # to the one the first started (_create).
        return await self.link.until_reached(lambda: self._launch(spec, events))

    async def _launch(self, spec: RunSpec,
                      events: RunEvents) -> "DockerExecution | RemoteDockerExecution":
        docker = await self.client()
        found = await self.found_image(spec.env)
        if found is None:
            runconfig = getattr(spec.env, "runconfig", None) or "RUNCONFIG"
            raise TargetError(
                f"target {self.name}: the environment image of this run "
                f"({recipes.REPOSITORY}:{await self.environment_tag(spec.env)}) is not built "
                f"and PrepareEnvironment is false; run 'deck prepare -c {runconfig}' first, "
                "or set PrepareEnvironment: true")
        ref, image = found
        python = await self.image_python(ref, image)
        events.environment(ref)  # recorded as the run's environment_id, prepared or found
        program = await self._program(docker, spec, ref, python)
        staged = await self.delivery.stage(spec, self.compute)
        try:
            return await self._start(docker, spec, staged, ref, python, image, program)
        finally:
            staged.discard()

    async def _start(self, docker: EngineClient, spec: RunSpec, staged: StagedCode,
                     ref: str, python: str, image: dict, program: list[str]):
        """Create the run's container, put its code in, start it, hand it its variables."""
        own, delivered = self._environment(spec, image)
        # The files on stdin where the container can unpack them itself: no archive PUT, which
        # costs the engine more than anything else between the create and the first line.
        # Else they are put in while the container starts (core/farside/boot.py waits).
        files = self.delivery.stdin_files(staged) if _runs_as_root(image) else None
        try:
            config = self._container_config(spec, ref, python, own, staged.binds, program)
            return await self._start_container(docker, spec, staged, python, config,
                                               delivered, files)
        finally:
            if files is not None:
                files.close()

    async def _start_container(self, docker: EngineClient, spec: RunSpec,
                               staged: StagedCode, python: str, config: dict,
                               delivered: dict[str, str], files: IO[bytes] | None):
        name = "deck-" + re.sub(r"[^A-Za-z0-9_.-]", "-", spec.run_id)
        async with engine_errors(f"starting run {spec.run_id} on target {self.name}", self.url):
            container, existing = await self._create(docker, config, name)
            if existing:
                # The keeper that started it may have died before handing the variables over
                # (a container of an older deck, without --env, takes none this way), or even
                # before its files were whole: until the launcher took the variables the
                # script has not started, and the files are put in again (the same files).
                cmd = container.facts["Config"].get("Cmd") or ()
                if container.facts["State"].get("Running") and "--env" in cmd:
                    if cmd[2:3] == ["-c"] and \
                            not await has_file(docker, container.id, ENV_TAKEN):
                        await staged.refill_mounted()
                        await self.delivery.put(docker, container.id, spec, staged)
                    await deliver_environment(docker, container.id, python, delivered)
                return self._execution(docker, spec, container.id, python)
            try:
                await staged.refill_mounted()  # a new container: nothing ran in its folder
                inner = self._inner(docker, spec, container.id, python)
                async with attached_stdin(docker, container.id) as stdin:
                    async def start() -> None:
                        await inner.attach_mirror()  # first: the engine keeps no stdout
                        await container.start()

                    if files is None:  # the put (a host's, over the link) meanwhile
                        await _all(start(), self.delivery.put(docker, container.id, spec,
                                                              staged))
                    else:
                        await start()
                    await send_files(stdin, files)
                    await deliver_environment(docker, container.id, python, delivered,
                                              stdin=stdin)
            except (EngineError, TargetError) as exc:
                # A container left waiting for variables that never come would live for ever.
                await inner.close_streams()
                await container.delete(force=True)
                if isinstance(exc, EngineError) and \
                        "could not select device driver" in exc.message:
                    raise TargetError(
                        f"target {self.name}: nvidiaDocker is true but the Docker Engine at "
                        f"{self.url} has no GPU support ({exc.message}); install the NVIDIA "
                        "Container Toolkit on the engine's host, or set nvidiaDocker: false"
                    ) from None
                raise
        return self._wrapped(inner)

    async def attach(self, spec: RunSpec, external_id: str,
                     events: RunEvents) -> "DockerExecution | RemoteDockerExecution":
        if self.link is None:
            return await self._attach(spec, external_id)
        self.link.listener = events
        # A keeper revived while the host is away waits for it rather than failing the run.
        return await self.link.call(lambda: self._attach(spec, external_id))

    async def _attach(self, spec: RunSpec, external_id: str):
        docker = await self.client()
        python = "python3"
        async with engine_errors(f"attaching to run {spec.run_id}", self.url):
            try:
                cmd = (await docker.containers.container(external_id).show())["Config"]["Cmd"]
                python = cmd[0] if cmd else python
            except EngineError as exc:
                if not is_missing(exc):
                    raise  # a vanished container is reported by wait(), as for any loss
        return self._execution(docker, spec, external_id, python)

    async def _program(self, docker: EngineClient, spec: RunSpec, ref: str,
                       python: str) -> list[str]:
        """The launcher's arguments: the script for Python, spark-submit for PySpark."""
        if spec.env.framework is Framework.PYSPARK:
            from launchdeck.core.targets.docker.pyspark import submit_program

            return await submit_program(docker, spec, image=ref, python=python,
                                        target=self.name, url=self.url)
        # The launcher runs its arguments under the image's Python: options go first.
        return [*spec.interpreter_options, spec.script, *spec.arguments]

    def _execution(self, docker: EngineClient, spec: RunSpec, container_id: str,
                   python: str):
        return self._wrapped(self._inner(docker, spec, container_id, python))

    def _inner(self, docker: EngineClient, spec: RunSpec, container_id: str,
               python: str) -> DockerExecution:
        return DockerExecution(docker, container_id, url=self.url,
                               python=python, run_id=spec.run_id,
                               local_work=spec.run_dir / "target" / "work")

    def _wrapped(self, inner: DockerExecution):
        if self.link is None:
            return inner
        from launchdeck.core.targets.docker.link import RemoteDockerExecution

        return RemoteDockerExecution(inner, self.link)

    def _environment(self, spec: RunSpec, image: dict) -> tuple[dict[str, str], dict[str, str]]:
        """Deck's own variables (the container's configuration) and the rest of the run's
        (the runconfig's, secrets among them: delivered at the start, over stdin)."""
        paths = RunPaths(runtime="/deck/runtime", work="/deck/work", metrics=METRICS,
                         share=SHARE_MOUNT if self.compute.native_shared_directory else None)
        image_env = dict(e.split("=", 1) for e in image.get("Config", {}).get("Env") or ()
                         if "=" in e)
        inherited = image_env.get("PYTHONPATH")
        own = run_environment({}, run_id=spec.run_id, paths=paths,
                              inherited_pythonpath=inherited)
        run = run_environment(spec.environment, run_id=spec.run_id, paths=paths,
                              inherited_pythonpath=inherited)
        return own, {k: v for k, v in run.items() if own.get(k) != v}

    def _container_config(self, spec: RunSpec, ref: str, python: str, env: dict[str, str],
                          binds: list[str], program: list[str]) -> dict:
        # No engine log: the container's stdout is the launcher's mirror of the output, which
        # deck reads attached (a second copy of it on the engine's disk would serve nobody).
        host: dict = {"Binds": binds, "Tmpfs": {SECRETS: SECRETS_TMPFS},
                      "LogConfig": {"Type": "none", "Config": {}}}
        if self.compute.nvidia_docker:
            host["DeviceRequests"] = GPU_REQUEST
        return {
            "Image": ref, "Entrypoint": [],
            # -I: the run's PYTHONPATH holds the user's code, whose json.py or signal.py must
            # not replace the launcher's own imports. The launcher is put in place by
            # core/farside/boot.py, from stdin or once the engine put it in.
            "Cmd": [python, "-I", "-c", farside.source("boot"), "--env", "--mirror", *program],
            "Env": [f"{k}={v}" for k, v in env.items()], "WorkingDir": "/deck/work",
            "Labels": {"launchdeck.run_id": spec.run_id,
                       "launchdeck.project": str(self.project_dir)},
            # stdin: the run's variables, written once by the launching keeper (see _start).
            "AttachStdin": True, "OpenStdin": True, "StdinOnce": True,
            "AttachStdout": False, "AttachStderr": False, "Tty": False,
            "HostConfig": host,
        }

    async def _create(self, docker: EngineClient, config: dict,
                      name: str) -> tuple[Container, bool]:
        """A new container, or (second value True) the run's own container if it already ran.

        A keeper that died between starting a container and recording its id launches again:
        a container that started is then the run itself, and is attached to, never doubled.
        """
        try:
            return await docker.containers.create(config=config, name=name), False
        except EngineError as exc:
            if exc.status != 409:
                raise
        old = await docker.containers.get(name)
        if old.facts["State"].get("Status") != "created":
            return old, True
        await old.delete(force=True)
        return await docker.containers.create(config=config, name=name), False
