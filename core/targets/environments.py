"""The environments of a target's run configurations: whether each is built, and preparing them.

One answer for both faces: ``deck prepare`` and the dashboard's targets screen call these.
What an environment is depends on the target's capabilities: an image on a Docker Engine
(tagged by a hash of what goes into it), a venv on a cluster's head node for the executors, or
nothing at all (the local and remote targets use their Python as it is).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from launchdeck.core.errors import DeckError, TargetError
from launchdeck.core.targets.base import ComputeTarget, EnvironmentSpec, Progress
from launchdeck.core.targets.capabilities import (ExecutorEnvironmentTarget, ImageTarget,
                                                  executor_environment_target, image_target)

if TYPE_CHECKING:
    from launchdeck.core.project import Project


class EnvironmentState(StrEnum):
    BUILT = "built"                          #: the environment is on the target
    NOT_BUILT = "not built"                  #: a prepare builds it
    AS_IT_IS = "as it is"                    #: nothing to build: runs use what is there
    UNKNOWN = "unknown"                      #: could not be told (``reason`` says why)


@dataclass(frozen=True)
class RunconfigEnvironment:
    """The environment one run configuration needs on its target."""

    runconfig: str
    state: EnvironmentState
    #: The image reference or venv folder; for AS_IT_IS what runs use (a base image, or "").
    environment: str = ""
    reason: str = ""  #: why the state is UNKNOWN, or why nothing is built


@dataclass(frozen=True)
class BuiltEnvironment:
    name: str   #: an image reference, or a venv's hash
    size: int   #: bytes (the image, or the venv with its archive)


@dataclass(frozen=True)
class TargetEnvironments:
    """The environments of every run configuration that uses one target."""

    #: What the target keeps environments as, in the singular ("image", "environment"), or ""
    #: for a target that builds none.
    kind: str = ""
    runconfigs: list[RunconfigEnvironment] = field(default_factory=list)
    #: The environments built there (images on the target's base image; executor venvs).
    built: list[BuiltEnvironment] = field(default_factory=list)
    #: Why the built environments could not be listed (then nothing else is known either).
    error: str | None = None


@dataclass(frozen=True)
class Prepared:
    """What a prepare did."""

    environment_id: str    #: image reference, venv hash, or "" when the target builds nothing
    built: bool | None     #: whether an image had to be built; None on other targets
    seconds: float


def runconfigs_using(project: "Project", target: str) -> list[str]:
    """The run configurations whose Target is ``target`` (files that do not load are skipped)."""
    names = []
    for name in project.runconfig_names():
        try:
            if project.load_runconfig(name).target == target:
                names.append(name)
        except DeckError:
            continue
    return names


def environment_spec(project: "Project", runconfig: str, target: str) -> EnvironmentSpec:
    """The environment ``runconfig`` asks for on ``target``, from the project's live files."""
    from launchdeck.core.runs.runspec import live_resolver, load_configs

    return load_configs(project, runconfig_path=project.runconfig_path(runconfig),
                        compute_path=project.compute_path(target),
                        resolve=live_resolver(project)).env


async def environments_of(project: "Project", target: ComputeTarget) -> TargetEnvironments:
    """Whether the environment of each run configuration using ``target`` is built there."""
    images = image_target(target)
    if images is not None:
        return await _image_environments(project, images)
    executors = executor_environment_target(target)
    if executors is not None:
        return await _executor_environments(project, executors)
    return TargetEnvironments()


