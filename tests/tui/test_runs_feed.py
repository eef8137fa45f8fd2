from launchdeck.core.history.store import HistoryStore
from launchdeck.core.runs.state import RunState
from tests.tui.projects import FakeRun, fill_history, run_id
from launchdeck.tui.runs_feed import RECENT, RunsFeed


class Clock:
    now = 1e9

    def __call__(self):
        return self.now


def feed_of(project, clock=None):
    return RunsFeed(HistoryStore(project.deck_dir / "history.db"), clock=clock or Clock())


def test_first_poll_reads_everything_then_metrics(history_project):
    project, ids = history_project
    feed = feed_of(project)
    first = feed.poll()
    assert first.full and set(first.runs) == set(ids)
    # First metrics came in the same poll: runs with metrics were pending.
    assert first.first_metric[ids[0]] == ("loss", 0.05)
    assert ids[1] not in first.first_metric
    assert not feed.poll()  # nothing committed since: nothing read


def test_only_changes_come_back(history_project):
    project, ids = history_project
    clock = Clock()
    feed = feed_of(project, clock)
    feed.poll()
    writer = HistoryStore(project.deck_dir / "history.db")
    writer.transition(ids[3], RunState.COMPLETED, exit_code=0)  # was Running
    writer.add_metrics(ids[3], [("loss", 0.01, None)], new_offset=999)
    update = feed.poll()
    assert set(update.runs) == {ids[3]}
    assert update.runs[ids[3]].status is RunState.COMPLETED
    # Its metric was read a moment ago: the new value waits for the next refresh.
    assert update.first_metric == {}
    clock.now += 2
    assert feed.poll().first_metric == {ids[3]: ("loss", 0.01)}


def test_a_burst_of_new_runs_reads_all_again(history_project):
    project, ids = history_project
    feed = feed_of(project)
    feed.poll()
    more = fill_history_more(project, RECENT + 5, start=len(ids))
    update = feed.poll()
    assert update.full and set(more) <= set(update.runs)


def fill_history_more(project, count, *, start):
    from tests.tui.projects import T0, iso
    from launchdeck.core.history.records import RunRecord
    from datetime import timedelta

    store = HistoryStore(project.deck_dir / "history.db")
    made = []
    for i in range(start, start + count):
        rid = run_id(i)
        store.insert_run(RunRecord(run_id=rid, status=RunState.QUEUED, target="local",
                                   run_configuration="local", script="train.py", arguments=(),
                                   framework="Python", snapshot="0" * 64, config={},
                                   created_utc=iso(T0 + timedelta(minutes=i))))
        made.append(rid)
    return made


def test_a_run_that_ended_between_looks_is_seen(tmp_path):
    from tests.tui.projects import copy_sample

    project = copy_sample(tmp_path)
    ids = fill_history(project, [FakeRun(RunState.RUNNING)] + [FakeRun(RunState.COMPLETED)] * 40)
    feed = feed_of(project)
    feed.poll()
    HistoryStore(project.deck_dir / "history.db").transition(ids[0], RunState.FAILED)
    update = feed.poll()
    assert update.runs[ids[0]].status is RunState.FAILED  # old: not among the newest, was active
