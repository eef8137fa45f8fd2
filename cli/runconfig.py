"""``deck runconfig create|list|show|env``: the project's run configurations."""

from __future__ import annotations

from launchdeck.cli.common import confirm, print_json, print_table, printable, project_of


def register(sub) -> None:
    rc = sub.add_parser("runconfig", help="create, list, show and edit run configurations")
    rsub = rc.add_subparsers(dest="runconfig_command", metavar="COMMAND", required=True)

    p = rsub.add_parser("create", help="write a new aml_config/NAME.runconfig")
    p.add_argument("--name", required=True)
    p.add_argument("--target", required=True, help="the compute target's name")
    p.add_argument("--framework", choices=("Python", "PySpark"), default="Python")
    p.add_argument("--prepare", action="store_true",
                   help="build the environment as part of each run (PrepareEnvironment)")
    p.set_defaults(handler=create)

    p = rsub.add_parser("list", help="the project's run configurations")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=list_runconfigs)

    p = rsub.add_parser("show", help="one run configuration")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=show)

    register_delete(rsub)

    env = rsub.add_parser("env", help="set or unset environment variables of a runconfig")
    esub = env.add_subparsers(dest="env_command", metavar="COMMAND", required=True)
    p = esub.add_parser("set", help="set KEY=VALUE pairs (the file's comments stay)")
    p.add_argument("name")
    p.add_argument("pairs", nargs="+", metavar="KEY=VALUE")
    p.set_defaults(handler=env_set)
    p = esub.add_parser("unset", help="remove variables")
    p.add_argument("name")
    p.add_argument("keys", nargs="+", metavar="KEY")
    p.set_defaults(handler=env_unset)


def _as_json(config) -> dict:
    return {
        "name": config.name,
        "ArgumentVector": list(config.argument_vector),
        "Target": config.target,
        "EnvironmentVariables": dict(config.environment_variables),
        "Framework": str(config.framework),
        "CondaDependenciesFile": config.conda_dependencies_file,
        "SparkDependenciesFile": config.spark_dependencies_file,
        "PrepareEnvironment": config.prepare_environment,
        "TrackedRun": config.tracked_run,
        "unknown_keys": list(config.unknown_keys),
    }


def create(args) -> int:
    from launchdeck.core.config.runconfig import create_runconfig
    from launchdeck.core.errors import ConfigError

    project = project_of(args)
    if not project.compute_path(args.target).is_file():
        known = ", ".join(project.compute_names()) or "none"
        raise ConfigError(f"no compute target {args.target!r} (targets: {known})",
                          field="--target")
    path = project.runconfig_path(args.name)
    create_runconfig(path, target=args.target, framework=args.framework,
                     prepare_environment=args.prepare)
    print(f"Wrote {path.relative_to(project.root)}")
    return 0


def list_runconfigs(args) -> int:
    from launchdeck.cli.common import print_load_errors

    project = project_of(args)
    loaded = project.load_all_runconfigs()  # an unreadable file is listed with its error
    if args.json:
        print_json([_as_json(c) if c is not None else {"name": name, "error": error}
                    for name, c, error in loaded])
        return 0
    print_table(["name", "target", "framework", "prepare", "env vars"],
                ([c.name, c.target, c.framework, c.prepare_environment,
                  len(c.environment_variables)] if c is not None else
                 [name, "(unreadable)", "", "", ""] for name, c, _ in loaded))
    print_load_errors(error for _, _, error in loaded if error)
    return 0


def show(args) -> int:
    from launchdeck.cli.common import print_config_warnings

    project = project_of(args)
    config = project.load_runconfig(args.name)
    print_config_warnings(config)
    data = _as_json(config)
    if args.json:
        print_json(data)
        return 0
    for key, value in data.items():
        if key == "EnvironmentVariables":
            print("EnvironmentVariables:")
            for name, val in value.items():
                print(printable(f"  {name}={val}"))
        elif key != "unknown_keys" or value:
            print(printable(f"{key}: {value}"))
    return 0


def env_set(args) -> int:
    from launchdeck.core.config.runconfig import edit_env
    from launchdeck.core.errors import ConfigError

    project = project_of(args)
    path = project.load_runconfig(args.name).path
    values: dict[str, str] = {}
    for pair in args.pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise ConfigError(f"{pair!r} is not KEY=VALUE", field="KEY=VALUE")
        values[name] = value
    # Under the file's lock (concurrent edits all land); say only what was really written.
    if edit_env(path, set_vars=values).written:
        print(f"Set {', '.join(values)} in {path.relative_to(project.root)}")
    else:
        print(f"{', '.join(values)}: already set to that in {path.relative_to(project.root)}; "
              "nothing written")
    return 0


def env_unset(args) -> int:
    from launchdeck.core.config.runconfig import edit_env

    project = project_of(args)
    path = project.load_runconfig(args.name).path
    edit_env(path, unset=list(args.keys))
    print(f"Removed {', '.join(args.keys)} from {path.relative_to(project.root)}")
    return 0


def register_delete(rsub) -> None:
    p = rsub.add_parser("delete", help="remove aml_config/NAME.runconfig (asks first)",
                        description="Remove a run configuration. Runs made with it keep "
                                    "their own copy; `deck rerun` still works for them.")
    p.add_argument("name")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask")
    p.set_defaults(handler=delete)


def delete(args) -> int:
    from launchdeck.core.config.removal import delete_runconfig, runconfig_file

    project = project_of(args)
    path = runconfig_file(project, args.name)
    if not confirm(f"Delete {path.relative_to(project.root)}?", yes=args.yes):
        print("Nothing deleted.")
        return 1
    delete_runconfig(project, args.name)
    print(f"Deleted {path.relative_to(project.root)}")
    return 0
