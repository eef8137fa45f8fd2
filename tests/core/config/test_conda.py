"""conda_dependencies.yml: both styles, a stable meaning for image tags, errors at positions."""

from __future__ import annotations

import json

import pytest

from launchdeck.core.config.conda import conda_for_run, load_conda, python_version
from launchdeck.core.config.runconfig import load_runconfig
from launchdeck.core.errors import ConfigError
from tests.core.config.conftest import make_project, write


def rejects(in_tmp, text: str, message: str) -> None:
    path = write(in_tmp / "aml_config" / "conda_dependencies.yml", text)
    with pytest.raises(ConfigError) as info:
        load_conda(path)
    assert str(info.value) == f"aml_config/conda_dependencies.yml:{message}"


def test_workbench_template_with_comments_and_a_pip_list(in_tmp):
    conda = load_conda(make_project(in_tmp, "quoted") / "aml_config" / "conda_dependencies.yml")
    assert conda.name == "project_environment" and conda.channels == ()
    assert conda.conda_packages == ("python=3.5.2", "ipykernel=4.6.1")
    assert conda.pip_packages[0] == "azure-ml-api-sdk==0.1.0a10"
    assert conda.pip_packages[1].startswith("https://azuremldownloads.blob.core.windows.net/")
    assert conda.python_version == "3.5.2"


def test_plain_sorted_file(in_tmp):
    conda = load_conda(make_project(in_tmp, "plain") / "aml_config" / "conda_dependencies.yml")
    assert (conda.channels, conda.conda_packages, conda.pip_packages) == (
        ("conda-forge",), ("python=3.5.2", "scikit-learn"), ("azure-ml-api-sdk==0.1.0a10",))


@pytest.mark.parametrize("specs, version", [
    (["python=3.6"], "3.6"), (["python==3.6.2"], "3.6.2"), (["python 3.6.*"], "3.6"),
    (["python=3.6=h12345_0"], "3.6"), (["conda-forge::python=3.11"], "3.11"),
    (["python>=3.6"], None), (["python"], None), (["pythonnet=2.5"], None), ([], None),
    (["numpy", "Python=3.7"], "3.7"),
])
def test_python_version(specs, version):
    assert python_version(specs) == version


BASE = """name: env
channels:
  - conda-forge
  - defaults
dependencies:
  - python=3.6
  - numpy
  - pip:
    - requests==2.31
"""


def test_meaning_ignores_comments_layout_and_quoting(in_tmp):
    a = load_conda(write(in_tmp / "a.yml", BASE))
    b = load_conda(write(in_tmp / "b.yml", (
        "# my env\nname: 'env'   # named\n\nchannels: [conda-forge, defaults]\n"
        "dependencies:\n- python=3.6\n\n-   numpy   \n- pip: ['requests==2.31']\n")))
    assert a.meaning() == b.meaning()
    assert json.dumps(a.meaning(), sort_keys=True)  # JSON-able, for hashing
    c = load_conda(write(in_tmp / "c.yml", BASE.replace("numpy", "numpy=1.26")))
    d = load_conda(write(in_tmp / "d.yml", BASE.replace("  - conda-forge\n  - defaults\n",
                                                        "  - defaults\n  - conda-forge\n")))
    assert c.meaning() != a.meaning()
    assert d.meaning() != a.meaning()  # channel order is priority: it changes the environment


def test_unknown_keys_are_reported(in_tmp):
    conda = load_conda(write(in_tmp / "x.yml", BASE + "prefix: /opt/env\n"))
    assert conda.unknown_keys == ("prefix",)


@pytest.mark.parametrize("text, message", [
    ("dependencies: numpy\n", '1:15: dependencies must be a list of packages, got "numpy"'),
    ("dependencies:\n  - numpy\n  - 3.6\n", "3:5: dependencies[1] must be a package spec such "
                                            "as numpy=1.13 or a pip: list, got the number 3.6"),
    ("dependencies:\n  - numpy\n  -\n", "3:4: dependencies[1] must be a package spec such as "
                                        "numpy=1.13 or a pip: list, got null (no value)"),
    ("dependencies:\n  - [a, b]\n", "2:5: dependencies[0] must be a package spec such as "
                                    "numpy=1.13 or a pip: list, got a list"),
    ("dependencies:\n  - conda: [x]\n", "2:5: dependencies[0]: the only map allowed in "
                                        "dependencies is pip: [...], got 'conda'"),
    ("dependencies:\n  - pip: [a]\n  - pip: [b]\n", "3:5: dependencies[1]: a second pip: list; "
                                                    "put all pip packages in one"),
    ("dependencies:\n  - pip: requests\n", '2:10: dependencies[0].pip must be a list, each item '
                                           'a pip requirement, got "requests"'),
    ("dependencies:\n  - pip:\n    - 1.0\n", "3:7: dependencies[0].pip[0] must be a pip "
                                              "requirement, got the number 1.0"),
    ("channels: conda-forge\n", '1:11: channels must be a list, each item a channel name, got '
                                '"conda-forge"'),
    ("name: [a]\n", "1:7: name must be the environment name (text), got a list"),
])
def test_bad_entries_are_reported_at_their_position(in_tmp, text, message):
    rejects(in_tmp, text, message)


def test_a_missing_default_file_means_no_dependencies(in_tmp):
    rc = write(in_tmp / "aml_config" / "r.runconfig", "Target: local\nCondaDependenciesFile: null\n")
    assert conda_for_run(load_runconfig(rc)) is None
    write(in_tmp / "aml_config" / "conda_dependencies.yml", BASE)
    assert conda_for_run(load_runconfig(rc)).conda_packages == ("python=3.6", "numpy")


def test_a_missing_named_file_is_an_error_at_the_runconfig_field(in_tmp):
    rc = write(in_tmp / "aml_config" / "r.runconfig",
               "Target: local\nCondaDependenciesFile: envs/gpu.yml\n")
    with pytest.raises(ConfigError) as info:
        conda_for_run(load_runconfig(rc))
    assert str(info.value) == ("aml_config/r.runconfig:2:24: CondaDependenciesFile: envs/gpu.yml "
                               "does not exist in the project")
    write(in_tmp / "envs" / "gpu.yml", BASE)
    assert conda_for_run(load_runconfig(rc), in_tmp).name == "env"
