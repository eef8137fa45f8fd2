"""Environment images of a Docker target: find by content-hash tag, or build (``core.images``).

A mixin of ``DockerTarget``, apart only to keep each module readable: it needs the target's
``client()``, ``url``, ``compute``, ``project_dir`` and ``name``.

``userManagedEnvironment: true`` (Workbench's key): nothing is built, the conda file is not
used, and runs use ``baseDockerImage`` as it is; its id is the base image's name.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable

from launchdeck.core.config.yamlio import display_path
from launchdeck.core.errors import ConfigError, TargetError
from launchdeck.core.images import build as image_build
from launchdeck.core.images.buildlock import build_lock_path, one_build_at_a_time
from launchdeck.core.images import probe as image_probe
from launchdeck.core.images import recipe as recipes
from launchdeck.core.images.settings import BuildSettings
from launchdeck.core.targets.base import EnvironmentSpec, Progress
from launchdeck.core.docker.engine import engine_errors, is_missing
from launchdeck.core.docker.session import EngineError

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.docker.client import EngineClient


@dataclass(frozen=True)
class ImageResult:
    """What ``ensure_image`` did: the image reference, and whether it had to be built."""

    ref: str
    built: bool
    seconds: float


class EnvironmentImages:
    """``prepare`` and friends; see ``core.images.recipe`` for what decides a tag."""

    # Given by the target this is mixed into (DockerTarget).
    name: str
    compute: ComputeConfig
    project_dir: Path
    client: Callable[[], Awaitable["EngineClient"]]

    @property
    def url(self) -> str:
        """The engine's address, for messages (given by the target)."""
        raise NotImplementedError

    @property
    def user_managed(self) -> bool:
        return bool(getattr(self.compute, "user_managed_environment", False))

    @property
    def base_image(self) -> str:
        base = self.compute.base_docker_image
        if not base:
            raise ConfigError("a docker target needs baseDockerImage (the image environments "
                              "are built on)", file=str(self.compute.path),
                              field="baseDockerImage")
        return base

    async def _image_id(self, ref: str) -> str | None:
        image = await self._inspect_image(ref)
        return image["Id"] if image is not None else None

    async def _inspect_image(self, ref: str) -> dict | None:
        docker = await self.client()
        try:
            return await docker.images.inspect(ref)
        except EngineError as exc:
            if is_missing(exc):
                return None
            raise

    # -- environments -------------------------------------------------------------------------

    def settings(self) -> BuildSettings:
        return BuildSettings.from_compute(self.compute, self.project_dir)

    async def environment_tag(self, env: EnvironmentSpec) -> str:
        """The tag ``env`` has on this engine (the base image must be there)."""
        async with engine_errors(f"target {self.name}", self.url):
            base_id = await self._image_id(self.base_image)
        if base_id is None:
            raise TargetError(f"target {self.name}: base image {self.base_image} is not on the "
                              f"Docker Engine at {self.url}; run 'deck prepare' to pull it, or "
                              "build or load it there")
        return recipes.environment_tag(
            base_id=base_id, conda=env.conda,
            settings=BuildSettings.for_tag(self.compute, self.project_dir))

    async def find_image(self, env: EnvironmentSpec) -> str | None:
        """``deck-env:<tag>`` if the environment image exists, else None.

        With ``userManagedEnvironment: true`` the base image itself (it must be on the engine).
        """
        found = await self.found_image(env)
        return found[0] if found is not None else None

    async def found_image(self, env: EnvironmentSpec) -> tuple[str, dict] | None:
        """``find_image``'s reference with the engine's facts of it (its inspect), which a
        launch needs too: one request, not two."""
        tag = await self.environment_tag(env)  # says clearly when the base image is missing
        ref = self.base_image if self.user_managed else f"{recipes.REPOSITORY}:{tag}"
        async with engine_errors(f"target {self.name}", self.url):
            image = await self._inspect_image(ref)
        if image is None and self.user_managed:
            raise TargetError(f"target {self.name}: base image {ref} is no longer on the "
                              f"Docker Engine at {self.url}")
        return (ref, image) if image is not None else None

    async def image_python(self, ref: str, image: dict) -> str:
        """The interpreter a run of image ``ref`` uses: the label deck's build left, else (a
        user-managed base image) what the probe finds there."""
        python = (image.get("Config", {}).get("Labels") or {}).get(recipes.LABEL_PYTHON)
        if python:
            return python
        if self.user_managed:
            docker = await self.client()
            async with engine_errors(f"target {self.name}", self.url):
                facts = await image_probe.probe(docker, image["Id"], url=self.url)
            if facts.python is None:
                raise TargetError(
                    f"target {self.name}: userManagedEnvironment is true but base image "
                    f"{ref} has no python3 or python on its PATH; deck runs scripts with the "
                    "image's Python")
            return facts.python
        return "python3"

    async def prepare(self, env: EnvironmentSpec, *, progress: Progress) -> str:
        return (await self.ensure_image(env, progress=progress)).ref

    async def ensure_image(self, env: EnvironmentSpec, *, progress: Progress,
                           rebuild: bool = False) -> ImageResult:
        """Find the environment image by its tag, or build it (streaming the build).

        ``rebuild`` builds even when the image exists, without the engine's build cache (for
        an image whose packages changed upstream under an unchanged pin, or was damaged).
        """
        started = time.monotonic()
        await self._ensure_base(progress)
        if self.user_managed:
            conda = f"; {env.conda.path.name} is not used" if env.conda is not None else ""
            progress(f"nothing to build: userManagedEnvironment is true in "
                     f"{self.compute.path.name}, so runs use the base image {self.base_image} "
                     f"as it is{conda}")
            return ImageResult(self.base_image, False, time.monotonic() - started)
        ref = None if rebuild else await self.find_image(env)
        if ref is not None:
            progress(f"environment image {ref} found; nothing to build")
            return ImageResult(ref, False, time.monotonic() - started)
        tag = await self.environment_tag(env)
        waited = False

        def on_wait() -> None:
            nonlocal waited
            waited = True
            progress(f"another deck process of this project is building {recipes.REPOSITORY}:"
                     f"{tag} on target {self.name}; waiting for it")

        lock = build_lock_path(self.project_dir, self.name, tag)
        async with one_build_at_a_time(lock, on_wait=on_wait):
            if waited and not rebuild and (ref := await self.find_image(env)) is not None:
                progress(f"environment image {ref} was built meanwhile; nothing to build")
                return ImageResult(ref, False, time.monotonic() - started)
            return await self._build(env, tag, progress=progress, rebuild=rebuild,
                                     started=started)

    async def _build(self, env: EnvironmentSpec, tag: str, *, progress: Progress,
                     rebuild: bool, started: float) -> ImageResult:
        docker = await self.client()
        async with engine_errors(f"target {self.name}", self.url):
            base_id = await self._image_id(self.base_image)
            if base_id is None:  # removed since environment_tag found it a moment ago
                raise TargetError(f"target {self.name}: base image {self.base_image} is no "
                                  f"longer on the Docker Engine at {self.url}")
            facts = await image_probe.probe(docker, base_id, url=self.url)
            info = await docker.info()
        settings = self.settings()
        conda_file = display_path(env.conda.path) if env.conda is not None else \
            "the conda file"
        wheel_dir = None
        pip = recipes.pip_requirements(env.conda, facts)
        if settings.offline and pip:
            from launchdeck.core.images import wheels

            wheel_dir = await wheels.gather(
                pip, python_version=facts.python_minor or "3",
                platform=wheels.platform_tag(str(info.get("Architecture", "x86_64"))),
                ca_bundle=settings.ca_bundle, progress=progress)
        recipe = recipes.plan(tag=tag, base_name=self.base_image, facts=facts, conda=env.conda,
                              settings=settings, project_dir=self.project_dir,
                              conda_file=conda_file, wheel_dir=wheel_dir,
                              compute_file=display_path(self.compute.path))
        for note in recipe.notes:
            progress(note)
        progress(f"building environment image {recipe.ref} on {self.base_image}")
        await image_build.build_image(docker, recipe, url=self.url, progress=progress,
                                      nocache=rebuild)
        return ImageResult(recipe.ref, True, time.monotonic() - started)

    async def _ensure_base(self, progress: Progress) -> None:
        docker = await self.client()
        async with engine_errors(f"target {self.name}", self.url):
            if await self._image_id(self.base_image):
                return
            progress(f"base image {self.base_image} is not on the engine; pulling it")
            try:
                async for status in docker.images.pull(self.base_image):
                    if status.get("status"):
                        progress(f"{status.get('id', '')} {status['status']}".strip())
            except EngineError as exc:
                raise TargetError(
                    f"target {self.name}: base image {self.base_image} is not on the Docker "
                    f"Engine at {self.url} and pulling it failed ({exc.message}); build or "
                    "load it there (docker build, docker load, docker import)") from None
