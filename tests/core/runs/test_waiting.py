"""Why queued runs wait: place in line per target and busy slots, from real slot locks."""

from __future__ import annotations

from launchdeck.core.runs import slots
from launchdeck.core.runs.state import RunState
from launchdeck.core.runs.waiting import queue_waits
from tests.tui.projects import FakeRun, copy_sample, fill_history


def test_place_in_line_and_busy_slots(tmp_path):
    project = copy_sample(tmp_path)
    compute = project.compute_path("local")
    compute.write_text(compute.read_text() + "\nmaxConcurrentRuns: 2\n")
    ids = fill_history(project, [FakeRun(RunState.RUNNING), FakeRun(RunState.QUEUED),
                                 FakeRun(RunState.QUEUED, runconfig="docker", target="docker"),
                                 FakeRun(RunState.QUEUED)])
    runs = project.history.list_runs()
    held = [slots.try_acquire(slots.folder(project.deck_dir, "local"), 2) for _ in range(2)]
    try:
        waits = queue_waits(project, runs)
        assert set(waits) == {ids[1], ids[2], ids[3]}
        assert (waits[ids[1]].position, waits[ids[3]].position) == (1, 2)
        assert waits[ids[1]].reason == "1st in line for local; 2/2 slots of local busy"
        assert waits[ids[3]].short == "#2 2/2 busy"
        assert waits[ids[2]].position == 1 and not waits[ids[2]].full  # its own target's line
        held.pop().release()
        waits = queue_waits(project, runs)
        assert waits[ids[1]].reason == "1st in line for local; a slot is free: starting"
        assert waits[ids[3]].reason == "2nd in line for local; waiting for the 1 queued before it"
    finally:
        for lease in held:
            lease.release()
