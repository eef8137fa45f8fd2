"""``deck prepare -c RUNCONFIG``: build (or find) the environment a run configuration needs."""

from __future__ import annotations

import sys

from launchdeck.cli.common import ask_ssh_passwords_on_terminal, project_of


def register(sub) -> None:
    p = sub.add_parser(
        "prepare", help="build or find the environment image of a run configuration",
        description="Build the environment of RUNCONFIG on its target ahead of time (for "
                    "Docker targets: the image deck-env:<hash> on the base image), printing the "
                    "build as it goes. An environment that is already there is found, not "
                    "rebuilt.")
    p.add_argument("-c", "--run-configuration", required=True, metavar="RUNCONFIG",
                   help="name of aml_config/RUNCONFIG.runconfig")
    p.add_argument("--rebuild", action="store_true",
                   help="build again even if the image exists, without the engine's cache")
    p.set_defaults(handler=run)


def _progress(line: str) -> None:
    sys.stdout.write(line.rstrip("\n") + "\n")
    sys.stdout.flush()


def run(args) -> int:
    from launchdeck.core.runs import configcache

    project = project_of(args)
    kept = configcache.load(project, args.run_configuration)
    configs = kept[0] if kept is not None else _load_configs(project, args.run_configuration)
    if not args.rebuild:
        # An image that is there is found with two plain requests: no event loop, no aiodocker.
        from launchdeck.core.images.lookup import find_environment_image

        ref = find_environment_image(configs.compute, configs.env)
        if ref is not None:
            _progress(f"environment image {ref} found; nothing to build")
            print(f"Image: {ref} (found)")
            return 0
    import asyncio

    from launchdeck.core.targets.registry import open_target

    target = open_target(project, configs.compute)
    return asyncio.run(_prepare(target, configs.env, rebuild=args.rebuild))


def _load_configs(project, name: str):
    from launchdeck.core.runs.runspec import live_resolver, load_configs

    runconfig = project.load_runconfig(name)
    if not project.compute_path(runconfig.target).is_file():
        project.load_compute(runconfig.target)  # raises the clear "no such target" error
    configs = load_configs(project, runconfig_path=runconfig.path,
                           compute_path=project.compute_path(runconfig.target),
                           resolve=live_resolver(project))
    from launchdeck.core.config.report import format_warnings, warnings_for
    from launchdeck.core.runs import configcache

    # Kept for the next prepare or submit of this runconfig (their warnings with them).
    configcache.store(project, name, configs, format_warnings(warnings_for(
        configs.runconfig, configs.compute, configs.env.conda, configs.env.spark)))
    return configs


async def _prepare(target, env, *, rebuild: bool) -> int:
    import time

    started = time.monotonic()
    ask_ssh_passwords_on_terminal(target)
    try:
        ensure = getattr(target, "ensure_image", None)
        if ensure is not None:
            result = await ensure(env, progress=_progress, rebuild=rebuild)
            how = f"built in {result.seconds:.1f} s" if result.built else "found"
            print(f"Image: {result.ref} ({how})")
            return 0
        if rebuild:
            from launchdeck.core.errors import TargetError

            raise TargetError(f"target {target.name}: --rebuild applies to Docker targets only")
        environment = await target.prepare(env, progress=_progress)
        took = time.monotonic() - started
        if environment:
            print(f"Environment: {environment} (ready in {took:.1f} s)")
        else:
            print(f"Target {target.name}: nothing to prepare")
        return 0
    finally:
        await target.close()
