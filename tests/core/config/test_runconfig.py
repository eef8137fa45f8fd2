"""`.runconfig` files: loading both styles, every bad value at its position, in-place edits."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml as pyyaml

from launchdeck.core.config.runconfig import (create_runconfig, load_runconfig, set_env, set_field,
                                   unset_env)
from launchdeck.core.errors import ConfigError
from launchdeck.core.config.framework import Framework
from tests.core.config.conftest import FILES, added_lines, changed_lines, make_project, write
from tests.core.config.test_yamlio import NASTY

GOOD = "ArgumentVector:\n- $file\nTarget: local\n"


def rejects(in_tmp, text: str, message: str) -> None:
    path = write(in_tmp / "aml_config" / "x.runconfig", text)
    with pytest.raises(ConfigError) as info:
        load_runconfig(path)
    assert str(info.value) == message


def refuses(path: Path, edit, *args, needle: str) -> None:
    """The edit fails with ``needle`` in its message and the file keeps every byte."""
    before = path.read_bytes()
    with pytest.raises(ConfigError) as info:
        edit(path, *args)
    assert needle in str(info.value), str(info.value)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir() if p.name.startswith(".")] == []


# -- loading ------------------------------------------------------------------------------------

def test_quoted_workbench_runconfig(in_tmp):
    project = make_project(in_tmp, "quoted")
    config = load_runconfig(project / "aml_config" / "docker.runconfig")
    assert (config.name, config.target, config.argument_vector, config.framework) == (
        "docker", "docker", ("$file",), Framework.PYSPARK)
    assert config.environment_variables == {"EXAMPLE_ENV_VAR": "Example Value"}
    assert (config.prepare_environment, config.tracked_run) == (True, True)
    assert config.unknown_keys == ("DataSourceSubstitutions", "UseSampling")
    assert config.resolved_conda_path() == project / "aml_config" / "conda_dependencies.yml"


def test_plain_workbench_runconfigs(in_tmp):
    project = make_project(in_tmp, "plain")
    local = load_runconfig(project / "aml_config" / "local.runconfig")
    assert (local.target, local.framework, local.prepare_environment) == (
        "local", Framework.PYTHON, False)
    docker = load_runconfig(project / "aml_config" / "docker.runconfig")
    # Numbers are kept as written: 10 and 0.010, not 10 and 0.01.
    assert docker.argument_vector == ("$file", "--epochs", "10")
    assert docker.environment_variables == {"EXAMPLE_ENV_VAR": "Example Value",
                                            "LEARNING_RATE": "0.010"}


def test_defaults(in_tmp):
    config = load_runconfig(write(in_tmp / "aml_config" / "d.runconfig",
                                  "Target: local\nEnvironmentVariables: null\n"
                                  "CondaDependenciesFile: null\n"))
    assert config.argument_vector == ("$file",)
    assert config.environment_variables == {}
    assert (config.framework, config.prepare_environment, config.tracked_run) == (
        Framework.PYTHON, False, True)
    assert (config.conda_dependencies_file, config.spark_dependencies_file) == (None, None)
    assert config.resolved_conda_path() == in_tmp / "aml_config" / "conda_dependencies.yml"
    assert config.resolved_spark_path("/p") == Path("/p/aml_config/spark_dependencies.yml")


def test_framework_is_case_insensitive_and_a_windows_path_works(in_tmp):
    config = load_runconfig(write(in_tmp / "aml_config" / "w.runconfig",
                                  GOOD + "Framework: pyspark\n"
                                  "CondaDependenciesFile: aml_config\\gpu_env.yml\n"))
    assert config.framework is Framework.PYSPARK
    assert config.conda_dependencies_file == "aml_config/gpu_env.yml"


@pytest.mark.parametrize("text, message", [
    ("ArgumentVector:\n- $file\nTarget: local\nFramework: Python\nEnvironmentVariables: [A, B]\n",
     "5:23: EnvironmentVariables must be a map of NAME: value, got a list"),
    (GOOD + "EnvironmentVariables:\n  A=B: x\n",
     "5:3: EnvironmentVariables: 'A=B' is not a valid environment variable name (names cannot "
     'contain "=")'),
    (GOOD + 'EnvironmentVariables:\n  "": x\n',
     "5:3: EnvironmentVariables: '' is not a valid environment variable name (it is empty)"),
    (GOOD + 'EnvironmentVariables:\n  "A\\0B": x\n',
     "5:3: EnvironmentVariables: 'A\\x00B' is not a valid environment variable name (names "
     "cannot contain a NUL character)"),
    (GOOD + "EnvironmentVariables:\n  1: x\n",
     "5:3: EnvironmentVariables: a variable name must be text, got the number 1; put it in "
     "quotes"),
    (GOOD + "EnvironmentVariables:\n  EMPTY:\n",
     '5:3: EnvironmentVariables.EMPTY has no value; write "" for empty text'),
    (GOOD + "EnvironmentVariables:\n  LIST: [1, 2]\n",
     "5:9: EnvironmentVariables.LIST must be a single value, got a list"),
    (GOOD + 'EnvironmentVariables:\n  NUL: "a\\0b"\n',
     "5:8: EnvironmentVariables.NUL contains a NUL character, which no environment variable "
     "can hold"),
    ("ArgumentVector: $file\nTarget: local\n",
     '1:17: ArgumentVector must be a list, each item an argument, got "$file"'),
    ("ArgumentVector:\n- $file\n- {a: 1}\nTarget: local\n",
     "3:3: ArgumentVector[1] must be a single value, got a map"),
    ("ArgumentVector:\n- $file\n-\nTarget: local\n",
     '3:2: ArgumentVector[1] has no value; write "" for empty text'),
    ("ArgumentVector:\n- $file\n",
     "Target is required (the name of a compute target in aml_config/, such as local)"),
    ("Target: ''\n", "1:9: Target must not be empty (the name of a compute target in "
                     "aml_config/, such as local)"),
    ("Target: ../etc/passwd\n", "1:9: Target '../etc/passwd' is not a compute target name"),
    ("Target: 3\n", "1:9: Target must be the name of a compute target, got the number 3"),
    (GOOD + "Framework: Scala\n", '4:12: Framework must be "Python" or "PySpark", got "Scala"'),
    (GOOD + "CondaDependenciesFile: /etc/conda.yml\n", "4:24: CondaDependenciesFile must be a "
     "path inside the project, relative to it: it is an absolute path"),
    (GOOD + "CondaDependenciesFile: C:\\env.yml\n", "4:24: CondaDependenciesFile must be a path "
     "inside the project, relative to it: it is an absolute path"),
    (GOOD + "SparkDependenciesFile: aml_config/../../spark.yml\n", "4:24: SparkDependenciesFile "
     "must be a path inside the project, relative to it: it leads outside the project (..)"),
    (GOOD + "SparkDependenciesFile: [a]\n", "4:24: SparkDependenciesFile must be a path relative "
     "to the project, or null for aml_config/spark_dependencies.yml, got a list"),
    (GOOD + "PrepareEnvironment: yes\n", '4:21: PrepareEnvironment must be true or false, got '
                                         '"yes"'),
    (GOOD + "TrackedRun: 1\n", "4:13: TrackedRun must be true or false, got the number 1"),
])
def test_bad_values_are_reported_at_their_position(in_tmp, text, message):
    where = "aml_config/x.runconfig" + ("" if message.startswith("Target is") else ":")
    rejects(in_tmp, text, f"{where}{'' if where.endswith(':') else ': '}{message}")


def test_a_path_that_goes_down_and_up_inside_the_project_is_fine(in_tmp):
    config = load_runconfig(write(in_tmp / "aml_config" / "x.runconfig",
                                  GOOD + "CondaDependenciesFile: envs/../aml_config/c.yml\n"))
    assert config.resolved_conda_path().resolve() == (in_tmp / "aml_config" / "c.yml").resolve()


# -- env edits ----------------------------------------------------------------------------------

@pytest.fixture
def quoted_rc(in_tmp) -> Path:
    return make_project(in_tmp, "quoted") / "aml_config" / "docker.runconfig"


@pytest.fixture
def plain_rc(in_tmp) -> Path:
    return make_project(in_tmp, "plain") / "aml_config" / "docker.runconfig"


def test_set_env_replaces_one_line_in_either_style(quoted_rc, plain_rc):
    for path, old, new in (
            (quoted_rc, '  "EXAMPLE_ENV_VAR": "Example Value"', '  "EXAMPLE_ENV_VAR": "changed"'),
            (plain_rc, "  EXAMPLE_ENV_VAR: Example Value", "  EXAMPLE_ENV_VAR: changed")):
        before = path.read_text()
        config = set_env(path, {"EXAMPLE_ENV_VAR": "changed"})
        assert config.environment_variables["EXAMPLE_ENV_VAR"] == "changed"
        assert changed_lines(before, path.read_text()) == [(old, new)]


def test_set_env_adds_in_the_files_style_and_keeps_unknown_keys(quoted_rc, plain_rc):
    before = quoted_rc.read_text()
    set_env(quoted_rc, {"NEW": "1"})
    assert added_lines(before, quoted_rc.read_text()) == ['  "NEW": "1"']
    assert '"DataSourceSubstitutions": {}\n' in quoted_rc.read_text()
    before = plain_rc.read_text()
    config = set_env(plain_rc, {"NEW": "x y", "OTHER": "007"})
    assert added_lines(before, plain_rc.read_text()) == ["  NEW: x y", '  OTHER: "007"']
    assert config.unknown_keys == ("DataSourceSubstitutions", "UseSampling")
    assert config.environment_variables["OTHER"] == "007"


def test_set_env_on_null_or_missing_environment(in_tmp):
    path = write(in_tmp / "aml_config" / "n.runconfig",
                 GOOD + "EnvironmentVariables: null  # none yet\nTrackedRun: true\n")
    set_env(path, {"A": "1"})
    assert path.read_text() == (GOOD + 'EnvironmentVariables:  # none yet\n  A: "1"\n'
                                "TrackedRun: true\n")
    path = write(in_tmp / "aml_config" / "m.runconfig", GOOD)
    assert set_env(path, {"B": "2"}).environment_variables == {"B": "2"}
    assert path.read_text() == GOOD + 'EnvironmentVariables:\n  B: "2"\n'


@pytest.mark.parametrize("value", [v for v in NASTY if "\0" not in v],
                         ids=lambda v: repr(v)[:20])
def test_env_values_of_any_content_round_trip(plain_rc, value):
    set_env(plain_rc, {"NASTY": value, "EXAMPLE_ENV_VAR": value})
    assert load_runconfig(plain_rc).environment_variables == {
        "EXAMPLE_ENV_VAR": value, "LEARNING_RATE": "0.010", "NASTY": value}
    # Tools reading with YAML 1.1 (PyYAML, Workbench's era) read the same text.
    assert pyyaml.safe_load(plain_rc.read_text())["EnvironmentVariables"]["NASTY"] == value


def test_set_env_refuses_bad_names_and_values(quoted_rc):
    refuses(quoted_rc, set_env, {"A=B": "x"}, needle="'A=B' is not a valid environment variable "
            "name (names cannot contain \"=\"); nothing was written")
    refuses(quoted_rc, set_env, {"": "x"}, needle="(it is empty)")
    refuses(quoted_rc, set_env, {"A": "x\0y"}, needle="contains a NUL character")
    refuses(quoted_rc, set_env, {"A": 3}, needle="the value of A must be text, got the number 3")


def test_set_env_in_a_broken_environment_block_reports_it(in_tmp):
    path = write(in_tmp / "aml_config" / "b.runconfig", GOOD + "EnvironmentVariables: [A]\n")
    refuses(path, set_env, {"A": "1"}, needle="b.runconfig:4:23: EnvironmentVariables must be a "
            "map of NAME: value, got a list")


def test_set_env_does_not_write_an_otherwise_invalid_file(in_tmp):
    path = write(in_tmp / "aml_config" / "b.runconfig", GOOD + "Framework: Scala\n")
    refuses(path, set_env, {"A": "1"}, needle="b.runconfig:4:12: Framework must be")


def test_unset_env(quoted_rc, plain_rc):
    before = plain_rc.read_text()
    config = unset_env(plain_rc, ["LEARNING_RATE"])
    assert "LEARNING_RATE" not in config.environment_variables
    assert plain_rc.read_text() == before.replace("  LEARNING_RATE: 0.010\n", "")
    unset_env(quoted_rc, ["EXAMPLE_ENV_VAR"])  # the last one: the map stays, empty
    assert '"EnvironmentVariables": {}\n# Framework' in quoted_rc.read_text()
    assert load_runconfig(quoted_rc).environment_variables == {}


def test_unset_env_of_an_unknown_name_lists_the_names_and_writes_nothing(plain_rc):
    refuses(plain_rc, unset_env, ["NOPE", "EXAMPLE_ENV_VAR"], needle=(
        "docker.runconfig: EnvironmentVariables: no environment variable 'NOPE' here (set: EXAMPLE_ENV_VAR, "
        "LEARNING_RATE); nothing was written"))


def test_set_then_unset_gives_back_the_same_bytes(quoted_rc):
    before = quoted_rc.read_bytes()
    set_env(quoted_rc, {"TEMP": "x", "EXAMPLE_ENV_VAR": "changed"})
    unset_env(quoted_rc, ["TEMP"])
    set_env(quoted_rc, {"EXAMPLE_ENV_VAR": "Example Value"})
    assert quoted_rc.read_bytes() == before


# -- other fields -------------------------------------------------------------------------------

def test_set_field_keeps_quotes_and_accepts_both_names(quoted_rc):
    before = quoted_rc.read_text()
    set_field(quoted_rc, "target", "local")
    config = set_field(quoted_rc, "Framework", "python")
    assert config.framework is Framework.PYTHON
    set_field(quoted_rc, "prepare_environment", False)
    set_field(quoted_rc, "CondaDependenciesFile", None)
    assert changed_lines(before, quoted_rc.read_text()) == [
        ('"Target": "docker"', '"Target": "local"'),
        ('"Framework": "PySpark"', '"Framework": "Python"'),
        ('"CondaDependenciesFile": "aml_config/conda_dependencies.yml"',
         '"CondaDependenciesFile": null'),
        ('"PrepareEnvironment": true', '"PrepareEnvironment": false')]


def test_set_field_argument_vector_and_whole_environment(plain_rc):
    before = plain_rc.read_text()
    set_field(plain_rc, "argument_vector", ["$file", "--epochs", "20", "--name", "run #2"])
    config = set_field(plain_rc, "environment_variables", {"LEARNING_RATE": "0.1", "B": "b"})
    assert config.argument_vector == ("$file", "--epochs", "20", "--name", "run #2")
    assert config.environment_variables == {"LEARNING_RATE": "0.1", "B": "b"}
    after = plain_rc.read_text()
    assert after.startswith('ArgumentVector:\n- $file\n- --epochs\n- "20"\n- --name\n'
                            '- "run #2"\nCondaDependenciesFile:')
    assert "EnvironmentVariables:\n  LEARNING_RATE: \"0.1\"\n  B: b\nFramework" in after
    assert after.count("\n") == before.count("\n") + 2  # two more arguments


@pytest.mark.parametrize("name, value, needle", [
    ("target", "", "Target must be the name of a compute target, got \"\""),
    ("target", "a/b", "Target must be the name of a compute target"),
    ("framework", "Scala", 'Framework must be "Python" or "PySpark", got "Scala"'),
    ("argument_vector", "$file", "ArgumentVector must be a list of text arguments"),
    ("argument_vector", ["$file", 3], "ArgumentVector must be a list of text arguments"),
    ("conda_dependencies_file", "../x.yml", "(it leads outside the project (..))"),
    ("spark_dependencies_file", "/abs.yml", "(it is an absolute path)"),
    ("tracked_run", "yes", 'TrackedRun must be true or false, got "yes"'),
    ("environment_variables", {"A=": "x"}, "is not a valid environment variable name"),
    ("color", "red", "unknown run configuration field 'color' (one of ArgumentVector, "),
])
def test_set_field_checks_before_writing(quoted_rc, name, value, needle):
    refuses(quoted_rc, set_field, name, value, needle=needle)


def test_create_runconfig_writes_a_commented_workbench_file(in_tmp):
    path = in_tmp / "aml_config" / "gpu.runconfig"
    path.parent.mkdir()
    config = create_runconfig(path, target="gpu", framework="pyspark",
                              environment_variables={"A": "1"}, prepare_environment=True)
    assert config == load_runconfig(path)
    assert config.framework is Framework.PYSPARK and config.conda_dependencies_file is None
    text = path.read_text()
    assert text.startswith("# Run configuration gpu")
    assert [line.split(":")[0] for line in text.splitlines() if not line.startswith(("#", " ",
                                                                                     "-"))] == [
        "ArgumentVector", "Target", "EnvironmentVariables", "Framework", "CondaDependenciesFile",
        "SparkDependenciesFile", "PrepareEnvironment", "TrackedRun"]
    assert "# The arguments of the run; $file stands for the script being submitted\n" in text
    assert "CondaDependenciesFile: null\n" in text
    with pytest.raises(ConfigError, match="already exists"):
        create_runconfig(path, target="other")
    assert path.read_text() == text
    empty = create_runconfig(in_tmp / "aml_config" / "e.runconfig", target="local")
    assert empty.environment_variables == {}
    assert set_env(empty.path, {"X": "x"}).environment_variables == {"X": "x"}
    assert "EnvironmentVariables:\n  X: x\n# How" in empty.path.read_text()


def test_create_runconfig_checks_before_writing(in_tmp):
    with pytest.raises(ConfigError, match="Framework must be"):
        create_runconfig(in_tmp / "x.runconfig", target="local", framework="R")
    with pytest.raises(ConfigError, match="not a valid environment variable name"):
        create_runconfig(in_tmp / "x.runconfig", target="local", environment_variables={"=": ""})
    assert list(in_tmp.iterdir()) == []


def test_field_error_points_at_the_field(plain_rc):
    config = load_runconfig(plain_rc)
    assert str(config.field_error("CondaDependenciesFile", "CondaDependenciesFile: gone")) == (
        "plain/aml_config/docker.runconfig:5:24: CondaDependenciesFile: gone")


def test_env_names_of_any_allowed_spelling_round_trip(plain_rc):
    # Names with spaces, tabs or control characters are refused (see the test below).
    names = ["a:b", "ünï", "-dash", "yes", "Y", "1", "x#y", "#x", "null", "~", "a:c"]
    set_env(plain_rc, {name: name for name in names})
    env = load_runconfig(plain_rc).environment_variables
    assert {name: env[name] for name in names} == {name: name for name in names}
    assert pyyaml.safe_load(plain_rc.read_text())["EnvironmentVariables"]["yes"] == "yes"
    unset_env(plain_rc, names)
    assert plain_rc.read_bytes() == (FILES / "plain" / "docker.runconfig").read_bytes()
