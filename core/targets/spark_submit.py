"""The spark-submit command line of a run, and which master and deploy mode it means.

Deploy mode: on YARN, ``yarnDeployMode`` keeps Workbench's meaning (``client``: the driver runs
on the head node; ``cluster``: in a YARN container). On a standalone master (``spark://``),
``local[...]`` or Kubernetes, a Python application always runs in client mode (Spark's
standalone cluster deploy mode does not accept Python applications), so the driver runs on the
head node and ``yarnDeployMode`` is ignored with a note.

Order of ``--conf`` pairs: the run's own settings (``spark_dependencies.yml``) come last, so a
user setting wins over one deck adds (spark-submit keeps the last of repeated keys).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config.spark import SparkDependencies

#: The master of PySpark runs on one machine (local target, Docker container): every core.
LOCAL_MASTER = "local[*]"

#: A Spark application id in driver output: standalone, YARN, local mode.
APP_ID = re.compile(rb"\b(app-\d{14}-\d{4,}|application_\d+_\d+|local-\d{10,})\b")


def deploy_mode(master: str | None, yarn_deploy_mode: str | None) -> str:
    """``client`` or ``cluster``: where the driver of a Python application runs."""
    if master and master.strip().lower().startswith("yarn"):
        return yarn_deploy_mode or "client"
    return "client"


def mode_note(master: str | None, yarn_deploy_mode: str | None) -> str | None:
    """A line for the user when ``yarnDeployMode`` cannot apply to this master."""
    if yarn_deploy_mode and not (master or "").lower().startswith("yarn"):
        return (f"note: yarnDeployMode {yarn_deploy_mode} applies to YARN only; on master "
                f"{master or '(the cluster default)'} Python applications run in client mode")
    return None


@dataclass(frozen=True, kw_only=True)
class SubmitCommand:
    """Everything that goes on one spark-submit command line."""

    spark_submit: str
    script: str
    arguments: tuple[str, ...] = ()
    master: str | None = None
    deploy_mode: str = "client"
    name: str | None = None
    py_files: tuple[str, ...] = ()
    #: ``archive#alias`` entries for ``--archives`` (the executors' Python environment).
    archives: tuple[str, ...] = ()
    #: Settings deck adds (Python interpreters, environment variables in cluster mode).
    conf: dict[str, str] = field(default_factory=dict)
    dependencies: "SparkDependencies | None" = None

    def argv(self) -> list[str]:
        args = [self.spark_submit]
        if self.master:
            args += ["--master", self.master]
        if self.master and self.master.lower().startswith("yarn"):
            args += ["--deploy-mode", self.deploy_mode]
        if self.name:
            args += ["--name", self.name]
        if self.py_files:
            args += ["--py-files", ",".join(self.py_files)]
        if self.archives:
            args += ["--archives", ",".join(self.archives)]
        for key, value in self.conf.items():
            args += ["--conf", f"{key}={value}"]
        if self.dependencies is not None:
            args += self.dependencies.submit_arguments()
        return [*args, self.script, *self.arguments]


def find_app_id(data: bytes) -> str | None:
    """The first Spark application id in driver output, if any."""
    found = APP_ID.search(data)
    return found.group(1).decode() if found else None
