"""``deck images [--target NAME] [--json]`` and ``deck images prune [--target NAME] [--yes]``:
the environments deck built (images on a Docker Engine, executor venvs on a head node)."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timezone

from launchdeck.cli.common import (ask_ssh_passwords_on_terminal, print_json, print_table,
                                   project_of)


TARGET_HELP = ("the environments of this compute target: the images on its Docker Engine "
               "(remotedocker: the host's), or the executor venvs on a cluster's head node "
               "(default: the images on this machine's engine)")


def register(sub) -> None:
    p = sub.add_parser(
        "images", help="list the environment images deck built, and which configs use them",
        description="List the deck-env images on the Docker Engine (DOCKER_HOST, or the local "
                    "socket) with the run configurations of this project that use each.")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--target", metavar="NAME", help=TARGET_HELP)
    p.set_defaults(handler=list_images)
    isub = p.add_subparsers(dest="images_command", metavar="COMMAND")
    prune = isub.add_parser(
        "prune", help="remove this project's images that no run configuration needs any more",
        description="Remove the images this project built that none of its run configurations "
                    "uses now. Asks first unless --yes. Images of other projects are left alone.")
    prune.add_argument("--yes", "-y", action="store_true", help="do not ask")
    prune.add_argument("--target", metavar="NAME", help=TARGET_HELP)
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
    from launchdeck.core.housekeeping.amounts import format_size

    return format_size(n)


def _created(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def list_images(args) -> int:
    project = project_of(args)
    if args.target:
        return _list_on_target(project, args.target, as_json=args.json)
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
    if args.target:
        return _prune_on_target(project, args.target, yes=args.yes)
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


def _active(project):
    from launchdeck.core.runs.state import RunState

    return project.history.list_runs(status=[s for s in RunState if s.is_active])


def _list_on_target(project, name: str, *, as_json: bool) -> int:
    """The environments on one target, with what needs each (runconfigs, active runs)."""
    from launchdeck.core.housekeeping.environments import environments_on, needs_on, when
    from launchdeck.core.housekeeping.amounts import format_size
    from launchdeck.core.targets.opened import run_with_target

    compute = project.load_compute(name)

    async def job(target):
        ask_ssh_passwords_on_terminal(target)
        found = await environments_on(project, target)
        needs = await needs_on(project, target, compute, _active(project)) if found else None
        return found, needs

    found, needs = run_with_target(project, compute, job)
    for line in needs.unknown if needs else ():
        print(f"deck: cannot tell which environment {line}", file=sys.stderr)
    used = needs.by if needs else {}
    if as_json:
        print_json([{"environment": e.name, "size": e.size, "built": when(e.made_at),
                     "used_by": used.get(e.name, []), "this_project": e.mine} for e in found])
        return 0
    print_table(("environment", "size", "built", "used by", "project"),
                [(e.name, format_size(e.size), when(e.made_at),
                  ", ".join(used.get(e.name, [])) or "-", "this" if e.mine else "other")
                 for e in reversed(found)])
    return 0


def _prune_on_target(project, name: str, *, yes: bool) -> int:
    """This project's environments on one target that no runconfig or active run needs."""
    from launchdeck.cli.common import confirm
    from launchdeck.cli.store import show_plan
    from launchdeck.core.housekeeping.amounts import format_size
    from launchdeck.core.housekeeping.environments import (plan_environments,
                                                           remove_environments)
    from launchdeck.core.housekeeping.keep import KeepRule
    from launchdeck.core.targets.opened import run_with_target

    compute = project.load_compute(name)

    async def job(target):
        ask_ssh_passwords_on_terminal(target)
        plan = await plan_environments(project, target, compute, KeepRule(),
                                       _active(project))
        show_plan(plan)
        if not plan.items:
            return 0
        if not confirm(f"Remove these {len(plan.items)} environments "
                       f"({format_size(plan.total)})?", yes=yes):
            print("Nothing removed.")
            return 1
        failed = await remove_environments(target, plan.items)
        for line in failed:
            print(f"deck: could not remove {line}", file=sys.stderr)
        print(f"Removed {len(plan.items) - len(failed)} of {len(plan.items)}.")
        return 1 if failed else 0

    return run_with_target(project, compute, job)
