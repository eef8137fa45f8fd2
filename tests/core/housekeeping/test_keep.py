"""Which runs a prune keeps: active always, pinned always, the rest by age."""

from datetime import datetime, timedelta, timezone

from launchdeck.core.history.records import RunRecord
from launchdeck.core.housekeeping.keep import KeepRule
from launchdeck.core.runs.state import RunState

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def run(run_id: str, status: RunState, *, ended_days_ago: float | None,
        created_days_ago: float = 100) -> RunRecord:
    def utc(days):
        return (NOW - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    return RunRecord(run_id=run_id, status=status, target="local", run_configuration="local",
                     script="train.py", arguments=(), framework="Python", snapshot="0" * 64,
                     config={}, created_utc=utc(created_days_ago),
                     end_time_utc=None if ended_days_ago is None else utc(ended_days_ago))


def test_age_counts_from_the_end_of_a_run_and_active_runs_are_always_kept():
    old = run("old", RunState.COMPLETED, ended_days_ago=40)
    recent = run("recent", RunState.FAILED, ended_days_ago=2)   # submitted long ago
    queued = run("queued", RunState.QUEUED, ended_days_ago=None)  # waiting 100 days
    running = run("running", RunState.RUNNING, ended_days_ago=None)
    kept, gone = KeepRule(older_than=30 * 86400, now=NOW).split([old, recent, queued, running])
    assert [r.run_id for r in kept] == ["recent", "queued", "running"]
    assert [r.run_id for r in gone] == ["old"]


def test_a_pinned_run_is_kept_whatever_its_age():
    old = run("old", RunState.COMPLETED, ended_days_ago=400)
    rule = KeepRule(older_than=86400, pinned=frozenset({"old"}), now=NOW)
    assert rule.split([old]) == ([old], [])


def test_without_an_age_every_run_is_kept():
    runs = [run("a", RunState.CANCELED, ended_days_ago=1000)]
    assert KeepRule(now=NOW).split(runs) == (runs, [])