async def _image_environments(project: "Project", target: ImageTarget) -> TargetEnvironments:
    from launchdeck.core.images.catalog import list_images
    from launchdeck.core.images.recipe import REPOSITORY

    try:
        images = await list_images(await target.client(), url=target.url)
    except DeckError as exc:
        return TargetEnvironments(kind="image", error=f"cannot list images: {exc}")
    refs = {image.ref for image in images}
    found = []
    for runconfig in runconfigs_using(project, target.name):
        if target.user_managed:
            found.append(RunconfigEnvironment(runconfig, EnvironmentState.AS_IT_IS,
                                              target.base_image, "userManagedEnvironment"))
            continue
        try:
            env = environment_spec(project, runconfig, target.name)
            ref = f"{REPOSITORY}:{await target.environment_tag(env)}"
        except DeckError as exc:
            found.append(RunconfigEnvironment(runconfig, EnvironmentState.UNKNOWN,
                                              reason=str(exc)))
            continue
        state = EnvironmentState.BUILT if ref in refs else EnvironmentState.NOT_BUILT
        found.append(RunconfigEnvironment(runconfig, state, ref))
    base = target.compute.base_docker_image
    built = [BuiltEnvironment(image.ref, image.size) for image in images if image.base == base]
    return TargetEnvironments(kind="image", runconfigs=found, built=built)


async def _executor_environments(project: "Project",
                                 target: ExecutorEnvironmentTarget) -> TargetEnvironments:
    found = []
    for runconfig in runconfigs_using(project, target.name):
        try:
            wanted = target.executor_environment(environment_spec(project, runconfig,
                                                                  target.name))
            if wanted is None:
                found.append(RunconfigEnvironment(runconfig, EnvironmentState.AS_IT_IS,
                                                  reason="the cluster's own Python"))
                continue
            built = await target.environment_built(wanted)
        except DeckError as exc:
            found.append(RunconfigEnvironment(runconfig, EnvironmentState.UNKNOWN,
                                              reason=str(exc)))
            continue
        state = EnvironmentState.BUILT if built else EnvironmentState.NOT_BUILT
        found.append(RunconfigEnvironment(runconfig, state, wanted.folder))
    listed = [BuiltEnvironment(name, size) for name, size in await target.built_environments()]
    return TargetEnvironments(kind="environment", runconfigs=found, built=listed)


async def prepare_environment(target: ComputeTarget, env: EnvironmentSpec, *,
                              progress: Progress, rebuild: bool = False) -> Prepared:
    """Build or find ``env`` on ``target``; ``rebuild`` builds an image again, without cache."""
    started = time.monotonic()
    images = image_target(target)
    if images is not None:
        result = await images.ensure_image(env, progress=progress, rebuild=rebuild)
        await _keep_budget(target, env, result.ref, progress)
        return Prepared(result.ref, result.built, result.seconds)
    if rebuild:
        raise TargetError(f"target {target.name}: --rebuild applies to Docker targets only")
    environment = await target.prepare(env, progress=progress)
    await _keep_budget(target, env, environment, progress)
    return Prepared(environment, None, time.monotonic() - started)


async def _keep_budget(target: ComputeTarget, env: EnvironmentSpec, kept: str,
                       progress: Progress) -> None:
    """The target's ``storeBudget``, if it sets one (``core.housekeeping.budget``)."""
    if env.compute.store_budget is None or env.project_dir is None:
        return
    from launchdeck.core.housekeeping.budget import keep_budget
    from launchdeck.core.project import Project

    await keep_budget(Project(env.project_dir), target, env.compute, keep=kept,
                      progress=progress)


async def prepare_runconfigs(project: "Project", target: ComputeTarget, runconfigs: list[str],
                             *, progress: Progress, rebuild: bool = False) -> list[str]:
    """Build or find the environment of each of ``runconfigs`` (which use ``target``);
    ``rebuild`` builds each again, without the engine's build cache.

    Returns one line per run configuration: its environment, or that nothing is built.
    """
    done = []
    for runconfig in runconfigs:
        progress(f"run configuration {runconfig}:")
        prepared = await prepare_environment(
            target, environment_spec(project, runconfig, target.name), progress=progress,
            rebuild=rebuild)
        done.append(f"{runconfig}: {prepared.environment_id or 'nothing to build on this target'}")
    return done
