"""The Spark cluster target (``type: cluster``): spark-submit on a head node over SSH.

Mapping: environment -> a venv per content hash on the head node, shipped to executors as an
archive (``core.targets.spark.env``); run -> one Spark application started by spark-submit,
detached on the head node (``core/farside/runner.py``) in
``~/.launchdeck/spark/runs/<run id>/``;
code -> the snapshot synced into the head node's store (only missing files travel) and
materialized in ``work/``, the driver's cwd, with its ``.py`` files zipped for ``--py-files``;
output -> spark-submit's stdout and stderr in one log file there, tailed from a byte offset;
metrics -> ``DECK_METRICS_FILE`` on the head node, tailed the same way; outputs -> ``outputs/``
of the driver's cwd, copied back over SFTP; cancel -> the driver's process group and so the
application (see ``spark.execution``). The application id (``app-...``) is the external id.

Deploy mode: on YARN, ``yarnDeployMode`` keeps its meaning; on a standalone master Python
applications run in client mode (the driver on the head node), see ``spark.submit``.

What it cannot do: conda packages (pip only); ``outputs/`` and metrics of a YARN cluster-mode
driver (it runs in a YARN container, not on the head node); a password login (use a key or
the SSH agent).
"""

from __future__ import annotations

from pathlib import Path

from launchdeck.core.errors import (ConfigError, EnvironmentBuildError, TargetError,
                                    TargetUnreachable)
from launchdeck.core.targets.spark import env as spark_env
from launchdeck.core.targets.base import (Capability, EnvironmentSpec, Progress, RunEvents,
                                          RunSpec)
from launchdeck.core.targets.hostruns import HostRunsTarget
from launchdeck.core.targets.runenv import RunPaths, run_environment
from launchdeck.core.targets.spark.execution import SparkExecution, format_id
from launchdeck.core.targets.spark.submit import (SPARK_HOME_SH, SubmitCommand, deploy_mode,
                                                  mode_note, properties_text, with_spark_home)

RUNS = ".launchdeck/spark/runs"
#: How long launch waits for the application id in the driver output. None at all: the run is
#: Running (and its output flows) as soon as spark-submit is; the id is spotted in the output
#: later and told to the run's events (``RunEvents.external_id``).
APP_ID_WAIT = 0.0
# Settings for the properties file (YARN cluster mode), in the run folder's secrets/ (0700),
# which the runner removes once the run has ended.
PRIVATE_CONF = "secrets/spark.private"

_CHECK = SPARK_HOME_SH + r'''
s=$1; m=$2
if [ -z "$s" ]; then s=$(command -v spark-submit || true)
  [ -z "$s" ] && [ -n "$SPARK_HOME" ] && s="$SPARK_HOME/bin/spark-submit"; fi
case $s in "~/"*) s=$HOME/${s#"~/"} ;; esac
echo "spark_submit=$s"
case $s in */*) p=$s ;; *) p=$(command -v "$s" || true) ;; esac
if [ -z "$s" ]; then echo "problem=not_found"
elif [ -z "$p" ] || [ ! -e "$p" ]; then echo "problem=missing"
elif [ -d "$p" ] || [ ! -x "$p" ]; then echo "problem=not_executable"
else
  if [ -z "$SPARK_HOME" ]; then
    h=$(deck_spark_home "$p")
    if [ -n "$h" ]; then export SPARK_HOME="$h"; echo "spark_home=$h (set by deck for pip's wrapper)"
    elif [ -f "$(dirname "$(readlink -f "$p" 2>/dev/null || echo "$p")")/find_spark_home.py" ]; then
      echo "problem=no_spark_home"; fi
  fi
  if [ -n "$JAVA_HOME" ]; then [ -x "$JAVA_HOME/bin/java" ] || echo "problem=bad_java_home=$JAVA_HOME"
  elif ! command -v java >/dev/null 2>&1; then echo "problem=no_java"; fi
  out=$("$p" --version 2>&1 </dev/null)
  v=$(printf '%s\n' "$out" | sed -n 's/.*version \([0-9][0-9.]*\).*/\1/p' | head -n 1)
  if [ -n "$v" ]; then echo "spark_version=$v"
  else echo "problem=version_failed"
    echo "spark_said=$(printf '%s\n' "$out" | grep -v '^[[:space:]]*$' | tail -n 3 | tr '\n' '|')"; fi
fi
echo "python=$(python3 -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)"
case "$m" in spark://*)
  hp=${m#spark://}; hp=${hp%%,*}
  python3 -c 'import socket,sys; h,p=sys.argv[1].rsplit(":",1); socket.create_connection((h,int(p)),5)' "$hp" 2>/dev/null \
    && echo "master_reachable=yes" || echo "master_reachable=no";;
yarn*) command -v yarn >/dev/null && echo "yarn=$(command -v yarn)" || echo "yarn=missing";;
esac'''


