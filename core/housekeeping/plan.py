"""A prune's plan: what would go, with its size, and what stays and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ItemKind(StrEnum):
    RUN = "run"                   #: a run's folder under .deck/runs and its history row
    SNAPSHOT = "snapshot"         #: a snapshot's manifest in the content store
    BLOB = "blobs"                #: file contents no kept snapshot holds (one line for all)
    IMAGE = "image"               #: an environment image on a Docker Engine
    ENVIRONMENT = "environment"   #: an executor venv (and its archive) on a head node
    HOST_STORE = "host store"     #: snapshots and file contents in an SSH host's mirror


@dataclass(frozen=True)
class PruneItem:
    kind: ItemKind
    name: str        #: what to show: a run id, an image reference, a hash...
    size: int        #: bytes freed by removing it
    detail: str = ""  #: when it was made or last used, how many files...
    #: What removing it needs (a run record, an environment); not shown.
    handle: object = field(default=None, compare=False, repr=False)
    #: The files removing it deletes (snapshots, blobs); not shown.
    files: tuple[str, ...] = field(default=(), compare=False, repr=False)


@dataclass
class PrunePlan:
    """Items to remove, in the order they go, and notes on what is left and why."""

    where: str                    #: "this project", "target gpu1 (deck@host)"
    items: list[PruneItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(item.size for item in self.items)
