"""Submit a script: check its configs, snapshot the project, queue the run, start its keeper
(now if its target has a free slot, else when one frees: ``core.runs.dispatch``)."""

from __future__ import annotations

import time
from pathlib import Path

from launchdeck.core.errors import (ConfigError, HistoryError, ProjectError, RunExists,
                                    SnapshotError)
from launchdeck.core.history.records import RunRecord, utc_now
from launchdeck.core.project import Project
from launchdeck.core.runs.runspec import (applicable_options, live_resolver, load_configs,
                               split_argument_vector)
from launchdeck.core.runs.state import RunState


def script_arguments(argument_vector: tuple[str, ...], script: str,
                     extra: tuple[str, ...]) -> tuple[str, ...]:
    """The script's arguments: the runconfig's ArgumentVector after ``$file`` (see
    ``split_argument_vector``; the entries before it are interpreter options), then those given
    to submit.
    """
    from launchdeck.core.runs.runspec import split_argument_vector

    return split_argument_vector(argument_vector, script)[1] + tuple(extra)


def submit(project: Project, runconfig_name: str, script: str,
           arguments: tuple[str, ...] = (), *, start: bool = True,
           on_warning=None, overrides: "SubmitOverrides | None" = None) -> RunRecord:
    """Queue a run of ``script`` with ``runconfig_name``; return its history record.

    ``on_warning(line)`` is told what the run's config files hold that deck does not use
    (unknown keys, Workbench keys it does not implement, tabs); the run goes all the same.
    ``overrides`` replace the runconfig's Target and dependency files for this run only
    (Workbench's ``submit -t/-d/-s``); the run records them, so a rerun keeps them.
    """
    return _enqueue(project, start,
                    lambda seed: _queue(project, runconfig_name, script, arguments, seed,
                                        on_warning, overrides))


def resubmit(project: Project, run_id: str, *, start: bool = True) -> RunRecord:
    """Queue ``run_id`` again: the same snapshot, script, arguments and configuration.

    Nothing is read from the live project: the keeper loads the run configuration and compute
    target from the snapshot, so code or configs edited since do not enter the new run.
    """
    def queue(seed):
        from launchdeck.core.snapshot.lock import store_lock

        with store_lock(project.store.root, exclusive=False):  # see _queue
            return requeue()

    def requeue():
        old = project.history.get_run(run_id)
        entries = {e.path for e in project.store.manifest(old.snapshot)}
        for rel in (f"aml_config/{old.run_configuration}.runconfig",
                    f"aml_config/{old.target}.compute", old.script):
            if rel not in entries:
                raise SnapshotError(f"run {run_id}: its snapshot lacks {rel}, so it cannot "
                                    "run again")
        fresh = RunRecord(run_id="", status=RunState.QUEUED, target=old.target,
                          run_configuration=old.run_configuration, script=old.script,
                          arguments=old.arguments, framework=old.framework,
                          snapshot=old.snapshot, config=old.config, created_utc="")
        return _insert_with_fresh_id(project, fresh), None

    return _enqueue(project, start, queue)


def _enqueue(project: Project, start: bool, queue) -> RunRecord:
    """Insert a Queued run with ``queue(seed) -> (record, parsed configs)``; start its keeper if
    its target has a free slot, else it waits in history (``core.runs.dispatch``)."""
    from launchdeck.core.runs.dispatch import SeededRun, dispatch
    from launchdeck.core.runs.launcher import KeeperSeed, can_fork

    # Fork the keeper first, before history is opened: it warms up while we snapshot. What
    # both processes use is imported before the fork, once, rather than once in each.
    seed = None
    if start and can_fork():
        _import_shared()
        seed = KeeperSeed(project)
    try:
        record, parsed = queue(seed)
    except BaseException:
        if seed is not None:
            seed.abandon()
        raise
    if not start:
        return record
    dispatch(project, record.target,
             SeededRun(record.run_id, seed, parsed) if seed is not None else None)
    return project.history.get_run(record.run_id)


#: Modules a submit imports in any case that its keeper needs as well: the classes of the
#: parsed configs it is handed, history, the content store, the target registry, pickle.
SHARED_WITH_KEEPER = (
    "pickle", "launchdeck.core.config.runconfig", "launchdeck.core.config.compute",
    "launchdeck.core.config.conda", "launchdeck.core.config.spark",
    "launchdeck.core.history.store", "launchdeck.core.snapshot.store",
    "launchdeck.core.targets.registry", "launchdeck.core.diskerrors")


def _import_shared() -> None:
    """Import ``SHARED_WITH_KEEPER`` now: a keeper forked afterwards inherits them (importing
    them in both processes was a third of the keeper's start-up)."""
    import importlib

    for name in SHARED_WITH_KEEPER:
        importlib.import_module(name)


