"""``deck runs list|show|last|compare|download|delete|move``, ``deck logs`` and ``deck cancel``.

Every command that takes a run names it the one way ``core.history.runref`` defines: its id,
its run number, or a unique part of its id.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from launchdeck.cli.common import (confirm, format_duration, print_json, print_table, printable,
                        project_of, short_time)

RUN_HELP = "a run: its id, its run number, or a unique part of its id"
QUERY_HELP = ("a JMESPath expression applied to the JSON; a text result is printed bare, "
              "anything else as JSON")
#: How much room the table gives the last metric values.
METRICS_WIDTH = 48


def register(sub) -> None:
    runs = sub.add_parser("runs", help="list, show, compare, download and delete runs",
                          description="The project's run history.")
    rsub = runs.add_subparsers(dest="runs_command", metavar="COMMAND", required=True)

    p = rsub.add_parser("list", help="list runs, newest first")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--status", action="append", metavar="S",
                   help="only runs in this state (repeatable): Queued, Preparing, Running, "
                        "Completed, Failed, Canceled")
    p.add_argument("--target", metavar="NAME", help="only runs on this compute target")
    p.add_argument("--limit", type=int, metavar="N", help="at most N runs")
    p.add_argument("--sweep", metavar="SWEEP",
                   help="only the trials of this sweep (each run's \"tags\" hold its params)")
    p.add_argument("--query", metavar="EXPR",
                   help=QUERY_HELP + " (each run's \"metrics\" holds the last values), e.g. "
                        "\"max_by([?metrics.accuracy], &metrics.accuracy).run_id\"")
    p.set_defaults(handler=list_runs)

    p = rsub.add_parser("show", help="one run with its metrics and artifacts")
    p.add_argument("run_id", metavar="RUN", help=RUN_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--query", metavar="EXPR", help=QUERY_HELP)
    p.set_defaults(handler=show_run)

    p = rsub.add_parser("last", help="the most recently submitted run, as show prints it")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--query", metavar="EXPR", help=QUERY_HELP)
    p.set_defaults(handler=show_run, run_id=None)

    p = rsub.add_parser("download", help="copy a run's outputs, log and metrics to a folder",
                        description="Write DEST/outputs/..., DEST/output.log, "
                                    "DEST/metrics.json and DEST/run.json. DEST (default: a "
                                    "folder named after the run id, here) must not exist or "
                                    "be empty.")
    p.add_argument("run_id", metavar="RUN", help=RUN_HELP)
    p.add_argument("dest", metavar="DEST", nargs="?", help="the folder to write")
    p.set_defaults(handler=download_run)

    p = rsub.add_parser("delete", help="remove runs: their history, outputs and logs",
                        description="Remove runs from the history with their files. Asks "
                                    "first; a queued or running run must be canceled first.")
    p.add_argument("run_ids", metavar="RUN", nargs="+", help=RUN_HELP)
    p.add_argument("-y", "--yes", action="store_true", help="do not ask")
    p.set_defaults(handler=delete_runs)

    p = rsub.add_parser("move", help="move a queued run up or down its target's queue, or to "
                                     "the front",
                        description="Queued runs of a target take its slots in queue order "
                                    "(submit order until moved). Prints the queue after the "
                                    "move.")
    p.add_argument("run_id", metavar="RUN", help=RUN_HELP)
    p.add_argument("where", choices=("up", "down", "front"),
                   help="one place up (sooner), one down (later), or first in line")
    p.set_defaults(handler=move_run)

    p = rsub.add_parser("compare", help="runs side by side: config differences, last metrics")
    p.add_argument("run_ids", metavar="RUN", nargs="+", help=RUN_HELP)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=compare_runs)

    p = sub.add_parser("logs", help="print a run's output",
                       description="Print a run's output (stdout and stderr, as written).")
    p.add_argument("run_id", metavar="RUN", help=RUN_HELP)
    p.add_argument("-f", "--follow", action="store_true",
                   help="keep printing while the run goes; exit with its exit code")
    p.set_defaults(handler=show_logs)

    p = sub.add_parser("cancel", help="stop a queued or running run")
    p.add_argument("run_id", metavar="RUN", help=RUN_HELP)
    p.add_argument("--no-wait", action="store_true", help="return without waiting for it to stop")
    p.set_defaults(handler=cancel_run)


def list_runs(args) -> int:
    from launchdeck.core.runs.launcher import revive
    from launchdeck.core.runs.state import parse_state

    project = project_of(args)
    states = [parse_state(s) for s in args.status] if args.status else None
    if args.limit is not None and args.limit < 0:
        from launchdeck.core.errors import ConfigError

        raise ConfigError("--limit must be 0 or more", field="--limit")
    revive(project)
    sweep = None
    if args.sweep is not None:
        from launchdeck.core.sweeps.store import SweepStore

        sweep = SweepStore(project.deck_dir).get(args.sweep).sweep_id
    if args.query is not None:
        rows = project.history.list_runs_json(status=states, target=args.target,
                                              limit=args.limit, last_metrics=True, sweep=sweep)
        print_query(args.query, [json.loads(row) for row in rows])
        return 0
    if args.json:
        rows = project.history.list_runs_json(status=states, target=args.target,
                                              limit=args.limit, last_metrics=True, sweep=sweep)
        sys.stdout.write("[\n  " + ",\n  ".join(rows) + "\n]\n" if rows else "[]\n")
        return 0
    limit = args.limit if args.limit is not None else 50
    records = project.history.list_runs(status=states, target=args.target, limit=limit,
                                        sweep=sweep)
    last = project.history.last_metrics([r.run_id for r in records])
    waits = queue_waits_of(project, records)
    print_table(["#", "run id", "status", "target", "runconfig", "script", "created",
                 "duration", "metrics"],
                ([r.run_number, r.run_id,
                  f"{r.status} {waits[r.run_id].short}" if r.run_id in waits else r.status,
                  r.target, r.run_configuration, r.script,
                  short_time(r.created_utc), format_duration(r.duration_s),
                  metrics_cell(last.get(r.run_id, {}))] for r in records))
    return 0


def queue_waits_of(project, records) -> dict:
    """Why the queued runs among ``records`` wait (``core.runs.waiting``), with every queued
    run of their targets counted for their places in line."""
    from launchdeck.core.runs.state import RunState

    targets = {r.target for r in records if r.status is RunState.QUEUED}
    if not targets:
        return {}
    from launchdeck.core.runs.waiting import queue_waits

    queued = project.history.list_runs(status=[RunState.QUEUED])
    return queue_waits(project, [r for r in queued if r.target in targets])


def metrics_cell(values: dict) -> str:
    """``acc=0.9123 loss=0.25``: last values, shortened to fit a table cell."""
    parts = []
    for name, value in values.items():
        if isinstance(value, float):
            shown = f"{value:.4g}"
        elif isinstance(value, list):
            shown = f"[{len(value)}]"
        else:
            shown = str(value)
            shown = shown if len(shown) <= 16 else shown[:15] + "…"
        parts.append(f"{name}={shown}")
    text = " ".join(parts)
    return text if len(text) <= METRICS_WIDTH else text[:METRICS_WIDTH - 1] + "…"


def print_query(expression: str, data) -> None:
    """Apply a JMESPath expression; a text result is printed bare (ready for $(...))."""
    import jmespath
    from jmespath.exceptions import JMESPathError

    from launchdeck.core.errors import ConfigError

    try:
        result = jmespath.search(expression, data)
    except JMESPathError as exc:
        message = " ".join(str(exc).split())
        raise ConfigError(f"not a valid JMESPath expression: {message}",
                          field="--query") from exc
    if isinstance(result, str):
        sys.stdout.write(result + "\n")
    else:
        print_json(result)


def show_run(args) -> int:
    from launchdeck.core.runs.launcher import revive

    project = project_of(args)
    history = project.history
    run = history.find_run(args.run_id) if args.run_id is not None else history.last_run()
    revive(project, [run])
    run = history.get_run(run.run_id, details=True)
    from launchdeck.core.runs import skipped

    left_out = skipped.lines(project.run_dir(run.run_id))
    wait = queue_waits_of(project, [run]).get(run.run_id)
    extra = {**({"skipped": left_out} if left_out else {}),
             **({"waits": wait.reason} if wait is not None else {})}
    if args.query is not None:
        print_query(args.query, {**run.to_json(), **extra})
        return 0
    if args.json:
        print_json({**run.to_json(), **extra})
        return 0
    data = run.to_json()
    for key in ("run_id", "run_number", "status", "exit_code", "error", "target", "run_configuration",
                "script", "arguments", "created_utc", "start_time_utc", "end_time_utc",
                "duration_s", "snapshot", "external_id", "environment_id",
                "disconnected_since", "sweep_id"):
        value = data.get(key)
        if value in (None, "", []):
            continue
        print(f"{key + ':':22}{printable(value)}")
    if wait is not None:
        print(f"{'waits:':22}{printable(wait.reason)}")
    if run.tags:
        print("tags:")
        for name, value in run.tags.items():
            shown = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
            print(printable(f"  {name}: {shown}"))
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
    from launchdeck.core.history.runfile import output_log

    log = output_log(project.run_dir(run.run_id), run)  # a log that is gone is an error
    if args.follow:
        from launchdeck.cli.submit import stream_to_end

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

    from launchdeck.core.runs.control import request_cancel, wait_until_over
    from launchdeck.core.runs.keeper import CANCEL_GRACE_SECONDS

    project = project_of(args)
    run = project.history.find_run(args.run_id)
    request_cancel(project, run.run_id)
    if args.no_wait:
        print(f"Cancel requested for {run.run_id}")
        return 0
    run = asyncio.run(wait_until_over(project, run.run_id, CANCEL_GRACE_SECONDS + 20))
    print(f"Run {run.run_id}: {run.status}")
    return 0 if run.status.is_terminal else 1


def download_run(args) -> int:
    from launchdeck.core.history.download import download_run as download

    project = project_of(args)
    run = project.history.find_run(args.run_id)
    dest = Path(args.dest) if args.dest else Path.cwd() / run.run_id
    written = download(project, run, dest)
    print(f"Run {run.run_id} (#{run.run_number}): {len(written)} files in {dest}")
    if run.status.is_active:
        sys.stderr.write(f"note: the run is {run.status}; this is what it had so far\n")
    return 0


def delete_runs(args) -> int:
    from launchdeck.core.history.removal import check_deletable, delete_runs as delete

    project = project_of(args)
    runs = []
    for ref in args.run_ids:
        run = project.history.find_run(ref)
        if run.run_id not in {r.run_id for r in runs}:
            runs.append(run)
    check_deletable(runs)
    names = ", ".join(f"#{r.run_number} {r.run_id}" for r in runs)
    question = (f"Delete {len(runs)} run{'s' if len(runs) > 1 else ''} ({names}) with "
                "their outputs and logs?")
    if not confirm(question, yes=args.yes):
        print("Nothing deleted.")
        return 1
    delete(project, runs)
    print(f"Deleted {names}")
    return 0


def move_run(args) -> int:
    project = project_of(args)
    run = project.history.find_run(args.run_id)
    queue = project.history.move_in_queue(run.run_id, args.where)
    print(f"Queue of {run.target}, first to start first:")
    for place, run_id in enumerate(queue, start=1):
        print(f"  {place}. {run_id}{'  <- moved' if run_id == run.run_id else ''}")
    return 0
