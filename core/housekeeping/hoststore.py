"""Prune an SSH host's mirror of the content store (``~/.launchdeck/store``, ``core.remote.sync``).

The mirror is shared by every project and machine that sends runs to that login, and it is a
cache: a snapshot it lacks is sent again by the next run that needs it. So what goes is decided
by use, not by this project's runs: a snapshot that no sync has relied on for ``older_than``
(a sync marks what it finds there), then the file contents no remaining snapshot holds
(``core/farside/storeprune.py`` does it on the host, rechecking each file's age as it
removes it). The snapshots of this project's active runs on the target always stay.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from launchdeck.core import farside
from launchdeck.core.errors import TargetError
from launchdeck.core.housekeeping.plan import ItemKind, PruneItem
from launchdeck.core.remote.sync import REMOTE_STORE

if TYPE_CHECKING:
    from launchdeck.core.remote.commands import SSHHost

#: Nothing a sync used within this many seconds is removed, whatever the age asked for.
MIN_AGE_SECONDS = 3600


async def prune_host_store(host: "SSHHost", *, older_than: float, keep: set[str],
                           apply: bool, store_dir: str = REMOTE_STORE,
                           ) -> tuple[list[PruneItem], str | None]:
    """What goes (``apply``) or would go from the host's store: items, and a note or None."""
    minutes = max(older_than, MIN_AGE_SECONDS) / 60
    result = await host.run(["python3", "-", store_dir, f"{minutes:.3f}",
                             "apply" if apply else "plan", *sorted(keep)],
                            input=farside.script("storeprune").encode())
    try:
        report = json.loads(result.stdout.decode().strip().splitlines()[-1])
        (snapshots, snapshot_bytes), (blobs, blob_bytes) = report["snapshots"], report["blobs"]
    except (ValueError, IndexError, KeyError, TypeError):
        err = result.stderr.decode(errors="replace").strip()[-1000:]
        raise TargetError(f"{host.endpoint}: pruning the host's store failed "
                          f"(exit {result.exit_status}): {err or 'no answer'}") from None
    items = []
    if snapshots:
        items.append(PruneItem(ItemKind.HOST_STORE, _count(snapshots, "snapshot"),
                               snapshot_bytes, "no sync used them lately"))
    if blobs:
        items.append(PruneItem(ItemKind.HOST_STORE, _count(blobs, "file"), blob_bytes,
                               "file contents no remaining snapshot holds"))
    return items, report.get("note")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