def _queue(project: Project, runconfig_name: str, script: str, arguments: tuple[str, ...],
           seed=None, on_warning=None, overrides: "SubmitOverrides | None" = None):
    from launchdeck.core.runs import configcache

    cacheable = overrides is None or overrides.empty
    kept = configcache.load(project, runconfig_name) if cacheable else None
    if kept is not None:
        configs, warnings = kept
    else:
        configs = _load_configs(project, runconfig_name, overrides)
        from launchdeck.core.config.report import format_warnings, warnings_for

        warnings = format_warnings(warnings_for(configs.runconfig, configs.compute,
                                                configs.env.conda, configs.env.spark))
    if on_warning is not None:
        for line in warnings:
            on_warning(line)
    if seed is not None:
        from launchdeck.core.targets.registry import target_module

        seed.warm([m for m in (target_module(configs.compute.type),) if m])
        from launchdeck.core.remote.targethost import warm_link

        warm_link(configs.compute)  # the host's link connects while we snapshot too
    script_rel = _check_submittable(project, configs, script)
    from launchdeck.core.snapshot.lock import store_lock

    # Taken once the input is known good (bad input leaves every file as it was); shared
    # with other submits: a prune waits until the run that needs the snapshot is in history.
    with store_lock(project.store.root, exclusive=False):
        # The run's own configs are in its snapshot whatever .gitignore/.amlignore say.
        snapshot = _snapshot_holding(project, script, script_rel,
                                     _kept_configs(project, configs))
        record = _queued_record(configs, snapshot.fingerprint, script_rel, arguments)
        record = _insert_with_fresh_id(project, record)
    if snapshot.warnings:  # what the snapshot left out goes in the run's log and runs show
        from launchdeck.core.runs import skipped

        run_dir = project.run_dir(record.run_id)
        run_dir.mkdir(parents=True, exist_ok=True)
        with open(run_dir / "output.log", "ab") as log:
            log.write(skipped.record(run_dir, "snapshot", snapshot.warnings).encode())
    from launchdeck.core.runs.runspec import snapshot_holds

    # The keeper may reuse the parsed configs only if the snapshot holds those very bytes (a
    # file edited during the submit makes the keeper read the snapshot's own).
    parsed = configs if snapshot_holds(project, snapshot.fingerprint, configs) else None
    if kept is None and cacheable:  # kept only once a run was queued: a refusal writes nothing
        configcache.store(project, runconfig_name, configs, warnings)
    return record, parsed


def _check_submittable(project: Project, configs, script: str) -> str:
    """Refuse now what would fail the run when it starts; the script's path in the project."""
    # Interpreter options a target cannot apply are refused now, not when the run starts.
    applicable_options(configs, split_argument_vector(configs.runconfig.argument_vector,
                                                      script)[0])
    from launchdeck.core.config.secrets import check_secrets, resolve_environment

    check_secrets(configs.compute)
    # A missing secret, or variables no process can be given, fail the submit, not the run.
    from launchdeck.core.config.runconfig import ENV, environment_problem

    problem = environment_problem(resolve_environment(configs.runconfig))
    if problem:
        raise configs.runconfig.field_error(ENV, f"{problem}; the run was not queued")
    script_path = project.inside(script)
    if not script_path.is_file():
        raise ProjectError(f"{script}: no such file")
    return script_path.relative_to(project.root).as_posix()


def _snapshot_holding(project: Project, script: str, script_rel: str, kept: frozenset[str]):
    snapshot = project.store.snapshot(project.root, keep=kept)
    if script_rel not in {e.path for e in project.store.manifest(snapshot.fingerprint)}:
        raise ProjectError(f"{script}: excluded from the project's snapshot by .gitignore or "
                           ".amlignore, so a run cannot execute it")
    return snapshot


def _queued_record(configs, fingerprint: str, script_rel: str,
                   arguments: tuple[str, ...]) -> RunRecord:
    return RunRecord(
        run_id="", status=RunState.QUEUED, target=configs.compute.name,
        run_configuration=configs.runconfig.name, script=script_rel,
        arguments=script_arguments(configs.runconfig.argument_vector, script_rel, arguments),
        framework=str(configs.runconfig.framework), snapshot=fingerprint,
        config=_config_summary(configs), created_utc="")


def trial_templates(project: Project, runconfig_name: str, script: str,
                    arguments: tuple[str, ...], *, targets: tuple[str, ...] = (),
                    on_warning=None) -> list[RunRecord]:
    """One Queued record per target (the runconfig's own Target when ``targets`` is empty),
    every one on the same snapshot, checked as ``submit`` checks a run; nothing is queued.

    A sweep (``core.sweeps``) fills in each trial's arguments and tags and queues it with
    ``queue_prepared``: all its trials run the project as it was when the sweep began.
    """
    loaded = []
    for target in targets or (None,):
        overrides = SubmitOverrides(target=target) if target else None
        configs = _load_configs(project, runconfig_name, overrides)
        if on_warning is not None:
            from launchdeck.core.config.report import format_warnings, warnings_for

            for line in format_warnings(warnings_for(configs.runconfig, configs.compute,
                                                     configs.env.conda, configs.env.spark)):
                on_warning(line)
        loaded.append(configs)
    script_rel = ""
    for configs in loaded:
        script_rel = _check_submittable(project, configs, script)
    kept = frozenset().union(*(_kept_configs(project, configs) for configs in loaded))
    from launchdeck.core.snapshot.lock import store_lock

    # Until the sweep names it, only its age keeps a prune off it (core.housekeeping).
    with store_lock(project.store.root, exclusive=False):
        snapshot = _snapshot_holding(project, script, script_rel, kept)
    return [_queued_record(configs, snapshot.fingerprint, script_rel, arguments)
            for configs in loaded]


