"""Copy what a run left (outputs, its log, metrics and record) into a folder of the user's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from launchdeck.core.errors import ProjectError

if TYPE_CHECKING:
    from launchdeck.core.history.records import RunRecord
    from launchdeck.core.project import Project

LOG_NAME = "output.log"


def download_run(project: "Project", run: "RunRecord", dest: Path) -> list[str]:
    """Write ``dest/outputs/...``, ``dest/output.log``, ``dest/metrics.json`` (every value of
    every metric) and ``dest/run.json`` (what ``runs show --json`` prints); return the paths
    written, relative to ``dest``.

    ``dest`` must not exist or be an empty folder: nothing of the user's is overwritten.
    """
    from launchdeck.core.targets.outputs import copy_outputs

    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ProjectError(f"{dest}: already exists and is not an empty folder")
    run = project.history.get_run(run.run_id, details=True)
    run_dir = project.run_dir(run.run_id)
    dest.mkdir(parents=True, exist_ok=True)
    copy_outputs(run_dir / "outputs", dest / "outputs")
    log = run_dir / LOG_NAME
    if log.is_file():
        shutil.copyfile(log, dest / LOG_NAME)
    (dest / "metrics.json").write_text(json.dumps(run.metrics or {}, indent=2,
                                                  ensure_ascii=False) + "\n", encoding="utf-8")
    (dest / "run.json").write_text(json.dumps(run.to_json(), indent=2, ensure_ascii=False)
                                   + "\n", encoding="utf-8")
    return sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
