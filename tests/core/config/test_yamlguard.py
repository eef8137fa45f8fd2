"""The loader's guards: separator tabs, symlinks out of the project, size and alias bounds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from launchdeck.core.config.compute import load_compute
from launchdeck.core.config.conda import load_conda
from launchdeck.core.config.runconfig import load_runconfig, set_env
from launchdeck.core.config.spark import load_spark
from launchdeck.core.config.yamlio import load_document
from launchdeck.core.errors import ConfigError
from tests.core.config.conftest import write


TABBED = {
    "local.compute": "type:\tlocal\npythonLocation:\t\t/usr/bin/python3\n",
    "local.runconfig": ("ArgumentVector:\n-\t\"$file\"\n  # a comment\nTarget:\tlocal\n"
                        "EnvironmentVariables:\n  A:\t\"1\"\n  B: |\n    keep\ta tab: here\t\n"
                        "Framework: Python\t# or PySpark\n"),
    "conda_dependencies.yml": "name:\tenv\ndependencies:\n  -\tpython=3.11\n  - pip:\n"
                              "    -\trequests\n",
    "spark_dependencies.yml": "configuration:\n  spark.app.name:\tdemo\npackages:\n"
                              "  - group:\tcom.a\n    artifact: b\n    version: \"1\"\n",
}


@pytest.fixture
def tabbed(in_tmp) -> Path:
    for name, text in TABBED.items():
        write(in_tmp / "aml_config" / name, text)
    return in_tmp / "aml_config"


def test_tabs_as_separators_load_in_all_four_files_with_a_warning_per_line(tabbed):
    compute = load_compute(tabbed / "local.compute")
    assert compute.python_location == "/usr/bin/python3"
    rc = load_runconfig(tabbed / "local.runconfig")
    assert rc.argument_vector == ("$file",) and rc.target == "local"
    # A tab inside block text is the value's own and stays.
    assert rc.environment_variables == {"A": "1", "B": "keep\ta tab: here\t\n"}
    conda = load_conda(tabbed / "conda_dependencies.yml")
    assert conda.conda_packages == ("python=3.11",) and conda.pip_packages == ("requests",)
    spark = load_spark(tabbed / "spark_dependencies.yml")
    assert spark.configuration == {"spark.app.name": "demo"}
    assert spark.packages[0].group == "com.a"
    lines = {name: [w.line for w in load_document(tabbed / name).warnings] for name in TABBED}
    assert lines == {"local.compute": [1, 2], "local.runconfig": [2, 4, 6, 9],
                     "conda_dependencies.yml": [1, 3, 5], "spark_dependencies.yml": [2, 4]}
    warning = str(load_document(tabbed / "local.compute").warnings[0])
    assert warning.startswith("aml_config/local.compute:1: warning: a tab separates")


def test_editing_a_tabbed_file_keeps_every_other_byte(tabbed):
    path = tabbed / "local.runconfig"
    before = path.read_text()
    set_env(path, {"A": "2", "C": "3"})
    after = path.read_text()
    assert after == before.replace('  A:\t"1"', '  A:\t"2"').replace(
        "    keep\ta tab: here\t\n", '    keep\ta tab: here\t\n  C: "3"\n')
    set_env(path, {"A": "1"})
    assert load_runconfig(path).environment_variables["C"] == "3"


def test_a_config_symlinked_out_of_the_project_is_refused_naming_the_link(in_tmp):
    secret = in_tmp / "elsewhere" / "secret.txt"
    write(secret, "root:x:0:0:TOPSECRET:/root:/bin/bash\n")
    project = in_tmp / "project"
    write(project / "aml_config" / "local.compute", "type: local\n")
    link = project / "aml_config" / "conda_dependencies.yml"
    link.symlink_to(secret)
    with pytest.raises(ConfigError) as caught:
        load_conda(link)
    message = str(caught.value)
    assert "project/aml_config/conda_dependencies.yml is a symlink" in message
    assert "outside the project" in message and "TOPSECRET" not in message
    # The same through a linked folder, and a link that stays inside is fine.
    (project / "aml_config" / "inside.compute").symlink_to("local.compute")
    assert load_compute(project / "aml_config" / "inside.compute").type == "local"


def test_a_file_over_one_megabyte_is_refused_before_it_is_parsed(in_tmp):
    path = write(in_tmp / "aml_config" / "big.runconfig",
                 "Target: local\n" + "# comment line\n" * 80_000)
    with pytest.raises(ConfigError, match=r"is 1\.1 MB; config files over 1 MB are refused"):
        load_runconfig(path)


def test_nearly_a_megabyte_of_comments_still_loads(in_tmp):
    path = write(in_tmp / "aml_config" / "c.runconfig",
                 "Target: local\n" + "# a comment line of some length, as people write\n"
                 * 20_000 + "EnvironmentVariables:\n  A: b # trailing\n")
    assert load_runconfig(path).environment_variables == {"A": "b"}


BOMB = "".join(["a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"]
               + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
                  for i in range(8)])


def test_an_alias_bomb_is_refused_with_a_clear_message(in_tmp):
    path = write(in_tmp / "aml_config" / "bomb.runconfig", "Target: local\n" + BOMB)
    with pytest.raises(ConfigError, match="aliases .* expand to more than 200,000 values"):
        load_runconfig(path)


def test_env_set_on_an_alias_bomb_ends_at_once_with_one_line(in_tmp):
    """Before the guard this ran for minutes, took gigabytes, then printed a traceback."""
    write(in_tmp / "aml_config" / "local.compute", "type: local\n")
    write(in_tmp / "aml_config" / "local.runconfig", "Target: local\n" + BOMB)
    result = subprocess.run([sys.executable, "-m", "launchdeck.cli.main", "runconfig", "env",
                             "set", "local", "A=1"], cwd=in_tmp, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "alias bomb" in result.stderr and "Traceback" not in result.stderr


def test_a_self_referring_alias_and_deep_nesting_are_errors_not_crashes(in_tmp):
    path = write(in_tmp / "aml_config" / "loop.runconfig", "Target: local\nx: &x [*x]\n")
    assert load_runconfig(path).unknown_keys == ("x",)  # ruamel reads the inner *x as null
    deep = write(in_tmp / "aml_config" / "deep.runconfig",
                 "Target: local\nx: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError):
        load_runconfig(deep)


def test_a_fifo_in_place_of_a_config_is_refused_not_waited_on(in_tmp):
    path = in_tmp / "aml_config" / "local.runconfig"
    path.parent.mkdir()
    os.mkfifo(path)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_runconfig(path)
