"""``Framework: PySpark`` on the local target: spark-submit with master ``local[*]``.

Everything else is the local target's (``core.targets.local``): the snapshot copy as cwd, one
log file for stdout and stderr, the waiter that records the exit code, cancel by process group.
spark-submit is ``sparkSubmitLocation`` when set, else the one shipped in the ``pyspark``
package importable here, else ``spark-submit`` on PATH. The driver and the executors (threads
of the same JVM, Python workers on this machine) use the target's Python (``pythonLocation``,
else deck's own interpreter).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

from core.errors import TargetError
from core.targets.base import Framework, Progress, RunSpec
from core.targets.local import LocalExecution, LocalTarget
from core.targets.spark_submit import LOCAL_MASTER, SubmitCommand


class LocalTargetWithSpark(LocalTarget):
    """The local target, able to hand PySpark scripts to a local spark-submit."""

    def spark_submit(self) -> str:
        if self.compute.spark_submit_location:
            found = shutil.which(self.compute.spark_submit_location)
            if not found:
                raise TargetError(f"{self.compute.path}: sparkSubmitLocation "
                                  f"{self.compute.spark_submit_location!r} is not an executable "
                                  "on this machine")
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

    async def check(self) -> dict[str, str]:
        facts = await super().check()
        try:
            facts["spark_submit"] = self.spark_submit()
        except TargetError as exc:
            facts["spark_submit"] = f"none ({exc})"
        return facts

    async def launch(self, spec: RunSpec, *, progress: Progress) -> LocalExecution:
        if spec.env.framework is not Framework.PYSPARK:
            return await super().launch(spec, progress=progress)
        command = SubmitCommand(
            spark_submit=self.spark_submit(), script=spec.script, arguments=spec.arguments,
            master=LOCAL_MASTER, conf={"spark.pyspark.python": self.python},
            dependencies=spec.env.spark)
        return await self.start_process(spec, command.argv())
