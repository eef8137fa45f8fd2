"""The TPE source: Optuna's sampler proposes trials and learns from finished ones, also from
trials a previous owner started (a resumed sweep)."""

from launchdeck.core.sweeps.definition import SearchKind, SweepSettings, define
from launchdeck.core.sweeps.space import parse_assignment
from launchdeck.core.sweeps.tpe import TpeSource


def definition(seed=5):
    return define(SweepSettings(
        parameters=(parse_assignment("x=uniform(-1,1)", flag="--param"),
                    parse_assignment("k=choice(a,b)", flag="--param")),
        search=SearchKind.TPE, trials=10, seed=seed, minimize="loss"))


def test_proposals_stay_in_the_space_and_finished_trials_are_learned():
    source = TpeSource(definition())
    for index in range(6):
        params = source.propose(index)
        assert -1 <= params["x"] <= 1 and params["k"] in ("a", "b")
        source.tell(index, params, params["x"] ** 2, stopped=index == 5)
    states = [t.state.name for t in source.study.trials]
    assert states == ["COMPLETE"] * 5 + ["PRUNED"]
    assert source.study.best_value == min(t.value for t in source.study.trials[:5])


def test_a_resumed_owner_tells_a_new_study_the_trials_it_did_not_propose():
    source = TpeSource(definition())
    source.tell(0, {"x": 0.25, "k": "a"}, 0.0625, stopped=False)
    source.tell(1, {"x": 0.5, "k": "b"}, None, stopped=False)  # failed
    source.tell(2, {"x": 7.0, "k": "a"}, 49.0, stopped=False)  # outside today's space: skipped
    assert [(t.params, t.state.name) for t in source.study.trials] == [
        ({"x": 0.25, "k": "a"}, "COMPLETE"), ({"x": 0.5, "k": "b"}, "FAIL")]
    assert "x" in source.propose(3)