#: ``sh -c _PREPARE_WORK sh WORK SHARE PROJECT``: the driver's ``outputs/`` exists (empty)
#: before the script starts, as on Workbench; ``SHARE/PROJECT`` is created and printed.
_PREPARE_WORK = r'''set -e
cd "$HOME"; mkdir -p "$1/outputs"
[ -n "$2" ] || exit 0
case $2 in "~") d=$HOME ;; "~/"*) d=$HOME/${2#"~/"} ;; *) d=$2 ;; esac
d=${d%/}/$3
mkdir -p "$d"
printf '%s\n' "$d"'''


class SparkTarget(HostRunsTarget):
    """Runs PySpark scripts with spark-submit on a cluster's head node."""

    capabilities = frozenset({Capability.HOST_KEY, Capability.EXECUTOR_ENVIRONMENTS,
                              Capability.HOST_SLOTS})

    RUNS = RUNS
    KIND = "cluster"

    async def check(self) -> dict[str, str]:
        await self.runs.connect()
        result = await self.host.run(["sh", "-c", _CHECK, "sh",
                                      self.compute.spark_submit_location or "",
                                      self.compute.spark_master or ""], timeout=120)
        lines = [line.split("=", 1) for line in result.stdout.decode().splitlines()
                 if "=" in line]
        facts = dict(kv for kv in lines if kv[0] != "problem")
        # The first problem found is the cause; later ones (--version failing) follow from it.
        problem = next((value for key, value in lines if key == "problem"), None)
        where = f"target {self.name} ({self.host.endpoint})"
        if problem is not None or "spark_version" not in facts:
            raise TargetError(f"{where}: spark-submit does not run on the head node: "
                              + self._check_problem(problem or "version_failed", facts))
        if not facts.get("python"):
            raise TargetError(f"{where}: python3 is not installed on the head node")
        if facts.get("master_reachable") == "no":
            raise TargetError(f"{where}: the head node cannot reach the Spark master "
                              f"{self.compute.spark_master}")
        facts["master"] = self.compute.spark_master or "(spark-defaults.conf of the cluster)"
        facts["deploy_mode"] = deploy_mode(self.compute.spark_master,
                                           self.compute.yarn_deploy_mode)
        facts["max_concurrent_runs"] = str(self.max_concurrent_runs)
        note = mode_note(self.compute.spark_master, self.compute.yarn_deploy_mode)
        if note:
            facts["note"] = note
        return facts

    def _check_problem(self, problem: str, facts: dict[str, str]) -> str:
        """What the check script's ``problem`` means, and what to set."""
        submit = facts.get("spark_submit") or "spark-submit"
        config = f"sparkSubmitLocation in {self.compute.path}"
        if problem == "not_found":
            return f"no spark-submit on the head node's PATH and no SPARK_HOME there; set {config}"
        if problem == "missing":
            return f"{submit} does not exist there; set {config}"
        if problem == "not_executable":
            return f"{submit} is not executable (chmod +x it), or set {config}"
        if problem == "no_spark_home":
            return (f"{submit} is pip's spark-submit wrapper, but no pyspark package was found "
                    "in its environment (lib/python*/site-packages/pyspark), so it cannot find "
                    "Spark; set SPARK_HOME to the pyspark package folder (in the runconfig's "
                    f"EnvironmentVariables or the head node's environment), or set {config} "
                    "to $SPARK_HOME/bin/spark-submit")
        if problem.startswith("bad_java_home="):
            return (f"JAVA_HOME is {problem.split('=', 1)[1]}, which has no bin/java: set "
                    "JAVA_HOME on the head node to a Java 17 installation")
        if problem == "no_java":
            return ("Java is not installed there (no java on PATH, JAVA_HOME not set): "
                    "install Java 17 or set JAVA_HOME")
        said = facts.pop("spark_said", "").strip("|").replace("|", " | ")
        return f"{submit} --version failed: {said or 'no output'}; check {config}"

    def executor_environment(self, env: EnvironmentSpec) -> spark_env.ExecutorEnvironment | None:
        """The executors' environment ``env`` asks for; None when it needs nothing built."""
        return spark_env.executor_environment(
            env.conda, python=self.python, user_managed=self.compute.user_managed_environment)

    async def prepare(self, env: EnvironmentSpec, *, progress: Progress) -> str:
        note = mode_note(self.compute.spark_master, self.compute.yarn_deploy_mode)
        if note:
            progress(note)
        wanted = self.executor_environment(env)
        if wanted is None:
            progress("executor environment: the cluster's own Python (no pip packages)")
            return ""
        await spark_env.build(self.host, wanted, progress=progress,
                              ca_bundle=self._ca_bundle(env))
        return wanted.hash

    async def environment_built(self, wanted: spark_env.ExecutorEnvironment) -> bool:
        return await spark_env.is_built(self.host, wanted)

    async def built_environments(self) -> list[tuple[str, int]]:
        """(hash, bytes on disk) of every executor environment on the head node."""
        return await spark_env.list_built(self.host)

    async def environments(self) -> list[spark_env.BuiltEnvironment]:
        """Every executor environment on the head node with its size and age, oldest first."""
        await self.runs.connect()
        return await spark_env.list_environments(self.host)

    async def remove_environments(self, hashes: list[str]) -> dict[str, str]:
        """Remove executor environments unless in use or being built (``spark.env``)."""
        await self.runs.connect()
        return await spark_env.remove_environments(self.host, hashes)

    def _ca_bundle(self, env: EnvironmentSpec) -> Path | None:
        from launchdeck.core.images.settings import BuildSettings

        return BuildSettings.from_compute(self.compute, env.project_dir).ca_bundle

    async def launch(self, spec: RunSpec, events: RunEvents) -> SparkExecution:
        from launchdeck.core.remote import materialize_remote, sync_snapshot

        root = self.runs.root(spec.run_id)
        await self.runs.connect()
        started = await self.runs.started_before(root)
        if started is not None:  # running or ended: starting it again would run it twice
            return self._execution(root, format_id(started.get("app_id"), started["pid"]),
                                   events)
        await sync_snapshot(self.host, spec.store, spec.snapshot)
        await materialize_remote(self.host, spec.snapshot, f"{root}/work")
        share = await self._prepare_work(spec, root)
        command, require = self._command(spec, root)
        env = self._run_env(spec, share)
        launch: dict[str, object] = {"root": root, "argv": with_spark_home(command.argv()),
                                     "env": env, "require": require, "app_wait": APP_ID_WAIT}
        if command.private_conf:
            launch["secret_files"] = {PRIVATE_CONF: properties_text(command.private_conf)}
            env["DECK_SPARK_PRIVATE"] = f"@ROOT@/{PRIVATE_CONF}"
        report = await self.runs.start(launch, program="spark-submit")
        if "error" in report:
            if report["error"].startswith("missing ") and require:
                raise EnvironmentBuildError(
                    f"target {self.name}: the executor environment of this run is not built "
                    f"on the head node ({report['error'][8:]}) and PrepareEnvironment is "
                    f"false; run 'deck prepare -c {spec.env.runconfig or 'RUNCONFIG'}' first, "
                    "or set PrepareEnvironment: true")
            raise TargetError(f"target {self.name}: {report['error']}")
        external = format_id(report.get("app_id"), report["pid"])
        return self._execution(root, external, events)

    async def _prepare_work(self, spec: RunSpec, root: str) -> str | None:
        """Create ``work/outputs/`` and the ``nativeSharedDirectory`` folder of the project.

        Returns the share folder as the head node spells it (``~`` expanded there), or None.
        """
        share = self.compute.native_shared_directory or ""
        if share and not (share == "~" or share.startswith(("~/", "/"))):
            raise ConfigError("nativeSharedDirectory must be an absolute path on the head node, "
                              "or start with ~/", file=str(self.compute.path),
                              field="nativeSharedDirectory")
        project = (spec.env.project_dir or self.project_dir or Path("project")).name
        result = await self.host.run(["sh", "-c", _PREPARE_WORK, "sh", f"{root}/work", share,
                                      project])
        if result.exit_status != 0:
            err = result.stderr.decode(errors="replace").strip()[-1000:]
            raise TargetError(f"target {self.name}: cannot create the run's folders on "
                              f"{self.host.endpoint}: {err}")
        folder = result.stdout.decode().strip()
        return folder + "/" if share and folder else None

    def _command(self, spec: RunSpec, root: str) -> tuple[SubmitCommand, list[str]]:
        compute = self.compute
        mode = deploy_mode(compute.spark_master, compute.yarn_deploy_mode)
        conf: dict[str, str] = {}
        private: dict[str, str] = {}
        archives: tuple[str, ...] = ()
        require: list[str] = []
        wanted = self.executor_environment(spec.env)
        if wanted is not None:
            archives = (f"@HOME@/{wanted.archive}#environment",)
            conf["spark.pyspark.python"] = "./environment/bin/python"
            conf["spark.pyspark.driver.python"] = (
                "./environment/bin/python" if mode == "cluster"
                else f"@HOME@/{wanted.folder}/bin/python")
            require.append(f"@HOME@/{wanted.archive}")
        elif compute.python_location:
            conf["spark.pyspark.python"] = compute.python_location
        if mode == "cluster":
            # The driver runs in a YARN container: the head node's environment is not its own.
            # Its metrics go to its stderr (deckrun does that without DECK_METRICS_FILE), and
            # deckrun reaches it in modules.zip. The values (secrets among them) go in the
            # properties file: a --conf is on the head node's process list for all to read.
            for key, value in self._run_env(spec).items():
                if key not in ("PYTHONPATH", "DECK_METRICS_FILE"):
                    private[f"spark.yarn.appMasterEnv.{key}"] = value
        return SubmitCommand(
            spark_submit=compute.spark_submit_location or "spark-submit",
            script=spec.script, arguments=spec.arguments, master=compute.spark_master,
            deploy_mode=mode, name=None, py_files=("@ROOT@/modules.zip",),
            archives=archives, conf=conf, private_conf=private,
            dependencies=spec.env.spark), require

    def _run_env(self, spec: RunSpec, share: str | None = None) -> dict[str, str]:
        """The run's variables, with the run folder as ``@ROOT@`` (expanded on the host)."""
        return run_environment(spec.environment, run_id=spec.run_id,
                               paths=RunPaths(runtime="@ROOT@/runtime", work="@ROOT@/work",
                                              metrics="@ROOT@/metrics.jsonl", share=share))

    def _execution(self, root: str, external_id: str, events: RunEvents) -> SparkExecution:
        return SparkExecution(self.host, root, external_id, link=self.runs.link(events),
                              events=events)

    async def attach(self, spec: RunSpec, external_id: str,
                     events: RunEvents) -> SparkExecution:
        root = self.runs.root(spec.run_id)
        execution = self._execution(root, external_id, events)
        if execution.app_id is None:
            # The id may be in output read before the last keeper died, before the offset
            # this one resumes from: look at the whole log once.
            try:
                report = await self.runs.report(root)
            except TargetUnreachable:
                report = {}
            if report.get("app_id"):
                execution.found_app_id(report["app_id"])
        return execution
