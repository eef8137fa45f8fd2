"""``storeBudget`` of a ``.compute`` file: after a prepare, deck removes this project's oldest
unused environments on the target until they fit, and says so in the prepare's output (the
run's log when the run prepares).

Counted: this project's images on the target's engine (the bytes each adds over its base
image), or every executor venv on the head node (venvs name no project). Unused: no run
configuration and no active run needs it (``needs``), and it is not the one just prepared.
Past runs do not hold an environment here; ``deck store prune`` keeps theirs by age.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from launchdeck.core.errors import DeckError
from launchdeck.core.housekeeping.amounts import format_size

if TYPE_CHECKING:
    from launchdeck.core.config.compute import ComputeConfig
    from launchdeck.core.project import Project
    from launchdeck.core.targets.base import ComputeTarget, Progress


async def keep_budget(project: "Project", target: "ComputeTarget", compute: "ComputeConfig",
                      *, keep: str, progress: "Progress") -> None:
    """Bring this project's environments on ``target`` within ``compute.store_budget``.

    Never raises: a budget that cannot be kept is said, and the run or prepare goes on.
    """
    budget = compute.store_budget
    if budget is None:
        return
    try:
        await _keep(project, target, compute, budget, keep=keep, progress=progress)
    except DeckError as exc:
        progress(f"storeBudget of {compute.name}: not kept this time: {exc}")


async def _keep(project: "Project", target: "ComputeTarget", compute: "ComputeConfig",
                budget: int, *, keep: str, progress: "Progress") -> None:
    from launchdeck.core.housekeeping.environments import (environments_on, needs_on,
                                                           remove_environments)
    from launchdeck.core.housekeeping.plan import ItemKind, PruneItem
    from launchdeck.core.runs.state import RunState

    mine = [env for env in await environments_on(project, target) if env.mine]
    used = sum(env.size for env in mine)
    head = (f"storeBudget {format_size(budget)} of {compute.name}: "
            f"{len(mine)} environments take {format_size(used)}")
    if used <= budget:
        return
    active = project.history.list_runs(status=[s for s in RunState if s.is_active])
    needs = await needs_on(project, target, compute, active)
    if needs.unknown:
        progress(f"{head}; nothing removed: what these need cannot be told: "
                 + "; ".join(needs.unknown))
        return
    doomed = []
    for env in mine:  # oldest first
        if used <= budget:
            break
        if env.name == keep or env.name in needs.by:
            continue
        doomed.append(env)
        used -= env.size
    if not doomed:
        progress(f"{head}; every one is in use (a run configuration or an active run needs "
                 "it): nothing removed")
        return
    progress(f"{head}; removing the oldest unused:")
    kind = ItemKind.IMAGE if str(compute.type) != "cluster" else ItemKind.ENVIRONMENT
    items = [PruneItem(kind, env.name, env.size) for env in doomed]
    failed = await remove_environments(target, items)
    for env in doomed:
        if any(line.startswith(env.name) for line in failed):
            used += env.size
            progress(f"  kept {env.name}: in use")
        else:
            progress(f"  removed {env.name} ({format_size(env.size)})")
    if used > budget:
        progress(f"storeBudget of {compute.name}: still {format_size(used)}, over "
                 f"{format_size(budget)}: the rest are in use")
