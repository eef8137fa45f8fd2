"""What must stay on a target: the environments its run configurations and kept runs need.

An environment is named as a run records it (``environment_id``): an image reference
(``deck-env:<tag>``) on a Docker Engine, or an executor venv's hash on a head node. It is
needed by

- every run configuration whose target keeps environments in the same place (the same
  engine: every ``docker`` target shares this machine's, a ``remotedocker`` target its host's;
  the same head node for ``cluster``), read from the live project files;
- every kept run that recorded one (``keep.KeepRule``);
- every active run that has not recorded one yet (queued), read from its snapshot.

Whatever cannot be told (a runconfig that does not load, a base image not on the engine) is
listed in ``unknown``: then nothing may be removed there, since it might be what that one needs.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, Callable, Iterator

from launchdeck.core.errors import DeckError

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.history.records import RunRecord
    from launchdeck.core.project import Project
    from launchdeck.core.runs.runspec import RunConfigs
    from launchdeck.core.targets.capabilities import ExecutorEnvironmentTarget, ImageTarget


@dataclass
class Needs:
    #: environment (image reference or venv hash) -> who needs it ("runconfig docker", "run #3")
    by: dict[str, list[str]] = field(default_factory=dict)
    #: who could not say what they need, and why
    unknown: list[str] = field(default_factory=list)

    def add(self, environment: str, who: str) -> None:
        self.by.setdefault(environment, []).append(who)


def place_of(compute: "ComputeConfig") -> str:
    """Where a target keeps its environments: targets with the same place share them."""
    kind = str(compute.type)
    if kind == "docker":
        return "docker:this machine"
    return f"{kind}:{compute.username or ''}@{compute.address}:{compute.explicit_port or 22}"


def _configs(project: "Project",
             kept: "list[RunRecord]") -> "Iterator[tuple[str, RunConfigs | str]]":
    """(who, RunConfigs or the error text) of each runconfig and of each queued run."""
    from launchdeck.core.runs.runspec import live_resolver, load_configs, snapshot_resolver

    for name in project.runconfig_names():
        try:
            runconfig = project.load_runconfig(name)
            compute_path = project.compute_path(runconfig.target)
            if not compute_path.is_file():
                continue  # a runconfig of a detached target needs nothing anywhere
            yield f"runconfig {name}", load_configs(
                project, runconfig_path=runconfig.path, compute_path=compute_path,
                resolve=live_resolver(project))
        except DeckError as exc:
            yield f"runconfig {name}", str(exc)
    for run in kept:
        if not run.status.is_active or run.environment_id:
            continue
        who = f"run #{run.run_number} ({run.status})"
        with tempfile.TemporaryDirectory(prefix="deck-needs-") as into:
            try:
                resolve = snapshot_resolver(project, run.snapshot, Path(into))
                rc, cp = (resolve(f"aml_config/{run.run_configuration}.runconfig"),
                          resolve(f"aml_config/{run.target}.compute"))
                if rc is None or cp is None:
                    raise DeckError("its snapshot lacks its configs")
                yield who, load_configs(project, runconfig_path=rc, compute_path=cp,
                                        resolve=resolve)
            except DeckError as exc:
                yield who, str(exc)


async def _needs(project: "Project", compute: "ComputeConfig", kept: "list[RunRecord]",
                 name_of: "Callable[[RunConfigs], Awaitable[str | None]]") -> Needs:
    needs = Needs()
    for run in kept:
        if run.environment_id:
            needs.add(run.environment_id, f"run #{run.run_number}")
    here = place_of(compute)
    for who, configs in _configs(project, kept):
        if isinstance(configs, str):
            needs.unknown.append(f"{who}: {configs}")
            continue
        if place_of(configs.compute) != here:
            continue
        try:
            environment = await name_of(configs)
        except DeckError as exc:
            needs.unknown.append(f"{who}: {exc}")
            continue
        if environment:
            needs.add(environment, who)
    return needs


async def image_needs(project: "Project", target: "ImageTarget",
                      kept: "list[RunRecord]") -> Needs:
    """The images on ``target``'s engine that runconfigs and ``kept`` runs need."""
    from launchdeck.core.docker.engine import engine_errors, is_missing
    from launchdeck.core.docker.session import EngineError
    from launchdeck.core.images import recipe
    from launchdeck.core.images.settings import BuildSettings

    docker = await target.client()
    base_ids: dict[str, str | None] = {}

    async def base_id(name: str) -> str | None:
        if name not in base_ids:
            async with engine_errors(f"target {target.name}", target.url):
                try:
                    base_ids[name] = (await docker.images.inspect(name))["Id"]
                except EngineError as exc:
                    if not is_missing(exc):
                        raise
                    base_ids[name] = None
        return base_ids[name]

    async def image_of(configs: "RunConfigs") -> str | None:
        compute = configs.compute
        if compute.user_managed_environment or not compute.base_docker_image:
            return None  # the base image as it is: deck built nothing for it
        found = await base_id(compute.base_docker_image)
        if found is None:
            raise DeckError(f"its base image {compute.base_docker_image} is not on the engine, "
                            "so the image it needs cannot be told")
        tag = recipe.environment_tag(base_id=found, conda=configs.env.conda,
                                     settings=BuildSettings.from_compute(compute, project.root))
        return f"{recipe.REPOSITORY}:{tag}"

    return await _needs(project, target.compute, kept, image_of)


async def executor_needs(project: "Project", target: "ExecutorEnvironmentTarget",
                         compute: "ComputeConfig", kept: "list[RunRecord]") -> Needs:
    """The executor venvs on ``target``'s head node that runconfigs and ``kept`` runs need."""
    async def venv_of(configs: "RunConfigs") -> str | None:
        wanted = target.executor_environment(configs.env)
        return wanted.hash if wanted is not None else None

    return await _needs(project, compute, kept, venv_of)
