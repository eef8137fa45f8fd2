"""``deck sweep``: search a script's arguments, each trial a run; ``deck sweep
status|cancel|resume|list``."""

from __future__ import annotations

import argparse
import sys

from launchdeck.cli.common import print_json, print_table, project_of

SUBCOMMANDS = ("status", "cancel", "resume", "list")
DESCRIPTION = """\
Run SCRIPT once per point of a search space, each trial an ordinary run (one snapshot of the
project for all), on one or more targets, and keep the best. The space comes from flags
(--grid, --param) or aml_config/NAME.sweep (--sweep-file NAME); flags win. The sweep goes on
in its own process after this command ends.

  deck sweep -c local --grid lr=0.01,0.1,0.3 --grid epochs=3,5 --maximize accuracy train.py
  deck sweep -c local --random 20 --seed 7 --param "lr=loguniform(1e-4,1e-1)" \\
      --param "layers=randint(1,4)" --minimize loss --stop median train.py
  deck sweep status sweep1 | cancel sweep1 | resume sweep1 | list
"""


def register(sub) -> None:
    p = sub.add_parser("sweep", help="run a script over a search space of its arguments",
                       description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-c", "--run-configuration", metavar="RUNCONFIG",
                   help="name of aml_config/RUNCONFIG.runconfig")
    p.add_argument("-f", "--sweep-file", metavar="NAME",
                   help="read aml_config/NAME.sweep (the space and any setting below)")
    p.add_argument("--grid", action="append", default=[], metavar="NAME=V1,V2",
                   help="a parameter's values (repeatable; a grid tries every combination)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=SPEC",
                   help="a parameter: values, or uniform(a,b), loguniform(a,b), randint(a,b), "
                        "choice(a,b,c) (repeatable)")
    p.add_argument("--search", choices=("grid", "random", "tpe"),
                   help="how trials are chosen (default: grid when every parameter is a list)")
    p.add_argument("--random", type=int, metavar="N", help="random search of N trials")
    p.add_argument("--trials", type=int, metavar="N", help="how many trials (random, tpe)")
    p.add_argument("--seed", type=int, metavar="N", help="the same seed repeats the trials")
    p.add_argument("--maximize", metavar="METRIC", help="the metric to make largest")
    p.add_argument("--minimize", metavar="METRIC", help="the metric to make smallest")
    p.add_argument("--env", action="store_true", default=None,
                   help="give parameters as environment variables, not --NAME VALUE")
    p.add_argument("--targets", metavar="T1,T2",
                   help="compute targets to spread trials over (default: the runconfig's)")
    p.add_argument("--parallel", type=int, metavar="N",
                   help="at most N trials at once in all (default: the targets' slots)")
    p.add_argument("--stop", metavar="RULE",
                   help="stop losing trials early: median, bandit:SLACK (e.g. bandit:0.1)")
    p.add_argument("--max-trials", type=int, metavar="N", help="at most N trials")
    p.add_argument("--max-duration", metavar="TIME", help="end the sweep after 90s, 10m, 2h")
    p.add_argument("--goal", type=float, metavar="VALUE",
                   help="end the sweep when a trial's objective reaches VALUE")
    p.add_argument("-a", "--detach", action="store_true",
                   help="print the sweep id and return at once")
    p.add_argument("--json", action="store_true", help="(status, list) print JSON")
    p.add_argument("script", metavar="SCRIPT", help="the script, or status|cancel|resume|list")
    p.add_argument("arguments", nargs=argparse.REMAINDER,
                   help="arguments for the script (before each trial's parameters); for a "
                        "subcommand, the sweep")
    p.set_defaults(handler=run)


def run(args) -> int:
    if args.script in SUBCOMMANDS and args.run_configuration is None:
        return _subcommand(args)
    from launchdeck.core.errors import ConfigError
    from launchdeck.core.sweeps.control import begin
    from launchdeck.core.sweeps.definition import define

    if args.run_configuration is None:
        raise ConfigError("a sweep needs a run configuration: -c RUNCONFIG", field="-c")
    project = project_of(args)
    settings = _settings(args, project)
    definition = define(settings)
    sweep = begin(project, definition, args.run_configuration, args.script,
                  tuple(args.arguments), source=args.sweep_file,
                  on_warning=lambda line: print(line, file=sys.stderr, flush=True))
    d = sweep.definition
    print(f"SweepId: {sweep.sweep_id}", flush=True)
    print(f"{d.search} search, {d.trials} trials on {', '.join(sweep.targets)} (seed {d.seed})",
          flush=True)
    if args.detach:
        return 0
    return _follow(project, sweep.sweep_id)


def _settings(args, project):
    from launchdeck.core.sweeps.definition import SearchKind, SweepSettings, parse_duration
    from launchdeck.core.sweeps.space import parse_assignment
    from launchdeck.core.sweeps.sweepfile import load_sweep_file, sweep_path

    parameters = [parse_assignment(text, flag="--grid") for text in args.grid]
    parameters += [parse_assignment(text, flag="--param") for text in args.param]
    search = SearchKind(args.search) if args.search else None
    trials = args.trials
    if args.random is not None:
        search, trials = SearchKind.RANDOM, trials or args.random
    flags = SweepSettings(
        parameters=tuple(parameters), search=search, trials=trials, seed=args.seed,
        maximize=args.maximize, minimize=args.minimize, stop=args.stop,
        max_trials=args.max_trials,
        max_duration=parse_duration(args.max_duration, field="--max-duration")
        if args.max_duration else None,
        goal=args.goal,
        targets=tuple(t.strip() for t in args.targets.split(",") if t.strip())
        if args.targets else (),
        parallel=args.parallel, env=args.env)
    if args.sweep_file is None:
        return flags
    return flags.over(load_sweep_file(sweep_path(project.config_dir, args.sweep_file)))


