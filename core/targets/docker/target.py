"""The Docker target: a run is a container of an environment image on a Docker Engine.

Mapping: environment -> image ``deck-env:<hash>`` layered on ``baseDockerImage`` (built by
``prepare``, see ``core.images``); run -> one container labelled ``launchdeck.run_id=<id>``,
named ``deck-<run id>``, its first process the launcher (``core/farside/launch.py``) running the script
with the image's Python in ``/deck/work``; code -> the run's snapshot copied into the container
(or, with ``sharedVolumes: true`` on a local engine, bind-mounted from the run's folder), never
built into the image; output, metrics, outputs, cancel -> see ``docker_execution``. The
container outlives deck: ``attach`` reconnects to it by id.

Workbench keys: ``nativeSharedDirectory`` is bind-mounted (``<dir>/<project name>``, a path on
the engine's host) at ``/azureml-share/`` and named by ``AZUREML_NATIVE_SHARE_DIRECTORY``;
``nvidiaDocker: true`` asks the engine for every GPU. The engine is ``DOCKER_HOST`` (or the
local socket) unless a URL is given, as the remote Docker target does with its forwarded socket.

``Framework: PySpark`` runs spark-submit with master ``local[*]`` in the container
(``core.targets.spark_docker``). What it cannot do: pulling a base image from a registry that needs a login.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from pathlib import Path

import aiodocker
from aiodocker.exceptions import DockerError

from launchdeck.core.errors import ConfigError, TargetError
from launchdeck.core.images import recipe as recipes
from launchdeck.core.targets.docker import archive as docker_archive
from launchdeck.core.targets.base import Capability, Framework, RunEvents, RunSpec
from launchdeck.core.docker.engine import connect, engine_errors, engine_url, is_local, \
    is_missing, put_files
from launchdeck.core.targets.docker.environment import EnvironmentImages, ImageResult
from launchdeck.core.targets.docker.execution import (METRICS, SECRETS, SECRETS_TMPFS,
                                                      DockerExecution, deliver_environment)

__all__ = ["DockerTarget", "ImageResult"]

if False:  # typing only
    from launchdeck.core.config.compute import ComputeConfig

SHARE_MOUNT = "/azureml-share/"
GPU_REQUEST = [{"Driver": "nvidia", "Count": -1, "Capabilities": [["gpu"]]}]


class DockerTarget(EnvironmentImages):
    """Runs scripts in containers on one Docker Engine."""

    capabilities = frozenset({Capability.ENVIRONMENT_IMAGES})

    def __init__(self, compute: "ComputeConfig", *, project_dir: Path,
                 url: str | None = None, local_engine: bool | None = None) -> None:
        self.name = compute.name
        self.compute = compute
        self.project_dir = Path(project_dir)
        self.url = engine_url(url)
        self.local_engine = is_local(self.url) if local_engine is None else local_engine
        self._docker: aiodocker.Docker | None = None

    @property
    def max_concurrent_runs(self) -> int:
        return self.compute.max_concurrent_runs or os.cpu_count() or 1

    async def client(self) -> aiodocker.Docker:
        if self._docker is None:
            self._docker = await connect(self.url)
        return self._docker

    async def close(self) -> None:
        if self._docker is not None:
            await self._docker.close()
            self._docker = None

    # -- facts --------------------------------------------------------------------------------

    async def check(self) -> dict[str, str]:
        docker = await self.client()
        async with engine_errors(f"target {self.name}", self.url):
            version = await docker.version()
            info = await docker.system.info()
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

    async def launch(self, spec: RunSpec, events: RunEvents) -> DockerExecution:
        docker = await self.client()
        ref = await self.find_image(spec.env)
        if ref is None:
            runconfig = getattr(spec.env, "runconfig", None) or "RUNCONFIG"
            raise TargetError(
                f"target {self.name}: the environment image of this run "
                f"({recipes.REPOSITORY}:{await self.environment_tag(spec.env)}) is not built "
                f"and PrepareEnvironment is false; run 'deck prepare -c {runconfig}' first, "
                "or set PrepareEnvironment: true")
        async with engine_errors(f"target {self.name}", self.url):
            image = await docker.images.inspect(ref)
        python = await self.image_python(ref, image)
        events.environment(ref)  # recorded as the run's environment_id, prepared or found
        program = await self._program(docker, spec, ref, python)
        work, binds = await self._code(spec)
        config = self._container_config(spec, ref, python, image, binds, program)
        name = "deck-" + re.sub(r"[^A-Za-z0-9_.-]", "-", spec.run_id)
        variables = self._delivered_environment(spec, image)
        async with engine_errors(f"starting run {spec.run_id} on target {self.name}", self.url):
            container, existing = await self._create(docker, config, name)
            if existing:
                if work is not None:
                    shutil.rmtree(work, ignore_errors=True)
                # The keeper that started it may have died before handing the variables over
                # (a container of an older deck, without --env, takes none this way).
                if container["State"].get("Running") and \
                        "--env" in (container["Config"].get("Cmd") or ()):
                    await deliver_environment(docker, container.id, python, variables)
                return self._execution(spec, container.id, python)
            try:
                await self._deliver(docker, container.id, spec, work)
                await container.start()
                await deliver_environment(docker, container.id, python, variables)
            except (DockerError, TargetError) as exc:
                # A container left waiting for variables that never come would live for ever.
                await container.delete(force=True)
                if isinstance(exc, DockerError) and "could not select device driver" in exc.message:
                    raise TargetError(
                        f"target {self.name}: nvidiaDocker is true but the Docker Engine at "
                        f"{self.url} has no GPU support ({exc.message}); install the NVIDIA "
                        "Container Toolkit on the engine's host, or set nvidiaDocker: false"
                    ) from None
                raise
            finally:
                if work is not None and not binds:
                    shutil.rmtree(work, ignore_errors=True)
        return self._execution(spec, container.id, python)

    async def attach(self, spec: RunSpec, external_id: str,
                     events: RunEvents) -> DockerExecution:
        docker = await self.client()
        python = "python3"
        async with engine_errors(f"attaching to run {spec.run_id}", self.url):
            try:
                cmd = (await docker.containers.container(external_id).show())["Config"]["Cmd"]
                python = cmd[0] if cmd else python
            except DockerError as exc:
                if not is_missing(exc):
                    raise  # a vanished container is reported by wait(), as for any loss
        return self._execution(spec, external_id, python)

    async def _program(self, docker: aiodocker.Docker, spec: RunSpec, ref: str,
                       python: str) -> list[str]:
        """The launcher's arguments: the script for Python, spark-submit for PySpark."""
        if spec.env.framework is Framework.PYSPARK:
            from launchdeck.core.targets.docker.pyspark import submit_program

            return await submit_program(docker, spec, image=ref, python=python,
                                        target=self.name, url=self.url)
        # The launcher runs its arguments under the image's Python: options go first.
        return [*spec.interpreter_options, spec.script, *spec.arguments]

    def _execution(self, spec: RunSpec, container_id: str, python: str) -> DockerExecution:
        assert self._docker is not None
        return DockerExecution(self._docker, container_id, url=self.url, python=python,
                               run_id=spec.run_id, local_work=spec.run_dir / "target" / "work")

    async def _deliver(self, docker: aiodocker.Docker, container_id: str, spec: RunSpec,
                       work: Path | None) -> None:
        """Put the helpers, the runtime and the code (``work``) into the created container."""
        with docker_archive.run_files(work) as files:
            await put_files(docker, container_id, files)

    def _share_binds(self) -> list[str]:
        """The bind mount of ``nativeSharedDirectory``, if set (a path on the engine's host)."""
        share = self.compute.native_shared_directory
        if not share:
            return []
        share_dir = os.path.expanduser(share) if self.local_engine else share
        if not share_dir.startswith("/"):
            raise ConfigError("nativeSharedDirectory must be an absolute path on the "
                              "engine's host", file=str(self.compute.path),
                              field="nativeSharedDirectory")
        folder = f"{share_dir.rstrip('/')}/{self.project_dir.name}"
        if self.local_engine:
            # Created as the user: the engine would create it owned by root.
            os.makedirs(folder, exist_ok=True)
        return [f"{folder}:{SHARE_MOUNT}"]

    async def _code(self, spec: RunSpec) -> tuple[Path | None, list[str]]:
        """The run's code on this machine, and the bind mounts the container needs."""
        root = spec.run_dir / "target"
        root.mkdir(parents=True, exist_ok=True)
        binds = self._share_binds()
        if self.compute.shared_volumes and self.local_engine:
            work = root / "work"
            if work.exists():
                shutil.rmtree(work)
            await asyncio.to_thread(spec.store.materialize, spec.snapshot, work)
            binds.append(f"{work}:/deck/work")
            return None, binds
        # sharedVolumes with a remote engine: a local path means nothing there, so the code
        # is copied in as without it.
        work = Path(tempfile.mkdtemp(prefix="work-", dir=root))
        shutil.rmtree(work)
        await asyncio.to_thread(spec.store.materialize, spec.snapshot, work)
        return work, binds

    def _container_config(self, spec: RunSpec, ref: str, python: str, image: dict,
                          binds: list[str], program: list[str]) -> dict:
        # Only deck's own variables are in the container's configuration; the runconfig's
        # (keyring: secrets among them) are delivered after the start (_delivered_environment).
        env = {"PYTHONPATH": _python_path(None, image),
               "DECK_RUN_ID": spec.run_id, "DECK_METRICS_FILE": METRICS,
               "PYTHONUNBUFFERED": "1"}
        if self.compute.native_shared_directory:
            env["AZUREML_NATIVE_SHARE_DIRECTORY"] = SHARE_MOUNT
        host: dict = {"Binds": binds, "Tmpfs": {SECRETS: SECRETS_TMPFS}}
        if self.compute.nvidia_docker:
            host["DeviceRequests"] = GPU_REQUEST
        return {
            "Image": ref, "Entrypoint": [],
            # -I: the run's PYTHONPATH holds the user's code, whose json.py or signal.py must
            # not replace the launcher's own imports.
            "Cmd": [python, "-I", "/deck/bin/launch.py", "--env", *program],
            "Env": [f"{k}={v}" for k, v in env.items()], "WorkingDir": "/deck/work",
            "Labels": {"launchdeck.run_id": spec.run_id,
                       "launchdeck.project": str(self.project_dir)},
            "AttachStdout": False, "AttachStderr": False, "Tty": False, "OpenStdin": False,
            "HostConfig": host,
        }

    def _delivered_environment(self, spec: RunSpec, image: dict) -> dict[str, str]:
        """The runconfig's variables as the script sees them; deck's own names win."""
        variables = dict(spec.environment)
        if "PYTHONPATH" in variables:
            variables["PYTHONPATH"] = _python_path(variables["PYTHONPATH"], image)
        for own in ("DECK_RUN_ID", "DECK_METRICS_FILE", "PYTHONUNBUFFERED"):
            variables.pop(own, None)
        if self.compute.native_shared_directory:
            variables.pop("AZUREML_NATIVE_SHARE_DIRECTORY", None)
        return variables

    async def _create(self, docker: aiodocker.Docker, config: dict, name: str):
        """A new container, or (second value True) the run's own container if it already ran.

        A keeper that died between starting a container and recording its id launches again:
        a container that started is then the run itself, and is attached to, never doubled.
        """
        try:
            return await docker.containers.create(config=config, name=name), False
        except DockerError as exc:
            if exc.status != 409:
                raise
        old = await docker.containers.get(name)
        if old["State"].get("Status") != "created":
            return old, True
        await old.delete(force=True)
        return await docker.containers.create(config=config, name=name), False


def _python_path(user: str | None, image: dict) -> str:
    """The run's PYTHONPATH: deck's runtime, the code, then the user's (or the image's)."""
    image_env = dict(e.split("=", 1) for e in image.get("Config", {}).get("Env") or ()
                     if "=" in e)
    inherited = user or image_env.get("PYTHONPATH")
    return ":".join(p for p in ("/deck/runtime", "/deck/work", inherited) if p)
