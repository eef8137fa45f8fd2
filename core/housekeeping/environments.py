"""Prune a target's environments: this project's images on its Docker Engine, or the executor
venvs on its head node, that no run configuration and no kept run needs (``needs``).

Images carry the project that built them (a label): only this project's are candidates, as
``deck images prune`` always did. Executor venvs carry no project (the head node's are shared
by every project that asks for the same packages): any not needed here is a candidate, but one
that a process on the head node uses (a run of any project or machine) or that is being
built is never removed. With an age (``--older-than``), an environment built more recently
(a venv: or last found by a prepare) stays too. Sizes: an image counts the bytes it adds over
its base image (the base stays); a venv counts itself and its archive.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from launchdeck.core.errors import DeckError
from launchdeck.core.housekeeping.plan import ItemKind, PruneItem, PrunePlan
from launchdeck.core.targets.capabilities import executor_environment_target, image_target

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.history.records import RunRecord
    from launchdeck.core.housekeeping.keep import KeepRule
    from launchdeck.core.housekeeping.needs import Needs
    from launchdeck.core.images.catalog import EnvironmentImage
    from launchdeck.core.project import Project
    from launchdeck.core.targets.base import ComputeTarget
    from launchdeck.core.targets.capabilities import ImageTarget


@dataclass(frozen=True)
class Environment:
    """One environment on a target, as a prune sees it."""

    name: str        #: image reference or venv hash
    size: int        #: bytes removing it frees
    made_at: int     #: unix time it was built (a venv: or last found by a prepare)
    mine: bool       #: built by this project (always True for venvs: they name no project)


def when(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M")


async def added_sizes(target: "ImageTarget",
                      images: "list[EnvironmentImage]") -> dict[str, int]:
    """Image reference -> the bytes it adds over its base image (all of it, base unknown)."""
    from launchdeck.core.docker.engine import engine_errors
    from launchdeck.core.docker.session import EngineError

    docker = await target.client()
    bases: dict[str, int] = {}
    for base in {image.base for image in images if image.base}:
        async with engine_errors(f"target {target.name}", target.url):
            try:
                bases[base] = int((await docker.images.inspect(base)).get("Size") or 0)
            except EngineError:
                continue  # the base is gone: the image holds all of its bytes alone
    return {image.ref: max(0, image.size - bases.get(image.base, 0)) for image in images}


async def environments_on(project: "Project", target: "ComputeTarget") -> list[Environment]:
    """The environments built on ``target``, oldest first ([] for a target that builds none)."""
    images = image_target(target)
    if images is not None:
        from launchdeck.core.images.catalog import list_images

        found = await list_images(await images.client(), url=images.url)
        sizes = await added_sizes(images, found)
        mine = str(project.root)
        return sorted((Environment(i.ref, sizes[i.ref], i.created, i.project == mine)
                       for i in found), key=lambda e: (e.made_at, e.name))
    executors = executor_environment_target(target)
    if executors is not None:
        return [Environment(e.hash, e.size, e.built_at, True)
                for e in await executors.environments()]
    return []


async def needs_on(project: "Project", target: "ComputeTarget", compute: "ComputeConfig",
                   kept: "list[RunRecord]") -> "Needs":
    from launchdeck.core.housekeeping.needs import Needs, executor_needs, image_needs

    images = image_target(target)
    if images is not None:
        return await image_needs(project, images, kept)
    executors = executor_environment_target(target)
    if executors is not None:
        return await executor_needs(project, executors, compute, kept)
    return Needs()


async def plan_environments(project: "Project", target: "ComputeTarget",
                            compute: "ComputeConfig", rule: "KeepRule",
                            kept: "list[RunRecord]") -> PrunePlan:
    """What pruning ``target``'s environments would remove, oldest first."""
    plan = PrunePlan(where=f"target {target.name}")
    kind = ItemKind.IMAGE if image_target(target) is not None else ItemKind.ENVIRONMENT
    found = await environments_on(project, target)
    if not found:
        return plan
    needs = await needs_on(project, target, compute, kept)
    if needs.unknown:
        plan.notes.append(f"no {kind} removed on {target.name}: what these need cannot be "
                          "told (fix them first): " + "; ".join(needs.unknown))
        return plan
    cutoff = None if rule.older_than is None else time.time() - rule.older_than
    for env in found:
        if not env.mine or env.name in needs.by:
            continue
        if cutoff is not None and env.made_at > cutoff:
            continue
        plan.items.append(PruneItem(kind, env.name, env.size, f"built {when(env.made_at)}",
                                    handle=env))
    used = sum(1 for env in found if env.name in needs.by)
    if used:
        plan.notes.append(f"{used} {kind}s on {target.name} kept: a run configuration or a "
                          "kept run needs them")
    return plan


async def remove_environments(target: "ComputeTarget", items: list[PruneItem]) -> list[str]:
    """Remove the environments of ``items``; returns what could not be removed, and why."""
    failed: list[str] = []
    images = image_target(target)
    if images is not None:
        from launchdeck.core.images.catalog import remove_ref

        docker = await images.client()
        for item in items:
            try:
                await remove_ref(docker, item.name, url=images.url)
            except DeckError as exc:  # in use by a container: the engine refuses, rightly
                failed.append(f"{item.name}: {exc}")
        return failed
    executors = executor_environment_target(target)
    if executors is not None:
        said = await executors.remove_environments([item.name for item in items])
        failed += [f"{name}: in use on the head node or being built, kept"
                   for name, state in said.items() if state == "busy"]
    return failed
