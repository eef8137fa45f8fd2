"""Warnings about what config files hold that deck does not use: named, placed, explained."""

from __future__ import annotations

from launchdeck.core.config.compute import load_compute
from launchdeck.core.config.conda import load_conda
from launchdeck.core.config.report import format_warnings, warnings_for
from launchdeck.core.config.runconfig import load_runconfig
from launchdeck.core.config.spark import load_spark
from tests.core.config.conftest import write


def lines_of(*configs) -> list[str]:
    return format_warnings(warnings_for(*configs))


def test_workbench_keys_deck_does_not_implement_say_what_happens_instead(in_tmp):
    rc = load_runconfig(write(in_tmp / "aml_config" / "wb.runconfig", (
        "Target: local\nUseSampling: true\nDataSourceSettings:\n  x.dsource: {}\n"
        "DataSourceSubstitutions:\n  a.dsource: b.dsource\n")))
    assert lines_of(rc) == [
        "aml_config/wb.runconfig:2: warning: UseSampling: Workbench key, not supported by "
        "deck; data sources are read in full; deck applies no sampling",
        "aml_config/wb.runconfig:3: warning: DataSourceSettings: Workbench key, not supported "
        "by deck; no data source (.dsource) settings are applied; the script reads its data "
        "itself",
        "aml_config/wb.runconfig:5: warning: DataSourceSubstitutions: Workbench key, not "
        "supported by deck; no data source is swapped for another; the script reads the data "
        "it names"]


def test_misspelled_keys_get_a_did_you_mean_in_every_file(in_tmp):
    folder = in_tmp / "aml_config"
    rc = load_runconfig(write(folder / "x.runconfig",
                              "Target: local\nFramwork: Python\nusesampling: true\n"))
    compute = load_compute(write(folder / "x.compute", "type: local\n\npythonLocaton: /x\n"))
    conda = load_conda(write(folder / "conda_dependencies.yml",
                             "name: e\ndependancies:\n  - numpy\n"))
    spark = load_spark(write(folder / "spark_dependencies.yml", (
        "configuration: {}\npackages:\n  - group: g\n    artifact: a\n    version: '1'\n"
        "    verison: '2'\nrepositorys: []\n")))
    assert lines_of(rc, compute, conda, spark) == [
        "aml_config/x.runconfig:2: warning: Framwork: unknown key, ignored; did you mean "
        "Framework?",
        "aml_config/x.runconfig:3: warning: usesampling: unknown key, ignored; did you mean "
        "UseSampling?",
        "aml_config/x.compute:3: warning: pythonLocaton: unknown key, ignored; did you mean "
        "pythonLocation?",
        "aml_config/conda_dependencies.yml:2: warning: dependancies: unknown key, ignored; did "
        "you mean dependencies?",
        "aml_config/spark_dependencies.yml:6: warning: packages[0].verison: unknown key, "
        "ignored; did you mean version?",
        "aml_config/spark_dependencies.yml:7: warning: repositorys: unknown key, ignored; did "
        "you mean repositories?"]


def test_an_unknown_key_with_nothing_close_lists_the_known_ones(in_tmp):
    compute = load_compute(write(in_tmp / "aml_config" / "y.compute", "type: local\nzzz: 1\n"))
    (line,) = lines_of(compute)
    assert line.startswith("aml_config/y.compute:2: warning: zzz: unknown key, ignored (known "
                           "keys: address, baseDockerImage")


def test_keys_read_by_the_image_builder_are_not_unknown(in_tmp):
    compute = load_compute(write(in_tmp / "aml_config" / "d.compute", (
        "type: docker\nbaseDockerImage: python:3.11\nbuildCaBundle: /etc/ssl/ca.pem\n"
        "buildOffline: false\n")))
    assert lines_of(compute) == []


def test_a_tab_warning_comes_with_the_key_warnings(in_tmp):
    compute = load_compute(write(in_tmp / "aml_config" / "t.compute", "type:\tlocal\n"))
    assert lines_of(compute) == [
        "aml_config/t.compute:1: warning: a tab separates a key or a list item from its value; "
        "read as a space (YAML allows only spaces there, so other tools may refuse this file)"]
