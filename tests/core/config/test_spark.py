"""spark_dependencies.yml: both styles, spark-submit arguments, errors at positions."""

from __future__ import annotations

import pytest

from launchdeck.core.config.runconfig import load_runconfig
from launchdeck.core.config.spark import SparkPackage, load_spark, spark_for_run
from launchdeck.core.errors import ConfigError
from tests.core.config.conftest import STYLES, make_project, write


def rejects(in_tmp, text: str, message: str) -> None:
    path = write(in_tmp / "aml_config" / "spark_dependencies.yml", text)
    with pytest.raises(ConfigError) as info:
        load_spark(path)
    assert str(info.value) == f"aml_config/spark_dependencies.yml:{message}"


@pytest.mark.parametrize("style", STYLES)
def test_both_workbench_styles_mean_the_same(in_tmp, style):
    spark = load_spark(make_project(in_tmp, style) / "aml_config" / "spark_dependencies.yml")
    assert spark.configuration == {"spark.app.name": "Azure ML Experiment",
                                   "spark.yarn.maxAppAttempts": "1"}
    assert spark.repositories == ("https://mmlspark.azureedge.net/maven",)
    assert spark.packages == (SparkPackage("com.microsoft.ml.spark", "mmlspark_2.11", "0.9.9"),)
    assert spark.submit_arguments() == [
        "--conf", "spark.app.name=Azure ML Experiment",
        "--conf", "spark.yarn.maxAppAttempts=1",
        "--repositories", "https://mmlspark.azureedge.net/maven",
        "--packages", "com.microsoft.ml.spark:mmlspark_2.11:0.9.9"]


def test_meaning_is_the_same_across_styles_and_changes_with_content(in_tmp):
    quoted = load_spark(make_project(in_tmp, "quoted") / "aml_config" / "spark_dependencies.yml")
    plain = load_spark(make_project(in_tmp, "plain") / "aml_config" / "spark_dependencies.yml")
    assert quoted.meaning() == plain.meaning()
    other = load_spark(write(in_tmp / "o.yml", "packages:\n- {group: g, artifact: a, "
                                               "version: '2'}\n"))
    assert other.meaning() != plain.meaning()


def test_empty_sections_give_no_arguments(in_tmp):
    spark = load_spark(write(in_tmp / "s.yml", "configuration: {}\nrepositories: []\n"
                                               "packages: []\n"))
    assert spark.submit_arguments() == [] and spark.configuration == {}


def test_versions_and_settings_keep_the_text_as_written(in_tmp):
    spark = load_spark(write(in_tmp / "s.yml", "configuration:\n  spark.executor.cores: 04\n"
                                               "  spark.eventLog.enabled: True\n"
                                               "packages:\n- group: g\n  artifact: a\n"
                                               "  version: 1.10\n  classifier: x\n"))
    assert spark.configuration == {"spark.executor.cores": "04",
                                   "spark.eventLog.enabled": "True"}
    assert spark.packages[0].version == "1.10"
    assert spark.unknown_keys == ("packages[0].classifier",)


@pytest.mark.parametrize("text, message", [
    ("packages:\n  - group: g\n    artifact: a\n", "2:5: packages[0].version is required (every "
                                                    "package needs group, artifact and version)"),
    ("packages:\n- group: g\n  artifact: a\n  verison: '1'\n", "2:3: packages[0].version is "
     "required (every package needs group, artifact and version); did you mean version instead "
     "of verison?"),
    ("packages:\n- group: g\n  artifact: a\n  version:\n", "4:3: packages[0].version is "
     "required (every package needs group, artifact and version)"),
    ("packages:\n- g:a:1.0\n", '2:3: packages[0] must be a map with group, artifact and version, '
                               'got "g:a:1.0"'),
    ("packages:\n- group: g\n  artifact: a\n  version: true\n", "4:12: packages[0].version must "
     "be a Maven coordinate part (text without : or ,), got true"),
    ("packages:\n- group: 'g:x'\n  artifact: a\n  version: '1'\n", "2:10: packages[0].group must "
     'be a Maven coordinate part (text without : or ,), got "g:x"'),
    ("packages: {group: g}\n", "1:11: packages must be a list of packages, each with group, "
                               "artifact and version, got a map"),
    ("configuration: [a]\n", "1:16: configuration must be a map of Spark setting: value, got a "
                             "list"),
    ("configuration:\n  spark.x:\n", '2:3: configuration.spark.x has no value; write "" for '
                                     'empty text'),
    ("repositories: https://repo\n", "1:15: repositories must be a list, each item a repository "
                                     'URL, got "https://repo"'),
    ("repositories:\n- https://a,https://b\n", "2:3: repositories[0] must be one URL (no commas), "
                                               'got "https://a,https://b"'),
])
def test_bad_entries_are_reported_at_their_position(in_tmp, text, message):
    rejects(in_tmp, text, message)


def test_spark_for_run(in_tmp):
    rc = write(in_tmp / "aml_config" / "r.runconfig", "Target: c\nFramework: PySpark\n")
    assert spark_for_run(load_runconfig(rc)) is None  # default file absent: no dependencies
    named = write(in_tmp / "aml_config" / "n.runconfig",
                  "Target: c\nSparkDependenciesFile: aml_config/gone.yml\n")
    with pytest.raises(ConfigError, match=r"^aml_config/n.runconfig:2:24: SparkDependenciesFile: "
                                          "aml_config/gone.yml does not exist in the project$"):
        spark_for_run(load_runconfig(named))
    write(in_tmp / "aml_config" / "spark_dependencies.yml", "repositories: [https://r]\n")
    assert spark_for_run(load_runconfig(rc)).repositories == ("https://r",)
