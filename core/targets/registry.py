"""Which class implements each ``.compute`` type (imported only when used: start-up stays fast).

``local`` is the local target, which also runs ``Framework: PySpark`` with spark-submit and
master ``local[*]`` (``core.targets.local.pyspark``); ``cluster`` is a Spark cluster's head
node over SSH (``core.targets.spark``); ``remote`` is a host's own Python over SSH
(``core.targets.remote``); ``docker`` runs PySpark in the container when its image has Java
and pyspark (``core.targets.docker.pyspark``); ``remotedocker`` is the Docker target on a
host's engine over SSH (``core.targets.docker.remote``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from launchdeck.core.errors import TargetError

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.project import Project
    from launchdeck.core.targets.base import ComputeTarget


# compute type -> (module, class); the local target takes no project folder.
_TARGETS: dict[str, tuple[str, str]] = {
    "local": ("launchdeck.core.targets.local.pyspark", "LocalTargetWithSpark"),
    "docker": ("launchdeck.core.targets.docker.target", "DockerTarget"),
    "remotedocker": ("launchdeck.core.targets.docker.remote", "RemoteDockerTarget"),
    "cluster": ("launchdeck.core.targets.spark.target", "SparkTarget"),
    "remote": ("launchdeck.core.targets.remote.target", "RemoteTarget"),
}


def target_module(kind: str) -> str | None:
    """The module implementing a compute type (for warming a keeper up ahead of its run)."""
    entry = _TARGETS.get(str(kind))
    return entry[0] if entry else None


def open_target(project: "Project", compute: "ComputeConfig") -> "ComputeTarget":
    import importlib

    kind = str(compute.type)
    if kind not in _TARGETS:
        raise TargetError(f"{compute.path}: compute type {kind!r} is not supported yet by this "
                          "version of deck")
    module_name, class_name = _TARGETS[kind]
    cls = getattr(importlib.import_module(module_name), class_name)
    if kind == "local":
        return cls(compute)
    return cls(compute, project_dir=project.root)
