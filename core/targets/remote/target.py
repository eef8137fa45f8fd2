"""The remote target (``type: remote``, Workbench's ``computetarget attach remote``).

Mapping: run -> the host's own Python (``pythonLocation``, default ``python3``) running the
script over SSH, no Docker, detached on the host by the host-side runner shared with the
cluster target (``core/farside/runner.py``) in ``~/.launchdeck/remote/runs/<run id>/``;
code -> the snapshot synced into the host's store (only missing files travel) and materialized
in ``work/``, the script's cwd, with an empty ``outputs/``; output -> stdout and stderr in one
log file there, tailed from a byte offset (a dropped link resumes where it stopped); metrics ->
``DECK_METRICS_FILE`` on the host, tailed the same way; outputs -> ``work/outputs/`` copied back
over SFTP; cancel -> TERM then KILL to the script's process group and to everything below the
runner's waiter (a subreaper), so a double-forked grandchild stops too. The external id is
``PYTHON pid N``; the processes are found again through the run folder's ``pids`` file.

What it cannot do: build an environment (the host's Python is used as it is, as Workbench's
``userManagedEnvironment: true``; a conda file is named in prepare's output, not installed);
PySpark (use a cluster target). Passwords: only from the system keyring
(``password: keyring:SERVICE/USER``) or asked on a terminal. The runner itself needs ``python3``
3.6+ on the host.
"""

from __future__ import annotations


from launchdeck.core.errors import TargetError
from launchdeck.core.targets.base import (Capability, EnvironmentSpec, Framework, Progress,
                                          RunEvents, RunSpec)
from launchdeck.core.targets.hostruns import HostRunsTarget
from launchdeck.core.targets.runenv import RunPaths, run_environment
from launchdeck.core.targets.spark.execution import SparkExecution

RUNS = ".launchdeck/remote/runs"

# $1: the run's Python. Prints key=value facts; a Python that does not run prints nothing.
_CHECK = r'''p=$1
echo "python_path=$(command -v "$p" 2>/dev/null)"
echo "python_version=$("$p" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)"
echo "runner_python=$(python3 -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)"
echo "free_disk_home=$(df -Pk "$HOME" 2>/dev/null | awk 'NR==2 {print $4}')"'''


class RemoteTarget(HostRunsTarget):
    """Runs Python scripts with a remote Linux host's own Python, over SSH."""

    capabilities = frozenset({Capability.HOST_KEY, Capability.HOST_SLOTS})

    RUNS = RUNS
    KIND = "remote"

    async def check(self) -> dict[str, str]:
        from launchdeck.core.remote.hostkeys import fingerprint

        await self.runs.connect()
        result = await self.host.run(["sh", "-c", _CHECK, "sh", self.python], timeout=120)
        facts = dict(line.split("=", 1) for line in result.stdout.decode().splitlines()
                     if "=" in line)
        where = f"target {self.name} ({self.host.endpoint})"
        if not facts.get("python_version"):
            raise TargetError(f"{where}: {self.python} does not run on the host; install "
                              "Python there or set pythonLocation")
        if not facts.get("runner_python"):
            raise TargetError(f"{where}: python3 is not installed on the host; deck needs it "
                              "there to start and follow runs")
        conn = await self.host.connection()
        key = conn.get_server_host_key()
        out = {"ssh": str(self.host.endpoint),
               "host_key": fingerprint(key) if key is not None else "unknown",
               "python": facts.get("python_path") or self.python,
               "python_version": facts["python_version"],
               "max_concurrent_runs": str(self.max_concurrent_runs)}
        if facts.get("free_disk_home", "").isdigit():
            out["free_disk_home"] = f"{int(facts['free_disk_home']) / 1024 ** 2:.1f} GiB"
        return out

    async def prepare(self, env: EnvironmentSpec, *, progress: Progress) -> str:
        # Nothing is installed on the host: its Python runs the script as it is.
        progress(f"environment: {self.python} on {self.compute.address} as it is "
                 "(nothing is installed on a remote target)")
        wanted = env.conda and [p for p in (*env.conda.conda_packages, *env.conda.pip_packages)
                                if p.split("=")[0].strip() not in ("python", "pip")]
        if env.conda and wanted and not self.compute.user_managed_environment:
            # Said, not silently skipped: the script may need them on the host.
            progress(f"note: {env.conda.path.name} is not installed on a remote target; the "
                     f"host's Python must already have {', '.join(wanted[:5])}"
                     + (" ..." if len(wanted) > 5 else ""))
        return ""

    async def launch(self, spec: RunSpec, events: RunEvents) -> SparkExecution:
        from launchdeck.core.remote import materialize_remote, sync_snapshot

        if spec.env.framework is not Framework.PYTHON:
            raise TargetError(f"target {self.name}: Framework {spec.env.framework} does not "
                              "run on a remote target; use a cluster target for PySpark")
        root = self.runs.root(spec.run_id)
        await self.runs.connect()
        started = await self.runs.started_before(root)
        if started is not None:  # running or ended: starting it again would run it twice
            return self._execution(root, f"{self.python} pid {started['pid']}", events)
        await sync_snapshot(self.host, spec.store, spec.snapshot)
        await materialize_remote(self.host, spec.snapshot, f"{root}/work")
        env, mkdirs = self._run_env(spec)
        argv = [self.python, *spec.interpreter_options, spec.script, *spec.arguments]
        report = await self.runs.start({"root": root, "argv": argv, "env": env,
                                        "mkdirs": mkdirs, "zip_modules": False, "app_wait": 0},
                                       program=self.python)
        if "error" in report:
            raise TargetError(f"target {self.name}: {report['error']}")
        return self._execution(root, f"{self.python} pid {report['pid']}", events)

    def _run_env(self, spec: RunSpec) -> tuple[dict[str, str], list[str]]:
        """The run's variables (``@ROOT@``/``@HOME@`` expanded on the host), folders to make."""
        mkdirs: list[str] = []
        share = self.compute.native_shared_directory
        if share:
            # As Workbench: <dir>/<project name>/ on the host, made, with ~ as the login home.
            if share == "~" or share.startswith("~/"):
                share = "@HOME@" + share[1:]
            elif not share.startswith("/"):
                share = "@HOME@/" + share
            folder = f"{share.rstrip('/')}/{spec.env.project_dir.name}"
            share = folder + "/"
            mkdirs.append(folder)
        env = run_environment(spec.environment, run_id=spec.run_id,
                              paths=RunPaths(runtime="@ROOT@/runtime", work="@ROOT@/work",
                                             metrics="@ROOT@/metrics.jsonl", share=share))
        return env, mkdirs

    def _execution(self, root: str, external_id: str, events: RunEvents) -> SparkExecution:
        return SparkExecution(self.host, root, external_id, link=self.runs.link(events),
                              events=events, program=self.python, spark=False)

    async def attach(self, spec: RunSpec, external_id: str,
                     events: RunEvents) -> SparkExecution:
        return self._execution(self.runs.root(spec.run_id), external_id, events)
