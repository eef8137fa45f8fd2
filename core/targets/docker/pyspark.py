"""``Framework: PySpark`` in a Docker container: spark-submit with master ``local[*]``.

A PySpark run in a container needs a Java runtime and the ``pyspark`` package (which brings
spark-submit) in the run's image: Java from the base image, pyspark from there or from the pip
list of ``conda_dependencies.yml``. Before the run's container exists, the image is asked what
it has, in a throwaway container, so a missing piece is a clear error that names the image and
what to add, and no run container is left behind.

Inside the container everything else is as for a Python run (``core.targets.docker``): the
launcher is PID 1, the code is in ``/deck/work`` (the driver's working folder, so ``outputs/``
and metrics are collected as usual), and the driver and its Python workers (processes of the
same container) use the image's Python, with the run's PYTHONPATH so the script's own modules
import on the workers too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from launchdeck.core.errors import TargetError
from launchdeck.core.docker.engine import engine_errors
from launchdeck.core.targets.spark.submit import LOCAL_MASTER, SubmitCommand

if TYPE_CHECKING:
    from launchdeck.core.docker.client import EngineClient

    from launchdeck.core.targets.base import RunSpec

# Run by /bin/sh in the image with the image's Python as $1. find_spec does not import pyspark
# (whose import alone takes a second); its bin/spark-submit finds SPARK_HOME by itself.
_PROBE = r"""
command -v java >/dev/null 2>&1 && echo "java=$(command -v java)"
"$1" -c 'import importlib.util, os
spec = importlib.util.find_spec("pyspark")
if spec is not None and spec.origin:
    print("spark_submit=" + os.path.join(os.path.dirname(spec.origin), "bin", "spark-submit"))
' 2>/dev/null
exit 0
"""


async def probe(docker: "EngineClient", image: str, python: str, *, url: str) -> dict[str, str]:
    """What ``image`` has for Spark: ``java`` and ``spark_submit`` paths, when found."""
    async with engine_errors(f"probing {image} for Java and pyspark", url):
        container = await docker.containers.create(config={
            "Image": image, "Entrypoint": [], "Cmd": ["/bin/sh", "-c", _PROBE, "sh", python],
            "Labels": {"launchdeck.probe": "1"}, "NetworkDisabled": True})
        try:
            await container.start()
            await container.wait()
            text = await container.logs(stdout=True)
        finally:
            await container.delete(force=True)
    found = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and value:
            found[key] = value
    return found


async def submit_program(docker: "EngineClient", spec: "RunSpec", *, image: str,
                         python: str, target: str, url: str) -> list[str]:
    """The launcher's arguments that run ``spec`` with spark-submit in ``image``."""
    found = await probe(docker, image, python, url=url)
    if "java" not in found:
        raise TargetError(
            f"target {target}: Framework PySpark needs Java in the image, and {image} has no "
            "`java` command; use a baseDockerImage with a Java runtime (for example one with "
            "Debian's openjdk-17-jre-headless installed), or run PySpark on a local or "
            "cluster target")
    if "spark_submit" not in found:
        raise TargetError(
            f"target {target}: Framework PySpark needs the pyspark package in the image, and "
            f"{image} cannot import it with {python}; add pyspark to the pip list of "
            "conda_dependencies.yml (or to the base image) and run deck prepare")
    command = SubmitCommand(
        spark_submit=found["spark_submit"], script=spec.script, arguments=spec.arguments,
        master=LOCAL_MASTER,
        conf={"spark.pyspark.python": python, "spark.pyspark.driver.python": python},
        dependencies=spec.env.spark)
    return ["--exec", *command.argv()]
