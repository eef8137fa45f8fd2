"""Prune a project's own files: run folders with their history rows, snapshots, blobs.

Under ``.deck/``: a run that is not kept (``keep.KeepRule``) goes with its folder and its
history row (``core.history.removal``, history first); a snapshot manifest that no kept run
names goes; then every blob that no remaining manifest holds. Files written in the last
``GRACE_SECONDS`` always stay (a snapshot of a submit that is being queued), and the store's
prune lock (``core.snapshot.lock``) is held exclusively from the plan to the last removal, so
no submit or rerun can start using what is being removed. Sweeps hold their snapshot, and the
trials of a sweep that is not over are kept whatever their age.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from launchdeck.core.errors import DeckError, SnapshotError
from launchdeck.core.housekeeping.plan import ItemKind, PruneItem, PrunePlan
from launchdeck.core.snapshot.manifest import is_digest

if TYPE_CHECKING:
    from launchdeck.core.history.records import RunRecord
    from launchdeck.core.housekeeping.keep import KeepRule
    from launchdeck.core.project import Project

#: Store files younger than this are never removed, whatever the age asked for.
GRACE_SECONDS = 3600


def folder_size(path: str | os.PathLike[str]) -> int:
    """Bytes of the files under ``path`` (what removing it frees), 0 if it is not there."""
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@contextmanager
def locked(project: "Project") -> Iterator[None]:
    """The store's prune lock, held alone: plan and remove inside it."""
    from launchdeck.core.snapshot.lock import store_lock

    with store_lock(project.store.root, exclusive=True):
        yield


@dataclass
class RunSplit:
    """The project's runs as a prune sees them, with what its sweeps hold."""

    kept: "list[RunRecord]"
    gone: "list[RunRecord]"
    #: Snapshots sweeps name (their trials to come run them); None when a sweep is unreadable.
    sweep_snapshots: set[str] | None
    notes: list[str]


def split_runs(project: "Project", rule: "KeepRule") -> RunSplit:
    """``rule`` over the project's runs, keeping too every trial of a sweep that is not over
    (its search learns from them, and ``deck sweep resume`` goes on with it)."""
    from launchdeck.core.sweeps.store import SweepState, SweepStore

    kept, gone = rule.split(project.history.list_runs(newest_first=False))
    sweeps = SweepStore(project.deck_dir)
    snapshots: set[str] | None = set()
    open_sweeps: set[str] = set()
    notes: list[str] = []
    for sweep_id in sweeps.ids():
        try:
            sweep = sweeps.get(sweep_id)
        except (DeckError, OSError, ValueError, KeyError, TypeError) as exc:
            notes.append(f"no snapshot removed: sweep {sweep_id} cannot be read ({exc})")
            snapshots = None
            open_sweeps.add(sweep_id)
            continue
        if snapshots is not None:
            snapshots |= {template.snapshot for template in sweep.templates}
        if sweeps.status(sweep_id).state is not SweepState.COMPLETED:
            open_sweeps.add(sweep_id)
    held = [run for run in gone if run.sweep_id in open_sweeps]
    if held:
        kept += held
        gone = [run for run in gone if run.sweep_id not in open_sweeps]
        notes.append(f"{plural(len(held), 'trial')} of unfinished sweeps kept")
    return RunSplit(kept, gone, snapshots, notes)


def plan_local(project: "Project", rule: "KeepRule") -> PrunePlan:
    """What pruning this project's ``.deck/`` would remove (call it under ``locked``)."""
    plan = PrunePlan(where=f"project {project.name} (.deck/)")
    split = split_runs(project, rule)
    kept, gone = split.kept, split.gone
    plan.notes += split.notes
    for run in gone:
        when = (run.end_time_utc or run.created_utc or "")[:10]
        plan.items.append(PruneItem(ItemKind.RUN, run.run_id, folder_size(project.run_dir(
            run.run_id)), f"#{run.run_number} {run.status} {when}", handle=run))
    if rule.older_than is None:
        plan.notes.append("every run is kept (no --older-than given)")
    else:
        plan.notes.append(f"{plural(len(kept), 'run')} kept: active, newer than "
                          "--older-than, or named with --keep")
    if split.sweep_snapshots is None:
        return plan
    _plan_store(project, {run.snapshot for run in kept} | split.sweep_snapshots, plan)
    return plan


def _plan_store(project: "Project", needed: set[str], plan: PrunePlan) -> None:
    store = project.store
    cutoff = time.time() - GRACE_SECONDS
    manifests = store.root / "manifests"
    keep_manifests: set[str] = set()
    try:
        entries = list(os.scandir(manifests))
    except FileNotFoundError:
        entries = []
    for entry in entries:
        fingerprint = entry.name.removesuffix(".json")
        if not is_digest(fingerprint):
            continue
        st = entry.stat(follow_symlinks=False)
        if fingerprint in needed or st.st_mtime > cutoff:
            keep_manifests.add(fingerprint)
        else:
            plan.items.append(PruneItem(ItemKind.SNAPSHOT, fingerprint[:16], st.st_size,
                                        "no kept run uses it", files=(entry.path,)))
    holds: set[str] = set()
    for fingerprint in keep_manifests:
        try:
            holds |= store.manifest(fingerprint).blob_hashes()
        except SnapshotError as exc:
            # Its blobs cannot be told: removing any blob could break a kept run.
            plan.notes.append(f"no blob removed: {exc}")
            return
    paths, size = [], 0
    for digest, path, st in _blobs(store.root / "objects"):
        if digest not in holds and st.st_mtime <= cutoff:
            paths.append(path)
            size += st.st_size
    if paths:
        plan.items.append(PruneItem(ItemKind.BLOB, plural(len(paths), "file"), size,
                                    "file contents no kept snapshot holds",
                                    files=tuple(paths)))


def _blobs(objects) -> Iterator[tuple[str, str, os.stat_result]]:
    try:
        prefixes = list(os.scandir(objects))
    except FileNotFoundError:
        return
    for prefix in prefixes:
        if len(prefix.name) != 2 or not prefix.is_dir(follow_symlinks=False):
            continue
        for entry in os.scandir(prefix.path):
            digest = prefix.name + entry.name
            if is_digest(digest):
                yield digest, entry.path, entry.stat(follow_symlinks=False)


def apply_local(project: "Project", plan: PrunePlan) -> list[str]:
    """Remove what ``plan`` lists, manifests before blobs (a manifest proves its blobs are
    there); returns what could not be removed."""
    from launchdeck.core.errors import DeckError
    from launchdeck.core.history.records import RunRecord
    from launchdeck.core.history.removal import delete_runs

    failed: list[str] = []
    runs = [item.handle for item in plan.items if isinstance(item.handle, RunRecord)]
    if runs:
        try:
            delete_runs(project, runs)
        except DeckError as exc:  # history refused: their snapshots may still be wanted
            return [str(exc)]
    for item in plan.items:  # manifests come before blobs in a plan
        for path in item.files:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                failed.append(f"{path}: {exc.strerror}")
    return failed