def _subcommand(args) -> int:
    parser = argparse.ArgumentParser(prog=f"deck sweep {args.script}")
    if args.script != "list":
        parser.add_argument("sweep", metavar="SWEEP", help="a sweep: sweep3, or 3")
    parser.add_argument("--json", action="store_true", default=args.json)
    sub = parser.parse_args(args.arguments)
    project = project_of(args)
    if args.script == "list":
        return _list(project, sub.json)
    from launchdeck.core.sweeps import control

    if args.script == "status":
        return _status(control.progress(project, sub.sweep), sub.json)
    if args.script == "resume":
        status = control.resume(project, sub.sweep)
        print(f"Sweep {sub.sweep}: resumed (owner {status.owner_pid})")
        return 0
    control.cancel(project, sub.sweep)
    from launchdeck.core.sweeps.store import SweepStore

    store = SweepStore(project.deck_dir)
    sweep_id = store.get(sub.sweep).sweep_id
    status = _wait(lambda: store.status(sweep_id).state != "Running", 60)
    print(f"Sweep {sweep_id}: {store.status(sweep_id).state}")
    return 0 if status else 1


def _wait(condition, timeout: float) -> bool:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _list(project, as_json: bool) -> int:
    from launchdeck.core.sweeps.control import progress
    from launchdeck.core.sweeps.store import SweepStore

    found = [progress(project, sweep_id, revive=False)
             for sweep_id in SweepStore(project.deck_dir).ids()]
    if as_json:
        print_json([{k: v for k, v in p.to_json().items() if k != "trials"} for p in found])
        return 0
    print_table(["sweep", "state", "search", "script", "trials", "best"],
                ([p.sweep.sweep_id, p.status.state, p.sweep.definition.search, p.sweep.script,
                  f"{len(p.trials)}/{p.sweep.definition.trials}",
                  _value(p.best.value) if p.best else ""] for p in found))
    return 0


def _status(progress, as_json: bool) -> int:
    if as_json:
        print_json(progress.to_json())
        return 0
    sweep, d = progress.sweep, progress.sweep.definition
    reason = f" ({progress.status.reason})" if progress.status.reason else ""
    owner = "" if progress.status.state != "Running" else (
        "  owner running" if progress.owner_alive else "  owner gone")
    print(f"Sweep {sweep.sweep_id}: {progress.status.state}{reason}{owner}")
    goal = f"{'maximize' if d.maximize else 'minimize'} {d.metric}" if d.metric else "no metric"
    print(f"  {sweep.script} with {sweep.runconfig}; {d.search} search (seed {d.seed}); "
          f"{goal}; stop: {d.stop or 'none'}")
    print(f"  trials: {len(progress.trials)} of {d.trials}")
    if progress.best is not None:
        b = progress.best
        print(f"  best: trial {b.index}, run #{b.run.run_number} {b.run.run_id}: "
              f"{d.metric}={_value(b.value)}  {_params(b.params)}")
    print()
    names = [p.name for p in d.parameters]
    rows = sorted(progress.trials, key=lambda t: _rank(t, d.maximize))
    print_table(["trial", "#", "status", "target", *names, d.metric or "value", "stopped"],
                ([t.index, t.run.run_number, t.run.status, t.run.target,
                  *[_value(t.params.get(n)) for n in names], _value(t.value), t.stopped or ""]
                 for t in rows))
    return 0


def _rank(trial, maximize: bool):
    """Completed trials by their objective, best first; then the rest in trial order."""
    if trial.value is None or trial.run.status != "Completed":
        return (1, 0.0, trial.index)
    return (0, -trial.value if maximize else trial.value, trial.index)


def _value(value) -> str:
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _params(params: dict) -> str:
    return " ".join(f"{k}={_value(v)}" for k, v in params.items())


def _follow(project, sweep_id: str) -> int:
    """Print each trial's start and end until the sweep ends; ctrl+c leaves it running."""
    import time

    from launchdeck.core.sweeps.control import progress

    seen: dict[str, str] = {}
    try:
        while True:
            p = progress(project, sweep_id, revive=False)
            for t in p.trials:
                state = str(t.run.status)
                if seen.get(t.run.run_id) != state:
                    seen[t.run.run_id] = state
                    extra = f" {p.sweep.definition.metric}={_value(t.value)}" \
                        if t.run.status.is_terminal and t.value is not None else ""
                    why = f" ({t.stopped})" if t.stopped and t.run.status.is_terminal else ""
                    print(f"trial {t.index} run #{t.run.run_number}: {state}{extra}"
                          f"  {_params(t.params)}{why}", flush=True)
            if p.status.state != "Running":
                print(f"Sweep {sweep_id}: {p.status.state} ({p.status.reason})", flush=True)
                if p.best is not None:
                    print(f"Best: trial {p.best.index}, run #{p.best.run.run_number} "
                          f"{p.best.run.run_id}: {_value(p.best.value)}  "
                          f"{_params(p.best.params)}", flush=True)
                return 0 if p.status.state == "Completed" else 1
            time.sleep(0.5)
    except KeyboardInterrupt:
        sys.stderr.write(f"\nDetached from sweep {sweep_id}; it goes on.\n"
                         f"  see it:    deck sweep status {sweep_id}\n"
                         f"  cancel it: deck sweep cancel {sweep_id}\n")
        return 130
