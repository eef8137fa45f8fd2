"""What a target tells through its ``RunEvents`` is what the run's keeper records.

The target here is a small in-test one (no process, no container): its launch reports progress
and the environment it used, and its run loses its link, gets an application id and gets the
link back while it writes output. The keeper must show each on the run as it happens.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from launchdeck.core.project import Project
from launchdeck.core.runs import keeper
from launchdeck.core.runs.state import RunState
from launchdeck.core.runs.submit import submit
from launchdeck.core.targets.base import Capability, RunEvents, RunSpec

LOST_AT = datetime(2026, 11, 30, 12, 0, 1, 250000, tzinfo=timezone.utc)


class ToldExecution:
    """A run that says what happens to it, and looks at the run's record meanwhile."""

    def __init__(self, events: RunEvents, seen: dict, external_id: str) -> None:
        self.events = events
        self.seen = seen
        self.external_id = external_id

    async def logs(self, from_offset: int = 0):
        output = b"first line\n"
        if from_offset < len(output):
            yield output[from_offset:]
        self.events.link_state(self.seen.get("lost at", LOST_AT))
        self.seen["while lost"] = self.seen["record"]()
        self.events.external_id("app-20261130120001-0007")
        self.events.link_state(None)
        self.seen["when back"] = self.seen["record"]()
        yield b"last line\n"

    async def metrics(self, from_offset: int = 0):
        return
        yield b""

    async def wait(self) -> int:
        return 0

    async def cancel(self, *, grace_seconds: float = 10.0) -> None:
        pass

    async def collect_outputs(self, dest: Path) -> list[str]:
        dest.mkdir(parents=True, exist_ok=True)
        return []

    async def release(self) -> None:
        pass


class ToldTarget:
    """Declares no optional ability: everything it says goes through the events it is given."""

    name = "local"
    capabilities: frozenset[Capability] = frozenset()
    max_concurrent_runs = 4

    def __init__(self, seen: dict) -> None:
        self.seen = seen

    async def check(self) -> dict[str, str]:
        return {}

    async def prepare(self, env, *, progress) -> str:
        return ""

    async def launch(self, spec: RunSpec, events: RunEvents) -> ToldExecution:
        events.progress("synced 3 files (2 kB) to the host")
        events.environment("deck-env:0123abcd")
        return ToldExecution(events, self.seen, "told pid 42")

    async def attach(self, spec: RunSpec, external_id: str, events: RunEvents) -> ToldExecution:
        self.seen["attached to"] = external_id
        return ToldExecution(events, self.seen, external_id)

    async def close(self) -> None:
        pass


@pytest.fixture
def told(project, monkeypatch):
    """The project's ``local`` target replaced by a ``ToldTarget``, in this process."""
    deck_project = Project(project)
    seen: dict = {}
    monkeypatch.setattr("launchdeck.core.targets.registry.open_target",
                        lambda project, compute: ToldTarget(seen))
    # In-process: this test's own priority must stay as it is.
    monkeypatch.setattr("launchdeck.core.targets.priority.lower_priority", lambda niceness: None)
    return deck_project, seen


def _submit(deck_project: Project, project: Path):
    run = submit(deck_project, "local", str(project / "train.py"), ("--epochs", "1"),
                 start=False)
    return run, (lambda: deck_project.history.get_run(run.run_id))


async def test_the_keeper_records_link_state_external_id_and_environment_a_launch_tells(
        project, told):
    deck_project, seen = told
    run, record = _submit(deck_project, project)
    seen["record"] = record

    await asyncio.wait_for(keeper.Keeper(deck_project, run.run_id).run(), 60)

    lost = seen["while lost"]
    assert lost.status == "Running"
    assert lost.disconnected_since == "2026-11-30T12:00:01.250000Z"
    assert seen["when back"].disconnected_since is None
    final = record()
    assert final.status == "Completed"
    assert final.external_id == "app-20261130120001-0007"
    assert final.environment_id == "deck-env:0123abcd"
    run_dir = deck_project.run_dir(run.run_id)
    progress = "synced 3 files (2 kB) to the host\n"
    assert (run_dir / "output.log").read_text() == progress + "first line\nlast line\n"
    # The progress line is not the target's output: a later keeper resumes after it.
    assert int((run_dir / "log_base").read_text()) == len(progress)


async def test_a_link_lost_in_another_time_zone_is_recorded_in_utc(project, told):
    deck_project, seen = told
    run, record = _submit(deck_project, project)
    seen["record"] = record
    seen["lost at"] = LOST_AT.astimezone(timezone(timedelta(hours=-5)))

    await asyncio.wait_for(keeper.Keeper(deck_project, run.run_id).run(), 60)

    assert seen["while lost"].disconnected_since == "2026-11-30T12:00:01.250000Z"


async def test_a_revived_keeper_gives_the_events_to_attach_too(project, told):
    deck_project, seen = told
    run, record = _submit(deck_project, project)
    seen["record"] = record
    # As after a keeper that died once its run had launched.
    deck_project.history.update_run(run.run_id, external_id="told pid 42")
    deck_project.history.transition(run.run_id, RunState.RUNNING)

    await asyncio.wait_for(keeper.Keeper(deck_project, run.run_id).run(), 60)

    assert seen["attached to"] == "told pid 42"
    assert seen["while lost"].disconnected_since == "2026-11-30T12:00:01.250000Z"
    assert record().external_id == "app-20261130120001-0007"
    assert record().status == "Completed"
