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


def test_a_target_counted_on_its_host_says_what_its_host_said(tmp_path):
    from launchdeck.core.runs.hostwait import NOTE

    project = copy_sample(tmp_path)
    project.compute_path("gpu1").write_text(
        "type: remote\naddress: gpu1.example.com\nmaxConcurrentRuns: 3\n")
    ids = fill_history(project, [FakeRun(RunState.QUEUED, target="gpu1"),
                                 FakeRun(RunState.QUEUED, target="gpu1")])
    runs = project.history.list_runs()
    waits = queue_waits(project, runs)
    assert waits[ids[0]].reason == "1st in line for gpu1; asking its host for a slot"
    assert waits[ids[1]].reason == "2nd in line for gpu1; waiting for the 1 queued before it"
    # What the first one's keeper heard from the host (core.runs.hostwait writes it).
    project.run_dir(ids[0]).mkdir(parents=True, exist_ok=True)
    (project.run_dir(ids[0]) / NOTE).write_text(
        '{"target": "gpu1", "busy": 3, "limit": 3, "other_machines": 1, "other_projects": 0}')
    waits = queue_waits(project, runs)
    assert waits[ids[0]].reason == \
        "1st in line for gpu1; 3/3 slots of gpu1 busy, 1 from another machine"
    assert waits[ids[1]].short == "#2 3/3 busy"
    # Without maxConcurrentRuns each machine counts its own default, as before.
    project.compute_path("gpu1").write_text("type: remote\naddress: gpu1.example.com\n")
    assert queue_waits(project, runs)[ids[0]].reason == \
        "1st in line for gpu1; a slot is free: starting"
