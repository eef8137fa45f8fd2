"""Reading and checking compute targets, for the targets screen's worker threads.

Each call opens the target, does its one job on a private event loop, and closes it again, so
nothing of asyncssh or aiodocker ever runs on the dashboard's own loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from rich.table import Table
from rich.text import Text

from core.errors import DeckError, HostKeyError
from core.project import Project
from core.targets.base import Progress


@dataclass
class TargetFacts:
    """What the screen knows about one target."""

    name: str
    type: str = ""
    address: str = ""
    error: str | None = None          # the .compute file itself is wrong
    reachable: bool | None = None     # None: not checked yet
    facts: dict[str, str] = field(default_factory=dict)
    images: list[str] = field(default_factory=list)
    checking: bool = False
    message: str = ""

    def cells(self, state: str) -> dict[str, str | Text]:
        versions = ", ".join(f"{k.replace('_version', '')} {v}" for k, v in self.facts.items()
                             if k.endswith("version") and v)
        return {"name": self.name, "type": self.type or "?", "address": self.address or "—",
                "state": Text(state if self.error is None else "✗ bad file",
                              style="green" if self.reachable else
                              "red" if self.reachable is False or self.error else "dim"),
                "versions": versions, "images": str(len(self.images)) if self.images else ""}

    def describe(self) -> Table:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row("target", self.name)
        grid.add_row("type", self.type)
        if self.address:
            grid.add_row("address", self.address)
        if self.error:
            grid.add_row("file", Text(self.error, style="red"))
        if self.message:
            grid.add_row("check", Text(self.message, style="red" if not self.reachable else ""))
        for key, value in self.facts.items():
            grid.add_row(key.replace("_", " "), value)
        for image in self.images:
            grid.add_row("image", image)
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
        if address and compute.port and compute.port != 22:
            address += f":{compute.port}"
        found.append(TargetFacts(name=name, type=str(compute.type), address=address))
    return found


def check_target(project: Project, item: TargetFacts, *, accept_host_key: str | None = None
                 ) -> None:
    """Reach the target and fill ``item``; a host key to confirm raises ``HostKeyError``."""
    from core.targets.registry import open_target

    async def check() -> tuple[dict[str, str], list[str]]:
        target = open_target(project, project.load_compute(item.name))
        try:
            if accept_host_key and hasattr(target, "accept_host_key"):
                await target.accept_host_key(accept_host_key)
            facts = await target.check()
            return facts, await _images(target)
        finally:
            await target.close()

    try:
        item.facts, item.images = asyncio.run(check())
        item.reachable, item.message = True, ""
    except HostKeyError as exc:
        item.reachable, item.message = False, str(exc)
        raise
    except DeckError as exc:
        item.reachable, item.message = False, str(exc)
    finally:
        item.checking = False


async def _images(target) -> list[str]:
    # Only Docker targets keep environment images; the catalog reads them from the engine.
    client = getattr(target, "client", None)
    if client is None:
        return []
    from core.images.catalog import list_images

    try:
        images = await list_images(await client(), url=target.url)
    except DeckError:
        return []
    return [f"{image.ref} ({image.size // 1_000_000} MB)" for image in images]


def prepare_target(project: Project, name: str, *, progress: Progress) -> str:
    """Build or find the environment of the first run configuration that uses ``name``."""
    from core.runs.runspec import live_resolver, load_configs
    from core.targets.registry import open_target

    runconfigs = [rc for rc in project.runconfig_names()
                  if project.load_runconfig(rc).target == name]
    if not runconfigs:
        from core.errors import ConfigError

        raise ConfigError(f"no run configuration uses target {name}; create one on the "
                          "configs screen first")
    progress(f"using run configuration {runconfigs[0]}")
    configs = load_configs(project, runconfig_path=project.runconfig_path(runconfigs[0]),
                           compute_path=project.compute_path(name),
                           resolve=live_resolver(project))

    async def prepare() -> str:
        target = open_target(project, configs.compute)
        try:
            return await target.prepare(configs.env, progress=progress)
        finally:
            await target.close()

    return asyncio.run(prepare())
