"""``Framework: PySpark`` on the local target: spark-submit with master ``local[*]``.

Everything else is the local target's (``core.targets.local``): the snapshot copy as cwd, one
log file for stdout and stderr, the waiter that records the exit code, cancel by process group.
spark-submit is ``sparkSubmitLocation`` when set, else the one shipped in the ``pyspark``
package importable here, else ``spark-submit`` on PATH. The driver and the executors (threads
of the same JVM, Python workers on this machine) use the target's Python (``pythonLocation``,
else deck's own interpreter).

pip's ``spark-submit`` wrapper (a venv's ``bin/spark-submit``) gets SPARK_HOME from deck when
the environment has none (see ``spark_submit.find_spark_home``). ``check`` says why
spark-submit cannot run: not found, not executable, no SPARK_HOME for a wrapper, no Java, or
what ``spark-submit --version`` printed; with ``sparkSubmitLocation`` set, that is an error.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

from launchdeck.core.errors import TargetError
from launchdeck.core.targets.base import Framework, RunEvents, RunSpec
from launchdeck.core.targets.local.target import LocalExecution, LocalTarget

_VERSION = re.compile(r"version (\d[\d.]*)")


class LocalTargetWithSpark(LocalTarget):
    """The local target, able to hand PySpark scripts to a local spark-submit."""

    def spark_submit(self) -> str:
        if self.compute.spark_submit_location:
            location = os.path.expanduser(self.compute.spark_submit_location)
            found = shutil.which(location)
            if not found:
                why = ("is not executable (chmod +x it)" if os.path.isfile(location)
                       else "does not exist" if os.sep in location
                       else "is not on PATH")
                raise TargetError(f"{self.compute.path}: sparkSubmitLocation "
                                  f"{self.compute.spark_submit_location!r} {why} on this "
                                  "machine")
            return found
        spec = importlib.util.find_spec("pyspark")
        if spec is not None and spec.origin:
            bundled = Path(spec.origin).parent / "bin" / "spark-submit"
            if os.access(bundled, os.X_OK):
                return str(bundled)
        found = shutil.which("spark-submit")
        if not found:
            raise TargetError(f"target {self.name}: Framework PySpark needs spark-submit: "
                              "install pyspark (pip install pyspark) or set "
                              "sparkSubmitLocation in " + str(self.compute.path))
        return found

    def spark_home(self, spark_submit: str, environment: dict[str, str]) -> str | None:
        """The SPARK_HOME deck sets for ``spark_submit``: None when it needs none from deck.

        Raises TargetError for pip's wrapper whose Spark cannot be found.
        """
        from launchdeck.core.targets.spark.submit import find_spark_home, is_pip_wrapper

        if environment.get("SPARK_HOME") or os.environ.get("SPARK_HOME"):
            return None
        home = find_spark_home(spark_submit)
        if home is None and is_pip_wrapper(spark_submit):
            raise TargetError(
                f"target {self.name}: {spark_submit} is pip's spark-submit wrapper, but no "
                "pyspark package was found in its environment (lib/python*/site-packages/"
                "pyspark), so it cannot find Spark; set SPARK_HOME to the pyspark package "
                "folder (python -c 'import pyspark, os; print(os.path.dirname(pyspark."
                "__file__))'), or point sparkSubmitLocation at $SPARK_HOME/bin/spark-submit")
        return home

    async def check(self) -> dict[str, str]:
        facts = await super().check()
        try:
            spark_submit = self.spark_submit()
            facts["spark_submit"] = spark_submit
            home = self.spark_home(spark_submit, {})
            if home:
                facts["spark_home"] = f"{home} (set by deck for pip's wrapper)"
            facts["spark_version"] = await _spark_version(self.name, spark_submit, home)
        except TargetError as exc:
            if self.compute.spark_submit_location:
                raise  # the user asked for this spark-submit: that it cannot run is an error
            facts["spark_submit"] = f"none ({exc})"
        return facts

    async def launch(self, spec: RunSpec, events: RunEvents) -> LocalExecution:
        if spec.env.framework is not Framework.PYSPARK:
            return await super().launch(spec, events)
        # Here: a keeper of a plain Python run (most local runs) does not load it.
        from launchdeck.core.targets.spark.submit import LOCAL_MASTER, SubmitCommand

        spark_submit = self.spark_submit()
        home = await asyncio.to_thread(self.spark_home, spark_submit, spec.environment)
        if home:
            spec = replace(spec, environment={**spec.environment, "SPARK_HOME": home})
        command = SubmitCommand(
            spark_submit=spark_submit, script=spec.script, arguments=spec.arguments,
            master=LOCAL_MASTER, conf={"spark.pyspark.python": self.python},
            dependencies=spec.env.spark)
        return await self.start_process(spec, command.argv())


def _java_problem() -> str | None:
    """Why Spark would find no Java here, with what to set; None when it would."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        if not os.access(os.path.join(java_home, "bin", "java"), os.X_OK):
            return (f"JAVA_HOME is {java_home}, which has no bin/java: set JAVA_HOME to a "
                    "Java 17 installation")
        return None
    if shutil.which("java") is None:
        return "Java is not installed (no java on PATH, JAVA_HOME not set): install Java 17 " \
               "or set JAVA_HOME"
    return None


async def _spark_version(name: str, spark_submit: str, home: str | None) -> str:
    """The version ``spark-submit --version`` prints; TargetError naming why it did not run."""
    java = _java_problem()
    if java:
        raise TargetError(f"target {name}: spark-submit cannot run: {java}")
    env = dict(os.environ, **({"SPARK_HOME": home} if home else {}))
    proc = await asyncio.create_subprocess_exec(
        spark_submit, "--version", env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise TargetError(f"target {name}: {spark_submit} --version did not answer in 120 s")
    text = out.decode(errors="replace")
    version = _VERSION.search(text)
    if proc.returncode == 0 and version:
        return version.group(1)
    last = [line.strip() for line in text.splitlines() if line.strip()][-3:]
    raise TargetError(f"target {name}: {spark_submit} --version failed (exit "
                      f"{proc.returncode}): {' | '.join(last) or 'no output'}")
