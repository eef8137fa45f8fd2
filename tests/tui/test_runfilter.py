from launchdeck.core.runs.state import RunState
from tests.tui.projects import FakeRun, fill_history, copy_sample
from launchdeck.core.history.store import HistoryStore
from launchdeck.tui.runfilter import RunFilter


def test_words_and_fields(tmp_path):
    project = copy_sample(tmp_path)
    fill_history(project, [FakeRun(RunState.FAILED), FakeRun(RunState.COMPLETED, target="gpu1",
                                                             runconfig="gpu1"),
                           FakeRun(RunState.CANCELED, script="score.py")])
    runs = HistoryStore(project.deck_dir / "history.db").list_runs(newest_first=False)

    def shown(text):
        return [i for i, r in enumerate(runs) if RunFilter(text).matches(r)]

    assert shown("") == [0, 1, 2]
    assert shown("status:Failed") == [0]
    assert shown("status:fail,cancel") == [0, 2]
    assert shown("target:gpu1") == [1]
    assert shown("score") == [2]
    assert shown("train status:completed") == [1]
    assert shown("config:gpu") == [1]
    assert shown("nothing-like-this") == []
    assert not RunFilter("  ") and RunFilter("x")
