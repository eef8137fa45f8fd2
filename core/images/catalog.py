"""The environment images deck built on an engine: list them, remove them."""

from __future__ import annotations

from dataclasses import dataclass

from launchdeck.core.docker.client import EngineClient
from launchdeck.core.docker.session import EngineError
from launchdeck.core.images.recipe import LABEL_BASE, LABEL_PROJECT, LABEL_RECIPE, REPOSITORY
from launchdeck.core.docker.engine import engine_errors, is_missing


@dataclass(frozen=True, kw_only=True)
class EnvironmentImage:
    """One ``deck-env:<tag>`` image."""

    tag: str
    image_id: str
    size: int          # bytes
    created: int       # unix time
    project: str       # the project folder that built it
    base: str

    @property
    def ref(self) -> str:
        return f"{REPOSITORY}:{self.tag}"


async def list_images(docker: EngineClient, *, url: str) -> list[EnvironmentImage]:
    """Every image deck built on this engine, newest first."""
    async with engine_errors("listing environment images", url):
        found = await docker.images.list(filters={"label": [LABEL_RECIPE]})
    images = []
    for item in found:
        labels = item.get("Labels") or {}
        for ref in item.get("RepoTags") or ():
            repo, _, tag = ref.rpartition(":")
            if repo == REPOSITORY:
                images.append(EnvironmentImage(
                    tag=tag, image_id=item["Id"], size=int(item.get("Size") or 0),
                    created=int(item.get("Created") or 0),
                    project=labels.get(LABEL_PROJECT, ""), base=labels.get(LABEL_BASE, "")))
    return sorted(images, key=lambda i: (-i.created, i.tag))


async def remove_image(docker: EngineClient, image: EnvironmentImage, *, url: str) -> bool:
    """Untag and delete one image (not by force: an image a container uses stays)."""
    return await remove_ref(docker, image.ref, url=url)


async def remove_ref(docker: EngineClient, ref: str, *, url: str) -> bool:
    """Untag and delete the image ``ref`` (not by force); False if it was not there."""
    async with engine_errors(f"removing {ref}", url):
        try:
            await docker.images.delete(ref)
        except EngineError as exc:
            if is_missing(exc):
                return False
            raise
    return True
