"""``deck target attach|list|check``: the project's compute targets."""

from __future__ import annotations


from launchdeck.cli.common import (ask_ssh_passwords_on_terminal, confirm, print_json, print_table,
                        project_of)

TYPES = ("local", "docker", "localdocker", "remotedocker", "remote", "cluster")


def register(sub) -> None:
    target = sub.add_parser("target", help="attach, list and check compute targets")
    tsub = target.add_subparsers(dest="target_command", metavar="COMMAND", required=True)

    p = tsub.add_parser(
        "attach", help="add a compute target (writes aml_config/NAME.compute and NAME.runconfig)")
    p.add_argument("type", choices=TYPES, help="the kind of target")
    p.add_argument("--name", required=True, help="the target's name")
    p.add_argument("--base-image", metavar="IMAGE[:TAG]", help="Docker targets: the base image")
    p.add_argument("--address", metavar="HOST", help="remote targets: host name or address")
    p.add_argument("--port", type=int, metavar="N", help="remote targets: SSH port (22)")
    p.add_argument("--username", metavar="USER", help="remote targets: SSH user")
    p.add_argument("--identity-file", metavar="KEY", help="remote targets: SSH private key")
    p.add_argument("--python", "--python-location", dest="python", metavar="PATH",
                   help="the Python interpreter (pythonLocation)")
    p.add_argument("--master", metavar="URL", help="cluster targets: spark://HOST:7077 or yarn")
    p.add_argument("--spark-submit", metavar="PATH", help="cluster targets: spark-submit path")
    p.add_argument("--max-runs", type=int, metavar="N",
                   help="how many runs may execute at once on this target")
    p.add_argument("--force", action="store_true", help="overwrite an existing target file")
    p.set_defaults(handler=attach)

    register_detach(tsub)

    p = tsub.add_parser("list", help="the project's compute targets")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=list_targets)

    p = tsub.add_parser("check", help="reach a target and report what it has")
    p.add_argument("name")
    p.add_argument("--accept-host-key", metavar="FINGERPRINT",
                   help="trust this SSH host key fingerprint (SHA256:...) if the host shows it")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=check_target)


