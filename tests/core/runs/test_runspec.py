"""ArgumentVector -> (interpreter options, script arguments), as Workbench read it."""

import pytest

from core.runs.runspec import split_argument_vector


@pytest.mark.parametrize("vector, script, expected", [
    (["$file"], "train.py", ((), ())),
    (["$file", "--epochs", "5"], "train.py", ((), ("--epochs", "5"))),
    (["-u", "$file", "x"], "train.py", (("-u",), ("x",))),
    (["-W", "ignore", "-O", "$file"], "train.py", (("-W", "ignore", "-O"), ())),
    (["$file", "--self", "$file"], "src/train.py", ((), ("--self", "src/train.py"))),
    (["train.py", "--epochs", "3"], "train.py", ((), ("--epochs", "3"))),
    (["./train.py", "--epochs", "3"], "train.py", ((), ("--epochs", "3"))),
    (["src/train.py", "3"], "src/train.py", ((), ("3",))),
    (["train.py", "3"], "src/train.py", ((), ("3",))),
    (["--epochs", "3"], "train.py", ((), ("--epochs", "3"))),
    (["other.py", "3"], "train.py", ((), ("other.py", "3"))),
    ([], "train.py", ((), ())),
])
def test_entries_before_file_are_options_and_the_script_is_never_doubled(vector, script,
                                                                          expected):
    assert split_argument_vector(tuple(vector), script) == expected
