"""``deck submit``: queue a run and stream its output."""

from __future__ import annotations

import argparse
import sys

from launchdeck.cli.common import format_duration, project_of


def register(sub) -> None:
    p = sub.add_parser(
        "submit", help="run a script with a run configuration",
        description="Snapshot the project, queue a run of SCRIPT with the run configuration, "
                    "and stream its output. Exits with the script's exit code. Ctrl-C detaches "
                    "(the run goes on).")
    p.add_argument("-c", "--run-configuration", required=True, metavar="RUNCONFIG",
                   help="name of aml_config/RUNCONFIG.runconfig")
    # Workbench's flags: -a/--async, -t/--target, -d/--conda-dependencies,
    # -s/--spark-dependencies. -d is a conda file there, so detach has no -d here.
    p.add_argument("-a", "--async", "--detach", dest="detach", action="store_true",
                   help="print the run id and return at once")
    p.add_argument("-t", "--target", metavar="NAME",
                   help="run on this compute target instead of the runconfig's Target")
    p.add_argument("-d", "--conda-dependencies", metavar="FILE",
                   help="use this conda dependencies file instead of the runconfig's")
    p.add_argument("-s", "--spark-dependencies", metavar="FILE",
                   help="use this Spark dependencies file instead of the runconfig's")
    p.add_argument("script", help="the script to run (a file of the project)")
    p.add_argument("arguments", nargs=argparse.REMAINDER,
                   help="arguments passed to the script after the runconfig's ArgumentVector")
    p.set_defaults(handler=run)

    p = sub.add_parser(
        "rerun", help="run a past run again, from its own snapshot and configuration",
        description="Queue RUN_ID again with the same snapshot, script, arguments, run "
                    "configuration and compute target as it had, whatever changed in the "
                    "project since, and stream its output like submit.")
    p.add_argument("run_id", metavar="RUN",
                   help="a run: its id, its run number, or a unique part of its id")
    p.add_argument("-a", "--async", "--detach", dest="detach", action="store_true",
                   help="print the new run id and return at once")
    p.set_defaults(handler=rerun)


def rerun(args) -> int:
    from launchdeck.core.runs.submit import resubmit

    project = project_of(args)
    record = resubmit(project, project.history.find_run(args.run_id).run_id)
    print(f"RunId: {record.run_id}", flush=True)
    if args.detach:
        return 0
    return stream_to_end(project, record.run_id, dispatched=True)


def run(args) -> int:
    from launchdeck.core.runs.submit import SubmitOverrides, submit

    project = project_of(args)
    overrides = SubmitOverrides(target=args.target, conda_file=args.conda_dependencies,
                                spark_file=args.spark_dependencies)
    record = submit(project, args.run_configuration, args.script, tuple(args.arguments),
                    overrides=overrides,
                    on_warning=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"RunId: {record.run_id}", flush=True)
    if record.config and record.config.get("TrackedRun") is False:
        # Workbench kept no history for such runs; deck keeps every run (its snapshot is what
        # makes it reproducible), so say so rather than ignore the setting silently.
        sys.stderr.write(f"note: {args.run_configuration}.runconfig sets TrackedRun: false; "
                         "deck records every run in the history all the same\n")
    if args.detach:
        return 0
    return stream_to_end(project, record.run_id, dispatched=True)


def stream_to_end(project, run_id: str, offset: int = 0, *, dispatched: bool = False) -> int:
    """Copy the run's output to stdout until it ends; return the exit code deck should give.

    ``dispatched``: the run was just queued and its target dispatched (a submit)."""
    from launchdeck.core.runs.control import follow_output_blocking

    out = sys.stdout.buffer
    try:
        for chunk in follow_output_blocking(project, run_id, offset, dispatched=dispatched):
            out.write(chunk)
            out.flush()
    except KeyboardInterrupt:
        sys.stderr.write(
            f"\nDetached from run {run_id}; it keeps running.\n"
            f"  follow it again: deck logs {run_id} -f\n"
            f"  cancel it:       deck cancel {run_id}\n")
        return 130
    run = project.history.get_run(run_id)
    summary = f"Run {run_id}: {run.status}"
    if run.duration_s is not None:
        summary += f" after {format_duration(run.duration_s)}"
    if run.error and run.status != "Completed":
        summary += f" ({run.error})"
    sys.stderr.write(summary + "\n")
    if run.exit_code is not None:
        return run.exit_code
    return 0 if run.status == "Completed" else 1