def attach(args) -> int:
    from launchdeck.core.config.compute import write_compute
    from launchdeck.core.config.runconfig import create_runconfig
    from launchdeck.core.errors import ConfigError

    project = project_of(args, create=True)
    kind = "docker" if args.type == "localdocker" else args.type
    if kind in ("docker", "remotedocker") and not args.base_image:
        raise ConfigError(f"a {kind} target needs --base-image IMAGE[:TAG]", field="--base-image")
    if kind in ("remotedocker", "remote", "cluster") and not args.address:
        raise ConfigError(f"a {kind} target needs --address HOST", field="--address")
    fields = {
        "base_docker_image": args.base_image, "address": args.address, "port": args.port,
        "username": args.username, "identity_file": args.identity_file,
        "python_location": args.python, "spark_master": args.master,
        "spark_submit_location": args.spark_submit, "max_concurrent_runs": args.max_runs,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    compute_path = project.compute_path(args.name)
    runconfig_path = project.runconfig_path(args.name)
    if runconfig_path.exists() and not args.force:
        raise ConfigError(f"{runconfig_path} already exists; use --force to replace it",
                          file=str(runconfig_path))
    project.config_dir.mkdir(exist_ok=True)
    write_compute(compute_path, type=kind, force=args.force, **fields)
    create_runconfig(runconfig_path, target=args.name,
                     framework="PySpark" if kind == "cluster" else "Python",
                     prepare_environment=kind != "local", force=args.force)
    print(f"Wrote {_rel(project, compute_path)} and {_rel(project, runconfig_path)}")
    return 0


def list_targets(args) -> int:
    project = project_of(args)
    from launchdeck.cli.common import print_load_errors

    rows, errors = [], []
    for name, compute, error in project.load_all_computes():
        if error is not None:  # one unreadable file never hides the others
            errors.append(error)
            rows.append({"name": name, "type": None, "address": None, "base_docker_image": None,
                         "file": _rel(project, project.compute_path(name)), "error": error})
            continue
        rows.append({"name": name, "type": str(compute.type),
                     "address": compute.address, "base_docker_image": compute.base_docker_image,
                     "file": _rel(project, compute.path)})
    if args.json:
        print_json(rows)
        return 0
    print_table(["name", "type", "address", "base image"],
                ([r["name"], r["type"] or "(unreadable)", r["address"], r["base_docker_image"]]
                 for r in rows))
    print_load_errors(errors)
    return 0


def check_target(args) -> int:
    from launchdeck.core.errors import HostKeyError
    from launchdeck.core.targets.capabilities import host_key_target
    from launchdeck.core.targets.opened import check_target as checked_facts
    from launchdeck.core.targets.opened import run_with_target

    from launchdeck.cli.common import print_config_warnings

    project = project_of(args)
    compute = project.load_compute(args.name)
    print_config_warnings(compute)

    async def check(target) -> dict[str, str]:
        ask_ssh_passwords_on_terminal(target)
        try:
            return await checked_facts(target, accept_host_key=args.accept_host_key)
        except HostKeyError as exc:
            if host_key_target(target) is None or not await _confirm_host_key(exc):
                raise
            return await checked_facts(target, accept_host_key=exc.fingerprint)

    facts = run_with_target(project, compute, check)
    if args.json:
        print_json({"name": args.name, "type": str(compute.type), **facts})
        return 0
    print(f"{args.name} ({compute.type}): reachable")
    for key, value in facts.items():
        print(f"  {key}: {value}")
    return 0


async def _confirm_host_key(exc) -> bool:
    """On a terminal, show an unknown host key's fingerprint and ask whether to trust it."""
    import asyncio
    import sys

    if exc.changed or not exc.fingerprint or not sys.stdin.isatty():
        return False  # a changed key is never accepted here; scripts pass --accept-host-key
    print(str(exc).split("\nCheck it with", 1)[0], file=sys.stderr)
    # The question goes to stderr: stdout may be JSON for a script.
    sys.stderr.write(f"Trust this host key ({exc.fingerprint}) and add it to known_hosts? "
                     "[y/N] ")
    sys.stderr.flush()
    answer = await asyncio.to_thread(sys.stdin.readline)
    return answer.strip().lower() in ("y", "yes")


def register_detach(tsub) -> None:
    p = tsub.add_parser(
        "detach", help="remove a compute target (aml_config/NAME.compute and its runconfig)",
        description="Remove aml_config/NAME.compute, and NAME.runconfig when its Target is "
                    "NAME (the pair `target attach` writes). Refused while another runconfig "
                    "uses the target, unless --force. Asks first.")
    p.add_argument("name")
    p.add_argument("--force", action="store_true",
                   help="detach even though other runconfigs name this target")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask")
    p.set_defaults(handler=detach)


def detach(args) -> int:
    import sys

    from launchdeck.core.config.removal import detach_plan, remove_files, target_users

    project = project_of(args)
    files = detach_plan(project, args.name, force=args.force)
    users, unreadable = target_users(project, args.name)
    for name in unreadable:
        sys.stderr.write(f"warning: aml_config/{name}.runconfig cannot be read, so whether it "
                         f"uses {args.name!r} is not known\n")
    names = " and ".join(_rel(project, f) for f in files)
    if not confirm(f"Detach target {args.name!r}: delete {names}?", yes=args.yes):
        print("Nothing deleted.")
        return 1
    remove_files(files)
    print(f"Deleted {names}")
    left = [u for u in users if u != args.name]
    if left:
        sys.stderr.write(f"note: {', '.join(left)} still name target {args.name!r}\n")
    return 0


def _rel(project, path) -> str:
    return str(path.relative_to(project.root))
