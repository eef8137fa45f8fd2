"""``deck runs list|show|compare``, ``deck logs`` and ``deck cancel``."""

from __future__ import annotations

import sys

from cli.common import (format_duration, print_json, print_table, printable, project_of,
                        short_time)


def register(sub) -> None:
    runs = sub.add_parser("runs", help="list, show and compare runs",
                          description="The project's run history.")
    rsub = runs.add_subparsers(dest="runs_command", metavar="COMMAND", required=True)

    p = rsub.add_parser("list", help="list runs, newest first")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--status", action="append", metavar="S",
                   help="only runs in this state (repeatable): Queued, Preparing, Running, "
                        "Completed, Failed, Canceled")
    p.add_argument("--target", metavar="NAME", help="only runs on this compute target")
    p.add_argument("--limit", type=int, metavar="N", help="at most N runs")
    p.set_defaults(handler=list_runs)

    p = rsub.add_parser("show", help="one run with its metrics and artifacts")
    p.add_argument("run_id", metavar="RUN_ID", help="a run id, or an unambiguous part of one")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=show_run)

    p = rsub.add_parser("compare", help="runs side by side: config differences, last metrics")
    p.add_argument("run_ids", metavar="RUN_ID", nargs="+")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=compare_runs)

    p = sub.add_parser("logs", help="print a run's output",
                       description="Print a run's output (stdout and stderr, as written).")
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("-f", "--follow", action="store_true",
                   help="keep printing while the run goes; exit with its exit code")
    p.set_defaults(handler=show_logs)

    p = sub.add_parser("cancel", help="stop a queued or running run")
    p.add_argument("run_id", metavar="RUN_ID")
    p.add_argument("--no-wait", action="store_true", help="return without waiting for it to stop")
    p.set_defaults(handler=cancel_run)


def list_runs(args) -> int:
    from core.runs.launcher import revive
    from core.runs.state import parse_state

    project = project_of(args)
    states = [parse_state(s) for s in args.status] if args.status else None
    if args.limit is not None and args.limit < 0:
        from core.errors import ConfigError

        raise ConfigError("--limit must be 0 or more", field="--limit")
    revive(project)
    if args.json:
        rows = project.history.list_runs_json(status=states, target=args.target,
                                              limit=args.limit)
        sys.stdout.write("[\n" + ",\n".join("  " + row for row in rows) + "\n]\n"
                         if rows else "[]\n")
        return 0
    limit = args.limit if args.limit is not None else 50
    records = project.history.list_runs(status=states, target=args.target, limit=limit)
    print_table(["run id", "status", "target", "runconfig", "script", "created", "duration"],
                ([r.run_id, r.status, r.target, r.run_configuration, r.script,
                  short_time(r.created_utc), format_duration(r.duration_s)] for r in records))
    return 0


def show_run(args) -> int:
    from core.runs.launcher import revive

    project = project_of(args)
    run = project.history.find_run(args.run_id)
    revive(project, [run])
    run = project.history.get_run(run.run_id, details=True)
    from core.runs import skipped

    left_out = skipped.lines(project.run_dir(run.run_id))
    if args.json:
        print_json({**run.to_json(), **({"skipped": left_out} if left_out else {})})
        return 0
    data = run.to_json()
    for key in ("run_id", "status", "exit_code", "error", "target", "run_configuration",
                "script", "arguments", "created_utc", "start_time_utc", "end_time_utc",
                "duration_s", "snapshot", "external_id", "environment_id",
                "disconnected_since"):
        value = data.get(key)
        if value in (None, "", []):
            continue
        print(f"{key + ':':22}{printable(value)}")
    if run.metrics:
        print("metrics:")
        for name, values in run.metrics.items():
            shown = values[-1] if len(values) == 1 else f"{values[-1]}  ({len(values)} values)"
            print(printable(f"  {name}: {shown}"))
    if run.artifacts:
        print("artifacts:")
        for path in run.artifacts:
            print(f"  {printable(path)}")
    if left_out:
        print("skipped:")
        for line in left_out:
            print(f"  {printable(line)}")
    return 0


def compare_runs(args) -> int:
    project = project_of(args)
    runs = [project.history.find_run(r) for r in args.run_ids]
    ids = [r.run_id for r in runs]
    keys = sorted({k for r in runs for k in r.config} | {"script"})
    config = {k: [(r.script if k == "script" else r.config.get(k)) for r in runs] for k in keys}
    differences = [k for k, values in config.items() if len({repr(v) for v in values}) > 1]
    last = project.history.last_metrics(ids)
    metric_names = sorted({name for values in last.values() for name in values})
    metrics = {name: [last[i].get(name) for i in ids] for name in metric_names}
    if args.json:
        print_json({"runs": [r.to_json() for r in runs], "config": config,
                    "config_differences": differences, "metrics": metrics})
        return 0
    print_table(["", *ids], [["status", *[r.status for r in runs]],
                             ["duration", *[format_duration(r.duration_s) for r in runs]]])
    print()
    if differences:
        print("Config differences:")
        print_table(["setting", *ids], ([k, *config[k]] for k in differences))
    else:
        print("Config: identical")
    print()
    if metrics:
        print("Last metric values:")
        print_table(["metric", *ids], ([n, *metrics[n]] for n in metric_names))
    return 0


def show_logs(args) -> int:
    project = project_of(args)
    run = project.history.find_run(args.run_id)
    from core.history.runfile import output_log

    log = output_log(project.run_dir(run.run_id), run)  # a log that is gone is an error
    if args.follow:
        from cli.submit import stream_to_end

        return stream_to_end(project, run.run_id)
    out = sys.stdout.buffer
    if log is not None:
        with open(log, "rb") as f:
            while chunk := f.read(1 << 20):
                out.write(chunk)
    out.flush()
    return 0


def cancel_run(args) -> int:
    import asyncio

    from core.runs.control import request_cancel, wait_until_over
    from core.runs.keeper import CANCEL_GRACE_SECONDS

    project = project_of(args)
    run = project.history.find_run(args.run_id)
    request_cancel(project, run.run_id)
    if args.no_wait:
        print(f"Cancel requested for {run.run_id}")
        return 0
    run = asyncio.run(wait_until_over(project, run.run_id, CANCEL_GRACE_SECONDS + 20))
    print(f"Run {run.run_id}: {run.status}")
    return 0 if run.status.is_terminal else 1
