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
        # An image that is there is found with two plain requests: no event loop.
        from launchdeck.core.images.lookup import find_environment_image

        ref = find_environment_image(configs.compute, configs.env)
        if ref is not None:
            _progress(f"environment image {ref} found; nothing to build")
            print(f"Image: {ref} (found)")
            return 0
    from launchdeck.core.targets.opened import run_with_target

    async def prepare(target) -> int:
        return await _prepare(target, configs.env, rebuild=args.rebuild)

    return run_with_target(project, configs.compute, prepare)


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
    from launchdeck.core.targets.capabilities import image_target
    from launchdeck.core.targets.environments import prepare_environment

    ask_ssh_passwords_on_terminal(target)
    prepared = await prepare_environment(target, env, progress=_progress, rebuild=rebuild)
    if image_target(target) is not None:  # an image, found or built
        how = f"built in {prepared.seconds:.1f} s" if prepared.built else "found"
        print(f"Image: {prepared.environment_id} ({how})")
    elif prepared.environment_id:
        print(f"Environment: {prepared.environment_id} (ready in {prepared.seconds:.1f} s)")
    else:
        print(f"Target {target.name}: nothing to prepare")
    return 0
