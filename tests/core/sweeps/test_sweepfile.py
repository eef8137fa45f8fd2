"""aml_config/NAME.sweep: read into settings, wrong input named by file:line:column, edited in
place."""

import pytest

from launchdeck.core.errors import ConfigError
from launchdeck.core.sweeps.definition import SearchKind, SweepSettings, define
from launchdeck.core.sweeps.sweepfile import load_sweep_file, set_setting

GOOD = """\
# tune the learning rate
search: random   # random draws
trials: 6
seed: 7
maximize: accuracy
parameters:
  lr: loguniform(1e-4, 1e-1)
  epochs: [3, 5]
  opt: choice(sgd, adam)
stop: bandit:0.1
maxDuration: 10m
goal: 0.97
targets: [local, docker]
parallel: 2
env: true
"""


def write(tmp_path, text):
    path = tmp_path / "aml_config" / "tune.sweep"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def test_a_sweep_file_gives_every_setting(tmp_path):
    s = load_sweep_file(write(tmp_path, GOOD))
    assert s.search is SearchKind.RANDOM and s.trials == 6 and s.seed == 7
    assert [p.name for p in s.parameters] == ["lr", "epochs", "opt"]
    assert s.parameters[1].values == (3, 5) and s.parameters[2].values == ("sgd", "adam")
    assert s.stop == "bandit:0.1" and s.max_duration == 600 and s.goal == 0.97
    assert s.targets == ("local", "docker") and s.parallel == 2 and s.env is True
    d = define(s)
    assert d.trials == 6 and d.maximize and d.metric == "accuracy"


def test_flags_win_over_the_file_and_add_parameters(tmp_path):
    from launchdeck.core.sweeps.space import parse_assignment

    flags = SweepSettings(parameters=(parse_assignment("lr=0.1,0.2", flag="--grid"),
                                      parse_assignment("n=1,2", flag="--grid")),
                          search=SearchKind.GRID, minimize="loss")
    merged = flags.over(load_sweep_file(write(tmp_path, GOOD)))
    assert [p.name for p in merged.parameters] == ["epochs", "opt", "lr", "n"]
    assert merged.search is SearchKind.GRID and merged.seed == 7
    assert merged.minimize == "loss" and merged.maximize is None


@pytest.mark.parametrize("text, where, says", [
    ("serach: grid\n", ":1:1:", "did you mean search?"),
    ("parameters:\n  lr: lognormal(1, 2)\n", ":2:7:", "unknown distribution 'lognormal'"),
    ("parameters:\n  lr: [0.1, [0.2]]\n", ":2:7:", "list of single values"),
    ("trials: many\n", ":1:9:", "trials must be a whole number"),
    ("search: grid\nstop: mean\n", ":2:7:", "unknown stopping rule"),
    ("maxDuration: soon\n", ":1:14:", "a duration"),
    ("goal: high\n", ":1:7:", "goal must be a number"),
    ("parameters: [lr]\n", ":1:13:", "a map of NAME"),
    ("parameters:\n  lr: [0.1\n", ":3:1:", ""),
])
def test_a_wrong_sweep_file_is_named_by_file_line_and_column(tmp_path, where, text, says):
    with pytest.raises(ConfigError) as caught:
        load_sweep_file(write(tmp_path, text))
    message = str(caught.value)
    assert f"tune.sweep{where}" in message and says in message


def test_an_edit_changes_one_value_and_keeps_every_other_byte(tmp_path):
    path = write(tmp_path, GOOD)
    set_setting(path, "trials", 12)
    set_setting(path, ("parameters", "lr"), "loguniform(1e-5, 1e-1)")
    assert path.read_text() == GOOD.replace("trials: 6", "trials: 12").replace(
        "loguniform(1e-4, 1e-1)", '"loguniform(1e-5, 1e-1)"')
    with pytest.raises(ConfigError):
        set_setting(path, "stop", "sometimes")  # not a rule: nothing is written
    assert "stop: bandit:0.1" in path.read_text()
