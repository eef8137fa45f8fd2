"""Parameters from NAME=SPEC texts, the grid, and random draws that a seed repeats."""

import math

import pytest

from launchdeck.core.errors import ConfigError
from launchdeck.core.sweeps.space import (as_text, grid, parse_assignment, random_trial)


def test_lists_and_distributions_read_from_their_text():
    lr = parse_assignment("lr=0.01,0.1,0.3", flag="--grid")
    assert lr.is_list and lr.values == (0.01, 0.1, 0.3)
    assert parse_assignment("epochs=3,5", flag="--grid").values == (3, 5)
    assert parse_assignment("opt=choice(sgd, adam)", flag="--param").values == ("sgd", "adam")
    log = parse_assignment("lr=loguniform(1e-4,1e-1)", flag="--param")
    assert (log.kind, log.low, log.high) == ("loguniform", 1e-4, 1e-1)
    layers = parse_assignment("layers=randint(1,4)", flag="--param")
    assert (layers.kind, layers.low, layers.high) == ("randint", 1, 4)


@pytest.mark.parametrize("text, says", [
    ("lr", "NAME=VALUES"),
    ("lr=normal(0,1)", "unknown distribution 'normal'"),
    ("lr=loguniform(0,1)", "above 0"),
    ("lr=uniform(2,1)", "low below high"),
    ("n=randint(1,2.5)", "whole numbers"),
    ("lr=0.1,,0.2", "empty value"),
    ("lr=1,1", "given twice"),
    ("9lives=1", "not a parameter name"),
])
def test_a_wrong_spec_says_what_is_wrong_and_names_the_flag(text, says):
    with pytest.raises(ConfigError) as caught:
        parse_assignment(text, flag="--param")
    assert says in str(caught.value) and "--param" in str(caught.value)


def test_the_grid_is_every_combination_first_parameter_slowest():
    points = grid([parse_assignment("lr=0.1,0.3", flag="--grid"),
                   parse_assignment("epochs=3,5", flag="--grid")])
    assert points == [{"lr": 0.1, "epochs": 3}, {"lr": 0.1, "epochs": 5},
                      {"lr": 0.3, "epochs": 3}, {"lr": 0.3, "epochs": 5}]


def test_random_draws_stay_in_their_distribution_and_a_seed_repeats_them():
    space = [parse_assignment("lr=loguniform(1e-4,1e-1)", flag="--param"),
             parse_assignment("n=randint(1,3)", flag="--param"),
             parse_assignment("opt=choice(sgd,adam)", flag="--param")]
    first = [random_trial(space, 7, i) for i in range(50)]
    assert first == [random_trial(space, 7, i) for i in range(50)]
    assert first != [random_trial(space, 8, i) for i in range(50)]
    assert all(1e-4 <= t["lr"] <= 1e-1 and t["n"] in (1, 2, 3) and t["opt"] in ("sgd", "adam")
               for t in first)
    # loguniform: as many draws below 1e-2.5 (the middle in log) as above, roughly
    low = sum(math.log10(t["lr"]) < -2.5 for t in first)
    assert 10 < low < 40


def test_values_reach_the_script_as_text_that_reads_back_the_same():
    assert as_text(0.1) == "0.1" and as_text(3) == "3" and as_text("adam") == "adam"
    assert float(as_text(1 / 3)) == 1 / 3
