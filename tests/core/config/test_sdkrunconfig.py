"""Run configurations in the 2018 SDK format: read properly or refused, never half-read."""

from __future__ import annotations

import pytest

from launchdeck.core.config.report import format_warnings, warnings_for
from launchdeck.core.config.runconfig import load_runconfig
from launchdeck.core.errors import ConfigError
from launchdeck.core.config.framework import Framework
from tests.core.config.conftest import write

SDK = """\
script: train.py
arguments: [--epochs, '3']
target: local
framework: PySpark
communicator: None
nodeCount: 1
maxRunDurationSeconds:
environment:
  name:
  environmentVariables:
    EXAMPLE_ENV_VAR: Example Value
  python:
    userManagedDependencies: false
    interpreterPath: python
    condaDependenciesFile: aml_config/conda_dependencies.yml
  docker:
    enabled: false
    baseImage: mcr.microsoft.com/azureml/base:0.2.1
    sharedVolumes: true
  spark:
    repositories: []
    packages: []
    precachePackages: true
history:
  outputCollection: true
  snapshotProject: true
  directoriesToWatch:
  - logs
spark:
  configuration:
    spark.app.name: Azure ML Experiment
"""


def test_a_2018_runconfig_is_read_with_its_framework_and_variables(in_tmp):
    rc = load_runconfig(write(in_tmp / "aml_config" / "sdk.runconfig", SDK))
    assert rc.file_format == "sdk2018"
    assert rc.target == "local" and rc.framework is Framework.PYSPARK
    assert rc.environment_variables == {"EXAMPLE_ENV_VAR": "Example Value"}
    assert rc.argument_vector == ("$file", "--epochs", "3")
    assert rc.conda_dependencies_file == "aml_config/conda_dependencies.yml"
    # SDK defaults say nothing; what is set and not read is named with what happens instead.
    assert format_warnings(warnings_for(rc)) == [
        "aml_config/sdk.runconfig:1: warning: deck runs the script named on its command line "
        "(deck submit -c sdk SCRIPT); this file's script (train.py) is not run by itself",
        "aml_config/sdk.runconfig:30: warning: spark.configuration: a key of the 2018 SDK "
        "format that deck does not read; Spark settings come from "
        "aml_config/spark_dependencies.yml"]


def test_docker_enabled_in_a_2018_file_is_named(in_tmp):
    rc = load_runconfig(write(in_tmp / "aml_config" / "d.runconfig", (
        "target: local\nenvironment:\n  docker:\n    enabled: true\n")))
    (line,) = format_warnings(warnings_for(rc))
    assert line == ("aml_config/d.runconfig:4: warning: environment.docker.enabled: a key of "
                    "the 2018 SDK format that deck does not read; the run goes where target's "
                    ".compute says (a docker target runs in a container)")


@pytest.mark.parametrize("text, needle", [
    ("target: local\nframework: TensorFlow\n", "framework 'TensorFlow' is not supported"),
    ("target: local\nnodeCount: 4\n", "nodeCount 4 asks for a distributed run"),
    ("framework: Python\n", "target is required"),
    ("Target: local\ntarget: local\n", "mixes Workbench keys (Target) with keys of the 2018"),
    ("target: local\nenvironment:\n  environmentVariables:\n    BAD KEY: x\n",
     "'BAD KEY' is not a valid environment variable name"),
])
def test_what_a_2018_file_asks_and_deck_cannot_do_is_refused(in_tmp, text, needle):
    with pytest.raises(ConfigError) as caught:
        load_runconfig(write(in_tmp / "aml_config" / "bad.runconfig", text))
    assert needle in str(caught.value)
    assert str(caught.value).startswith("aml_config/bad.runconfig:")


def test_env_set_and_unset_edit_a_2018_file_in_its_own_format(in_tmp):
    from launchdeck.core.config.runconfig import set_env, unset_env

    path = write(in_tmp / "aml_config" / "sdk.runconfig", SDK)
    set_env(path, {"NEW": "1", "EXAMPLE_ENV_VAR": "changed"})
    rc = load_runconfig(path)
    assert rc.environment_variables == {"EXAMPLE_ENV_VAR": "changed", "NEW": "1"}
    assert "EnvironmentVariables" not in path.read_text()
    unset_env(path, ["NEW"])
    set_env(path, {"EXAMPLE_ENV_VAR": "Example Value"})
    assert path.read_text() == SDK
    bare = write(in_tmp / "aml_config" / "bare.runconfig", "target: local\n")
    set_env(bare, {"A": "1"})
    assert load_runconfig(bare).environment_variables == {"A": "1"}


def test_the_2018_environment_settings_decide_prepare_and_user_managed(in_tmp):
    # The SDK built a run's environment on submit unless told not to, and
    # userManagedDependencies meant "use the image's Python as it is".
    rc = load_runconfig(write(in_tmp / "aml_config" / "sdk.runconfig", SDK))
    assert rc.prepare_environment is True and rc.user_managed_environment is False
    managed = SDK.replace("userManagedDependencies: false", "userManagedDependencies: true")
    rc = load_runconfig(write(in_tmp / "aml_config" / "sdk.runconfig",
                              "autoPrepareEnvironment: false\n" + managed))
    assert rc.prepare_environment is False and rc.user_managed_environment is True
    assert not [w for w in format_warnings(warnings_for(rc)) if "userManaged" in w]
    workbench = write(in_tmp / "aml_config" / "wb.runconfig",
                      "ArgumentVector: [$file]\nTarget: local\n")
    assert load_runconfig(workbench).user_managed_environment is None  # the target decides
