"""Conda specs as pip requirements: the translation table, notes with lines, the python check."""

from __future__ import annotations

import pytest

from launchdeck.core.errors import EnvironmentBuildError
from launchdeck.core.images import condapip
from tests.fixtures.docker_engine import load_conda


def translate(tmp_path, *specs: str) -> condapip.Translation:
    path = tmp_path / "conda_dependencies.yml"
    path.write_text("dependencies:\n" + "".join(f"  - {s}\n" for s in specs))
    return condapip.translate(load_conda(path))


@pytest.mark.parametrize("spec, requirement", [
    ("scikit-learn", "scikit-learn"),
    ("ipykernel=4.6.1", "ipykernel==4.6.1"),       # a pin in practice
    ("matplotlib=2.0", "matplotlib==2.0.*"),        # conda reads =2.0 as any 2.0.x
    ("six=1.16.*", "six==1.16.*"),
    ("six 1.16.*", "six==1.16.*"),
    ("six=1.16*", "six==1.16.*"),
    ("six 1.16.0", "six==1.16.0"),                  # space form: exact, as in conda
    ("six==1.16.0", "six==1.16.0"),
    ("numpy=1.11.1=py36_0", "numpy==1.11.1"),       # build string dropped
    ("numpy=1.11=py36_0", "numpy==1.11"),           # with a build, the version is exact
    ("numpy 1.11.1 py36_0", "numpy==1.11.1"),
    ("numpy==1.11.1=py36_0", "numpy==1.11.1"),
    ("pandas >=1.0, <3", "pandas>=1.0,<3"),
    ("pandas>=1.0,<3", "pandas>=1.0,<3"),
    ("conda-forge::toolz", "toolz"),
    ("toolz=*", "toolz"),
    ("pytorch=1.0", "torch==1.0.*"),
    ("numpy[version='>=1.20']", "numpy>=1.20"),
])
def test_specs_become_pip_requirements(tmp_path, spec, requirement):
    assert translate(tmp_path, spec).pip_lines == [requirement]


def test_python_and_pip_are_never_installed_and_libraries_are_skipped(tmp_path):
    t = translate(tmp_path, "python=3.5.2", "pip", "mkl", "libgcc-ng", "six")
    assert t.pip_lines == ["six"]
    assert t.python is not None and t.python.requirement == "3.5.2"
    assert t.python.where.endswith("conda_dependencies.yml:2")
    assert any(":4: mkl: a conda-only library, not a Python package; skipped" in n
               for n in t.notes)


def test_notes_name_the_line_and_what_was_dropped(tmp_path):
    t = translate(tmp_path, "python=3.6", "conda-forge::numpy=1.11.1=py36_0")
    assert len(t.notes) == 1
    assert t.notes[0].endswith(
        "conda_dependencies.yml:3: conda conda-forge::numpy=1.11.1=py36_0 -> pip numpy==1.11.1 "
        "(channel conda-forge dropped; build string py36_0 dropped, pip has no builds)")


def test_alternatives_and_names_pip_cannot_take_are_errors_with_the_line(tmp_path):
    with pytest.raises(EnvironmentBuildError,
                       match=r"conda_dependencies.yml:3: six=1.15\|1.16: pip cannot express"):
        translate(tmp_path, "toolz", "six=1.15|1.16")
    with pytest.raises(EnvironmentBuildError, match=r"conda_dependencies.yml:2: .*not a name pip"):
        translate(tmp_path, "bad.name.")


@pytest.mark.parametrize("spec, have, outcome", [
    ("python=3.11", "3.11.2", "matches"),
    ("python=3.11.2", "3.11.2", "matches"),
    ("python 3.11.*", "3.11.2", "matches"),
    ("python>=3.6,<4", "3.11.2", "matches"),
    ("python=3.6|3.11", "3.11.2", "matches"),
    ("python=3.5.2", "3.11.2", "warning"),
    ("python>=3.12", "3.11.2", "warning"),
    ("python=3.1", "3.11.2", "warning"),            # 3.1 is not a prefix of 3.11
    ("python=2.7", "3.11.2", "error"),
    ("python", "3.11.2", ""),
])
def test_python_entry_against_the_interpreter(tmp_path, spec, have, outcome):
    t = translate(tmp_path, spec)
    if outcome == "error":
        with pytest.raises(EnvironmentBuildError) as err:
            condapip.check_python(t.python, have, where_python="base image b:1")
        assert f"conda_dependencies.yml:2: {spec} asks for Python" in str(err.value)
        assert f"base image b:1 has Python {have}" in str(err.value)
        return
    note = condapip.check_python(t.python, have, where_python="base image b:1")
    if outcome == "matches":
        assert note.endswith("which matches")
    elif outcome == "warning":
        assert note.startswith("warning: ") and f"the run uses Python {have}" in note
    else:
        assert note == ""


def test_pips_not_found_lines_are_traced_to_the_file(tmp_path):
    path = tmp_path / "conda_dependencies.yml"
    path.write_text("dependencies:\n  - Deck_Missing=1.0\n  - pip:\n    - other-missing\n")
    conda = load_conda(path)
    asked = condapip.sources(conda, condapip.translate(conda))
    text = condapip.not_found(["ERROR: No matching distribution found for deck-missing==1.0.*",
                               "ERROR: No matching distribution found for other_missing"], asked)
    assert "conda_dependencies.yml:2: Deck_Missing=1.0 (a conda package, installed with pip " \
        "as Deck_Missing==1.0.*)" in text
    assert "conda_dependencies.yml:4: other-missing" in text


def test_workbench_runtime_wheels_from_the_retired_host_are_skipped_with_a_note(tmp_path):
    path = tmp_path / "conda_dependencies.yml"
    path.write_text("dependencies:\n  - pip:\n    - six\n    - https://azuremldownloads.blob."
                    "core.windows.net/wheels/latest/azureml.assets-1.0.0-py3-none-any.whl"
                    "?sv=2016-05-31&sig=x\n")
    kept, notes = condapip.pip_entries(load_conda(path))
    assert kept == ["six"]
    assert len(notes) == 1 and notes[0].endswith(
        "conda_dependencies.yml:4: azureml.assets-1.0.0-py3-none-any.whl: a Workbench runtime "
        "wheel from azuremldownloads.blob.core.windows.net (retired); skipped (deck provides "
        "azureml.logging itself)")


def test_a_package_pip_could_not_build_from_source_is_traced_to_the_file(tmp_path):
    path = tmp_path / "conda_dependencies.yml"
    path.write_text("dependencies:\n  - six\n  - scikit-learn=0.19.1\n")
    conda = load_conda(path)
    asked = condapip.sources(conda, condapip.translate(conda))
    metadata = ["Collecting six", "  Downloading six-1.16.0-py2.py3-none-any.whl",
                "Collecting scikit-learn==0.19.1", "  Preparing metadata (setup.py): started",
                "  error: subprocess-exited-with-error", "error: metadata-generation-failed"]
    wheel = ["Building wheel for scikit-learn (setup.py): finished with status 'error'",
             "  ERROR: Failed building wheel for scikit-learn"]
    for lines in (metadata, wheel):
        text = condapip.not_found(lines, asked)
        assert text.startswith("pip cannot build ") and "conda_dependencies.yml:3: " \
            "scikit-learn=0.19.1 (a conda package, installed with pip as scikit-learn==0.19.1)" \
            in text
