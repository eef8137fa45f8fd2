"""What the targets screen shows of compute targets, from the core's checks and prepares.

The work is the core's (``core.targets.opened``, ``core.targets.environments``), the same the
CLI does; this module calls it from the screen's worker threads and turns the answers into
``TargetFacts`` and rich tables. Each call opens the target, does its one job on a private
event loop, and closes it again (its SSH connections too), so nothing of asyncssh or the Docker client
ever runs on the dashboard's own loop. A check returns a new ``TargetFacts``; the screen swaps
it in on its own thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Awaitable, Callable, TypeVar

from rich.table import Table
from rich.text import Text

from launchdeck.core.errors import ConfigError, DeckError, HostKeyError
from launchdeck.core.project import Project
from launchdeck.core.targets.base import Progress
from launchdeck.core.targets.environments import (EnvironmentState, TargetEnvironments,
                                                  environments_of, prepare_runconfigs,
                                                  runconfigs_using)
from launchdeck.core.targets.opened import check_target as checked_facts
from launchdeck.core.targets.opened import run_with_target

T = TypeVar("T")
IMAGES_LISTED = 6  # the side panel lists this many images, then says how many more

#: .compute settings shown before (and besides) a check, as the file has them.
SETTINGS = (("base_docker_image", "base image"), ("username", "user"),
            ("identity_file", "identity file"), ("python_location", "python"),
            ("spark_master", "spark master"), ("spark_submit_location", "spark-submit"),
            ("max_concurrent_runs", "max runs"))


@dataclass
class TargetFacts:
    """What the screen knows about one target."""

    name: str
    type: str = ""
    address: str = ""
    settings: dict[str, str] = field(default_factory=dict)
    error: str | None = None          # the .compute file itself is wrong
    reachable: bool | None = None     # None: not checked yet
    facts: dict[str, str] = field(default_factory=dict)
    #: run configuration -> its environment image and whether it is built (Docker targets)
    environments: dict[str, str] = field(default_factory=dict)
    #: environment images on this base image (Docker), executor environments (Spark cluster)
    images: list[str] = field(default_factory=list)
    host_key: HostKeyError | None = None  # the last check stopped at an unknown/changed key
    message: str = ""

    @property
    def kept_as(self) -> str:
        """What the target keeps built environments as, in the singular."""
        return "environment" if self.type == "cluster" else "image"

    @property
    def state(self) -> tuple[str, str]:
        """The reachability cell (symbol first, readable without colour) and its style."""
        if self.error is not None:
            return "✗ bad file", "red"
        if self.reachable is None:
            return "? not checked", "dim"
        if self.host_key is not None:
            return "✗ host key changed" if self.host_key.changed else "? host key", "yellow"
        return ("✓ reachable", "green") if self.reachable else ("✗ unreachable", "red")

    def cells(self, *, checking: bool = False) -> dict[str, str | Text]:
        versions = ", ".join(f"{k.removesuffix('_version')} {v}" for k, v in self.facts.items()
                             if k.endswith("version") and v)
        built = [v for v in self.environments.values() if v.endswith("✓ built")]
        env = (f"{len(built)}/{len(self.environments)} built" if self.environments
               else f"{len(self.images)} {self.kept_as}s"
               if self.images else "")
        state, style = ("… checking", "dim") if checking else self.state
        return {"name": self.name, "type": self.type or "?", "address": self.address or "—",
                "state": Text(state, style=style), "versions": versions, "environment": env}

    def describe(self) -> Table:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row("target", f"{self.name} ({self.type})" if self.type else self.name)
        if self.address:
            grid.add_row("address", self.address)
        found = {key.replace("_", " ") for key in self.facts}
        for key, value in self.settings.items():
            if key not in found:  # a check reports some settings again, as it found them
                grid.add_row(key, value)
        if self.error:
            grid.add_row("file", Text(self.error, style="red"))
        if self.message:
            grid.add_row("check", Text(self.message, style="red" if not self.reachable else ""))
        for key, value in self.facts.items():
            grid.add_row(key.replace("_", " "), value)
        for runconfig, value in self.environments.items():
            grid.add_row(f"env of {runconfig}", value)
        for image in self.images[:IMAGES_LISTED]:
            grid.add_row(self.kept_as, image)
        if len(self.images) > IMAGES_LISTED:
            grid.add_row("", f"… and {len(self.images) - IMAGES_LISTED} more {self.kept_as}s")
        return grid


def read_targets(project: Project) -> list[TargetFacts]:
    found = []
    for name in project.compute_names():
        try:
            compute = project.load_compute(name)
        except DeckError as exc:
            found.append(TargetFacts(name=name, error=str(exc)))
            continue
        address = compute.address or ""
        if address and compute.explicit_port:
            address += f":{compute.explicit_port}"
        settings = {label: str(getattr(compute, key)) for key, label in SETTINGS
                    if getattr(compute, key) not in (None, "")}
        found.append(TargetFacts(name=name, type=str(compute.type), address=address,
                                 settings=settings))
    return found


def check_target(project: Project, item: TargetFacts, *,
                 accept_host_key: str | None = None) -> TargetFacts:
    """``item`` after reaching its target; an unknown or changed host key is in ``host_key``."""

    async def check(target) -> tuple[dict[str, str], TargetEnvironments]:
        facts = await checked_facts(target, accept_host_key=accept_host_key)
        return facts, await environments_of(project, target)

    checked = replace(item, host_key=None, message="")
    try:
        checked.facts, environments = _with_target(project, item.name, check)
        checked.environments, checked.images = _shown(environments)
        checked.reachable = True
    except HostKeyError as exc:
        checked.reachable, checked.message, checked.host_key = False, str(exc), exc
    except DeckError as exc:
        checked.reachable, checked.message = False, str(exc)
    return checked


def _shown(found: TargetEnvironments) -> tuple[dict[str, str], list[str]]:
    """The side panel's lines: run configuration -> its environment, and what is built."""
    if found.error is not None:
        return {"(all)": found.error}, []
    environments = {}
    for env in found.runconfigs:
        if env.state is EnvironmentState.UNKNOWN:
            environments[env.runconfig] = f"cannot tell: {env.reason}"
        elif env.state is EnvironmentState.AS_IT_IS:
            environments[env.runconfig] = (f"{env.environment} as it is ({env.reason})"
                                           if env.environment else
                                           f"{env.reason} (nothing to build)")
        else:
            environments[env.runconfig] = env.environment + (
                " ✓ built" if env.state is EnvironmentState.BUILT
                else " ✗ not built (p prepares it)")
    listed = [f"{built.name} ({built.size // 1_000_000} MB)" for built in found.built]
    return environments, listed


def prepare_target(project: Project, name: str, *, progress: Progress,
                   rebuild: bool = False) -> list[str]:
    """Build or find the environment of every run configuration that uses ``name``;
    ``rebuild`` builds them again, without the engine's build cache."""
    runconfigs = runconfigs_using(project, name)
    if not runconfigs:
        raise ConfigError(f"no run configuration uses target {name}; create one on the "
                          "configs screen first")

    async def prepare(target) -> list[str]:
        return await prepare_runconfigs(project, target, runconfigs, progress=progress,
                                        rebuild=rebuild)

    return _with_target(project, name, prepare)


def _with_target(project: Project, name: str, job: Callable[..., Awaitable[T]]) -> T:
    """Run ``job(target)`` on a private event loop; close the target and its SSH links after."""
    return run_with_target(project, project.load_compute(name), job)
