"""``Framework: PySpark`` on a Docker target: what the image must have, said clearly.

A PySpark run in a container needs a Java runtime and the ``pyspark`` package (which brings
spark-submit) in the image. Before anything starts, the run's image (the environment image, or
the base image when none is built) is asked what it has, in a throwaway container; an image
with no Java is a clear error naming what to add. Running spark-submit inside the container
(master ``local[*]``) is not done by this version: an image that has both is told so, and the
cluster or local target is the way to run PySpark today.
"""

from __future__ import annotations

from core.errors import TargetError
from core.targets.base import Framework, Progress, RunSpec
from core.targets.docker import DockerTarget
from core.targets.docker_engine import engine_errors

_PROBE = r"""
command -v java >/dev/null 2>&1 && echo java=yes
for py in python3 python; do
  if command -v "$py" >/dev/null 2>&1; then
    "$py" -c 'import pyspark' >/dev/null 2>&1 && echo pyspark=yes
    break
  fi
done
exit 0
"""


class DockerTargetWithSpark(DockerTarget):
    """The Docker target, refusing PySpark runs with the reason the image gives."""

    async def launch(self, spec: RunSpec, *, progress: Progress):
        if spec.env.framework is not Framework.PYSPARK:
            return await super().launch(spec, progress=progress)
        image = await self.find_image(spec.env) or self.compute.base_docker_image
        found = await self._probe(image)
        if "java" not in found:
            raise TargetError(
                f"target {self.name}: Framework PySpark needs Java in the image, and "
                f"{image} has no `java` command; use a base image with a Java runtime "
                "(for example Debian's openjdk-17-jre-headless) and pyspark, or run PySpark "
                "on a cluster or local target")
        if "pyspark" not in found:
            raise TargetError(
                f"target {self.name}: Framework PySpark needs the pyspark package in the "
                f"image, and {image} cannot import it; add pyspark to the pip list of "
                "conda_dependencies.yml")
        raise TargetError(
            f"target {self.name}: PySpark runs in Docker containers are not supported by this "
            "version of deck; use a cluster target or Framework PySpark on a local target")

    async def _probe(self, image: str) -> set[str]:
        docker = await self.client()
        async with engine_errors(f"probing {image} for Java", self.url):
            container = await docker.containers.create(config={
                "Image": image, "Entrypoint": [], "Cmd": ["/bin/sh", "-c", _PROBE],
                "Labels": {"launchdeck.probe": "1"}, "NetworkDisabled": True})
            try:
                await container.start()
                await container.wait()
                lines = await container.log(stdout=True, stderr=True)
            finally:
                await container.delete(force=True)
        return {line.split("=", 1)[0] for line in "".join(lines).split() if "=yes" in line}
