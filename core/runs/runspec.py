"""Rebuild what a target needs for a run from history and the run's own snapshot.

Configs are read from the snapshot taken at submit time, never from the live project, so editing
``aml_config/`` while a run waits in the queue does not change it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Callable

from launchdeck.core.targets.base import EnvironmentSpec, Framework, RunSpec

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.config.runconfig import RunConfiguration
    from launchdeck.core.history.records import RunRecord
    from launchdeck.core.project import Project


@dataclass(frozen=True)
class RunConfigs:
    runconfig: "RunConfiguration"
    compute: "ComputeConfig"
    env: EnvironmentSpec
    #: project-relative path -> sha256 of the bytes parsed, to tell whether a snapshot holds
    #: exactly these files (then a forked keeper may reuse the parsed configs).
    sources: dict[str, str]


def load_configs(project: "Project", *, runconfig_path: Path, compute_path: Path,
                 resolve: Callable[[str], Path | None],
                 runconfig: "RunConfiguration | None" = None) -> RunConfigs:
    """Load and check a runconfig, its compute target and dependency files.

    ``resolve`` maps a project-relative path to the file to read (the live project at submit
    time, the snapshot's blob in the keeper), or None when the file is absent.
    """
    from launchdeck.core.config.compute import load_compute
    from launchdeck.core.config.conda import load_conda
    from launchdeck.core.config.runconfig import load_runconfig
    from launchdeck.core.config.spark import load_spark

    runconfig = runconfig or load_runconfig(runconfig_path)
    compute = load_compute(compute_path)
    if runconfig.user_managed_environment is not None:  # a 2018 SDK runconfig says so itself
        from dataclasses import replace

        compute = replace(compute, user_managed_environment=runconfig.user_managed_environment)
    sources = {f"aml_config/{runconfig_path.name}": _digest(runconfig_path),
               f"aml_config/{compute_path.name}": _digest(compute_path)}
    conda = _dependency_file(runconfig, "CondaDependenciesFile", runconfig.conda_dependencies_file,
                             "aml_config/conda_dependencies.yml", load_conda, resolve, sources)
    spark = _dependency_file(runconfig, "SparkDependenciesFile", runconfig.spark_dependencies_file,
                             "aml_config/spark_dependencies.yml", load_spark, resolve, sources)
    env = EnvironmentSpec(project_dir=project.root, compute=compute, conda=conda, spark=spark,
                          framework=Framework(str(runconfig.framework)),
                          runconfig=runconfig.name)
    return RunConfigs(runconfig=runconfig, compute=compute, env=env, sources=sources)


def _dependency_file(runconfig, field: str, named: str | None, default: str, load, resolve,
                     sources: dict[str, str]):
    """Load a dependency file; the default one may be absent, a named one must exist."""
    rel = named or default
    path = resolve(rel)
    if path is None:
        if named:
            raise runconfig.field_error(field, f"{field}: {rel} does not exist")
        return None
    sources[rel] = _digest(path)
    return load(path)


def _digest(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot_holds(project: "Project", fingerprint: str, configs: RunConfigs) -> bool:
    """Whether the snapshot has exactly the config files ``configs`` was parsed from."""
    content = _content_of(project.store.manifest(fingerprint))
    return all(content(rel) == digest for rel, digest in configs.sources.items())


def _content_of(manifest):
    """``rel -> hash`` of a snapshot's file, following in-snapshot symlinks (a config may be
    a link to a file elsewhere in the project)."""
    import posixpath

    entries = {e.path: e for e in manifest}

    def content(rel: str) -> str | None:
        rel = posixpath.normpath(rel)
        for _ in range(40):  # a loop of links ends here
            entry = entries.get(rel)
            if entry is None or entry.link is None:
                return entry.hash if entry is not None else None
            rel = posixpath.normpath(posixpath.join(posixpath.dirname(rel), entry.link))
        return None
    return content


def live_resolver(project: "Project"):
    def resolve(rel: str) -> Path | None:
        path = project.root / rel
        return path if path.is_file() else None
    return resolve


def snapshot_resolver(project: "Project", fingerprint: str, into: Path):
    """Copy config files out of a snapshot into ``into`` (keeping their names) on demand."""
    import os
    import shutil

    content = _content_of(project.store.manifest(fingerprint))

    def resolve(rel: str) -> Path | None:
        rel = Path(rel).as_posix()
        digest = content(rel)
        if digest is None:
            return None
        copy = into / rel
        if not copy.is_file():
            copy.parent.mkdir(parents=True, exist_ok=True)
            # Through a temp name: a copy cut short (a full disk, a kill) must never be read
            # later as the config itself (a zero-byte runconfig reads as "Target is required").
            tmp = copy.with_name(f".{copy.name}.{os.getpid()}.tmp")
            try:
                shutil.copyfile(project.store.blob_path(digest), tmp)
                os.replace(tmp, copy)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        return copy
    return resolve


def spec_for(project: "Project", run: "RunRecord",
             parsed: RunConfigs | None = None) -> tuple[RunSpec, RunConfigs]:
    """The RunSpec of a recorded run, with configs read from its snapshot.

    ``parsed`` are configs already parsed from the very same bytes (checked by the caller with
    ``snapshot_holds``); they spare the keeper a second parse.
    """
    run_dir = project.run_dir(run.run_id)
    if parsed is not None:
        return _spec(project, run, run_dir, parsed), parsed
    resolve = snapshot_resolver(project, run.snapshot, run_dir / "config")
    rc_path = resolve(f"aml_config/{run.run_configuration}.runconfig")
    compute_path = resolve(f"aml_config/{run.target}.compute")
    from launchdeck.core.errors import SnapshotError

    if rc_path is None or compute_path is None:
        # Only a snapshot taken before deck kept every run's configs can lack them.
        missing = (f"aml_config/{run.run_configuration}.runconfig" if rc_path is None
                   else f"aml_config/{run.target}.compute")
        raise SnapshotError(f"run {run.run_id}: {missing} is not in the run's snapshot (taken "
                            "by an older deck, whose ignore rules could leave it out); submit "
                            "the script again instead")
    from launchdeck.core.config.runconfig import load_runconfig

    configs = load_configs(project, runconfig_path=rc_path, compute_path=compute_path,
                           resolve=resolve,
                           runconfig=as_submitted(load_runconfig(rc_path), run))
    return _spec(project, run, run_dir, configs), configs


def as_submitted(runconfig, run: "RunRecord"):
    """A runconfig read back from a run's snapshot, with the dependency files the run was
    submitted with (``submit -d/-s`` record theirs in the run's config summary) and the
    variables a sweep gave it."""
    from dataclasses import replace

    changes = {}
    for field, key in (("conda_dependencies_file", "CondaDependenciesFile"),
                       ("spark_dependencies_file", "SparkDependenciesFile")):
        recorded = (run.config or {}).get(key)
        if recorded and recorded != getattr(runconfig, field):
            changes[field] = recorded
    # A sweep's trial with --env gets its parameters as variables (core.sweeps.trials).
    extra = (run.config or {}).get(SWEEP_ENVIRONMENT)
    if extra:
        changes["environment_variables"] = {**runconfig.environment_variables,
                                             **{str(k): str(v) for k, v in extra.items()}}
    return replace(runconfig, **changes) if changes else runconfig


#: The key of a run's config summary holding variables a sweep adds to the runconfig's.
SWEEP_ENVIRONMENT = "SweepEnvironment"


def _spec(project: "Project", run: "RunRecord", run_dir: Path, configs: RunConfigs) -> RunSpec:
    from launchdeck.core.config.secrets import resolve_environment

    options, _ = split_argument_vector(configs.runconfig.argument_vector, run.script)
    # Secrets are read here, in the process that launches the run, and live only in its spec.
    return RunSpec(run_id=run.run_id, run_dir=run_dir, store=project.store,
                   snapshot=run.snapshot, script=run.script, arguments=run.arguments,
                   environment=resolve_environment(configs.runconfig), env=configs.env,
                   interpreter_options=applicable_options(configs, options))


def split_argument_vector(vector: tuple[str, ...],
                          script: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split a runconfig's ArgumentVector into (interpreter options, script arguments).

    As in Workbench, ``$file`` stands for the script: entries before the first ``$file`` are
    options of the Python interpreter (``["-u", "$file"]`` runs ``python -u script``), entries
    after it are the script's arguments, and a later ``$file`` becomes the script's path. A
    vector without ``$file`` whose first entry names the script itself (``["train.py",
    "--epochs", "3"]`` when submitting train.py) does not pass the script its own name again.
    """
    vector = tuple(vector)
    if "$file" in vector:
        at = vector.index("$file")
        options, rest = vector[:at], vector[at + 1:]
    elif vector and _names_script(vector[0], script):
        options, rest = (), vector[1:]
    else:
        options, rest = (), vector
    return options, tuple(script if a == "$file" else a for a in rest)


def _names_script(entry: str, script: str) -> bool:
    """Whether an ArgumentVector entry is the submitted script's own file name."""
    path = PurePosixPath(entry.replace("\\", "/"))  # ./train.py and train.py are equal
    wanted = PurePosixPath(script)
    return path == wanted or path.as_posix() == wanted.name


#: Interpreter options that spark-submit's driver still gets: deck sets PYTHONUNBUFFERED=1 on
#: every target, which is what ``-u`` asks for.
_SPARK_IMPLIED_OPTIONS = frozenset({"-u"})


def applicable_options(configs: RunConfigs, options: tuple[str, ...]) -> tuple[str, ...]:
    """The interpreter options a target gets; options that cannot apply are an error.

    spark-submit starts the driver's Python itself, with no way to add options to its command
    line (``spark.pyspark.driver.python`` names a program, not a command), so a PySpark run
    (and any run on a cluster target) refuses every option but ``-u``, which holds anyway.
    """
    through_spark = configs.env.framework is Framework.PYSPARK or \
        str(configs.compute.type) == "cluster"  # the cluster target always uses spark-submit
    if not through_spark or not options:
        return options
    refused = [o for o in options if o not in _SPARK_IMPLIED_OPTIONS]
    if refused:
        raise configs.runconfig.field_error(
            "ArgumentVector",
            f"ArgumentVector: {' '.join(refused)} before $file would be options of the Python "
            "interpreter, but spark-submit (Framework PySpark, or a cluster target) starts "
            "the driver's Python itself and takes no interpreter options; move them after "
            "$file (script arguments), or run with Framework Python on a non-cluster target")
    return ()  # -u: PYTHONUNBUFFERED=1 already does it
