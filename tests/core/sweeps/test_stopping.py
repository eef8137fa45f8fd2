"""Early stopping rules, with HyperDrive's definitions."""

import pytest

from launchdeck.core.errors import ConfigError
from launchdeck.core.sweeps.stopping import BanditRule, MedianRule, parse_rule


def test_median_stops_a_trial_worse_than_the_completed_trials_median_at_its_step():
    completed = [[0.5, 0.7, 0.9], [0.6, 0.8, 0.9], [0.1, 0.2, 0.3]]
    rule = MedianRule()
    # running averages up to step 2: 0.6, 0.7, 0.15 -> median 0.6
    assert rule.verdict([0.4, 0.55], completed, completed, maximize=True)
    assert rule.verdict([0.4, 0.65], completed, completed, maximize=True) is None
    # minimizing, the best so far is the smallest: 0.65 is above the median
    assert rule.verdict([0.7, 0.65], completed, completed, maximize=False)
    assert rule.verdict([0.4, 0.65], completed, completed, maximize=False) is None
    assert rule.verdict([0.9], [], [[0.1]], maximize=True) is None  # nothing completed yet


def test_bandit_stops_a_trial_outside_the_slack_of_the_best_at_its_step():
    others = [[0.5, 0.8], [0.4]]
    rule = BanditRule(0.1)
    # best by step 2 is 0.8; 0.72 * 1.1 = 0.792 < 0.8
    assert "slack 0.1" in rule.verdict([0.6, 0.72], [], others, maximize=True)
    assert rule.verdict([0.6, 0.73], [], others, maximize=True) is None
    # minimizing: stopped when above best * 1.1
    assert rule.verdict([0.6], [], [[0.5]], maximize=False)
    assert rule.verdict([0.55], [], [[0.5]], maximize=False) is None


def test_rules_are_read_from_their_names_and_a_wrong_one_is_refused():
    assert isinstance(parse_rule("median"), MedianRule)
    assert parse_rule("bandit:0.2").slack == 0.2
    assert parse_rule("none") is None and parse_rule(None) is None
    for bad in ("bandit", "bandit:-1", "mean", "median:3"):
        with pytest.raises(ConfigError, match="--stop"):
            parse_rule(bad)
