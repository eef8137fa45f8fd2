"""``deck store prune``: remove what no kept run and no run configuration needs, with sizes.

A dry run unless ``--yes``: it lists what would go. What a kept run is, and what each part
removes, is said in ``core.housekeeping`` (``keep``, ``localstore``, ``environments``).
"""

from __future__ import annotations

import sys

from launchdeck.cli.common import ask_ssh_passwords_on_terminal, print_table, project_of


def register(sub) -> None:
    store = sub.add_parser("store", help="deck's own files: prune what nothing needs",
                           description="Snapshots, run folders and environments deck keeps.")
    ssub = store.add_subparsers(dest="store_command", metavar="COMMAND", required=True)
    p = ssub.add_parser(
        "prune", help="remove snapshots, runs and environments no kept run or runconfig needs",
        description="List (a dry run) or remove, with --yes, what no kept run and no run "
                    "configuration needs: runs over DURATION old (their folders under "
                    ".deck/runs with their history), snapshots and file contents of the "
                    "content store no kept run uses, and with --target the target's "
                    "environments (this project's images on its Docker Engine, or executor "
                    "venvs on a cluster's head node). Kept always: active runs (Queued, "
                    "Preparing, Running) and all they need, trials of unfinished sweeps, runs "
                    "named with --keep, and with no --older-than every run.")
    p.add_argument("--older-than", metavar="DURATION",
                   help="remove runs that ended longer ago than this (30d, 12h, 90m, 2w); "
                        "environments built longer ago than this may go too")
    p.add_argument("--keep", action="append", default=[], metavar="RUN",
                   help="keep this run whatever its age (repeatable)")
    p.add_argument("--target", metavar="NAME",
                   help="also prune the environments on this compute target, and on an SSH "
                        "target (with --older-than) the host's snapshot store: what no sync "
                        "used for that long")
    p.add_argument("-y", "--yes", action="store_true",
                   help="remove; without it nothing is removed (a dry run)")
    p.set_defaults(handler=prune)


def _rule(project, args):
    from launchdeck.core.errors import ConfigError
    from launchdeck.core.housekeeping.amounts import DURATION_EXAMPLES, parse_duration
    from launchdeck.core.housekeeping.keep import KeepRule

    older_than = None
    if args.older_than is not None:
        older_than = parse_duration(args.older_than)
        if older_than is None:
            raise ConfigError(f"--older-than must be {DURATION_EXAMPLES}, got "
                              f"{args.older_than!r}", field="--older-than")
    pinned = frozenset(project.history.find_run(ref).run_id for ref in args.keep)
    return KeepRule(older_than=older_than, pinned=pinned)


def show_plan(plan) -> None:
    from launchdeck.core.housekeeping.amounts import format_size

    if plan.items:
        print(f"{plan.where}:")
        print_table(("what", "name", "size", "detail"),
                    [(str(i.kind), i.name, format_size(i.size), i.detail) for i in plan.items])
    else:
        print(f"{plan.where}: nothing to remove")
    for note in plan.notes:
        print(f"  ({note})")


def _report(plans, failed: list[str], *, applied: bool) -> int:
    from launchdeck.core.housekeeping.amounts import format_size

    from launchdeck.core.housekeeping.localstore import plural

    items = sum(len(p.items) for p in plans)
    total = sum(p.total for p in plans)
    for line in failed:
        print(f"deck: not removed: {line}", file=sys.stderr)
    if not applied:
        print(f"Total: {format_size(total)} in {plural(items, 'item')}. "
              "Dry run: nothing removed; pass --yes to remove.")
        return 0
    if failed:
        print(f"Removed what could be of {plural(items, 'item')} ({format_size(total)}); "
              f"{len(failed)} not (above).")
        return 1
    print(f"Removed {plural(items, 'item')}: {format_size(total)} freed.")
    return 0


def prune(args) -> int:
    from launchdeck.core.housekeeping.localstore import apply_local, locked, plan_local

    project = project_of(args)
    rule = _rule(project, args)
    plans, failed = [], []
    if args.target:
        plan, failed = _prune_target(project, args.target, rule, apply=args.yes)
        plans.append(plan)
    with locked(project):
        local = plan_local(project, rule)
        show_plan(local)
        if args.yes:
            failed += apply_local(project, local)
    plans.append(local)
    return _report(plans, failed, applied=args.yes)


def _prune_target(project, name: str, rule, *, apply: bool):
    from launchdeck.core.housekeeping.environments import (plan_environments,
                                                           remove_environments)
    from launchdeck.core.targets.opened import run_with_target

    from launchdeck.core.housekeeping.localstore import split_runs

    compute = project.load_compute(name)
    kept = split_runs(project, rule).kept

    async def job(target):
        ask_ssh_passwords_on_terminal(target)
        plan = await plan_environments(project, target, compute, rule, kept)
        failed = await remove_environments(target, plan.items) if apply and plan.items else []
        await _host_store(target, rule, kept, plan, apply=apply)
        show_plan(plan)
        return plan, failed

    return run_with_target(project, compute, job)


async def _host_store(target, rule, kept, plan, *, apply: bool) -> None:
    """The SSH host's store mirror: by when a sync last used it, so only with an age."""
    from launchdeck.core.housekeeping.hoststore import prune_host_store
    from launchdeck.core.targets.capabilities import host_key_target

    ssh = host_key_target(target)
    if ssh is None:
        return
    if rule.older_than is None:
        plan.notes.append("the host's store is pruned only with --older-than (what no sync "
                          "used for that long)")
        return
    active = {run.snapshot for run in kept if run.status.is_active and run.target == target.name}
    items, note = await prune_host_store(await ssh.remote_host(), older_than=rule.older_than,
                                         keep=active, apply=apply)
    plan.items += items
    if note:
        plan.notes.append(note)
