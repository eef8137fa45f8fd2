"""Which class implements each ``.compute`` type (imported only when used: start-up stays fast)."""

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
        from core.targets.local import LocalTarget

        return LocalTarget(compute)
    if kind == "docker":
        from core.targets.docker import DockerTarget

        return DockerTarget(compute, project_dir=project.root)
    if kind == "remotedocker":
        from core.targets.remotedocker import RemoteDockerTarget

        return RemoteDockerTarget(compute, project_dir=project.root)
    raise TargetError(f"{compute.path}: compute type {kind!r} is not supported yet by this "
                      "version of deck")
