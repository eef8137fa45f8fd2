"""The environment variables of a run, built the same way for every target.

A run sees the runconfig's ``EnvironmentVariables`` plus deck's own, which win:
``PYTHONPATH`` starts with deck's runtime (``deckrun``, ``azureml.logging``) and the run's code,
then the user's PYTHONPATH (or, without one, the one the run would inherit: this machine's, an
image's); ``DECK_RUN_ID``; ``DECK_METRICS_FILE``; ``PYTHONUNBUFFERED``; and, when the target
has ``nativeSharedDirectory``, ``AZUREML_NATIVE_SHARE_DIRECTORY`` as Workbench gave it.

Only the paths differ between targets (``RunPaths``: where the runtime, the code and the
metrics file are on the side where the script runs). How the variables travel is each
target's business: the runconfig's may hold secrets, which never go on a command line or
into a container's configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

#: The variable Workbench gave scripts for ``nativeSharedDirectory``.
SHARE_VARIABLE = "AZUREML_NATIVE_SHARE_DIRECTORY"


@dataclass(frozen=True, kw_only=True)
class RunPaths:
    """Where a run's files are, as the script's side spells them."""

    runtime: str  #: the folder of deck's stdlib runtime
    work: str     #: the run's code, its cwd
    metrics: str  #: the metrics file ``deckrun`` appends to
    share: str | None = None  #: the ``nativeSharedDirectory`` folder, if the target has one


def run_environment(variables: Mapping[str, str], *, run_id: str, paths: RunPaths,
                    inherited_pythonpath: str | None = None) -> dict[str, str]:
    """``variables`` (the runconfig's) with deck's own added over them."""
    env = dict(variables)
    # The user's own PYTHONPATH replaces the inherited one, even when empty (as a shell's).
    tail = env["PYTHONPATH"] if "PYTHONPATH" in env else inherited_pythonpath
    env["PYTHONPATH"] = ":".join(p for p in (paths.runtime, paths.work, tail) if p)
    env["DECK_RUN_ID"] = run_id
    env["DECK_METRICS_FILE"] = paths.metrics
    env["PYTHONUNBUFFERED"] = "1"
    if paths.share is not None:
        env[SHARE_VARIABLE] = paths.share
    return env
