"""``deck images [--json]`` and ``deck images prune [--yes]``: the environment images deck built."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timezone

from launchdeck.cli.common import print_json, print_table, project_of


def register(sub) -> None:
    p = sub.add_parser(
        "images", help="list the environment images deck built, and which configs use them",
        description="List the deck-env images on the Docker Engine (DOCKER_HOST, or the local "
                    "socket) with the run configurations of this project that use each.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=list_images)
    isub = p.add_subparsers(dest="images_command", metavar="COMMAND")
    prune = isub.add_parser(
        "prune", help="remove this project's images that no run configuration needs any more",
        description="Remove the images this project built that none of its run configurations "
                    "uses now. Asks first unless --yes. Images of other projects are left alone.")
    prune.add_argument("--yes", "-y", action="store_true", help="do not ask")
    prune.set_defaults(handler=prune_images)


async def _survey(project):
    """(images on the engine, tag -> runconfig names using it, runconfigs that could not say)."""
    from launchdeck.core.errors import DeckError
    from launchdeck.core.images.catalog import list_images as catalog
    from launchdeck.core.runs.runspec import live_resolver, load_configs
    from launchdeck.core.targets.docker.target import DockerTarget

    used: dict[str, list[str]] = {}
    unknown: list[str] = []
    targets: dict[str, DockerTarget] = {}
    try:
        for name in project.runconfig_names():
            try:
                runconfig = project.load_runconfig(name)
                compute_path = project.compute_path(runconfig.target)
                if not compute_path.is_file():
                    continue
                configs = load_configs(project, runconfig_path=runconfig.path,
                                       compute_path=compute_path, resolve=live_resolver(project))
                if str(configs.compute.type) != "docker":
                    continue
                target = targets.setdefault(configs.compute.name,
                                            DockerTarget(configs.compute, project_dir=project.root))
                tag = await target.environment_tag(configs.env)
            except DeckError as exc:
                unknown.append(f"{name}: {exc}")
                continue
            used.setdefault(tag, []).append(name)
        probe = next(iter(targets.values()), None)
        if probe is None:
            from launchdeck.core.docker.engine import connect, engine_url

            docker = await connect()
            try:
                images = await catalog(docker, url=engine_url())
            finally:
                await docker.close()
        else:
            images = await catalog(await probe.client(), url=probe.url)
    finally:
        for target in targets.values():
            await target.close()
    return images, used, unknown


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def _created(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def list_images(args) -> int:
    project = project_of(args)
    images, used, unknown = asyncio.run(_survey(project))
    for line in unknown:
        print(f"deck: cannot tell which image {line}", file=sys.stderr)
    mine = str(project.root)
    if args.json:
        print_json([{"image": i.ref, "tag": i.tag, "id": i.image_id, "size": i.size,
                     "created": _created(i.created), "used_by": used.get(i.tag, []),
                     "project": i.project, "base": i.base} for i in images])
        return 0
    rows = [(i.ref, _size(i.size), _created(i.created), ", ".join(used.get(i.tag, [])) or "-",
             "this" if i.project == mine else (i.project or "?")) for i in images]
    print_table(("image", "size", "created", "used by", "project"), rows)
    return 0


def prune_images(args) -> int:
    from launchdeck.core.errors import DeckError
    from launchdeck.core.images.catalog import remove_image
    from launchdeck.core.docker.engine import connect, engine_url

    project = project_of(args)
    images, used, unknown = asyncio.run(_survey(project))
    if unknown:
        for line in unknown:
            print(f"deck: cannot tell which image {line}", file=sys.stderr)
        print("deck: not pruning: fix those run configurations first, so no image one of them "
              "needs is removed", file=sys.stderr)
        return 2
    doomed = [i for i in images if i.project == str(project.root) and i.tag not in used]
    if not doomed:
        print("Nothing to prune: every image of this project is used by a run configuration.")
        return 0
    for image in doomed:
        print(f"  {image.ref}  {_size(image.size)}  built {_created(image.created)}")
    if not args.yes:
        if not sys.stdin.isatty():
            print("deck: not pruning without confirmation; pass --yes", file=sys.stderr)
            return 2
        answer = input(f"Remove these {len(doomed)} images? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("Nothing removed.")
            return 1

    async def remove() -> tuple[int, list[str]]:
        url = engine_url()
        docker = await connect(url)
        removed, failed = 0, []
        try:
            for image in doomed:
                try:
                    removed += await remove_image(docker, image, url=url)
                except DeckError as exc:  # one image in use must not stop the rest
                    failed.append(f"{image.ref}: {exc}")
        finally:
            await docker.close()
        return removed, failed

    removed, failed = asyncio.run(remove())
    for line in failed:
        print(f"deck: could not remove {line}", file=sys.stderr)
    print(f"Removed {removed} image{'s' if removed != 1 else ''}.")
    return 1 if failed else 0