def queue_prepared(project: Project, record: RunRecord) -> RunRecord:
    """Queue a record made by ``trial_templates``; its keeper starts when it gets a slot.

    The keeper is always a fresh interpreter here: the caller (a sweep's owner) has history
    open, and a process forked with an open SQLite connection must not use the database.
    """
    from launchdeck.core.runs.dispatch import dispatch

    record = _insert_with_fresh_id(project, record)
    dispatch(project, record.target)
    return project.history.get_run(record.run_id)


def _load_configs(project: Project, runconfig_name: str,
                  overrides: "SubmitOverrides | None"):
    """Parse and check the run's configs from the live project (see ``runspec.load_configs``)."""
    runconfig_path = project.runconfig_path(runconfig_name)
    if not runconfig_path.is_file():
        project.load_runconfig(runconfig_name)  # raises the clear "no such runconfig" error
    from launchdeck.core.config.runconfig import load_runconfig

    runconfig = load_runconfig(runconfig_path)
    if overrides is not None:
        runconfig = overrides.apply(project, runconfig)
    target = runconfig.target
    compute_path = project.compute_path(target)
    if not compute_path.is_file():
        known = ", ".join(project.compute_names()) or "none"
        if overrides is not None and overrides.target:
            raise ConfigError(f"no compute target {target!r} (aml_config/{target}.compute "
                              f"does not exist; targets: {known})", field="--target")
        raise ConfigError(f"Target {target!r} names no compute target "
                          f"(aml_config/{target}.compute does not exist; targets: {known})",
                          file=str(runconfig_path), field="Target")
    return load_configs(project, runconfig_path=runconfig_path, compute_path=compute_path,
                        resolve=live_resolver(project), runconfig=runconfig)


def _kept_configs(project: Project, configs) -> frozenset[str]:
    """The run's config files, and the files they link to inside the project."""
    import os

    kept = set(configs.sources)
    root = str(project.root)
    for rel in configs.sources:
        real = os.path.realpath(project.root / rel)
        if real.startswith(root + os.sep):
            kept.add(Path(os.path.relpath(real, root)).as_posix())
    return frozenset(kept)


class SubmitOverrides:
    """What ``deck submit -t/-d/-s`` changes of a runconfig for one run."""

    def __init__(self, *, target: str | None = None, conda_file: str | None = None,
                 spark_file: str | None = None) -> None:
        self.target = target
        self.conda_file = conda_file
        self.spark_file = spark_file

    @property
    def empty(self) -> bool:
        """Nothing is overridden: the runconfig is used as it is."""
        return not (self.target or self.conda_file or self.spark_file)

    def apply(self, project: Project, runconfig):
        from dataclasses import replace

        changes = {}
        if self.target:
            changes["target"] = self.target
        for field, flag, value in (("conda_dependencies_file", "--conda-dependencies",
                                    self.conda_file),
                                   ("spark_dependencies_file", "--spark-dependencies",
                                    self.spark_file)):
            if value:
                path = project.inside(value)
                if not path.is_file():
                    raise ConfigError(f"{value}: no such file", field=flag)
                changes[field] = path.relative_to(project.root).as_posix()
        return replace(runconfig, **changes) if changes else runconfig



def _insert_with_fresh_id(project: Project, record: RunRecord) -> RunRecord:
    from dataclasses import replace

    # Workbench's id shape: <project>_<milliseconds>; bump on a collision within a millisecond.
    stamp = int(time.time() * 1000)
    for attempt in range(50):
        candidate = replace(record, run_id=f"{project.name}_{stamp + attempt}",
                            created_utc=utc_now())
        try:
            project.history.insert_run(candidate)
            return candidate
        except RunExists:  # only a taken id means "try the next one"; a full disk does not
            continue
    raise HistoryError("could not find a free run id")


def _config_summary(configs) -> dict:
    """What ``runs compare`` shows side by side: the effective settings of a run."""
    rc, compute = configs.runconfig, configs.compute
    summary = {
        "Target": compute.name,
        "type": str(compute.type),
        "Framework": str(rc.framework),
        "ArgumentVector": list(rc.argument_vector),
        "PrepareEnvironment": rc.prepare_environment,
        "TrackedRun": rc.tracked_run,
        "CondaDependenciesFile": rc.conda_dependencies_file,
        "SparkDependenciesFile": rc.spark_dependencies_file,
    }
    for name, value in sorted(rc.environment_variables.items()):
        summary[f"env.{name}"] = value
    for key in ("base_docker_image", "address", "python_location"):
        value = getattr(compute, key, None)
        if value:
            summary[key] = value
    return summary
