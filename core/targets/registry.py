"""Which class implements each ``.compute`` type (imported only when used: start-up stays fast).

``local`` is the local target, which also runs ``Framework: PySpark`` with spark-submit and
master ``local[*]`` (``core.targets.spark_local``); ``cluster`` is a Spark cluster's head node
over SSH (``core.targets.spark``); ``docker`` refuses PySpark with the reason its image gives
(``core.targets.spark_docker``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import TargetError

if TYPE_CHECKING:
    from core.config.compute import ComputeConfig
    from core.project import Project
    from core.targets.base import ComputeTarget


def open_target(project: "Project", compute: "ComputeConfig") -> "ComputeTarget":
    kind = str(compute.type)
    if kind == "local":
        from core.targets.spark_local import LocalTargetWithSpark

        return LocalTargetWithSpark(compute)
    if kind == "docker":
        from core.targets.spark_docker import DockerTargetWithSpark

        return DockerTargetWithSpark(compute, project_dir=project.root)
    if kind == "remotedocker":
        from core.targets.remotedocker import RemoteDockerTarget

        return RemoteDockerTarget(compute, project_dir=project.root)
    if kind == "cluster":
        from core.targets.spark import SparkTarget

        return SparkTarget(compute, project_dir=project.root)
    raise TargetError(f"{compute.path}: compute type {kind!r} is not supported yet by this "
                      "version of deck")
